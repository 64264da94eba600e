"""A comparison's held-out evaluations made again on more tasks, for a narrower paired interval.

    python experiments/widen_evaluation.py --tasks 240 --at 0,8 \
        <the comparison's own arguments: --env ... --budget ... --size ... --start ... \
         --estimators ... --seeds ... --out ... --set ...>

A comparison (experiments/compare_estimators.py) evaluates its runs on `eval.num_tasks` held-out
tasks; on 102 ALFWorld games a gain over the start clears its paired 95 % interval only at 8 to
11 games. This evaluates the start and each run's policy at the iterations `--at` on `--tasks`
tasks instead: a longer prefix of the same task order (round-robin over task types, the k-th
task with seed 1000 + k), at the same temperature and evaluation key. The comparison's finished
chunks of episodes are reused wherever their key is the same (the policy's params digest, the
episode-shaping config, the seed, the chunk's tasks), so only the tasks it did not play are run.

Iteration 0 is the start, evaluated once per seed, under the run that evaluated it in the
comparison; an iteration k > 0 restores the run's checkpoint of step k (a run keeps its
`checkpoint.keep` newest checkpoints, so widen an iteration before its run goes that far past
it). Each evaluation must be the comparison's own evaluation at that iteration made longer: the
command is refused, naming what differs, when its policy or settings are not (another `--set`
than the comparison's, or a checkpoint that is not the policy evaluated).

Writes the chunks to <out>/eval_episodes_<tasks>/<run>/iter_<k>/eval (run the same command again
after a stop: it resumes at the chunk under way) and <out>/widened_<tasks>.json, which keeps
the evaluations of other iterations that earlier commands widened: each evaluation's table row,
the seconds its chunks took and its per-task outcomes, and the paired differences (each run at
k against its seed's start, the reference estimator against each other one at the same k) with
Newcombe's paired 95 % interval (paired_evaluations.py); prints them. One process (the
comparisons this widens ran on one host).
"""

from __future__ import annotations

import json
import os
import tempfile

import compare_estimators as ce  # experiments/ is on sys.path when this file runs as a script
from paired_evaluations import paired
from proxmo_jax import host_memory
from proxmo_jax.training import checkpointing, eval_files, eval_store, train


def parse_args(argv=None):
  parser = ce.make_parser(__doc__.splitlines()[0])
  parser.add_argument("--tasks", type=int, required=True,
                      help="held-out tasks per evaluation (more than the comparison's)")
  parser.add_argument("--at", required=True, metavar="K1,K2,...",
                      help="comma-separated iterations to evaluate, 0 for the start")
  return parser.parse_args(argv)


def stored_key(directory: str) -> dict:
  """The evaluation key of the first stored chunk in <directory>/eval, less its tasks; {} when
  there is none."""
  try:
    chunks = eval_files.chunk_paths(os.path.join(directory, "eval"))
  except FileNotFoundError:
    return {}
  with open(chunks[0]) as f:
    key = json.load(f)["key"]
  key.pop("tasks", None)
  return key


def check_same_evaluation(old: str, key: dict, what: str) -> None:
  """Refuses (SystemExit) unless the comparison's evaluation in `old` has the key `key`."""
  stored = stored_key(old)
  if not stored:
    raise SystemExit(f"{what}: the comparison has no stored evaluation in {old}; widen the "
                     "iterations it evaluated (--at), with its own --out.")
  if stored != key:
    differ = eval_store.key_differences(key, stored)
    raise SystemExit(
        f"{what}: the evaluation in {old} was of another policy or settings (its "
        f"{', '.join(differ)} {'differs' if len(differ) == 1 else 'differ'}): give the "
        "comparison's own arguments (its command.txt), and an iteration whose checkpoint is "
        "still there.")


def start_run(out: str, estimators, seed: int) -> str:
  """The run directory name under which the comparison evaluated the seed's start."""
  for name in estimators:
    run = ce.run_dir_name(name, seed)
    if os.path.isdir(os.path.join(ce.eval_store_root(os.path.join(out, run)), "iter_0")):
      return run
  raise SystemExit(f"{out}: no run of seed {seed} among {list(estimators)} has the start's "
                   "evaluation (eval_episodes/<run>/iter_0); widen iterations > 0 only.")


def evaluate_run(c, out: str, run: str, sft_dir: str, iterations, tasks: int):
  """Yields the widened evaluations of one run at `iterations` (ascending, 0 = its fresh
  policy, the start), each as {run, iteration, row, seconds, outcomes} when it ends."""
  workdir = os.path.join(out, run)
  with tempfile.TemporaryDirectory() as scratch:
    r = train.Run(c, scratch, init_params_dir=sft_dir, restore=False)
    try:
      available = len(r.exp.evaluator.split_tasks("eval"))
      if tasks > available:
        raise SystemExit(f"--tasks {tasks}: the held-out split has {available} tasks.")
      trainer, evaluator = r.trainer, r.exp.evaluator
      for k in iterations:
        if k > 0:
          ckpt = checkpointing.Checkpointer(os.path.join(workdir, "checkpoints"),
                                            async_save=False)
          try:
            trainer.state, host = ckpt.restore_step(k, trainer.state)
          except FileNotFoundError as err:
            raise SystemExit(f"{run} iteration {k}: {err}") from err
          finally:
            ckpt.close()
          if int(host.get("iteration", k)) != k:
            raise SystemExit(f"{run}: its checkpoint of step {k} holds iteration "
                             f"{host['iteration']}; it is not that run's checkpoint.")
          trainer.policy.params = trainer.sampling_params()
        old = os.path.join(ce.eval_store_root(workdir), f"iter_{k}")
        key = eval_store.evaluation_key(c, trainer.policy.params, c.eval.temperature,
                                        evaluator.chunk_size)
        check_same_evaluation(old, key, f"{run} iteration {k}")
        store = eval_store.EvalStore(
            os.path.join(out, f"eval_episodes_{tasks}", run, f"iter_{k}"), reuse=[old])
        seconds = []

        def progress(done, total, s, stored, k=k, seconds=seconds):
          seconds.append(s)
          print(f"[widen] {run} iteration {k}: {done}/{total} episodes, chunk {s:.0f} s"
                f"{' (stored)' if stored else ''}", flush=True)
        episodes, row = evaluator.evaluate(num_tasks=tasks, split="eval", store=store,
                                           progress=progress)
        yield {"run": run, "iteration": k, "row": row, "seconds": round(sum(seconds), 1),
               "outcomes": {e.task.task_id: int(bool(e.won)) for e in episodes}}
    finally:
      r.close()


