"""Writes experiments/RESULTS.md from the saved results (no training here).

    python experiments/make_results.py [--fidelity experiments/results/credit_fidelity.md]
        [--compare experiments/results/compare_alfworld_pick,experiments/results/compare_webshop]
        [--out experiments/RESULTS.md]

Inputs: the fidelity table written by `experiments/credit_fidelity.py`, and each comparison
directory written by `experiments/compare_estimators.py` (runs.json and command.txt; a sweep
directory has sweep.json and one comparison per value). The environment, its table columns
and headline come from runs.json; the table and plots are redrawn from it. Every sentence of a
reading is computed from the data: for the fidelity table, the ProxMO - GiGPO gaps against the
correlations' spread over batches; for a comparison, the paired differences ProxMO - baseline
per seed (mean and 95 % Student-t interval), the change from the behaviour-cloned start with
the 95 % binomial (Newcombe) interval of the start -> final difference, equal outcomes per
seed, the final KL when it was logged, and the budget the runs record (docs/method.md names
the estimators).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
from typing import Optional

import numpy as np

import compare_estimators  # experiments/ is on sys.path when this file runs as a script
import remake_check

FIDELITY_COMMAND = ("python experiments/credit_fidelity.py --iterations 20 "
                    "--out experiments/results/credit_fidelity.md "
                    "--plot experiments/results/credit_fidelity.png")


def _fidelity_reading(corr, stds) -> str:
  """Every sentence computed from the table: corr and stds map (difficulty, n, estimator) to
  the mean correlation and its standard deviation over batches."""
  settings = sorted({(d, n) for d, n, _ in corr})
  get = lambda d, n, e: corr[(d, n, e)]
  gigpo = "gigpo (mean_norm)"
  step_wins = sum(max(get(d, n, "proxmo"), get(d, n, gigpo)) >
                  max(get(d, n, "grpo"), get(d, n, "rloo")) for d, n in settings)
  diffs = [get(d, n, "proxmo") - get(d, n, gigpo) for d, n in settings]
  spread = [min(stds[(d, n, "proxmo")], stds[(d, n, gigpo)]) for d, n in settings]
  within = sum(abs(x) < s for x, s in zip(diffs, spread))
  higher = sum(x > 0 for x in diffs)
  total = len(settings)
  if within == total:
    verdict = "so every gap lies within that batch-to-batch spread"
  elif within == 0:
    verdict = "so every gap exceeds that batch-to-batch spread"
  else:
    verdict = f"and exceeds it in the other {total - within}"
  best = [max((e for (d2, n2, e) in corr if (d2, n2) == (d, n)), key=lambda e: get(d, n, e))
          for d, n in settings]
  all_stds = list(stds.values())
  per_setting = ", ".join(f"{d}/n={n}: {b}" for (d, n), b in zip(settings, best))
  return (f"Reading (computed from the table): a step-level estimator (GiGPO or ProxMO) beats "
          f"both trajectory-level ones (GRPO, RLOO) in {step_wins} of {total} settings. "
          f"ProxMO minus GiGPO (mean_norm) ranges from {min(diffs):+.3f} to {max(diffs):+.3f} "
          f"(mean {np.mean(diffs):+.3f}; ProxMO higher in {higher} of {total} settings). The "
          f"gap is smaller than the standard deviation over batches of both estimators' "
          f"correlations (the table's standard deviations are {min(all_stds):.3f}-"
          f"{max(all_stds):.3f}) in {within} of {total} settings, {verdict}. The best "
          f"estimator per setting: {per_setting}.")


def _fidelity_section(path: str, out_dir: str) -> list[str]:
  if not os.path.exists(path):
    return ["## Credit-assignment fidelity", "", f"(no results at {path}; run "
            f"`{FIDELITY_COMMAND}`)", ""]
  rows = [line.split("|")[1:-1] for line in open(path).read().splitlines()[2:] if line]
  rows = [[c.strip() for c in r] for r in rows]
  corr, stds = {}, {}
  for diff, n, _, est, c, *_ in rows:
    corr[(diff, n, est)] = float(c.split()[0])
    stds[(diff, n, est)] = float(c.split()[-1])
  lines = ["## Credit-assignment fidelity", "",
           "Small text MDPs (park navigation with near-duplicate and aliased observations) with "
           "exact A(s, a) = Q(s, a) - V(s) from dynamic programming, a fixed stochastic policy, "
           "and rollouts grouped exactly like training batches. Correlation of each estimator's "
           "step advantage with the exact one (mean over batches), group size n:", "",
           "| difficulty | n | GRPO | RLOO | GiGPO | GiGPO std | ProxMO | ProxMO - GiGPO | "
           "ProxMO - GRPO |", "|---" * 9 + "|"]
  for diff in ("easy", "medium", "hard"):
    for n in ("4", "8"):
      g = lambda e: corr.get((diff, n, e))
      p, gi, gr = g("proxmo"), g("gigpo (mean_norm)"), g("grpo")
      if None in (p, gi, gr):
        continue
      lines.append(f"| {diff} | {n} | {gr:.3f} | {g('rloo'):.3f} | {gi:.3f} | "
                   f"{g('gigpo (mean_std_norm)'):.3f} | {p:.3f} | {p - gi:+.3f} | {p - gr:+.3f} |")
  rel = os.path.relpath(path, out_dir)
  png = os.path.splitext(path)[0] + ".png"
  lines += ["", f"Full table (sign agreement, noise fraction, the ablations): [{rel}]({rel}).",
            f"![fidelity vs difficulty]({os.path.relpath(png, out_dir)})" if os.path.exists(png)
            else "", "", f"Command: `{FIDELITY_COMMAND}`", "",
            _fidelity_reading(corr, stds), ""]
  return lines


def _count(k: int, noun: str) -> str:
  """'1 seed', '3 seeds'."""
  return f"{k} {noun}" + ("" if k == 1 else "s")


def _per_seed_table(runs, names, seeds, metric):
  """Markdown rows 'start -> final' per seed and the mean change, per estimator; and
  {estimator: mean change from the start}."""
  rows = ["| estimator | " + " | ".join(f"seed {s}" for s in seeds) + " | mean change |",
          "|---" * (len(seeds) + 2) + "|"]
  changes = {}
  for n in names:
    rs = {r["seed"]: r for r in runs if r["estimator"] == n}
    cells, deltas = [], []
    for s in seeds:
      r = rs.get(s)
      start = None if r is None else r.get("start", {}).get(metric)
      final = None if r is None else r["final"].get(metric)
      if start is None or final is None:
        cells.append("-")
        continue
      cells.append(f"{start:.1f} -> {final:.1f}")
      deltas.append(final - start)
    changes[n] = float(np.mean(deltas)) if deltas else float("nan")
    rows.append(f"| {n} | " + " | ".join(cells) + f" | {changes[n]:+.1f} |")
  return rows, changes


def _paired_sentence(d: dict) -> str:
  """One reading line for a paired difference of compare_estimators.paired_difference."""
  head = f"- {d['a']} - {d['b']}, final {d['metric']} paired by seed"
  if d["mean"] is None:
    return head + ": no seed has both runs."
  per_seed = ", ".join(f"{x:+.1f}" for x in d["diffs"])
  if not np.isfinite(d["half"]):
    return head + f": {per_seed} (one seed, no interval)."
  lo, hi = d["mean"] - d["half"], d["mean"] + d["half"]
  if d["excludes_zero"]:
    side = f"the interval excludes 0 ({d['a']} {'higher' if d['mean'] > 0 else 'lower'})"
  else:
    side = "the interval includes 0, so these seeds do not separate them"
  return (head + f": {per_seed}; mean {d['mean']:+.1f}, 95 % interval [{lo:+.1f}, {hi:+.1f}] "
          f"over {_count(len(d['seeds']), 'seed')}; {side}.")


def _verdict(lo: float, hi: float) -> str:
  """What a 95 % interval [lo, hi] of a gain says."""
  return ("the gain exceeds it" if lo > 0 else "the drop exceeds it" if hi < 0 else
          "the interval includes 0")


def _gain_sentence(runs, name: str, metric: str) -> Optional[str]:
  """Held-out `metric` (a success percentage) at the start and after training, means over the
  estimator's seeds, with the 95 % binomial interval of the difference
  (`_difference_interval`) on n = the evaluated tasks. Start and final are evaluated on the
  same tasks (so are a run's seeds), so the samples are positively correlated and this
  independent-samples interval on n tasks is the conservative one. For one seed whose record
  kept per-task outcomes (`outcomes`, since 2026-12-04) and the success column, the paired
  interval follows (`_paired_difference_interval` on the tasks evaluated both times). None when
  the runs record no evaluation size."""
  rs = [r for r in runs if r["estimator"] == name and r.get("start", {}).get(metric) is not None
        and r["final"].get(metric) is not None and r.get("budget", {}).get("eval_tasks")]
  if not rs:
    return None
  n = min(r["budget"]["eval_tasks"] for r in rs)
  start = float(np.mean([r["start"][metric] for r in rs]))
  final = float(np.mean([r["final"][metric] for r in rs]))
  gap, lo, hi = (100 * x for x in _difference_interval(final / 100, n, start / 100, n))
  verdict = _verdict(lo, hi)
  seeds = "one seed" if len(rs) == 1 else f"mean of {len(rs)} seeds"
  text = (f"- {name}: held-out {metric} {start:.1f} % at the start -> {final:.1f} % after "
          f"training on {n} tasks ({seeds}); difference {gap:+.1f} points, 95 % binomial "
          f"interval of the difference [{lo:+.1f}, {hi:+.1f}] (Newcombe): {verdict}.")
  # One seed whose runs kept per-task outcomes (since 2026-12-04): the same tasks at the start
  # and after training, so the paired interval applies (the overall success column only).
  outcomes = rs[0].get("outcomes", {}) if len(rs) == 1 else {}
  last = (rs[0].get("evals") or [[0]])[-1][0]
  counts = _paired_counts(outcomes.get("0", {}), outcomes.get(str(last), {})) \
      if outcomes and last else None
  success_column = rs[0].get("columns", [None])[-1]  # EvalTable.columns() ends with it
  if counts and metric == success_column:
    a, b, c, d = counts
    gap, lo, hi = (100 * x for x in _paired_difference_interval(a, b, c, d))
    verdict = _verdict(lo, hi)
    text += (f" Paired by task ({a + b + c + d} tasks evaluated both times: {b} won only after "
             f"training, {c} only at the start, {a} both times): difference {gap:+.1f} points, "
             f"95 % interval [{lo:+.1f}, {hi:+.1f}] (Newcombe's paired method 10): {verdict}.")
  return text


def _final_kls(directory, runs) -> list:
  """The final training KL of each run: from its record, else its metrics.jsonl."""
  kls = []
  for r in runs:
    if r.get("final_kl") is not None:
      kls.append(r["final_kl"])
      continue
    path = os.path.join(directory, compare_estimators.run_dir_name(r["estimator"], r["seed"]),
                        "metrics.jsonl")
    if os.path.exists(path):
      rows = [json.loads(x) for x in open(path) if '"kl"' in x]
      kls += [rows[-1]["kl"]] if rows else []
  return kls


def _budget(directory, runs):
  """(budget dict, where it came from): a run's config.json, else the runs.json record; the
  record first when a run was cut short (collect_device_run.py: iterations run, not planned)."""
  for r in runs:
    if r.get("budget", {}).get("planned_iterations") is not None:
      return r["budget"], "runs.json"
  for r in runs:
    path = os.path.join(directory, compare_estimators.run_dir_name(r["estimator"], r["seed"]),
                        "config.json")
    if os.path.exists(path):
      c = json.load(open(path))
      g, n = c["env"]["groups_per_batch"], c["env"]["group_size"]
      return ({"preset": c["model"]["preset"], "init": c["model"].get("init", ""),
               "iterations": c["iterations"], "group_size": n, "groups_per_batch": g,
               "episodes_per_iteration": g * n, "eval_tasks": c["eval"]["num_tasks"]},
              "config.json")
  for r in runs:
    if r.get("budget"):
      return r["budget"], "runs.json"
  return None, None


def _full_scale(env: str):
  """(iterations, episodes per iteration, preset) of configs/<env>.py at full scale, or None."""
  try:
    c = compare_estimators.env_config_module(env).get_config("proxmo,full")
  except (SystemExit, ImportError, ValueError):
    return None
  return c.iterations, c.env.group_size * c.env.groups_per_batch, c.model.preset


def _budget_sentence(directory, runs, env, seeds) -> list:
  """The training budget as the runs record it, beside the environment's full-scale config;
  no verdict."""
  b, source = _budget(directory, runs)
  if not b:
    return []
  model = f"the `{b['preset']}` preset" + (f" initialised from `{b['init']}`" if b.get("init")
                                          else "")
  shape = (f" ({b['groups_per_batch']} groups x {b['group_size']})" if "group_size" in b else "")
  text = (f"- Budget (from {source}): {model}, {_count(b['iterations'], 'iteration')} of "
          f"{_count(b['episodes_per_iteration'], 'episode')}{shape} per estimator and seed")
  if b.get("eval_tasks"):
    text += f", evaluated on up to {_count(b['eval_tasks'], 'held-out task')}"
  text += f", {_count(len(seeds), 'seed')}."
  if b.get("planned_iterations") is not None:
    text += (f" The runs were stopped and paired at iteration {b['iterations']} of "
             f"{b['planned_iterations']} planned (experiments/collect_device_run.py); their wall "
             "time counts training iterations only, evaluations excluded.")
  full = _full_scale(env)
  if full and (full[0], full[1], full[2]) != (b["iterations"], b["episodes_per_iteration"],
                                              b["preset"]):
    text += (f" The full-scale config (configs/{env}.py) runs {full[0]} iterations of "
             f"{full[1]} episodes with the `{full[2]}` preset.")
  return [text]


def _raw_commands(directory) -> list:
  path = os.path.join(directory, "command.txt")
  return [c for c in open(path).read().splitlines() if c.strip()] if os.path.exists(path) else []


def _commands(directory) -> list:
  cmds = _raw_commands(directory)
  if len(cmds) == 1:
    return [f"Command: `{cmds[0]}`", ""]
  if cmds:
    return ["Commands (the runs were added in this order):", ""] + [f"- `{c}`" for c in cmds] + [""]
  return ["Command: see compare_estimators.py (no command.txt was saved).", ""]


def _reading(directory, runs, spec, names, seeds, changes) -> list:
  """Every line computed from the runs: paired differences, changes from the start, equal
  outcomes, the KL (when logged) and the budget."""
  ref = compare_estimators.REFERENCE
  metrics = compare_estimators.aggregate_columns(spec)
  lines = ["Reading (computed from runs.json):"]
  for metric in metrics:
    if ref in names:
      lines += [_paired_sentence(compare_estimators.paired_difference(runs, metric, ref, b))
                for b in names if b != ref]
    for n in names:
      ups, count = compare_estimators.rose_above_start(runs, n, metric)
      lines.append(f"- {n}: held-out {metric} changed by {changes[metric][n]:+.1f} points from "
                   f"the behaviour-cloned start on average; it rose above its start in {ups} of "
                   f"{_count(count, 'seed')}.")
  lines += [x for x in (_gain_sentence(runs, n, spec["headline"]) for n in names) if x]
  for metric in metrics:
    finals = {}
    for r in runs:
      finals.setdefault(r["seed"], set()).add(r["final"].get(metric))
    if len(names) > 1 and all(len(v) == 1 for v in finals.values()):
      lines.append(f"- Every estimator ended at the same held-out {metric} in each seed: the "
                   f"choice of estimator did not change the final {metric} in any seed.")
  kls = _final_kls(directory, runs)
  if kls:
    lines.append(f"- The final KL to the behaviour-cloned reference is {min(kls):.1e}-"
                 f"{max(kls):.1e} per token over {_count(len(kls), 'run')}" +
                 (" (below 1e-3 in every run: the policies stayed close to their start)."
                  if max(kls) < 1e-3 else "."))
  shares = {n: [100 * h["adv/total_nonzero"] for r in runs if r["estimator"] == n
                for h in r.get("history", []) if "adv/total_nonzero" in h] for n in names}
  if any(shares.values()):
    lines.append("- Step samples with a nonzero advantage (a policy-gradient term), mean "
                 "over the iterations recorded: " + ", ".join(
                     f"{n} {np.mean(v):.0f} % ({_count(len(v), 'iteration')})"
                     for n, v in shares.items() if v) + ".")
  return lines + _budget_sentence(directory, runs, spec["env"], seeds)


def _history_tables(runs, names) -> list:
  """From the runs' per-iteration training metrics (runs.json "history"; none in older files):
  the training rollouts' success, invalid-action rate and KL per iteration, mean over seeds;
  then where an iteration's wall time went, median over iterations and seeds (the first
  iterations compile, a new shape later compiles again: a mean would report compile time, e.g.
  0.14 s for a GRPO advantage that takes 0.3 ms once compiled), with the advantage's share of
  the iteration, its extra over GRPO's advantage on the same batch, and the seconds a run spent
  compiling (summed over its iterations, mean over seeds; recorded since 2026-12-04)."""
  runs = [r for r in runs if r.get("history")]
  if not runs:
    return []
  names = [n for n in names if any(r["estimator"] == n for r in runs)]
  mean = lambda vals: float(np.mean(vals)) if vals else None
  fmt = lambda v, f: "-" if v is None else format(v, f)

  def per_iteration(n, it, key):
    return mean([h[key] for r in runs if r["estimator"] == n for h in r["history"]
                 if h["iteration"] == it and key in h])

  iterations = sorted({h["iteration"] for r in runs for h in r["history"]})
  # (heading, history key, scale, format); the nonzero-advantage share where it was recorded
  # (compare_estimators.HISTORY_KEYS since 2026-12-05; for iterations of older code,
  # compare_estimators.fill_history takes it from the run's metrics.jsonl on resume and in
  # collect_device_run.py)
  cols = [("success %", "success_rate", 100, ".1f"), ("invalid %", "invalid_rate", 100, ".1f"),
          ("KL", "kl", 1, ".4f")]
  nonzero = any("adv/total_nonzero" in h for r in runs for h in r["history"])
  if nonzero:
    cols.append(("nonzero A %", "adv/total_nonzero", 100, ".0f"))
  head = [f"{n} {c[0]}" for n in names for c in cols]
  lines = ["", "Training rollouts per iteration (mean over seeds)" +
           ("; nonzero A %: the share of the iteration's step samples whose advantage is not 0, "
            "the samples with a policy-gradient term (a group whose episodes all score alike gives "
            "its samples an episode term of 0)" if nonzero else "") + ":", "",
           "| iteration | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
  for it in iterations:
    cells = []
    for n in names:
      for _, key, scale, f in cols:
        v = per_iteration(n, it, key)
        cells.append(fmt(None if v is None else scale * v, f))
    lines.append(f"| {it} | " + " | ".join(cells) + " |")
  median = lambda vals: float(np.median(vals)) if vals else None
  lines += ["", "Wall time per iteration (s, median over iterations and seeds: a few iterations "
            "that compile new shapes do not weigh in, a run that compiles in most of them does; "
            "the last column sums a run's compile seconds, where recorded):", "",
            "| estimator | iterations | rollout | log-probs | update | advantage | iteration | "
            "advantage % of iteration | extra over GRPO's advantage, % of iteration | "
            "compile s per run |",
            "|---" * 10 + "|"]
  for n in names:
    rows = [h for r in runs if r["estimator"] == n for h in r["history"]]
    t = {k: median([h[k] for h in rows if k in h]) for k in (
        "time/rollout", "time/logprob", "time/update", "time/advantage", "time/iteration",
        "adv_overhead_vs_grpo_pct")}
    share = median([100 * h["time/advantage"] / h["time/iteration"] for h in rows
                    if "time/advantage" in h and h.get("time/iteration")])
    compile_s = mean([sum(h["time/compile"] for h in r["history"]) for r in runs
                      if r["estimator"] == n and all("time/compile" in h for h in r["history"])])
    lines.append(f"| {n} | {len(rows)} | {fmt(t['time/rollout'], '.1f')} | "
                 f"{fmt(t['time/logprob'], '.1f')} | {fmt(t['time/update'], '.1f')} | "
                 f"{fmt(t['time/advantage'], '.3f')} | {fmt(t['time/iteration'], '.1f')} | "
                 f"{fmt(share, '.2f')} | {fmt(t['adv_overhead_vs_grpo_pct'], '+.2f')} | "
                 f"{fmt(compile_s, '.1f')} |")
  return lines


def _unfinished_runs(directory: str, runs) -> list:
  """Records of the runs still training: a <estimator>_s<seed>/progress.json whose pair is not
  in runs.json (compare_estimators writes runs.json when a run ends), or whose history goes past
  the iterations its runs.json record was run for (a run continued to more iterations)."""
  recorded = {compare_estimators.run_dir_name(r["estimator"], r["seed"]):
              r.get("budget", {}).get("iterations") for r in runs}
  out = []
  for name in sorted(os.listdir(directory)):
    match = re.fullmatch(r"(.+)_s(\d+)", name)  # the inverse of run_dir_name
    path = os.path.join(directory, name, "progress.json")
    if match and os.path.exists(path):
      saved = json.load(open(path))
      last = max([h["iteration"] for h in saved.get("history", [])], default=0)
      if name in recorded and (recorded[name] is None or last <= recorded[name]):
        continue
      out.append({"estimator": match.group(1), "seed": int(match.group(2)),
                  "evals": saved["evals"], "history": saved.get("history", []),
                  "seconds": saved["seconds"]})
  return out


def _in_progress_lines(directory: str, runs) -> list:
  """What the unfinished runs have measured so far: their held-out evaluations and training
  history, so a comparison that takes several sessions reports before it ends."""
  records = _unfinished_runs(directory, runs)
  if not records:
    return []
  where = "; not in the tables above" if runs else ""
  lines = ["", f"Still training (read from each run's progress.json{where}):", ""]
  for r in records:
    evals = "; ".join(f"iteration {it}: " + ", ".join(
        f"{k} {v:.1f}" for k, v in row.items() if v is not None) for it, row in r["evals"])
    lines.append(f"- {r['estimator']} seed {r['seed']}: {_count(len(r['history']), 'iteration')} "
                 f"done, {r['seconds'] / 3600:.1f} h of wall time so far; held-out {evals}")
  return lines + _history_tables(records, sorted({r["estimator"] for r in records}))


def _note_items(directory: str, prefix: str = "") -> list:
  """The lines of a run directory's notes.md (facts no log holds, e.g. when a run was paused
  for a test run) as list items, each after `prefix`; none without the file."""
  path = os.path.join(directory, "notes.md")
  if not os.path.exists(path):
    return []
  return [f"- {prefix}{line.strip()}" for line in open(path) if line.strip()]


def _notes_block(items: list) -> list:
  """Note items under their heading, marked as recorded by hand; nothing without items."""
  if not items:
    return []
  return (["Notes on the runs (recorded by hand in notes.md when they ran, not computed):"] +
          items + [""])


def _compare_notes(directory: str) -> list:
  """A comparison's notes.md under the notes heading."""
  return _notes_block(_note_items(directory))


