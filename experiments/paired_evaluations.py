"""Two evaluations of the same tasks, paired task by task: which tasks each won, and the
difference in success with its 95 % interval. Read from stored episodes.

    python experiments/paired_evaluations.py runs/<evaluation A>/eval_episodes/eval \
        runs/<evaluation B>/eval_episodes/eval

Reads the chunks of episodes that `experiments/evaluate.py` keeps
(`<workdir>/eval_episodes/<split>/p*_c*.json`, proxmo_jax/training/eval_files.py) for both
directories and pairs the episodes by task: a task's n-th episode in one evaluation (chunks in
the order of their first episode) with its n-th in the other, whatever the chunk sizes (an
evaluation plays each task once unless it was asked for more). It prints one JSON
line: the pairs, A's and B's successes, the 2 x 2 table (both won, only A, only B, neither), the
difference A - B in points and its 95 % interval by Newcombe's paired method 10
(experiments/make_results.py, the interval the comparisons' readings use). Episodes present in
one directory only (an evaluation still running, or of other tasks) are counted and left out.
Any environment: an episode record's `won` is its success.
"""

from __future__ import annotations

import argparse
import collections
import json

from make_results import _paired_difference_interval
from proxmo_jax.training import eval_files  # no JAX


def outcomes(directory: str) -> dict:
  """{(task_id, n): won} of the stored episodes in `directory`, n counting each task's
  episodes from 0 in the evaluation's order."""
  try:
    records = eval_files.episode_records(directory)
  except FileNotFoundError as err:
    raise SystemExit(str(err)) from err
  seen = collections.Counter()
  out = {}
  for e in records:
    out[(e["task_id"], seen[e["task_id"]])] = bool(e["won"])
    seen[e["task_id"]] += 1
  return out


def paired(a: dict, b: dict) -> dict:
  """The 2 x 2 table of two {key: won} maps over their common keys, and A - B with its paired
  95 % interval (in points)."""
  common = sorted(set(a) & set(b))
  if not common:
    raise SystemExit("the two evaluations share no task: give the same split of evaluations of "
                     "the same tasks (evaluate.py's --split and --num_tasks).")
  both = sum(a[k] and b[k] for k in common)
  a_only = sum(a[k] and not b[k] for k in common)
  b_only = sum(b[k] and not a[k] for k in common)
  neither = len(common) - both - a_only - b_only
  gap, lo, hi = (round(100 * x, 1) for x in
                 _paired_difference_interval(both, a_only, b_only, neither))
  return {"pairs": len(common), "a_won": both + a_only, "b_won": both + b_only, "both": both,
          "a_only": a_only, "b_only": b_only, "neither": neither,
          "difference_points": gap, "interval_95": [lo, hi],
          "unpaired": {"a": len(set(a) - set(b)), "b": len(set(b) - set(a))}}


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("a", help="<workdir>/eval_episodes/<split> of evaluation A")
  parser.add_argument("b", help="<workdir>/eval_episodes/<split> of evaluation B")
  args = parser.parse_args(argv)
  print(json.dumps({"a": args.a, "b": args.b, **paired(outcomes(args.a), outcomes(args.b))}),
        flush=True)


if __name__ == "__main__":
  main()