def paired_differences(evaluations: list[dict], estimators, seeds) -> list[dict]:
  """Each run at k > 0 against its seed's start, and the reference estimator against each
  other estimator at the same k and seed: paired_evaluations.paired's table and interval."""
  by = {(e["run"], e["iteration"]): e for e in evaluations}
  starts = {e["seed"]: e for e in evaluations if e["iteration"] == 0}
  out = []

  def add(a, b):
    out.append({"a": f"{a['run']}/iter_{a['iteration']}", "b": f"{b['run']}/iter_{b['iteration']}",
                **paired(a["outcomes"], b["outcomes"])})
  for e in evaluations:
    if e["iteration"] > 0 and e["seed"] in starts:
      add(e, starts[e["seed"]])
  if ce.REFERENCE in estimators:
    for seed in seeds:
      for e in evaluations:
        ref = by.get((ce.run_dir_name(ce.REFERENCE, seed), e["iteration"]))
        if (ref is not None and e["iteration"] > 0 and e["seed"] == seed
            and e["estimator"] != ce.REFERENCE):
          add(ref, e)
  return out


def widen(env: str, budget: str, estimators, seeds, overrides, out: str, size: str,
          start_dir: str, tasks: int, iterations) -> dict:
  """Every widened evaluation of the comparison in `out`; returns <out>/widened_<tasks>.json's
  content, written again after each evaluation (one stopped part way keeps those that ended)."""
  sft_dir = start_dir or os.path.join(out, "sft")
  path = os.path.join(out, f"widened_{tasks}.json")
  # Evaluations widened by earlier commands (e.g. the start and iteration 8, then 16) are kept.
  evaluations = []
  if os.path.exists(path):
    with open(path) as f:
      evaluations = json.load(f)["evaluations"]
  result = {"tasks": tasks, "evaluations": evaluations,
            "paired": paired_differences(evaluations, estimators, seeds)}

  def record(e):
    evaluations[:] = [x for x in evaluations
                      if (x["run"], x["iteration"]) != (e["run"], e["iteration"])] + [e]
    evaluations.sort(key=lambda x: (x["seed"], x["iteration"], x["run"]))
    result["paired"] = paired_differences(evaluations, estimators, seeds)
    with open(path + ".tmp", "w") as f:
      json.dump(result, f, indent=1)
    os.replace(path + ".tmp", path)

  for seed in seeds:
    first = start_run(out, estimators, seed) if 0 in iterations else None
    for name in estimators:
      run = ce.run_dir_name(name, seed)
      ks = sorted(k for k in set(iterations) if k > 0 or run == first)
      if not ks:
        continue
      c = ce.make_config(env, budget, name, overrides, seed, size)
      c.eval.num_tasks = tasks
      for e in evaluate_run(c, out, run, sft_dir, ks, tasks):
        record({"estimator": name, "seed": seed, **e})
  return result


def summary(result: dict) -> str:
  """One line per evaluation (won of tasks) and per paired difference."""
  lines = []
  for e in result["evaluations"]:
    won = sum(e["outcomes"].values())
    lines.append(f"{e['run']} iteration {e['iteration']}: {won} of {len(e['outcomes'])} won "
                 f"({e['seconds']:.0f} s of chunks)")
  for p in result["paired"]:
    lo, hi = p["interval_95"]
    lines.append(f"{p['a']} - {p['b']}: {p['difference_points']:+.1f} points, 95 % interval "
                 f"[{lo:+.1f}, {hi:+.1f}] ({p['a_only']} only A, {p['b_only']} only B, "
                 f"{p['pairs']} pairs)")
  return "\n".join(lines)


def main(argv=None):
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  args = parse_args(argv)
  estimators, seeds, overrides = ce.run_arguments(args)
  iterations = sorted({int(k) for k in args.at.split(",") if k.strip()})
  if args.sweep:
    raise SystemExit("--sweep: widen one comparison at a time (its own --out).")
  if not os.path.exists(os.path.join(args.out, "runs.json")):
    raise SystemExit(f"{args.out}: no runs.json; give a comparison's --out.")
  result = widen(args.env, args.budget, estimators, seeds, overrides, args.out, args.size,
                 args.start, args.tasks, iterations)
  print(summary(result), flush=True)


if __name__ == "__main__":
  main()