def _widened_lines(directory: str) -> list:
  """The comparison's evaluations made again on more tasks (experiments/widen_evaluation.py's
  widened_<N>.json): won of N per evaluation, and each paired difference with its 95 %
  interval and verdict."""
  lines = []
  paths = sorted(glob.glob(os.path.join(directory, "widened_*.json")),
                 key=lambda p: int(re.findall(r"widened_(\d+)", p)[0]))
  for path in paths:
    widened = json.load(open(path))
    n = widened["tasks"]
    lines += ["", f"Held-out evaluations made again on {n} tasks (`{os.path.basename(path)}`, "
              "experiments/widen_evaluation.py: the same task order, seeds and temperature, the "
              "comparison's own episodes where they were played):", "",
              "| run | iteration | won | success % |", "|---|---|---|---|"]
    for e in widened["evaluations"]:
      won, tasks = sum(e["outcomes"].values()), len(e["outcomes"])
      lines.append(f"| {e['run']} | {e['iteration']} | {won} of {tasks} | "
                   f"{100 * won / tasks:.1f} |")
    lines.append("")
    for p in widened["paired"]:
      lo, hi = p["interval_95"]
      verdict = _verdict(lo, hi)
      lines.append(f"- {p['a']} - {p['b']}, paired by task ({p['pairs']} tasks: {p['a_only']} "
                   f"won only by the first, {p['b_only']} only by the second, {p['both']} by "
                   f"both): {p['difference_points']:+.1f} points, 95 % interval [{lo:+.1f}, "
                   f"{hi:+.1f}] (Newcombe's paired method 10): {verdict}.")
  return lines


