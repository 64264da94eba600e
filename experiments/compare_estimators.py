"""Learning comparison: one environment, one behaviour-cloned start, every estimator.

    python experiments/compare_estimators.py --env alfworld --budget cpu --seeds 0,1,2 \
        [--estimators grpo,rloo,gigpo,gigpo_std,proxmo,proxmo_no_modulation,proxmo_no_soft] \
        [--set sft.steps=1000 --set env.max_steps=20 ...] \
        [--sweep env.paraphrase_rate=0,0.5,1] [--out experiments/results/compare] \
        [--size smollm2] [--start runs/smollm2_webshop_bc/sft]

`--env NAME` reads configs/NAME.py (any environment with a config file); each run's config is
`get_config("<estimator>,tiny")` (`,full` for `--budget full`), then the budget's settings, then
the `--set` overrides (configs/common.py: set_fields). Estimator names are those of
configs/common.py ESTIMATORS ("gigpo" is mean_norm, "gigpo_std" mean_std_norm; docs/method.md).
`--budget`: "smoke" (minutes, plumbing only), "cpu" (the tiny size, 12 iterations) or "full"
(the environment's full-scale config; accelerators).

One behaviour-cloning run (and one tokenizer) is shared by every estimator; each
(estimator, seed) then trains from it and is evaluated on the held-out tasks every
`eval.every` iterations and after the last one. The start is evaluated once per seed (the same
policy, tasks and evaluation seed for every estimator). Re-running with the same `--out` skips
the (estimator, seed) pairs already in runs.json and resumes an interrupted one from its latest
checkpoint (its evaluations so far are kept in <run>/progress.json, and an evaluation's
finished chunks of episodes in <out>/eval_episodes/<run>/iter_<k>, so a stop inside an
evaluation loses at most the chunk under way); command.txt keeps every command that added
runs. A run in runs.json with fewer iterations than asked (`--set iterations=16` after 8) is
continued from its last checkpoint, as if it had been asked for 16 from the start, and its
record replaced. `--size smollm2` trains the pretrained size instead of `tiny`;
`--start DIR` shares an existing behaviour-cloned start (experiments/sft.py's sft/ directory),
e.g. one cloned for hours in the background, instead of cloning one in <out>/sft.
`--lockstep` opens every run at once and advances each one iteration in turn, so that a
comparison stopped by a time limit (an accelerator call) has all estimators at the same
iteration; each run's numbers are the same as alone.

Writes `<out>/runs.json` (one record per run: env, estimator, seed, the environment's table
columns and headline, the start and final rows, every evaluation row, the budget, the final KL,
wall time, the training metrics of every iteration as `history`, each evaluation's per-task
outcomes as `outcomes`), `table.md` (final table per
estimator and paired differences ProxMO - baseline), `curves.png` and, when the table has task
families, `by_task.png`. With `--sweep FIELD=v1,v2` every value gets its own comparison (and
its own behaviour-cloned start) in `<out>/FIELD=v/`, and `<out>/sweep.md` / `sweep.json`
summarise them.

Intervals are 95 % Student-t intervals over seeds (n - 1 degrees of freedom), which stay valid
with the few seeds a CPU comparison has.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import shutil
import sys
import time

import numpy as np

from configs import common
from proxmo_jax import host_memory

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGETS = {
    "smoke": {"iterations": 2, "eval.every": 1, "eval.num_tasks": 6},
    "cpu": {"iterations": 12, "eval.every": 4, "eval.num_tasks": 24},
    "full": {},
}
REFERENCE = "proxmo"             # the estimator every paired difference starts from
SWEEP_BASELINES = ("gigpo", "grpo")
INTERVAL = "95 % Student-t interval over seeds (n - 1 degrees of freedom)"

# --- statistics ---------------------------------------------------------------------------

# Two-sided 95 % quantiles of Student's t, t.ppf(0.975, df), df = 1..30.
_T975 = (12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
         2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
         2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423)


def t975(df: int) -> float:
  """t.ppf(0.975, df): a table up to 30, the Cornish-Fisher expansion beyond."""
  if df < 1:
    return float("nan")
  if df <= len(_T975):
    return _T975[df - 1]
  z = 1.959964
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2)


def mean_ci(values) -> tuple:
  """(mean, half-width of the 95 % Student-t interval) of the non-None values; (None, None)
  without values, half-width nan for a single value."""
  v = np.asarray([x for x in values if x is not None], float)
  if v.size == 0:
    return None, None
  if v.size == 1:
    return float(v[0]), float("nan")
  return float(v.mean()), float(t975(v.size - 1) * v.std(ddof=1) / math.sqrt(v.size))


def finals_by_seed(runs, estimator: str, metric: str) -> dict:
  """{seed: final value of `metric`} of one estimator's runs (None values left out)."""
  return {r["seed"]: r["final"][metric] for r in runs
          if r["estimator"] == estimator and r["final"].get(metric) is not None}


