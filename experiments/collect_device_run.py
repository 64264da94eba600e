"""A comparison from experiments/device_rl.sh's archive, paired at the last iteration
that every estimator evaluated.

    python experiments/collect_device_run.py results.tar.gz \
        --out experiments/results/compare_webshop_smollm2_gpu \
        [--start_out experiments/results/warm_start/webshop_smollm2_gpu]

The device script runs the estimators in one compare_estimators.py --lockstep process
(`<run>/compare/<estimator>_s<seed>/`; an earlier version ran one process per estimator,
`<run>/<estimator>/<estimator>_s<seed>/`, read the same way) and stops it when its time is up,
so a run may lack its runs.json record (written when the runs end) and have evaluated fewer
iterations than planned.
This script builds every run's record from its runs.json entry or, failing that, from its
progress.json (the evaluations, their per-task outcomes, per-iteration history and wall time so
far), and cuts every
record at the last evaluation iteration that all of them reached: equal iteration counts, so
the comparison stays paired. A cut run's wall time becomes the sum of its training iterations
up to the cut (`time/iteration`, evaluations excluded), and its budget records the iterations
run and the ones planned (`planned_iterations`, only in a cut record). History rows take the
keys they lack (compare_estimators.HISTORY_KEYS recorded by newer code, e.g. the share of step
samples with a nonzero advantage) from the run's metrics.jsonl.

Writes <out>/runs.json, table.md and curves.png (compare_estimators.report), command.txt (the
device script's log lines that carry commands, then each estimator's command.txt), and each
run's progress.json and config.json under <out>/<estimator>_s<seed>/. With --start_out, the
behaviour-cloned start is published as RESULTS.md's warm-start rows: its training-goal
evaluation (<run>/bc_train_eval) beside the comparison's held-out start evaluation, with the
behaviour-cloning log (and bc0_log.json, the first clone's, with ALF_START=dart_full2).

The source may also be a comparison directory of compare_estimators.py whose runs are still
going (`<out>/<estimator>_s<seed>/`; a CPU pair spans sessions), to publish the iterations that
both runs evaluated so far; --out must then be another directory (a runs.json in the source
would mark its runs finished). The source's notes.md (facts recorded by hand, e.g. pauses) is
copied to --out.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare_estimators  # noqa: E402  pylint: disable=wrong-import-position


def _load(path: str):
  with open(path) as f:
    return json.load(f)


def _table_fields(config: dict) -> dict:
  """env, columns, families and headline of the environment's evaluation table."""
  import ml_collections  # pylint: disable=import-outside-toplevel
  from environments import registry  # pylint: disable=import-outside-toplevel
  spec = registry.make(ml_collections.ConfigDict(config["env"]))
  table = spec.eval_table
  return {"env": config["env"]["name"], "columns": table.columns(),
          "families": [col for col, _ in table.families], "headline": table.headline}


def _eval_lines(run_dir: str) -> list:
  """(step, metrics) of every evaluation a run logged (its metrics.jsonl "eval/" lines), keyed
  as evaluate.py's eval_metrics.json keys them; [] without the file."""
  return [(row.get("step"),
           {k[len("eval/"):]: v for k, v in row.items() if k.startswith("eval/")})
          for row in compare_estimators.logged_metrics(run_dir)
          if any(k.startswith("eval/") for k in row)]


def _logged_episodes(run_dir: str):
  """The episode count its evaluations logged ("eval/episodes", since 2026-12-04), or None."""
  counts = {int(m["episodes"]) for _, m in _eval_lines(run_dir) if "episodes" in m}
  return min(counts) if counts else None


def _progress_record(run_dir: str, estimator: str, seed: int, fields: dict) -> dict:
  """A runs.json record from a run stopped before it ended (its progress.json)."""
  progress = _load(os.path.join(run_dir, "progress.json"))
  config = _load(os.path.join(run_dir, "config.json"))
  evals = progress["evals"]
  import ml_collections  # pylint: disable=import-outside-toplevel
  budget = compare_estimators.budget_record(ml_collections.ConfigDict(config), "cpu")
  logged = _logged_episodes(run_dir)
  if logged:  # the tasks each evaluation covered (fewer than eval.num_tasks in a small split)
    budget["eval_tasks"] = logged
  headline = fields["headline"]
  return {**fields, "estimator": estimator, "seed": seed, "start": evals[0][1],
          "final": evals[-1][1], "curve": [[it, row[headline]] for it, row in evals],
          "evals": evals, "budget": budget, "final_kl": progress.get("final_kl"),
          "history": progress.get("history", []), "seconds": progress["seconds"],
          "outcomes": progress.get("outcomes", {}), "stopped": True}