def _remake_lines(directory: str) -> list:
  """For a comparison made again (its file `remake_of` names the first one's directory): how far
  the two go together, iteration by iteration (experiments/remake_check.py)."""
  path = os.path.join(directory, "remake_of")
  if not os.path.exists(path):
    return []
  with open(path) as f:
    first = f.read().strip()
  head = f"Set against `{first}` (its `remake_of`), the runs both hold: "
  try:
    _, summary = remake_check.compare(first, directory)
  except SystemExit as err:
    return ["", head + f"not compared: {err}"]
  d = summary["first_difference"]
  if d is None:
    verdict = ("the same episode counts in every iteration and every held-out game's outcome "
               "the same")
  else:
    where = (f"iteration {d['iteration']} ({', '.join(d['training'])})" if "iteration" in d
             else f"the evaluation at iteration {d['evaluation']} ({d['games']} games)")
    verdict = f"they first differ in {d['run']} at {where}"
  return ["", head + f"{_count(summary['iterations'], 'run iteration')} and "
          f"{_count(summary['evaluations'], 'evaluation')} in both compared "
          f"(experiments/remake_check.py): {verdict}."]


def _compare_section(directory: str, out_dir: str, level: str = "##") -> list:
  runs_file = os.path.join(directory, "runs.json")
  name = os.path.basename(directory.rstrip("/"))
  if os.path.exists(os.path.join(directory, "sweep.json")):
    return _sweep_section(directory, out_dir)
  runs = json.load(open(runs_file)) if os.path.exists(runs_file) else []
  if not runs:
    progress = _in_progress_lines(directory, runs) if os.path.isdir(directory) else []
    if progress:
      return ([f"{level} Learning comparison ({name})"] + progress + _remake_lines(directory)
              + [""] + _commands(directory) + _compare_notes(directory))
    lines = [f"{level} Learning comparison ({name})", "",
             "(runs.json holds no runs yet)" if os.path.exists(runs_file) else "(no runs.json yet)",
             ""]
    if _raw_commands(directory):  # started: what runs, and the notes on it so far
      lines += _commands(directory) + _compare_notes(directory)
    return lines
  spec = compare_estimators.table_spec(runs)
  # The table and plots are redrawn from runs.json, so a partial comparison reports too.
  table = compare_estimators.report(runs, directory)
  names = compare_estimators.estimator_names(runs)
  seeds = sorted({r["seed"] for r in runs})
  rel = lambda f: os.path.relpath(os.path.join(directory, f), out_dir)
  b, _ = _budget(directory, runs)
  policy = f"`{b['preset']}` policy" if b else "policy"
  lines = [f"{level} Learning comparison ({name}, {spec['env']})", "",
           f"Every estimator trains the same {policy} from the same behaviour-cloned start, "
           f"seeds {seeds}; held-out {', '.join(spec['columns'])} (%) after training "
           f"(headline column: {spec['headline']}).", "", table]
  changes = {}
  for metric in compare_estimators.aggregate_columns(spec):
    rows, changes[metric] = _per_seed_table(runs, names, seeds, metric)
    lines += ["", f"Held-out {metric} per seed, start -> final:", ""] + rows
  lines += _widened_lines(directory)
  lines += _remake_lines(directory)
  lines += _history_tables(runs, names)
  lines += _in_progress_lines(directory, runs)
  lines += ["", f"![learning curves]({rel('curves.png')})"]
  if spec["families"]:
    lines.append(f"![per task family]({rel('by_task.png')})")
  lines += [""] + _commands(directory)
  return (lines + _reading(directory, runs, spec, names, seeds, changes) + [""] +
          _compare_notes(directory))


