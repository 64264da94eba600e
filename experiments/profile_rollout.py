"""Host profile of one training rollout: where the seconds of the multi-turn loop go.

    python experiments/profile_rollout.py [--config configs/alfworld.py:proxmo,tiny]
        [--engine fast|plain] [--params runs/demo/sft] [--top 15] [--jax_trace DIR]

Builds the experiment (`train.build`) with the environments stepped in this process (so the
engine's own functions appear in the profile), warms the sampler up with the rollout of the
iteration-0 task groups (compiles excluded), then runs the iteration-1 rollout (new games) under
cProfile and prints the
stage breakdown the trainer logs (`RolloutStats`) and the top functions by cumulative and by
own time. `--engine plain` uses ALFWorld's plain TextWorld stack instead of the fast engine.
`--jax_trace DIR` also writes a `jax.profiler` trace of the profiled rollout (TensorBoard).
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import tempfile

import jax


from configs import common
from proxmo_jax import host_memory
from proxmo_jax.training import train, trainer as trainer_lib


def main():
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="configs/alfworld.py:proxmo,tiny")
  parser.add_argument("--engine", choices=["fast", "plain"], default="fast")
  parser.add_argument("--params", default="", help="params.npz directory (e.g. a BC start)")
  parser.add_argument("--tokenizer", default="", help="sentencepiece model to reuse")
  parser.add_argument("--workdir", default="")
  parser.add_argument("--top", type=int, default=15)
  parser.add_argument("--jax_trace", default="")
  args = parser.parse_args()
  c = common.load(args.config)
  c.env.num_workers = 0  # envs in this process: their functions show in the profile
  if args.tokenizer:
    c.tokenizer.path = args.tokenizer
  workdir = args.workdir or tempfile.mkdtemp(prefix="profile_rollout_")
  exp = train.build(c, workdir, init_params_dir=args.params or None)
  if exp.spec.name == "alfworld" and args.engine == "plain":
    from environments.alfworld.env import AlfworldEnv  # pylint: disable=import-outside-toplevel
    exp.spec.env_factory = functools.partial(AlfworldEnv, engine="plain")
    exp.runner.close()
    exp.runner = type(exp.runner)(exp.spec, exp.policy, num_envs=exp.runner.num_envs,
                                  num_workers=0, max_steps=c.env.max_steps)
  trainer = trainer_lib.Trainer(c, workdir, exp.spec, exp.policy, exp.runner, exp.mesh,
                                restore=False)
  rng = jax.random.PRNGKey(c.seed)
  try:
    # Warm-up on iteration 0's groups (compiles); the profile is iteration 1's rollout, whose
    # tasks the engine has not loaded yet unless they repeat.
    exp.runner.run(trainer.sample_tasks(0), c.env.group_size, c.rollout.temperature, rng)
    groups = trainer.sample_tasks(1)
    profiler = cProfile.Profile()
    if args.jax_trace:
      jax.profiler.start_trace(args.jax_trace)
    profiler.enable()
    episodes, stats = exp.runner.run(groups, c.env.group_size, c.rollout.temperature,
                                     jax.random.fold_in(rng, 1))
    profiler.disable()
    if args.jax_trace:
      jax.profiler.stop_trace()
  finally:
    trainer.close()
    exp.close()
  m = stats.metrics()
  total = sum(m[k] for k in ("time/env_reset", "time/env_step", "time/prompt", "time/sample",
                             "time/decode"))
  print(f"config {args.config}, engine {args.engine}: {len(episodes)} episodes, "
        f"{stats.env_steps} env steps, {stats.turns} turns, {stats.sampled_tokens} tokens")
  for k in ("time/env_reset", "time/env_step", "time/prompt", "time/sample", "time/decode"):
    print(f"  {k:16s} {m[k]:8.2f} s  {100 * m[k] / max(total, 1e-9):5.1f} %")
  for key in ("cumulative", "tottime"):
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(args.top)
    print(f"\n--- top {args.top} by {key} ---")
    print("\n".join(l for l in out.getvalue().splitlines() if l.strip())[:6000])


if __name__ == "__main__":
  main()