def paired_difference(runs, metric: str, a: str = REFERENCE, b: str = "gigpo") -> dict:
  """Final `metric` of `a` minus `b`, seed by seed (the seeds both have), with the mean and
  its 95 % Student-t interval; `excludes_zero` is True when the interval lies on one side."""
  fa, fb = finals_by_seed(runs, a, metric), finals_by_seed(runs, b, metric)
  seeds = sorted(set(fa) & set(fb))
  diffs = [fa[s] - fb[s] for s in seeds]
  mean, half = mean_ci(diffs)
  excludes = mean is not None and math.isfinite(half) and abs(mean) > half
  return {"a": a, "b": b, "metric": metric, "seeds": seeds, "diffs": diffs, "mean": mean,
          "half": half, "excludes_zero": bool(excludes)}


def rose_above_start(runs, estimator: str, metric: str) -> tuple:
  """(seeds whose final `metric` is above its start, seeds with both values)."""
  pairs = [(r["start"].get(metric), r["final"].get(metric)) for r in runs
           if r["estimator"] == estimator]
  pairs = [(s, f) for s, f in pairs if s is not None and f is not None]
  return sum(f > s for s, f in pairs), len(pairs)


# --- formatting ---------------------------------------------------------------------------

def fmt_ci(mean, half, signed: bool = False) -> str:
  if mean is None:
    return "-"
  m = f"{mean:+.1f}" if signed else f"{mean:.1f}"
  return f"{m} ± {half:.1f}" if math.isfinite(half) else f"{m} (one seed)"


def fmt_excludes(diff: dict) -> str:
  if diff["mean"] is None:
    return "-"
  if not math.isfinite(diff["half"]):
    return "n/a (one seed)"
  return "yes" if diff["excludes_zero"] else "no"


def estimator_names(runs) -> list:
  return list(dict.fromkeys(r["estimator"] for r in runs))


def table_spec(runs) -> dict:
  """The environment's table as stored in the runs: env, columns, families, headline."""
  r = runs[0]
  missing = [k for k in ("env", "columns", "headline") if k not in r]
  if missing:
    raise ValueError(f"runs.json records lack {missing}; they come from compare_estimators.py "
                     "(older files need these fields added).")
  return {"env": r["env"], "columns": list(r["columns"]), "headline": r["headline"],
          "families": list(r.get("families", []))}


def aggregate_columns(spec: dict) -> list:
  """The headline first, then the other columns that are not task families (e.g. a score)."""
  rest = [c for c in spec["columns"] if c not in spec["families"] and c != spec["headline"]]
  return [spec["headline"]] + rest


def final_table(runs, columns, headline) -> str:
  """Markdown: per estimator, final mean ± 95 % interval per column, seeds that rose above the
  start (headline) and mean wall time."""
  lines = ["| Estimator | seeds | " + " | ".join(columns) +
           f" | rose above start ({headline}) | wall min |", "|---" * (len(columns) + 4) + "|"]
  for n in estimator_names(runs):
    rs = [r for r in runs if r["estimator"] == n]
    cells = [fmt_ci(*mean_ci([r["final"].get(c) for r in rs])) for c in columns]
    ups, count = rose_above_start(runs, n, headline)
    wall = np.mean([r["seconds"] for r in rs]) / 60
    lines.append(f"| {n} | {len(rs)} | " + " | ".join(cells) +
                 f" | {ups} of {count} | {wall:.1f} |")
  return "\n".join(lines)


def paired_table(runs, metric: str, reference: str = REFERENCE) -> str:
  """Markdown: reference - each other estimator, final `metric` paired by seed."""
  lines = [f"| {reference} - baseline | seeds | per-seed differences | mean ± 95 % CI | "
           "excludes 0 |", "|---" * 5 + "|"]
  for b in estimator_names(runs):
    if b == reference:
      continue
    d = paired_difference(runs, metric, reference, b)
    per_seed = ", ".join(f"{x:+.1f}" for x in d["diffs"]) or "-"
    lines.append(f"| {reference} - {b} | {len(d['seeds'])} | {per_seed} | "
                 f"{fmt_ci(d['mean'], d['half'], signed=True)} | {fmt_excludes(d)} |")
  return "\n".join(lines)