def _sweep_reading(directory: str, sweep: dict) -> list:
  """Per value: the change of the reference estimator from its start, and whether each paired
  difference reference - baseline excludes zero, all computed from the runs."""
  ref = compare_estimators.REFERENCE
  lines = ["Reading (computed from the runs of every value):"]
  for value, sub in zip(sweep["values"], sweep["dirs"]):
    runs = compare_estimators.load_runs(os.path.join(directory, sub))
    if not runs or ref not in compare_estimators.estimator_names(runs):
      lines.append(f"- {sweep['field']}={value}: no {ref} runs yet.")
      continue
    metric = compare_estimators.table_spec(runs)["headline"]
    ups, count = compare_estimators.rose_above_start(runs, ref, metric)
    starts = [r["start"][metric] for r in runs if r["estimator"] == ref]
    finals = [r["final"][metric] for r in runs if r["estimator"] == ref]
    parts = [f"{ref} {np.mean(starts):.1f} -> {np.mean(finals):.1f} held-out {metric} (mean "
             f"over seeds), above its start in {ups} of {_count(count, 'seed')}"]
    for b in compare_estimators.SWEEP_BASELINES:
      d = compare_estimators.paired_difference(runs, metric, ref, b)
      if d["mean"] is None:
        continue
      if not np.isfinite(d["half"]):
        parts.append(f"{ref} - {b} {d['mean']:+.1f} (one seed)")
      elif d["excludes_zero"]:
        parts.append(f"{ref} - {b} {d['mean']:+.1f} ± {d['half']:.1f}, the interval excludes "
                     f"0 ({ref} {'higher' if d['mean'] > 0 else 'lower'})")
      else:
        parts.append(f"{ref} - {b} {d['mean']:+.1f} ± {d['half']:.1f}, the interval includes 0")
    lines.append(f"- {sweep['field']}={value}: " + "; ".join(parts) + ".")
  return lines


