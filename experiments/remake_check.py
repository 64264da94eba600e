"""Whether a comparison made again repeats the first one, iteration by iteration: the training
metrics that do not measure time, and every held-out game's outcome in each evaluation both
comparisons hold.

    python experiments/remake_check.py experiments/results/compare_alfworld_smollm2_v4 \
        experiments/results/compare_alfworld_smollm2_v4b

A comparison's runs come from its runs.json, or, for a run still under way, from
<dir>/<estimator>_s<seed>/progress.json (the same history and per-task outcomes, written after
every iteration). Only the iterations and evaluations present in both are compared, so a remake
can be checked while it runs. A run made again by the same command and code from the same start
params should repeat the first run exactly (its keys derive from the seed and the iteration);
any difference is printed with both values, and where it first appears.

Prints one line per run and iteration, then one JSON line: {"runs", "iterations" (compared),
"evaluations" (compared), "first_difference" (null when none)}.
"""

from __future__ import annotations

import argparse
import json
import os

from compare_estimators import HISTORY_KEYS  # experiments/ is on sys.path as a script

# The history's keys that measure the machine, not the run: they differ between runs of the same
# computation (compile counts too, since a resumed or lockstep process compiles at other times).
TIMING_PREFIXES = ("time/", "compile/")
TIMING_KEYS = ("adv_overhead_vs_grpo_pct",)


def compared_keys() -> tuple:
  """The history keys a remake must repeat."""
  return tuple(k for k in HISTORY_KEYS
               if not k.startswith(TIMING_PREFIXES) and k not in TIMING_KEYS)


def load_runs(directory: str) -> dict:
  """{run directory name: {"history", "outcomes"}} of a comparison: runs.json's records, and
  for runs not recorded there, <directory>/<run>/progress.json."""
  runs = {}
  path = os.path.join(directory, "runs.json")
  if os.path.exists(path):
    with open(path) as f:
      for r in json.load(f):
        runs[f"{r['estimator']}_s{r['seed']}"] = r
  if os.path.isdir(directory):
    for name in sorted(os.listdir(directory)):
      progress = os.path.join(directory, name, "progress.json")
      if name not in runs and os.path.exists(progress):
        with open(progress) as f:
          runs[name] = json.load(f)
  if not runs:
    raise SystemExit(f"{directory}: neither runs.json nor <run>/progress.json; give a "
                     "comparison's --out directory (experiments/compare_estimators.py).")
  return runs


def history_differences(a: list, b: list, keys=None) -> list:
  """[(iteration, [(key, value in a, value in b), ...], [keys in one side only])] for every
  iteration in both histories, in order. The first list is empty when the keys both record
  repeat exactly; keys recorded on one side only (a run recorded by code that kept fewer keys)
  are listed apart, not compared."""
  keys = compared_keys() if keys is None else keys
  by_b = {h["iteration"]: h for h in b}
  out = []
  for h in a:
    other = by_b.get(h["iteration"])
    if other is None:
      continue
    out.append((h["iteration"],
                [(k, h[k], other[k]) for k in keys if k in h and k in other and h[k] != other[k]],
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
  a, b = load_runs(first), load_runs(remade)
  common = sorted(set(a) & set(b))
  if not common:
    raise SystemExit(f"{first} holds {sorted(a)} and {remade} {sorted(b)}: no run in both.")
  summary = {"runs": common, "iterations": 0, "evaluations": 0, "first_difference": None}

  def note(where):
    if summary["first_difference"] is None:
      summary["first_difference"] = where
  for run in common:
    for it, diffs, one_sided in history_differences(a[run].get("history", []),
                                                    b[run].get("history", [])):
      summary["iterations"] += 1
      apart = f" (recorded on one side only: {', '.join(one_sided)})" if one_sided else ""
      if not diffs:
        print(f"{run} iteration {it}: training metrics the same{apart}")
        continue
      shown = ", ".join(f"{k} {x!r} vs {y!r}" for k, x, y in diffs)
      print(f"{run} iteration {it}: {len(diffs)} training metrics differ: {shown}{apart}")
      note({"run": run, "iteration": it, "training": [k for k, _, _ in diffs]})
    for it, games, changed, won_a, won_b in outcome_differences(
        a[run].get("outcomes", {}), b[run].get("outcomes", {})):
      summary["evaluations"] += 1
      print(f"{run} evaluation at {it}: {games} games in both, {len(changed)} with another "
            f"outcome ({won_a} vs {won_b} won)")
      if changed:
        note({"run": run, "evaluation": it, "games": len(changed)})
  return summary


def main(argv=None):
  p = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
  p.add_argument("first", help="the first comparison's --out directory")
  p.add_argument("remade", help="the comparison made again")
  args = p.parse_args(argv)
  print(json.dumps(check(args.first, args.remade)))


if __name__ == "__main__":
  main()