def sweep_table(field: str, entries, reference: str = REFERENCE,
                baselines=SWEEP_BASELINES) -> str:
  """Markdown: one row per sweep value ((value, runs) pairs): each estimator's final headline
  mean ± 95 % interval, and the paired differences reference - each baseline."""
  names = list(dict.fromkeys(n for _, runs in entries for n in estimator_names(runs)))
  header = [field] + names
  for b in baselines:
    header += [f"{reference} - {b}", "excludes 0"]
  lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
  for value, runs in entries:
    if not runs:
      lines.append(f"| {value} | " + " | ".join(["-"] * (len(header) - 1)) + " |")
      continue
    metric = table_spec(runs)["headline"]
    cells = [str(value)]
    cells += [fmt_ci(*mean_ci(finals_by_seed(runs, n, metric).values())) for n in names]
    for b in baselines:
      d = paired_difference(runs, metric, reference, b)
      cells += [fmt_ci(d["mean"], d["half"], signed=True), fmt_excludes(d)]
    lines.append("| " + " | ".join(cells) + " |")
  return "\n".join(lines)


# --- report -------------------------------------------------------------------------------

def _plots(runs, out, spec):
  """curves.png (mean and 95 % band per estimator) and, with families, by_task.png."""
  try:
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  except ImportError:
    return
  headline = spec["headline"]
  fig, ax = plt.subplots(figsize=(6, 4))
  for n in estimator_names(runs):
    by_it = {}
    for r in runs:
      if r["estimator"] == n:
        for it, v in r["curve"]:
          by_it.setdefault(it, []).append(v)
    its = sorted(by_it)
    stats = [mean_ci(by_it[it]) for it in its]
    means = np.array([m for m, _ in stats])
    halves = np.nan_to_num(np.array([h for _, h in stats]))
    ax.plot(its, means, marker="o", label=n)
    ax.fill_between(its, means - halves, means + halves, alpha=0.15)
  ax.set_xlabel("iteration")
  ax.set_ylabel(f"held-out {headline} (%)")
  ax.set_title(f"{spec['env']}: mean and 95 % t-interval over seeds", fontsize=9)
  ax.legend(fontsize=7)
  ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "curves.png"), dpi=110)
  plt.close(fig)
  if not spec["families"]:
    return
  cols = spec["families"] + [spec["headline"]]
  names = estimator_names(runs)
  fig, ax = plt.subplots(figsize=(8, 4))
  width = 0.8 / max(len(names), 1)
  for j, n in enumerate(names):
    means = [mean_ci([r["final"].get(c) for r in runs if r["estimator"] == n])[0] or 0.0
             for c in cols]
    ax.bar(np.arange(len(cols)) + j * width, means, width, label=n)
  ax.set_xticks(np.arange(len(cols)) + 0.4 - width / 2, cols)
  ax.set_ylabel("held-out success (%)")
  ax.legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(os.path.join(out, "by_task.png"), dpi=110)
  plt.close(fig)


def report(runs, out) -> str:
  """Writes <out>/table.md and the plots from the run records; returns the markdown."""
  spec = table_spec(runs)
  parts = [f"Final held-out results ({spec['env']}), mean ± {INTERVAL}:", "",
           final_table(runs, spec["columns"], spec["headline"])]
  if REFERENCE in estimator_names(runs) and len(estimator_names(runs)) > 1:
    for metric in aggregate_columns(spec):
      parts += ["", f"Paired differences of the final {metric} (same seed, same start):", "",
                paired_table(runs, metric)]
  text = "\n".join(parts)
  with open(os.path.join(out, "table.md"), "w") as f:
    f.write(text + "\n")
  _plots(runs, out, spec)
  return text


def sweep_report(out: str, field: str, values) -> str:
  """Writes <out>/sweep.md and sweep.json from the sub-comparisons; returns the markdown."""
  entries = [(v, load_runs(os.path.join(out, sweep_dir(field, v)))) for v in values]
  with open(os.path.join(out, "sweep.json"), "w") as f:
    json.dump({"field": field, "values": list(values),
               "dirs": [sweep_dir(field, v) for v in values]}, f, indent=1)
  text = (f"Sweep over {field}: final held-out headline per estimator, mean ± {INTERVAL}; "
          f"{REFERENCE} - baseline paired by seed:\n\n" + sweep_table(field, entries))
  with open(os.path.join(out, "sweep.md"), "w") as f:
    f.write(text + "\n")
  return text