def cut(record: dict, iteration: int) -> dict:
  """`record` up to evaluation `iteration`: its evaluations, history and final row there."""
  r = dict(record)
  evals = [e for e in r["evals"] if e[0] <= iteration]
  if evals[-1][0] != iteration:
    raise ValueError(f"{r['estimator']} seed {r['seed']} has no evaluation at iteration "
                     f"{iteration}")
  history = [h for h in r.get("history", []) if h["iteration"] <= iteration]
  planned = r["budget"]["iterations"]
  if iteration < planned or len(history) < len(r.get("history", [])):
    r["seconds"] = sum(h.get("time/iteration", 0.0) for h in history)
    r["seconds_kind"] = "training iterations up to the cut (evaluations excluded)"
    r["final_kl"] = history[-1].get("kl") if history else None
    r["budget"] = {**r["budget"], "iterations": iteration, "planned_iterations": planned}
  r["evals"], r["history"], r["final"] = evals, history, evals[-1][1]
  if "outcomes" in r:
    r["outcomes"] = {k: v for k, v in r["outcomes"].items() if int(k) <= iteration}
  r["curve"] = [[it, row[r["headline"]]] for it, row in evals]
  return r


def _progress_files(root: str) -> list:
  """progress.json of every run: <root>/<dir>/<estimator>_s<seed>/ (device_rl.sh's run
  directory) or, failing that, <root>/<estimator>_s<seed>/ (a compare_estimators.py output
  directory, e.g. a CPU pair that is still running)."""
  nested = sorted(glob.glob(os.path.join(root, "*", "*_s*", "progress.json")))
  return nested or sorted(glob.glob(os.path.join(root, "*_s*", "progress.json")))


def collect_runs(root: str) -> tuple[list, list]:
  """(records, run directories) of every run under `root` (`_progress_files`)."""
  found = []
  for progress in _progress_files(root):
    run_dir = os.path.dirname(progress)
    name, _, seed = os.path.basename(run_dir).rpartition("_s")
    done = [r for r in compare_estimators.load_runs(os.path.dirname(run_dir))
            if r["estimator"] == name and r["seed"] == int(seed)]
    found.append((run_dir, name, int(seed), done[0] if done else None))
  if not found:
    raise SystemExit(f"{root}: no <dir>/<estimator>_s<seed>/progress.json nor "
                     "<estimator>_s<seed>/progress.json; is it the run directory of "
                     "experiments/device_rl.sh (or its archive), or a comparison directory?")
  finished = [r for *_, r in found if r is not None]
  if finished:  # the table's fields as a finished run stored them
    fields = {k: finished[0][k] for k in ("env", "columns", "families", "headline")}
  else:
    fields = _table_fields(_load(os.path.join(found[0][0], "config.json")))
  records = [compare_estimators.fill_history(
      r if r is not None else _progress_record(d, n, s, fields), d) for d, n, s, r in found]
  return records, [d for d, *_ in found]


def pair(records: list) -> tuple[list, int]:
  """Every record cut at the last evaluation iteration that all of them have; an error unless
  there are two estimators or more (a run stopped before its start was evaluated leaves no
  progress.json, and one estimator is no comparison)."""
  names = sorted({r["estimator"] for r in records})
  if len(names) < 2:
    raise SystemExit(f"only {names} left evaluations (progress.json); the others stopped before "
                     "their start was evaluated: see their logs in the archive, nothing to pair.")
  common = set.intersection(*({e[0] for e in r["evals"]} for r in records))
  last = max(common)
  if last == 0:
    print("[collect] only the start was evaluated by every run", flush=True)
  return [cut(r, last) for r in records], last


def _commands(root: str) -> list:
  lines = []
  log = os.path.join(root, "device.log")
  if os.path.exists(log):
    lines += [ln.rstrip() for ln in open(log) if ln.startswith("[device")]
  paths = [os.path.join(root, "command.txt")]  # a comparison directory's own
  paths += sorted(glob.glob(os.path.join(root, "*", "command.txt")))
  for path in (p for p in paths if os.path.exists(p)):
    lines += [ln.rstrip() for ln in open(path) if ln.strip()]
  return lines


