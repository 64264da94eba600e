"""How much learning signal a start's rollouts carry, per sampling temperature.

    python experiments/group_signal.py --config configs/webshop.py:proxmo,smollm2,... \
        --params runs/smollm2_webshop_bc2/sft --temperatures 0.4,1.0 --iterations 1,2

For each temperature, runs the training rollouts of the given iterations (the trainer's own
task groups: `Trainer.sample_tasks`, `env.groups_per_batch` groups of `env.group_size`
episodes, the same groups at every temperature) from the start and prints one JSON line per
(temperature, iteration): the episodes' success rate, how many groups have unequal episode
returns (a group whose returns are all equal gets no episode-level advantage from GRPO, RLOO
or ProxMO's episode term), and the step samples' token lengths (prompt + response: the update's
row lengths). Nothing is trained.
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time

import jax
import numpy as np

from configs import common
from proxmo_jax import host_memory
from proxmo_jax.training import train, trainer as trainer_lib


def group_signal(episodes) -> dict:
  """Success, groups with unequal returns and row lengths of one rollout's episodes."""
  returns = collections.defaultdict(list)
  for e in episodes:
    returns[e.group].append(round(e.total_reward, 6))
  lengths = [len(s.prompt_ids) + len(s.response_ids) for e in episodes for s in e.steps]
  return {"episodes": len(episodes), "success": float(np.mean([e.won for e in episodes])),
          "groups": len(returns),
          "groups_unequal": sum(len(set(r)) > 1 for r in returns.values()),
          "step_samples": len(lengths), "length_mean": float(np.mean(lengths)),
          "length_median": float(np.median(lengths)), "length_max": int(max(lengths))}


def main():
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", required=True)
  parser.add_argument("--params", default="", help="params.npz directory (e.g. a BC start)")
  parser.add_argument("--temperatures", default="0.4,1.0")
  parser.add_argument("--iterations", default="1,2", help="whose task groups to roll out")
  parser.add_argument("--seed", type=int, default=100, help="sampling seed (+ iteration)")
  args = parser.parse_args()
  c = common.load(args.config)
  c.env.num_workers = 0  # environments in this process (no spawned workers to guard)
  workdir = tempfile.mkdtemp(prefix="group_signal_")
  exp = train.build(c, workdir, init_params_dir=args.params or None)
  trainer = trainer_lib.Trainer(c, workdir, exp.spec, exp.policy, exp.runner, exp.mesh,
                                restore=False)
  try:
    for temperature in (float(t) for t in args.temperatures.split(",")):
      for it in (int(i) for i in args.iterations.split(",")):
        t0 = time.perf_counter()
        episodes, _ = exp.runner.run(trainer.sample_tasks(it), c.env.group_size, temperature,
                                     jax.random.PRNGKey(args.seed + it))
        row = {"temperature": temperature, "iteration": it, **group_signal(episodes),
               "seconds": round(time.perf_counter() - t0, 1)}
        print(json.dumps(row), flush=True)
  finally:
    trainer.close()
    exp.close()


if __name__ == "__main__":
  main()