# --- running ------------------------------------------------------------------------------

def env_config_module(env: str):
  """configs/<env>.py; a clear error when the environment has no config file."""
  if not os.path.exists(os.path.join(REPO, "configs", f"{env}.py")):
    have = sorted(f[:-3] for f in os.listdir(os.path.join(REPO, "configs"))
                  if f.endswith(".py") and f not in ("__init__.py", "common.py"))
    raise SystemExit(f"--env {env}: no configs/{env}.py; environments with a config: {have}")
  return importlib.import_module(f"configs.{env}")


def make_config(env: str, budget: str, estimator: str, overrides, seed: int,
                size: str = "tiny"):
  """The config of one run: the environment's variant at `size` ("full" for the full budget),
  the budget, the overrides, the seed."""
  c = env_config_module(env).get_config(f"{estimator},{'full' if budget == 'full' else size}")
  common.set_fields(c, {**BUDGETS[budget], **overrides})
  c.seed = seed
  c.eval.before_train = False  # the start is evaluated here, once per seed
  return c


def budget_record(c, budget: str) -> dict:
  return {"budget": budget, "preset": c.model.preset, "init": c.model.init,
          "iterations": c.iterations, "group_size": c.env.group_size,
          "groups_per_batch": c.env.groups_per_batch,
          "episodes_per_iteration": c.env.group_size * c.env.groups_per_batch,
          "max_steps": c.env.max_steps, "eval_tasks": c.eval.num_tasks,
          "eval_every": c.eval.every}


def load_runs(out: str) -> list:
  path = os.path.join(out, "runs.json")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return json.load(f)


def save_runs(out: str, runs) -> None:
  with open(os.path.join(out, "runs.json"), "w") as f:
    json.dump(runs, f, indent=1)


