"""`make demo`: RL improving an agent on held-out tasks, on the CPU, in a few minutes.

On the corridor testbed (docs/environments.md#corridor):
  1. trains a sentencepiece tokenizer and behaviour-clones the tiny policy on a noisy
     demonstrator (the expert, with a random admissible command 30 % of the time): a start
     below the expert, so RL has room;
  2. from that same start, runs GRPO and ProxMO for the same iterations and seed;
  3. evaluates both on held-out instances every few iterations, prints the table (success per
     difficulty band and overall) and writes the learning curve as a PNG.

    python experiments/demo.py [--workdir runs/demo] [--iterations 12] [--eval_every 4]
        [--estimators grpo,proxmo] [--set optim.learning_rate=1e-4] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time

import numpy as np

from configs import corridor
from proxmo_jax import host_memory
from proxmo_jax.training import eval_table, train


def _plot(curves, path, headline):
  try:
    import matplotlib  # pylint: disable=import-outside-toplevel
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  except ImportError:
    return None
  fig, ax = plt.subplots(figsize=(6, 4))
  for name, points in curves.items():
    its, ys = zip(*points)
    ax.plot(its, ys, marker="o", label=name)
  ax.set_xlabel("RL iteration")
  ax.set_ylabel(f"held-out success, {headline} (%)")
  ax.set_title("corridor, tiny policy, same behaviour-cloned start")
  ax.grid(alpha=0.3)
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  return path


def main():
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--workdir", default="runs/demo")
  parser.add_argument("--iterations", type=int, default=12)
  parser.add_argument("--eval_every", type=int, default=4)
  parser.add_argument("--estimators", default="grpo,proxmo")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                      help="config override for every run (e.g. optim.learning_rate=1e-4)")
  parser.add_argument("--keep", action="store_true", help="reuse an existing workdir")
  args = parser.parse_args()
  t0 = time.time()
  if os.path.exists(args.workdir) and not args.keep:
    shutil.rmtree(args.workdir)
  base = ",".join([f"seed={args.seed}", f"iterations={args.iterations}",
                   f"eval.every={args.eval_every}"] + args.set)
  tokenizer = os.path.abspath(os.path.join(args.workdir, "tokenizer.model"))
  config = lambda est: corridor.get_config(f"{est},tiny,{base}")

  c0 = config("proxmo")
  c0.tokenizer.path = tokenizer
  sft_dir = os.path.join(args.workdir, "sft")
  if not os.path.exists(os.path.join(sft_dir, "params.npz")):
    train.behavior_clone(c0, args.workdir, sft_dir)
  t_bc = time.time() - t0
  print(f"[demo] behaviour cloning done at {t_bc:.0f} s", flush=True)

  rows, curves, timing, start = {}, {}, {}, None
  headline = None
  for est in args.estimators.split(","):
    c = config(est)
    c.tokenizer.path = tokenizer
    c.eval.before_train = False
    t1 = time.time()
    run = train.Run(c, os.path.join(args.workdir, est), init_params_dir=sft_dir)
    try:
      table = run.exp.spec.eval_table
      headline = table.headline
      if start is None:  # the same policy and held-out instances for every estimator
        _, start = run.evaluate()
        rows["BC start"] = start
        print(f"[demo] start: held-out {headline} {start[headline]:.1f} %", flush=True)
      curves[est] = [(0, start[headline])]
      row = start
      t = run.trainer
      while t.iteration < c.iterations:
        run.writer.write(t.iteration + 1, t.train_iteration())
        if (c.eval.every and t.iteration % c.eval.every == 0) or t.iteration == c.iterations:
          eps, row = run.evaluate()
          run.write_eval(t.iteration, eps)
          curves[est].append((t.iteration, row[headline]))
          print(f"[demo] {est} iteration {t.iteration}: held-out {headline} "
                f"{row[headline]:.1f} %", flush=True)
      rows[f"+ {est} x{c.iterations} iters"] = row
    finally:
      run.close()
    with open(os.path.join(args.workdir, est, "metrics.jsonl")) as f:
      logs = [json.loads(l) for l in f if '"time/iteration"' in l]
    timing[est] = {k: float(np.mean([m[f"time/{k}"] for m in logs]))
                   for k in ("iteration", "rollout", "logprob", "update", "advantage")}
    timing[est]["wall"] = time.time() - t1
  md = eval_table.write_tables(rows, args.workdir, "demo_eval")
  png = _plot(curves, os.path.join(args.workdir, "demo_curve.png"), headline)
  n_eval = c0.eval.num_tasks
  print(f"\nHeld-out corridor success (%), {n_eval} unseen instances, sampling temperature "
        f"{c0.eval.temperature}, one seed ({args.seed}):\n")
  print(md)
  print()
  for est, tm in timing.items():
    print(f"{est}: {tm['wall']:.0f} s for {args.iterations} iterations and the evaluations; "
          f"per iteration {tm['iteration']:.1f} s (rollout {tm['rollout']:.1f}, log-probs "
          f"{tm['logprob']:.1f}, update {tm['update']:.1f}, advantage "
          f"{1e3 * tm['advantage']:.1f} ms)")
  print(f"Learning curve: {png or '(matplotlib not installed)'}; total demo time "
        f"{time.time() - t0:.0f} s (behaviour cloning {t_bc:.0f} s). Run directory: "
        f"{args.workdir}")


if __name__ == "__main__":
  main()
