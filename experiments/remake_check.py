"""How far two comparisons of the same recipe go together, iteration by iteration: a comparison
made again (after a lost checkout, from a start made again) against the first.

    python experiments/remake_check.py experiments/results/compare_alfworld_smollm2_v4 \
        experiments/results/compare_alfworld_smollm2_v4_240

A comparison's runs come from its runs.json, or from <dir>/<estimator>_s<seed>/progress.json
where that goes further (a run under way, or continued to more iterations): the same history
and per-task outcomes, written after every iteration. Only the iterations and evaluations
present in both are compared, so a remake can be checked while it runs.

Per run and iteration, the training metrics that count episodes and tokens (EPISODE_KEYS:
success, invalid actions, episode length, step samples, sampled tokens) are compared exactly:
equal counts mean, almost surely, the same episodes. The others (KL, entropy, clipping, gradient
norm) are float32 results that differ in their last digits between machines even for the same
episodes, so their largest relative difference is printed, not judged. Per evaluation both
hold, the held-out games both played and how many have another outcome. The first difference is
the earliest iteration (over all runs) whose episode counts differ or whose evaluation has
another outcome.

Prints one line per run and iteration, then one JSON line: {"runs", "iterations" (compared),
"evaluations" (compared), "first_difference" (null when none)}.
"""

from __future__ import annotations

import argparse
import json
import os

from compare_estimators import HISTORY_KEYS, run_dir_name  # experiments/ is on sys.path

# Counts of the iteration's episodes and tokens: equal when the same episodes were played.
EPISODE_KEYS = ("success_rate", "invalid_rate", "episode_length", "step_samples",
                "sampled_tokens")
# The history's keys that measure the machine, not the run (compile counts too, since a resumed
# or lockstep process compiles at other times).
TIMING_PREFIXES = ("time/", "compile/")
TIMING_KEYS = ("adv_overhead_vs_grpo_pct",)


def float_keys() -> tuple:
  """The history keys compared by relative difference: neither episode counts nor timings."""
  return tuple(k for k in HISTORY_KEYS if k not in EPISODE_KEYS
               and not k.startswith(TIMING_PREFIXES) and k not in TIMING_KEYS)


def load_runs(directory: str) -> dict:
  """{run directory name: record with "history" and "outcomes"} of a comparison: runs.json's
  records, each replaced by <directory>/<run>/progress.json where that holds more iterations."""
  runs = {}
  path = os.path.join(directory, "runs.json")
  if os.path.exists(path):
    with open(path) as f:
      for r in json.load(f):
        runs[run_dir_name(r["estimator"], r["seed"])] = r
  if os.path.isdir(directory):
    for name in sorted(os.listdir(directory)):
      progress = os.path.join(directory, name, "progress.json")
      if os.path.exists(progress):
        with open(progress) as f:
          saved = json.load(f)
        if len(saved.get("history", [])) > len(runs.get(name, {}).get("history", [])):
          runs[name] = saved
  if not runs:
    raise SystemExit(f"{directory}: neither runs.json nor <run>/progress.json; give a "
                     "comparison's --out directory (experiments/compare_estimators.py).")
  return runs


def _relative(x: float, y: float) -> float:
  return abs(x - y) / max(abs(x), abs(y)) if x != y else 0.0


def history_differences(a: list, b: list) -> list:
  """[(iteration, [(key, value in a, value in b) of EPISODE_KEYS that differ], largest relative
  difference of the float_keys both record, [keys recorded on one side only])] for every
  iteration in both histories, in order. Keys recorded on one side only (a run recorded by code
  that kept fewer keys) are listed apart, not compared."""
  keys = EPISODE_KEYS + float_keys()
  by_b = {h["iteration"]: h for h in b}
  out = []
  for h in a:
    other = by_b.get(h["iteration"])
    if other is None:
      continue
    both = [k for k in keys if k in h and k in other]
    out.append((h["iteration"],
                [(k, h[k], other[k]) for k in both if k in EPISODE_KEYS and h[k] != other[k]],
                max([_relative(h[k], other[k]) for k in both if k not in EPISODE_KEYS],
                    default=0.0),
                [k for k in keys if (k in h) != (k in other)]))
  return out


def outcome_differences(a: dict, b: dict) -> list:
  """[(iteration, games in both, [task ids with another outcome], won in a, won in b)] for
  every evaluation (iteration key of "outcomes") in both, in iteration order; the won counts
  are over the games in both."""
  out = []
  for k in sorted(set(a) & set(b), key=int):
    games = sorted(set(a[k]) & set(b[k]))
    changed = [t for t in games if a[k][t] != b[k][t]]
    out.append((int(k), len(games), changed, sum(a[k][t] for t in games),
                sum(b[k][t] for t in games)))
  return out


def check(first: str, remade: str) -> dict:
  """Prints the comparison of the runs both directories hold; returns the summary."""
  lines, summary = compare(first, remade)
  print("\n".join(lines))
  return summary


def compare(first: str, remade: str) -> tuple[list, dict]:
  """(one line per run and iteration or evaluation, the summary) of the runs both hold."""
  a, b = load_runs(first), load_runs(remade)
  lines = []
  common = sorted(set(a) & set(b))
  if not common:
    raise SystemExit(f"{first} holds {sorted(a)} and {remade} {sorted(b)}: no run in both.")
  summary = {"runs": common, "iterations": 0, "evaluations": 0, "first_difference": None}
  differences = []  # (iteration, order within it, description)
  for run in common:
    for it, diffs, rel, one_sided in history_differences(a[run].get("history", []),
                                                         b[run].get("history", [])):
      summary["iterations"] += 1
      apart = f"; recorded on one side only: {', '.join(one_sided)}" if one_sided else ""
      floats = f"; KL, entropy and the rest differ by at most {rel:.1e} (relative){apart}"
      if not diffs:
        lines.append(f"{run} iteration {it}: the same episode counts{floats}")
        continue
      shown = ", ".join(f"{k} {x!r} vs {y!r}" for k, x, y in diffs)
      lines.append(f"{run} iteration {it}: other episodes: {shown}{floats}")
      differences.append((it, 1, {"run": run, "iteration": it,
                                  "training": [k for k, _, _ in diffs]}))
    for it, games, changed, won_a, won_b in outcome_differences(
        a[run].get("outcomes", {}), b[run].get("outcomes", {})):
      summary["evaluations"] += 1
      lines.append(f"{run} evaluation at {it}: {games} games in both, {len(changed)} with "
                   f"another outcome ({won_a} vs {won_b} won)")
      if changed:  # an evaluation at k follows iteration k's training
        differences.append((it, 2, {"run": run, "evaluation": it, "games": len(changed)}))
  if differences:
    summary["first_difference"] = min(differences, key=lambda d: d[:2])[2]
  return lines, summary


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
  p.add_argument("first", help="the first comparison's --out directory")
  p.add_argument("remade", help="the comparison made again")
  args = p.parse_args(argv)
  print(json.dumps(check(args.first, args.remade)))


if __name__ == "__main__":
  main()
