"""Rollouts of a policy in an environment's envs: shared by training and evaluation.

    runner = RolloutRunner(spec, policy, num_envs=G * n, num_workers=2, max_steps=50)
    episodes, stats = runner.run(groups, group_size, temperature, rng)

The envs live in worker processes (`EnvPool`), or in this process when the environment says
it is cheap to step (`EnvSpec.in_process`) or `num_workers` is 0.
"""

from __future__ import annotations

from typing import Optional, Sequence

from environments.interface import EnvSpec, Task
from proxmo_jax.parallel import multihost
from proxmo_jax.rollout import loop
from proxmo_jax.rollout.env_pool import EnvPool


class RolloutRunner:

  def __init__(self, spec: EnvSpec, policy, *, num_envs: int, num_workers: int,
               max_steps: int):
    self.spec = spec
    self.policy = policy
    self.max_steps = max_steps
    self.num_envs = max(num_envs, 1)
    if spec.in_process or num_workers == 0:
      self.vec_env = loop.SerialVectorEnv([spec.env_factory() for _ in range(self.num_envs)])
    else:
      self.vec_env = EnvPool(spec.env_factory, num_envs=self.num_envs, num_workers=num_workers)

  def run(self, groups: Sequence[tuple[Task, int]], group_size: int, temperature: float, rng,
          params=None, max_steps: Optional[int] = None, keep_layer: Optional[int] = None):
    """Rolls out `group_size` episodes of each (task, seed); params default to the policy's
    (a process-local copy on multi-host). `keep_layer`: every step sample keeps the residual
    stream after that many layers (`StepRecord.frozen_hidden`). Returns (episodes,
    RolloutStats)."""
    params = multihost.local_copy(self.policy.params) if params is None else params
    sampler_seconds = dict(self.policy.sampler.seconds)
    sample_fn = self.policy.sample_fn(rng, temperature, params, keep_layer=keep_layer)
    episodes, stats = loop.run_rollout(self.vec_env, groups, group_size, sample_fn,
                                       self.policy.prompt_ids, self.policy.tokenizer.decode,
                                       self.spec.agent, max_steps or self.max_steps)
    stats.time_prefill = self.policy.sampler.seconds["prefill"] - sampler_seconds["prefill"]
    stats.time_decode_tokens = (self.policy.sampler.seconds["decode"] -
                                sampler_seconds["decode"])
    return episodes, stats

  def close(self):
    self.vec_env.close()
