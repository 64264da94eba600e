"""Credit-assignment fidelity of every estimator on text MDPs with exact advantages.

    python experiments/credit_fidelity.py [--difficulties easy,medium,hard] [--group_sizes 4,8]
        [--iterations 20] [--num_tasks 8] [--out experiments/results/credit_fidelity.md]

Prints one markdown table (and writes it to --out): per difficulty and group size, each
estimator's correlation with the exact A(s, a) = Q(s, a) - V(s) (mean +- std over batches),
sign agreement and noise fraction (see proxmo_jax/analysis/fidelity.py).
"""

from __future__ import annotations

import argparse
import os
import time

from proxmo_jax.analysis import fidelity


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--difficulties", default="easy,medium,hard")
  parser.add_argument("--group_sizes", default="4,8")
  parser.add_argument("--iterations", type=int, default=20)
  parser.add_argument("--num_tasks", type=int, default=8)
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--out", default="", help="markdown table path (optional)")
  parser.add_argument("--plot", default="", help="PNG path: correlation vs difficulty (optional)")
  args = parser.parse_args()
  lines = ["| difficulty | n | success | estimator | corr (mean +- std) | sign agree | noise |",
           "|---|---|---|---|---|---|---|"]
  print("\n".join(lines), flush=True)
  t0 = time.time()
  results = []
  for diff in args.difficulties.split(","):
    for n in (int(v) for v in args.group_sizes.split(",")):
      for r in fidelity.evaluate(diff, n, args.num_tasks, args.iterations, args.seed):
        results.append(r)
        line = (f"| {r.difficulty} | {r.group_size} | {r.success_rate:.2f} | {r.estimator} | "
                f"{r.corr_mean:.3f} +- {r.corr_std:.3f} | {r.sign:.3f} | {r.noise:.3f} |")
        lines.append(line)
        print(line, flush=True)
  print(f"({time.time() - t0:.0f} s)")
  if args.out:
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
      f.write("\n".join(lines) + "\n")
  if args.plot:
    plot(results, args.plot)


def plot(results, path):
  """Correlation with the exact advantage vs difficulty, one line per estimator and n."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  diffs = list(dict.fromkeys(r.difficulty for r in results))
  sizes = sorted({r.group_size for r in results})
  fig, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4), squeeze=False)
  for ax, n in zip(axes[0], sizes):
    for est in dict.fromkeys(r.estimator for r in results):
      rows = {r.difficulty: r for r in results if r.estimator == est and r.group_size == n}
      x = range(len(diffs))
      ax.errorbar(x, [rows[d].corr_mean for d in diffs], yerr=[rows[d].corr_std for d in diffs],
                  marker="o", capsize=3, label=est)
    ax.set_xticks(range(len(diffs)), diffs)
    ax.set_title(f"group size n = {n}")
    ax.set_ylabel("corr(estimated A, exact A)")
    ax.grid(alpha=0.3)
  axes[0][-1].legend(fontsize=7)
  fig.tight_layout()
  os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
  fig.savefig(path, dpi=110)
  print(f"wrote {path}")


if __name__ == "__main__":
  main()
