"""Learning comparison: the same tiny policy, the same behaviour-cloned start, every estimator.

    python experiments/compare_estimators.py --budget cpu --seeds 0,1,2 \
        [--env alfworld|webshop] [--set sft.steps=1000 --set env.max_steps=20 ...]
        [--estimators grpo,rloo,gigpo,gigpo_std,proxmo,proxmo_no_modulation,proxmo_no_soft]
        [--out experiments/results/compare]

`--budget` picks the scale: "smoke" (minutes, plumbing only), "cpu" (about an hour on 2 cores)
or "full" (the paper's configs; accelerators). One behaviour-cloning run is shared by all
estimators; each (estimator, seed) then trains from it and is evaluated on the held-out games
every `eval_every` iterations. Writes `<out>/runs.json`, a markdown table of final held-out
success per task family with 95 % confidence intervals over seeds (normal approximation), the
learning curves (`curves.png`, mean and min-max band over seeds) and a per-task-family bar chart
(`by_task.png`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from configs import alfworld_proxmo, webshop_proxmo  # noqa: E402
from proxmo_jax.training import eval_table, trainer as trainer_lib  # noqa: E402
from proxmo_jax.training.eval_table import ci95  # noqa: E402

ESTIMATORS = {
    "grpo": {"algorithm.estimator": "grpo"},
    "rloo": {"algorithm.estimator": "rloo"},
    "gigpo": {"algorithm.estimator": "gigpo", "algorithm.gigpo_mode": "mean_norm"},
    "gigpo_std": {"algorithm.estimator": "gigpo", "algorithm.gigpo_mode": "mean_std_norm"},
    "proxmo": {"algorithm.estimator": "proxmo"},
    "proxmo_no_modulation": {"algorithm.estimator": "proxmo_no_modulation"},
    "proxmo_no_soft": {"algorithm.estimator": "proxmo_no_soft"},
}
BUDGETS = {
    "smoke": {"iterations": 2, "eval_every": 1, "eval.num_tasks": 6},
    "cpu": {"iterations": 12, "eval_every": 4, "eval.num_tasks": 24},
    "full": {},
}


def make_config(budget, overrides, seed, env="alfworld"):
  module = alfworld_proxmo if env == "alfworld" else webshop_proxmo
  c = module.get_config("" if budget == "full" else "tiny")
  settings = dict(BUDGETS[budget])
  c.iterations = settings.pop("iterations", c.iterations)
  c.eval.every = settings.pop("eval_every", c.eval.every)
  for key, value in list(settings.items()) + list(overrides.items()):
    *sections, field = key.split(".")
    node = c
    for section in sections:
      node = node[section]
    kind = type(node[field])
    if isinstance(value, str) and kind is not str:  # --set values arrive as strings
      value = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    node[field] = value
  c.seed = seed
  c.eval.before_train = False
  return c


def headline(env):
  return "All" if env == "alfworld" else "Succ."


def report(runs, out, env="alfworld"):
  names = list(dict.fromkeys(r["estimator"] for r in runs))
  cols = ([c for c, _ in eval_table.ALFWORLD_COLUMNS] + ["All"] if env == "alfworld"
          else ["Score", "Succ."])
  lines = ["| Estimator | seeds | " + " | ".join(cols) + " | wall min |",
           "|---" * (len(cols) + 3) + "|"]
  for n in names:
    rs = [r for r in runs if r["estimator"] == n]
    cells = []
    for c in cols:
      m, h = ci95([r["final"][c] for r in rs])
      cells.append("-" if m is None else f"{m:.1f} ± {h:.1f}")
    wall = np.mean([r["seconds"] for r in rs]) / 60
    lines.append(f"| {n} | {len(rs)} | " + " | ".join(cells) + f" | {wall:.1f} |")
  table = "\n".join(lines)
  with open(os.path.join(out, "table.md"), "w") as f:
    f.write(table + "\n")
  try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for n in names:
      rs = [r for r in runs if r["estimator"] == n]
      its = [it for it, _ in rs[0]["curve"]]
      ys = np.array([[v for _, v in r["curve"]] for r in rs])
      ax.plot(its, ys.mean(0), marker="o", label=n)
      ax.fill_between(its, ys.min(0), ys.max(0), alpha=0.15)
    ax.set_xlabel("iteration")
    ax.set_ylabel("held-out success (%)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "curves.png"), dpi=110)
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(names), 1)
    for j, n in enumerate(names):
      rs = [r for r in runs if r["estimator"] == n]
      means = [ci95([r["final"][c] for r in rs])[0] or 0.0 for c in cols]
      ax.bar(np.arange(len(cols)) + j * width, means, width, label=n)
    ax.set_xticks(np.arange(len(cols)) + 0.4 - width / 2, cols)
    ax.set_ylabel("held-out success (%)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "by_task.png"), dpi=110)
  except ImportError:
    pass
  return table


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--budget", choices=sorted(BUDGETS), default="cpu")
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--estimators", default=",".join(ESTIMATORS))
  parser.add_argument("--out", default="experiments/results/compare")
  parser.add_argument("--env", choices=["alfworld", "webshop"], default="alfworld")
  parser.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                      help="config override for every run (BC included), repeatable")
  args = parser.parse_args()
  extra = dict(kv.split("=", 1) for kv in args.set)
  os.makedirs(args.out, exist_ok=True)
  # A comparison can grow over several invocations (more seeds or estimators): keep every
  # command that contributed runs, one per line.
  command_file = os.path.join(args.out, "command.txt")
  command = "python " + " ".join(sys.argv)
  previous = open(command_file).read().splitlines() if os.path.exists(command_file) else []
  if command not in previous:
    with open(command_file, "a") as f:
      f.write(command + "\n")
  runs_file = os.path.join(args.out, "runs.json")
  runs = json.load(open(runs_file)) if os.path.exists(runs_file) else []
  done = {(r["estimator"], r["seed"]) for r in runs}
  # One tokenizer and one behaviour-cloned start shared by every run.
  shared = {"tokenizer.path": os.path.abspath(os.path.join(args.out, "tokenizer.model"))} if (
      args.budget != "full") else {}
  shared.update(extra)
  base = make_config(args.budget, shared, 0, args.env)
  sft_dir = os.path.join(args.out, "sft")
  if not os.path.exists(os.path.join(sft_dir, "params.npz")):
    trainer_lib.behavior_clone(base, args.out, sft_dir)
  for name in args.estimators.split(","):
    for seed in (int(s) for s in args.seeds.split(",")):
      if (name, seed) in done:
        continue
      c = make_config(args.budget, {**shared, **ESTIMATORS[name]}, seed, args.env)
      metric = headline(args.env)
      workdir = os.path.join(args.out, f"{name}_s{seed}")
      t0 = time.time()
      t = trainer_lib.Trainer(c, workdir, init_params_dir=sft_dir)
      curve = []
      try:
        # The start is the same policy, evaluation seed and games for every estimator of a
        # seed: evaluate it once per seed.
        row0 = next((r["start"] for r in runs if r["seed"] == seed), None)
        if row0 is None:
          _, row0 = t.evaluate()
        curve.append((0, row0[metric]))
        print(f"[compare] {name} seed {seed} start: held-out {metric} "
              f"{row0[metric]:.1f}", flush=True)
        while t.iteration < c.iterations:
          t.writer.write(t.iteration + 1, t.train_iteration())
          if t.iteration % c.eval.every == 0 or t.iteration == c.iterations:
            _, row = t.evaluate()
            curve.append((t.iteration, row[metric]))
            print(f"[compare] {name} seed {seed} iteration {t.iteration}: held-out "
                  f"{metric} {row[metric]:.1f}", flush=True)
      finally:
        t.close()
      runs.append({"estimator": name, "seed": seed, "start": row0, "final": row,
                   "curve": curve, "seconds": time.time() - t0})
      with open(runs_file, "w") as f:
        json.dump(runs, f, indent=1)
      print(f"[compare] {name} seed {seed}: final {metric} {row[metric]:.1f} "
            f"({time.time() - t0:.0f} s)", flush=True)
  print(report(runs, args.out, args.env))


if __name__ == "__main__":
  main()