def _sweep_section(directory: str, out_dir: str) -> list:
  """A sweep: its summary table, then one sub-section per value."""
  sweep = json.load(open(os.path.join(directory, "sweep.json")))
  name = os.path.basename(directory.rstrip("/"))
  table = compare_estimators.sweep_report(directory, sweep["field"], sweep["values"])
  lines = [f"## Sweep ({name}): {sweep['field']}", "", table, ""] + _commands(directory)
  lines += _sweep_reading(directory, sweep) + [""]
  for sub in sweep["dirs"]:
    lines += _compare_section(os.path.join(directory, sub), out_dir, level="###")
  return lines


def _testbed_section() -> list:
  """The corridor testbed: what it is (docs/environments.md#corridor) and, computed exactly
  from its dynamics on the held-out set of configs/corridor.py's tiny size, how often a uniform
  policy and the cloned noisy demonstrator win."""
  from configs import corridor  # pylint: disable=import-outside-toplevel
  from environments import registry  # pylint: disable=import-outside-toplevel
  from environments.corridor import values, world  # pylint: disable=import-outside-toplevel
  c = corridor.get_config("proxmo,tiny")
  spec = registry.make(c.env)
  eps, horizon = c.sft.expert_noise, c.env.horizon
  bands = {}
  for t in spec.eval_tasks:
    w = world.World(t.payload)
    bands.setdefault(t.task_type, []).append(
        (values.success_probability(w, horizon, "uniform"),
         values.success_probability(w, horizon, "epsilon_expert", eps)))
  every = [p for v in bands.values() for p in v]
  cell = lambda ps, i: f"{100 * np.mean([p[i] for p in ps]):.1f}"
  names = [b for b in ("easy", "medium", "hard") if b in bands]
  table = (["| policy | " + " | ".join(names) + " | All |", "|---" * (len(names) + 2) + "|"] +
           [f"| {label} | " + " | ".join(cell(bands[b], i) for b in names) +
            f" | {cell(every, i)} |"
            for i, label in ((0, "uniform over admissible commands"),
                             (1, f"noisy demonstrator (epsilon {eps})"))])
  return ["## Corridor: the CPU credit-assignment testbed", "",
          "A procedural text task (docs/environments.md#corridor): a chain of halls whose signs "
          "name the door that leads on (a wrong door returns the agent to the first hall), dim "
          "signs to read first, and a key to take that alone opens the exit (a wrong key loses "
          "the episode halls later). Reward 10 on escape; difficulty per instance sets halls, "
          "doors, keys and dim signs; `paraphrase_rate` sets how often one state reads the "
          "same. The tiny policy is behaviour-cloned on a noisy demonstrator (a uniformly drawn "
          "admissible command with probability `sft.expert_noise`, else the expert's), then "
          "trained by RL; evaluation samples at temperature 1 on unseen instances.", "",
          f"Exact success probabilities on the {len(every)} held-out instances (horizon "
          f"{horizon}; `environments/corridor/values.py`, no sampling):", ""] + table + [""]