def code_version(repo: str = REPO) -> str:
  """The git commit of the code that runs ("<short hash>", "-dirty" when tracked files differ
  from it), or "" outside a git checkout."""
  import subprocess  # pylint: disable=import-outside-toplevel
  try:
    run = lambda *a: subprocess.run(["git", "-C", repo, *a], capture_output=True, text=True,
                                    check=True, timeout=30).stdout.strip()
    return run("rev-parse", "--short", "HEAD") + (
        "-dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
  except (OSError, subprocess.SubprocessError):
    return ""


def record_command(out: str) -> None:
  """Appends this command, with the commit it runs at, to <out>/command.txt unless it is there
  already (a resumed run at another commit gets its own line)."""
  path = os.path.join(out, "command.txt")
  version = code_version()
  command = "python " + " ".join(sys.argv) + (f"  # code at {version}" if version else "")
  previous = open(path).read().splitlines() if os.path.exists(path) else []
  if command not in previous:
    with open(path, "a") as f:
      f.write(command + "\n")


def sweep_dir(field: str, value) -> str:
  return f"{field}={value}"


def parse_sweep(text: str) -> tuple:
  """"env.paraphrase_rate=0,0.5,1" -> ("env.paraphrase_rate", ["0", "0.5", "1"])."""
  field, sep, values = text.partition("=")
  values = [v.strip() for v in values.split(",") if v.strip()]
  if not sep or not field.strip() or not values:
    raise SystemExit(f"--sweep {text!r}: use FIELD=v1,v2,... (e.g. env.paraphrase_rate=0,0.5)")
  return field.strip(), values


def eval_store_root(workdir: str) -> str:
  """Where a run's evaluations keep their finished chunks of episodes (`Run.evaluate_stored`
  adds iter_<k>): <out>/eval_episodes/<run>, beside the run's directory rather than in it, since
  a run stopped before its first progress.json (e.g. in the start's evaluation) begins again in
  an emptied directory. The chunks' key (the policy's params digest, the episode-shaping config,
  the seed) makes them valid only for the same policy and settings (`eval_store`)."""
  workdir = os.path.abspath(workdir)
  return os.path.join(os.path.dirname(workdir), "eval_episodes", os.path.basename(workdir))


def _evaluate(run, iteration: int, tag: str, store_root: str) -> tuple:
  """(table row, {task_id: 1 if won else 0}) of a held-out evaluation; the outcomes pair the
  start's and a later evaluation task by task (make_results' paired interval). On several
  hosts the outcomes are this host's episodes only (the row covers all of them).

  Finished chunks are kept under `store_root`, so an evaluation stopped part way (a 102-game
  ALFWorld evaluation takes 40-50 min on 2 CPU cores) resumes at the chunk it was in, with the
  episodes the whole one would have had."""
  episodes, row = run.evaluate_stored(iteration, store_root)
  run.write_eval(iteration, episodes)
  headline = run.exp.spec.eval_table.headline
  print(f"[compare] {tag} iteration {iteration}: held-out {headline} {row[headline]:.1f}",
        flush=True)
  return row, {e.task.task_id: int(bool(e.won)) for e in episodes}


# The training metrics kept per iteration in runs.json ("history"): the curves of a report
# (training success, invalid actions, KL) and where an iteration's wall time goes.
HISTORY_KEYS = ("success_rate", "invalid_rate", "episode_length", "kl", "entropy", "clip_frac",
                "grad_norm", "step_samples", "sampled_tokens", "time/rollout", "time/logprob",
                "time/update", "time/advantage", "time/advantage_grpo", "time/iteration",
                "adv_overhead_vs_grpo_pct", "time/compile", "compile/count",
                # shares of the step samples whose advantage (episode term, step term, total)
                # is not 0: the samples with a policy-gradient term
                "adv/episode_nonzero", "adv/step_nonzero", "adv/total_nonzero")


def history_row(iteration: int, metrics: dict) -> dict:
  """One iteration's HISTORY_KEYS (those present, as floats) and its number."""
  row = {"iteration": iteration}
  row.update({k: float(metrics[k]) for k in HISTORY_KEYS if k in metrics})
  return row


def logged_metrics(run_dir: str) -> list:
  """Every line of a run's metrics.jsonl (training and evaluation), [] without the file."""
  path = os.path.join(run_dir, "metrics.jsonl")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    return [json.loads(line) for line in f]


def _logged_history(run_dir: str) -> dict:
  """{iteration: training metrics} of a run's metrics.jsonl (the last line logged for each
  iteration: one run again after a stop logs it twice), {} without the file."""
  return {int(row["step"]): row for row in logged_metrics(run_dir) if "success_rate" in row}


def fill_history(record: dict, run_dir: str) -> dict:
  """`record` (a runs.json record or a progress.json) with each history row given the
  HISTORY_KEYS it lacks from the same iteration's metrics.jsonl line (iterations run by code
  that recorded fewer keys)."""
  logged = _logged_history(run_dir)
  if not logged:
    return record
  history = []
  for h in record.get("history", []):
    line = logged.get(h["iteration"], {})
    history.append({**h, **{k: float(line[k]) for k in HISTORY_KEYS
                            if k in line and k not in h}})
  return {**record, "history": history}


def run_dir_name(estimator: str, seed: int) -> str:
  """The directory of one (estimator, seed) run inside a comparison's --out."""
  return f"{estimator}_s{seed}"


def _save_progress(path: str, evals, seconds: float, final_kl, history, outcomes=None) -> None:
  with open(path + ".tmp", "w") as f:
    json.dump({"evals": evals, "seconds": seconds, "final_kl": final_kl, "history": history,
               "outcomes": outcomes or {}}, f)
  os.replace(path + ".tmp", path)


class Training:
  """One (estimator, seed) run from the shared start, advanced one iteration at a time.

  Resumable: every evaluation iteration is checkpointed before it is evaluated, and
  <workdir>/progress.json (rewritten atomically) keeps the evaluations, the run's own wall
  time, the last KL and the per-iteration training metrics (`history_row`). A run directory
  with progress.json continues from its latest checkpoint (exact, as the trainer resumes),
  evaluating first if it stopped between that checkpoint and its evaluation; a directory
  without it (stopped before the start was recorded) starts afresh. Opening it evaluates the
  start unless `start_row` (the same seed's start, evaluated by another run) is given, with
  that evaluation's per-task outcomes (`start_outcomes`) when it has them. `outcomes` maps an
  evaluated iteration (as a string) to {task_id: 1 if won else 0}.

  `seconds` counts only this run's own work (opening, its iterations and evaluations), so runs
  advanced in turns in one process (`compare(lockstep=True)`) each report their own time.
  """

  def __init__(self, c, budget: str, workdir: str, sft_dir: str, start_row,
               start_outcomes=None):
    from proxmo_jax.training import train  # pylint: disable=import-outside-toplevel
    t0 = time.time()
    self.c, self.budget, self.workdir = c, budget, workdir
    self.progress = os.path.join(workdir, "progress.json")
    resume = os.path.exists(self.progress)
    if os.path.exists(workdir) and not resume:
      shutil.rmtree(workdir)
    self.tag = f"{c.algorithm.variant} seed {c.seed}"
    self.closed = False
    self.run = train.Run(c, workdir, init_params_dir=sft_dir, restore=resume)
    try:
      if resume:
        saved = json.load(open(self.progress))
        it = self.run.trainer.iteration
        self.evals = [e for e in saved["evals"] if e[0] <= it]
        self.history = [h for h in fill_history(saved, workdir).get("history", [])
                        if h["iteration"] <= it]
        self.outcomes = {k: v for k, v in saved.get("outcomes", {}).items() if int(k) <= it}
        self.seconds, self.final_kl = saved["seconds"], saved.get("final_kl")
        print(f"[compare] {self.tag}: resumed at iteration {it} ({len(self.evals)} evaluations "
              "kept)", flush=True)
        if it and self.evals[-1][0] < it and self._is_eval(it):
          self._evaluate(it)
      else:
        self.seconds, self.final_kl, self.history = 0.0, None, []
        self.evals, self.outcomes = [], {}
        if start_row is not None:
          self.evals.append([0, start_row])
          if start_outcomes:
            self.outcomes["0"] = start_outcomes
        else:
          self._evaluate(0)
      self._save(t0)
    except BaseException:
      self.run.close()
      raise

  def _evaluate(self, it: int) -> None:
    row, self.outcomes[str(it)] = _evaluate(self.run, it, self.tag,
                                            eval_store_root(self.workdir))
    self.evals.append([it, row])

  def _is_eval(self, it: int) -> bool:
    return bool(self.c.eval.every and it % self.c.eval.every == 0) or it == self.c.iterations

  def _save(self, t0: float) -> float:
    """Adds the time since t0 to the run's own seconds, writes progress.json; returns now."""
    now = time.time()
    self.seconds += now - t0
    _save_progress(self.progress, self.evals, self.seconds, self.final_kl, self.history,
                   self.outcomes)
    return now

  @property
  def done(self) -> bool:
    return self.run.trainer.iteration >= self.c.iterations

  def step(self) -> None:
    """One training iteration; checkpointed and evaluated when the schedule says so."""
    t0 = time.time()
    trainer = self.run.trainer
    last = trainer.train_iteration()
    it = trainer.iteration
    self.run.writer.write(it, last)
    self.final_kl = float(last["kl"]) if "kl" in last else None
    self.history.append(history_row(it, last))
    if self._is_eval(it) or (self.c.checkpoint.every and it % self.c.checkpoint.every == 0):
      trainer.save()
      trainer.ckpt.wait()
      # The iteration's record goes with its checkpoint: a stop during the evaluation resumes
      # here and evaluates again, reading back the chunks it had finished (eval_store_root).
      t0 = self._save(t0)
    if self._is_eval(it):
      self._evaluate(it)
    self._save(t0)

  def record(self) -> dict:
    """The runs.json record."""
    c, evals, spec = self.c, self.evals, self.run.exp.spec
    table, headline = spec.eval_table, spec.eval_table.headline
    # The tasks each evaluation covered: eval.num_tasks, or the whole split when it is smaller.
    budget = {**budget_record(c, self.budget),
              "eval_tasks": min(c.eval.num_tasks, len(spec.eval_tasks))}
    return {"env": c.env.name, "estimator": c.algorithm.variant, "seed": c.seed,
            "columns": table.columns(), "families": [col for col, _ in table.families],
            "headline": headline, "start": evals[0][1], "final": evals[-1][1],
            "curve": [[it, row[headline]] for it, row in evals], "evals": evals,
            "budget": budget, "final_kl": self.final_kl,
            "history": self.history, "seconds": self.seconds, "outcomes": self.outcomes}

  def close(self) -> None:
    if not self.closed:
      self.closed = True
      self.run.close()


def train_one(c, budget: str, workdir: str, sft_dir: str, start_row,
              start_outcomes=None) -> dict:
  """Trains one (estimator, seed) from the shared start to the end; returns its runs.json
  record (`Training`: resumable)."""
  training = Training(c, budget, workdir, sft_dir, start_row, start_outcomes)
  try:
    while not training.done:
      training.step()
    return training.record()
  finally:
    training.close()


def lockstep_turn(iterations: list[int]) -> list[int]:
  """The runs to advance one iteration each in the next turn of a lockstep comparison, in
  order, given each run's completed iterations (runs still training).

  Only the runs at the lowest iteration step, so runs resumed at different iterations (a stop
  between two runs' steps) come back into step before any goes further. The order alternates
  with that iteration (as given when it is even, reversed when odd): a shape met first is
  compiled by whichever run steps first (the compiled programs are shared in the process), so no
  estimator pays for them all, and the order is the same after a resume as without one.
  """
  low = min(iterations)
  order = range(len(iterations)) if low % 2 == 0 else reversed(range(len(iterations)))
  return [i for i in order if iterations[i] == low]


def compare(env: str, budget: str, estimators, seeds, overrides, out: str,
            size: str = "tiny", start_dir: str = "", lockstep: bool = False) -> list:
  """One comparison in `out` (resumable); returns its run records. `start_dir`: an existing
  behaviour-cloned start (a params.npz directory) instead of cloning one into <out>/sft.

  `lockstep`: every run open at once in this process and advanced one iteration each in turn,
  instead of one run after the other, so that a comparison stopped by a time limit (an
  accelerator call) has every estimator at the same iteration, give or take the one under way
  (experiments/collect_device_run.py pairs them at the last iteration all evaluated). Each run's
  numbers are those it gets alone: its own parameters, optimizer, random keys and environments.
  The turn order alternates between rounds (compiles of shapes new to the process fall on
  whichever run meets them first), and runs resumed at different iterations catch up first
  (`lockstep_turn`); a run is recorded in runs.json and closed when it is done.
  """
  os.makedirs(out, exist_ok=True)
  record_command(out)
  runs = load_runs(out)
  shared = dict(overrides)
  probe = make_config(env, budget, estimators[0], shared, 0, size)
  # A run recorded with fewer iterations than asked is continued from its last checkpoint (its
  # record is replaced when it ends): the same run as a longer one from the start, since the
  # learning rate is constant after warm-up and keys derive from (seed, iteration).
  done = {(r["estimator"], r["seed"]) for r in runs
          if r["budget"]["iterations"] >= probe.iterations}
  todo = [(n, s) for n in estimators for s in seeds if (n, s) not in done]
  for r in runs:
    key = (r["estimator"], r["seed"])
    if key in todo and not os.path.exists(
        os.path.join(out, run_dir_name(*key), "progress.json")):
      raise SystemExit(
          f"{out}: {key[0]} seed {key[1]} is recorded with {r['budget']['iterations']} "
          f"iterations and --set iterations={probe.iterations} asks for more, but "
          f"{os.path.join(out, run_dir_name(*key))} (its checkpoints and progress.json) is "
          "gone, so it cannot be continued; give a new --out, or the iterations it has.")
  if probe.tokenizer.kind == "sentencepiece" and not probe.tokenizer.path:
    if start_dir:
      raise SystemExit(f"--start {start_dir}: a start of the {size} size comes with its own "
                       "tokenizer trained into its run; give --set tokenizer.path=<that run's "
                       "tokenizer.model>, or use a pretrained size (e.g. --size smollm2).")
    shared["tokenizer.path"] = os.path.abspath(os.path.join(out, "tokenizer.model"))
  sft_dir = start_dir or os.path.join(out, "sft")
  if start_dir and not os.path.exists(os.path.join(start_dir, "params.npz")):
    raise SystemExit(f"--start {start_dir}: no params.npz there; give the sft/ directory that "
                     "experiments/sft.py wrote.")
  if todo and not os.path.exists(os.path.join(sft_dir, "params.npz")):
    from proxmo_jax.training import train  # pylint: disable=import-outside-toplevel
    train.behavior_clone(make_config(env, budget, estimators[0], shared, 0, size), out, sft_dir)

  def finished(record):
    runs[:] = [r for r in runs if (r["estimator"], r["seed"]) !=
               (record["estimator"], record["seed"])] + [record]
    save_runs(out, runs)
    print(f"[compare] {record['estimator']} seed {record['seed']}: final {record['headline']} "
          f"{record['final'][record['headline']]:.1f} ({record['seconds']:.0f} s)", flush=True)

  def start_of(seed, open_runs=()):
    """(row, per-task outcomes) of the seed's start evaluated by an earlier run, or Nones."""
    done = [(r["start"], r.get("outcomes", {}).get("0")) for r in runs if r["seed"] == seed]
    opened = [(t.evals[0][1], t.outcomes.get("0")) for t in open_runs
              if t.c.seed == seed and t.evals[0][0] == 0]
    return (done + opened + [(None, None)])[0]

  if not lockstep:
    for name, seed in todo:
      c = make_config(env, budget, name, shared, seed, size)
      finished(train_one(c, budget, os.path.join(out, run_dir_name(name, seed)), sft_dir,
                         *start_of(seed)))
  else:
    opened, running = [], []
    try:
      for name, seed in todo:
        c = make_config(env, budget, name, shared, seed, size)
        t = Training(c, budget, os.path.join(out, run_dir_name(name, seed)), sft_dir,
                     *start_of(seed, opened))
        opened.append(t)
        running.append(t)
      while True:
        # Recorded and closed as soon as done (a run resumed after its last iteration at once).
        for t in [t for t in running if t.done]:
          running.remove(t)
          finished(t.record())
          t.close()
        if not running:
          break
        for i in lockstep_turn([t.run.trainer.iteration for t in running]):
          running[i].step()
    finally:
      for t in opened:  # each closed once; one failing to close leaves the others to close
        try:
          t.close()
        except Exception as e:  # pylint: disable=broad-except
          print(f"[compare] closing {t.tag}: {e!r}", file=sys.stderr, flush=True)
  if runs:
    print(report(runs, out), flush=True)
  return runs


def make_parser(description: str = __doc__.splitlines()[0]) -> argparse.ArgumentParser:
  """The command line of a comparison (also read by experiments/widen_evaluation.py)."""
  parser = argparse.ArgumentParser(description=description)
  parser.add_argument("--env", default="alfworld", help="configs/<env>.py (alfworld, webshop, ...)")
  parser.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
  parser.add_argument("--size", default="tiny",
                      help="the config size of the runs unless --budget full (tiny, smollm2)")
  parser.add_argument("--start", default="", metavar="SFT_DIR",
                      help="an existing behaviour-cloned start (experiments/sft.py's sft/ "
                      "directory) shared by every run, instead of cloning one in <out>/sft")
  parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
  parser.add_argument("--estimators", default=",".join(common.ESTIMATORS),
                      help="comma-separated names of configs/common.py ESTIMATORS")
  parser.add_argument("--out", default="experiments/results/compare")
  parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                      help="config override for every run (BC included), repeatable")
  parser.add_argument("--lockstep", action="store_true",
                      help="advance every run one iteration in turn in this process (a "
                      "comparison cut by a time limit stays paired), not one run after another")
  parser.add_argument("--sweep", default="", metavar="FIELD=V1,V2,...",
                      help="one comparison per value in <out>/FIELD=V/, each with its own BC")
  return parser