def _start_metrics(run_dir: str):
  """The iteration-0 evaluation's metrics of a run (`_eval_lines`); None when absent."""
  return next((m for step, m in _eval_lines(run_dir) if step == 0), None)


def publish_start(root: str, dirs: list, dest: str) -> None:
  """The start's training-goal evaluation beside the comparison's held-out one."""
  train = os.path.join(root, "bc_train_eval", "eval_metrics.json")
  if not os.path.exists(train):
    print(f"[collect] no {train}: the start's training-goal evaluation did not finish",
          flush=True)
    return
  os.makedirs(dest, exist_ok=True)
  metrics = {}
  # The run that evaluated the start (in lockstep, the others reuse its row).
  held_out, run_dir = next(((m, d) for d in dirs for m in [_start_metrics(d)] if m),
                           (None, None))
  if held_out:  # runs since 2026-12-04 log the count; before, eval.num_tasks (WebShop's all ran)
    held_out.setdefault("episodes", _load(os.path.join(run_dir, "config.json"))["eval"][
        "num_tasks"])
    metrics["device start (held-out)"] = held_out
  for row in _load(train).values():  # evaluate.py --split=train: one row
    metrics["device start (training tasks)"] = row
  with open(os.path.join(dest, "eval_metrics.json"), "w") as f:
    json.dump(metrics, f, indent=1)
  if os.path.exists(os.path.join(root, "bc", "sft", "bc_log.json")):
    shutil.copy(os.path.join(root, "bc", "sft", "bc_log.json"), dest)
  # ALF_START=dart_full2: the first of its two clones, which the second continued.
  if os.path.exists(os.path.join(root, "bc0", "sft", "bc_log.json")):
    shutil.copy(os.path.join(root, "bc0", "sft", "bc_log.json"), os.path.join(dest, "bc0_log.json"))
  for name in ("config.json", "eval_samples.jsonl"):
    if os.path.exists(os.path.join(root, "bc_train_eval", name)):
      shutil.copy(os.path.join(root, "bc_train_eval", name), dest)
  with open(os.path.join(dest, "command.txt"), "w") as f:
    f.write("\n".join(_commands(root)) + "\n")


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("source", help="results.tar.gz of device_rl.sh, or its run dir")
  parser.add_argument("--out", required=True, help="the comparison directory to write")
  parser.add_argument("--start_out", default="", help="where to publish the start's rows")
  args = parser.parse_args(argv)
  if os.path.isdir(args.source) and os.path.realpath(args.out) == os.path.realpath(args.source):
    raise SystemExit(f"--out {args.out} is the source: a runs.json written there marks its runs "
                     "finished, and compare_estimators.py would skip them when it resumes; give "
                     "another directory (e.g. <source>_so_far).")
  with tempfile.TemporaryDirectory() as tmp:
    root = args.source
    if os.path.isfile(root):
      with tarfile.open(root) as tar:
        tar.extractall(tmp, filter="data")
      root = tmp
    records, dirs = collect_runs(root)
    runs, last = pair(records)
    os.makedirs(args.out, exist_ok=True)
    for run_dir in dirs:
      dest = os.path.join(args.out, os.path.basename(run_dir))
      os.makedirs(dest, exist_ok=True)
      for name in ("progress.json", "config.json"):  # not metrics.jsonl: it runs past the cut
        if os.path.exists(os.path.join(run_dir, name)):
          shutil.copy(os.path.join(run_dir, name), dest)
    compare_estimators.save_runs(args.out, runs)
    with open(os.path.join(args.out, "command.txt"), "w") as f:
      f.write("\n".join(_commands(root)) + "\n")
    if os.path.exists(os.path.join(root, "notes.md")):  # a comparison directory's own notes
      shutil.copy(os.path.join(root, "notes.md"), args.out)
    print(f"[collect] {len(runs)} runs paired at iteration {last}", flush=True)
    print(compare_estimators.report(runs, args.out), flush=True)
    if args.start_out:
      publish_start(root, dirs, args.start_out)


if __name__ == "__main__":
  main()