def _json_or_empty(path: str) -> dict:
  return json.load(open(path)) if os.path.exists(path) else {}


def _dumped_samples(directory: str) -> list:
  """The records of evaluate.py --dump's eval_samples.jsonl ([] when there is none)."""
  path = os.path.join(directory, "eval_samples.jsonl")
  return [json.loads(x) for x in open(path) if x.strip()] if os.path.exists(path) else []


def _zero_shot_row(directory: str):
  """(env, metrics of the run's one row, its config dict, its commands, its sample steps)."""
  metrics = json.load(open(os.path.join(directory, "eval_metrics.json")))
  (label, m), = metrics.items()
  cfg = _json_or_empty(os.path.join(directory, "config.json"))
  env = cfg.get("env", {}).get("name", label)
  return env, m, cfg, _raw_commands(directory), _dumped_samples(directory)


def _episodes(m: dict, commands) -> Optional[int]:
  """The episode count: recorded by evaluate.py, else the command's --num_tasks."""
  if "episodes" in m:
    return int(m["episodes"])
  for line in commands:
    for word in line.split():
      if word.startswith("--num_tasks="):
        return int(word.split("=", 1)[1])
  return None


def _sample_sentence(env: str, samples: list, max_tokens) -> str:
  """What the dumped responses contain, counted."""
  n = len(samples)
  has_open = sum("<action>" in r["response"] for r in samples)
  has_close = sum("</action>" in r["response"] for r in samples)
  has_think = sum("<think>" in r["response"] for r in samples)
  valid = sum(bool(r["valid"]) for r in samples)
  budget = f" (response budget {max_tokens} tokens)" if max_tokens else ""
  return (f"- {env}: of {_count(n, 'dumped step')}{budget}, {has_think} responses open "
          f"`<think>`, {has_open} open `<action>`, {has_close} close it, and {valid} "
          f"projected to a valid action.")


def _evaluation_dirs(root: str) -> list:
  """The subdirectories of `root` that hold an evaluate.py eval_metrics.json, sorted."""
  if not os.path.isdir(root):
    return []
  return sorted(os.path.join(root, d) for d in os.listdir(root)
                if os.path.exists(os.path.join(root, d, "eval_metrics.json")))


def _zero_shot_section(root: str, out_dir: str) -> list:
  """Zero-shot evaluations of a pretrained policy, one evaluate.py run directory per env."""
  dirs = _evaluation_dirs(root)
  if not dirs:
    return []
  lines = ["## Zero-shot pretrained policy (no training)", "",
           "The pretrained model as it is (`experiments/evaluate.py --zero_shot`), prompts "
           "through its chat template, on held-out tasks. The paper prompt states the task, the "
           "admissible actions and the `<think>`/`<action>` format; the compact prompt "
           "(for tiny models trained from scratch) states no format:", "",
           "| run | env | model | prompt | episodes | success (%) | score | invalid-action "
           "rate | steps per episode (limit) | truncated | response tokens (budget) |",
           "|---" * 11 + "|"]
  readings, commands = [], []
  for d in dirs:
    env, m, cfg, cmds, samples = _zero_shot_row(d)
    n = _episodes(m, cmds)
    model = cfg.get("model", {}).get("init") or cfg.get("model", {}).get("preset", "?")
    max_tokens = cfg.get("rollout", {}).get("max_response_tokens")
    score = m.get("task_score")
    prompt = cfg.get("env", {}).get("prompt", "?")
    run = os.path.basename(d)
    limit = cfg.get("env", {}).get("max_steps", "?")
    lines.append(f"| {run} | {env} | `{model}` | {prompt} | {n if n is not None else '?'} | "
                 f"{100 * m['success_rate']:.1f} | "
                 f"{'-' if score is None else f'{score:.3f}'} | {m['invalid_rate']:.3f} | "
                 f"{m['episode_length']:.1f} ({limit}) | {m['truncated_rate']:.3f} | "
                 f"{m['response_tokens']:.1f} ({max_tokens or '?'}) |")
    commands += [f"- {run}: `{c}`" for c in cmds]
    wins = round(m["success_rate"] * n) if n is not None else None
    text = (f"- {run}: {wins if wins is not None else '?'} of "
            f"{n if n is not None else '?'} episodes succeeded; "
            f"{100 * m['invalid_rate']:.1f} % of the steps' responses gave no valid action")
    if max_tokens:
      text += (f"; responses averaged {m['response_tokens']:.1f} of the {max_tokens}-token "
               f"budget")
    readings.append(text + ".")
    if samples:
      readings.append(_sample_sentence(run, samples, max_tokens))
      rel = os.path.relpath(os.path.join(d, "eval_samples.jsonl"), out_dir)
      readings[-1] = readings[-1][:-1] + f" ([{rel}]({rel}))."
  return (lines + ["", "Commands:", ""] + commands + ["", "Reading (computed from "
          "eval_metrics.json and eval_samples.jsonl):"] + readings + [""])