def parse_args(argv=None):
  return make_parser().parse_args(argv)


def run_arguments(args) -> tuple[list, list, dict]:
  """(estimators, seeds, overrides) of a parsed comparison command line; unknown estimator
  names are refused."""
  estimators = [n.strip() for n in args.estimators.split(",") if n.strip()]
  unknown = [n for n in estimators if n not in common.ESTIMATORS]
  if unknown:
    raise SystemExit(f"unknown estimators {unknown}; use names of {list(common.ESTIMATORS)}")
  seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
  return estimators, seeds, dict(kv.split("=", 1) for kv in args.set)


def main(argv=None):
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  args = parse_args(argv)
  estimators, seeds, overrides = run_arguments(args)
  if not args.sweep:
    make_config(args.env, args.budget, estimators[0], overrides, 0, args.size)  # typos fail now
    compare(args.env, args.budget, estimators, seeds, overrides, args.out, args.size, args.start,
            args.lockstep)
    return
  field, values = parse_sweep(args.sweep)
  for v in values:  # every value must make a valid config before anything trains
    make_config(args.env, args.budget, estimators[0], {**overrides, field: v}, 0, args.size)
  os.makedirs(args.out, exist_ok=True)
  record_command(args.out)
  for v in values:
    print(f"[compare] sweep {field}={v}", flush=True)
    compare(args.env, args.budget, estimators, seeds, {**overrides, field: v},
            os.path.join(args.out, sweep_dir(field, v)), args.size, args.start, args.lockstep)
  print(sweep_report(args.out, field, values), flush=True)


if __name__ == "__main__":
  main()