def _wilson(p: float, n: int, z: float = 1.96) -> tuple[float, float]:
  """Wilson score interval of a binomial proportion p observed on n trials:
  (p + z²/2n ± z sqrt(p (1 - p) / n + z²/4n²)) / (1 + z²/n)."""
  center = (p + z * z / (2 * n)) / (1 + z * z / n)
  half = z / (1 + z * z / n) * float(np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)))
  return center - half, center + half


def _difference_interval(p1: float, n1: int, p2: float, n2: int) -> tuple[float, float, float]:
  """(p1 - p2, lower, upper): the 95 % interval of a difference of two binomial proportions
  by Newcombe's hybrid score method (Statistics in Medicine 17, 873, 1998, method 10) from the
  Wilson intervals (l_i, u_i): d - sqrt((p1 - l1)² + (u2 - p2)²), d + sqrt((u1 - p1)² +
  (p2 - l2)²). Unlike the normal (Wald) interval it stays wide at 0 % and 100 %."""
  (l1, u1), (l2, u2) = _wilson(p1, n1), _wilson(p2, n2)
  d = p1 - p2
  return (d, d - float(np.hypot(p1 - l1, u2 - p2)), d + float(np.hypot(u1 - p1, p2 - l2)))


def _paired_difference_interval(a: int, b: int, c: int, d: int) -> tuple[float, float, float]:
  """(p1 - p2, lower, upper): the 95 % interval of a difference of two binomial proportions
  observed on the same n = a + b + c + d subjects, p1 = (a + b) / n and p2 = (a + c) / n, with
  a: success in both, b: in the first only, c: in the second only, d: in neither. Newcombe's
  method 10 for paired data (Statistics in Medicine 17, 2635, 1998): the Wilson intervals
  (l_i, u_i) combined with the correlation of the pairs,
      d - sqrt((p1 - l1)² - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)²),
      d + sqrt((p2 - l2)² - 2 phi (p2 - l2)(u1 - p1) + (u1 - p1)²),
  phi = C / sqrt((a + b)(c + d)(a + c)(b + d)), C = ad - bc - n/2 when ad - bc > n/2, 0 when
  0 <= ad - bc <= n/2, ad - bc when negative (phi = 0 when a margin is empty). With phi = 0 it
  is the independent-samples interval of `_difference_interval`; outcomes that agree between
  the two evaluations (phi > 0) narrow it."""
  n = a + b + c + d
  p1, p2 = (a + b) / n, (a + c) / n
  (l1, u1), (l2, u2) = _wilson(p1, n), _wilson(p2, n)
  margins = (a + b) * (c + d) * (a + c) * (b + d)
  cross = a * d - b * c
  adjusted = cross - n / 2 if cross > n / 2 else (cross if cross < 0 else 0.0)
  phi = adjusted / float(np.sqrt(margins)) if margins else 0.0
  diff = p1 - p2
  lower = diff - float(np.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
  upper = diff + float(np.sqrt((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
  return diff, lower, upper


def _paired_counts(start: dict, final: dict) -> Optional[tuple[int, int, int, int]]:
  """(a, b, c, d) of the tasks both evaluations ran ({task_id: 1 if won}): a won in both, b
  after training only, c at the start only, d in neither; None without common tasks."""
  common = sorted(set(start) & set(final))
  if not common:
    return None
  a = sum(1 for t in common if final[t] and start[t])
  b = sum(1 for t in common if final[t] and not start[t])
  c = sum(1 for t in common if start[t] and not final[t])
  return a, b, c, len(common) - a - b - c


def _warm_start_section(root: str, out_dir: str) -> list:
  """Behaviour-cloned pretrained policies: one directory per run with evaluate.py
  --split=both's eval_metrics.json (a held-out and a training-tasks row), its config.json and
  the BC's bc_log.json; command.txt lists the BC and evaluation commands; an optional notes.md
  holds what the logs do not (e.g. a pause inside a timed evaluation), one note per line."""
  dirs = _evaluation_dirs(root)
  if not dirs:
    return []
  lines = ["## Behaviour-cloned pretrained policy (the RL warm start)", "",
           "The pretrained model after behaviour cloning on the environment's expert "
           "(`experiments/sft.py`), then `experiments/evaluate.py --split=both`: the same "
           "number of held-out and training tasks, sampled at the evaluation temperature.", "",
           "| run | env | model | prompt | BC steps x batch (expert steps, tasks; demonstrator "
           "noise) | split | "
           "response budget | episodes | success (%) | score | invalid-action rate | steps per "
           "episode (limit) | evaluation (min) |", "|---" * 13 + "|"]
  readings, commands, notes = [], [], []
  for d in dirs:
    run = os.path.basename(d)
    metrics = json.load(open(os.path.join(d, "eval_metrics.json")))
    cfg = _json_or_empty(os.path.join(d, "config.json"))
    bc = _json_or_empty(os.path.join(d, "bc_log.json"))
    run_commands = _raw_commands(d)
    budget = cfg.get("rollout", {}).get("max_response_tokens", "?")
    env = cfg.get("env", {}).get("name", "?")
    model = cfg.get("model", {}).get("init") or cfg.get("model", {}).get("preset", "?")
    sft = cfg.get("sft", {})
    noise = sft.get("expert_noise", 0.0)
    demonstrator = (f"; noise {noise:g}, {sft.get('expert_labels', 'taken')} labels"
                    if noise else "")
    bc_cell = (f"{bc.get('steps', sft.get('steps', '?'))} x "
               f"{bc.get('batch_size', sft.get('batch_size', '?'))} "
               f"({bc.get('examples', '?')}, {bc.get('tasks', '?')}{demonstrator})")
    env_cfg = cfg.get("env", {})
    prompt = env_cfg.get("prompt", "?") + (f", history {env_cfg['history_length']}"
                                           if "history_length" in env_cfg else "")
    counts = {}
    for label, m in metrics.items():
      # --split=both labels its rows; a one-split run is labelled by its workdir: its split
      # comes from the command (evaluate.py's default is the held-out split).
      split = ("held-out" if "held-out" in label else "training" if "training" in label else
               "training" if any("--split=train" in c for c in run_commands) else
               "held-out")
      n = int(m["episodes"])
      counts[split] = (round(m["success_rate"] * n), n)
      score = m.get("task_score")
      minutes = f"{m['seconds'] / 60:.1f}" if "seconds" in m else "?"
      lines.append(f"| {run} | {env} | `{model}` | {prompt} | "
                   f"{bc_cell} | {split} | {budget} | {n} | {100 * m['success_rate']:.1f} | "
                   f"{'-' if score is None else f'{score:.3f}'} | {m['invalid_rate']:.3f} | "
                   f"{m['episode_length']:.1f} ({cfg.get('env', {}).get('max_steps', '?')}) | "
                   f"{minutes} |")
    commands += [f"- {run}: `{c}`" for c in run_commands]
    text = f"- {run}: " + "; ".join(f"{split} {k} of {n} succeeded"
                                    for split, (k, n) in counts.items())
    if "held-out" in counts and "training" in counts:
      (k1, n1), (k2, n2) = counts["training"], counts["held-out"]
      gap, lo, hi = (100 * x for x in _difference_interval(k1 / n1, n1, k2 / n2, n2))
      verdict = ("the interval excludes 0: part of the training success is memorised"
                 if lo > 0 else "the interval includes 0: no memorisation shows at this "
                 "sample size" if hi >= 0 else "held-out above training")
      text += (f"; training - held-out {gap:+.1f} points, 95 % interval [{lo:+.1f}, {hi:+.1f}] "
               f"(Newcombe), {verdict}")
    losses = bc.get("losses") or []
    if len(losses) >= 2:
      text += (f"; BC loss {losses[0]:.3f} at step 1 -> {losses[-1]:.3f} at step "
               f"{10 * (len(losses) - 1) + 1}")
    if "seconds" in bc and "resumed_at" in bc:  # summed over the calls of a resumed run
      text += f"; BC took {bc['seconds'] / 60:.0f} min" + (
          f" (resumed at step {bc['resumed_at']})" if bc["resumed_at"] else "")
    elif "seconds" in bc:  # logs before 2026-12-04 counted the last call only
      text += f"; BC's last call took {bc['seconds'] / 60:.0f} min"
    if bc.get("init_params"):  # `sft.py --init_params`: these steps continue an earlier BC
      text += f" (continuing the BC in `{bc['init_params']}`)"
    samples = _dumped_samples(d)
    if samples:
      cut = sum("<action>" in r["response"] and "</action>" not in r["response"]
                for r in samples)
      text += (f"; of {_count(len(samples), 'dumped step')}, {cut} opened `<action>` without "
               f"closing it (cut by the response budget) and "
               f"{sum(not r['valid'] for r in samples)} were invalid")
    readings.append(text + ".")
    notes += _note_items(d, f"{run}: ")
  return (lines + ["", "Commands:", ""] + commands + ["", "Reading (computed from "
          "eval_metrics.json and bc_log.json):"] + readings + [""] + _fit_lines(dirs) +
          _notes_block(notes))


def _fit_lines(dirs) -> list:
  """The teacher-forced fit of the clones whose directory holds experiments/bc_fit.py's
  bc_fit.json: per split, how often greedy decoding writes the expert's response, and per
  command verb."""
  fits = [(os.path.basename(d), json.load(open(os.path.join(d, "bc_fit.json"))))
          for d in dirs if os.path.exists(os.path.join(d, "bc_fit.json"))]
  if not fits:
    return []
  lines = ["Teacher-forced fit (`experiments/bc_fit.py`): the clone scores the expert's clean "
           "demonstration steps of training and held-out tasks; \"greedy\" is the share of steps "
           "whose whole expert response greedy decoding would write, the NLL is that of the "
           "command's tokens, and each verb cell reads greedy-right steps / steps (NLL):", "",
           "| run | split | tasks | steps | greedy (%) | command NLL (nats) | by verb |",
           "|---" * 7 + "|"]
  import bc_fit  # pylint: disable=import-outside-toplevel  # (jax): only when a fit exists
  commands = []
  for run, fit in fits:
    for split in ("train", "held-out"):
      r = fit.get(split)
      if not r:
        continue
      lines.append(f"| {run} | {split} | {r['tasks']} | {r['steps']} | {r['greedy_pct']:.1f} | "
                   f"{r['command_nll']:.2f} | {bc_fit.verb_cells(r)} |")
    commands.append(f"- {run}: `{fit.get('command', '?')}`")
  return lines + ["", "Commands:", ""] + commands + [""]


def comparison_dirs(spec: str) -> list:
  """The --compare list in order; an entry with `*` stands for its existing directories, sorted
  (a comparison not started yet adds no section)."""
  out = []
  for entry in (x for x in spec.split(",") if x):
    out += sorted(d for d in glob.glob(entry) if os.path.isdir(d)) if "*" in entry else [entry]
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--fidelity", default="experiments/results/credit_fidelity.md")
  parser.add_argument("--compare", default="experiments/results/corridor_paraphrase,"
                      "experiments/results/corridor_spread,"
                      "experiments/results/compare_alfworld_pick,"
                      "experiments/results/compare_webshop,"
                      "experiments/results/compare_webshop_smollm2,"
                      "experiments/results/compare_webshop_smollm2_v2,"
                      "experiments/results/compare_webshop_smollm2_gpu_short,"
                      "experiments/results/compare_alfworld_smollm2*",
                      help="comma-separated comparison directories (`*`: every match)")
  parser.add_argument("--zero_shot", default="experiments/results/zero_shot",
                      help="directory of evaluate.py --zero_shot runs, one per environment")
  parser.add_argument("--warm_start", default="experiments/results/warm_start",
                      help="directory of behaviour-cloned runs (evaluate.py --split=both)")
  parser.add_argument("--out", default="experiments/RESULTS.md")
  args = parser.parse_args()
  out_dir = os.path.dirname(os.path.abspath(args.out))
  lines = ["# Results", "",
           "Generated by `python experiments/make_results.py` from the saved runs (it trains "
           "nothing); each section gives the commands and the budget of its runs.", ""]
  lines += _fidelity_section(args.fidelity, out_dir)
  compare = comparison_dirs(args.compare)
  if any("corridor" in os.path.basename(d.rstrip("/")) for d in compare):
    lines += _testbed_section()
  for d in compare:
    lines += _compare_section(d, out_dir)
  lines += _zero_shot_section(args.zero_shot, out_dir)
  lines += _warm_start_section(args.warm_start, out_dir)
  with open(args.out, "w") as f:
    f.write("\n".join(lines) + "\n")
  print(f"wrote {args.out}")


if __name__ == "__main__":
  main()
