"""Held-out evaluation of a policy: episodes at group size 1, tabulated by the environment.

    evaluator = Evaluator(config, spec, runner)
    episodes, row = evaluator.evaluate(split="eval")      # or "train": same count of training tasks

Needs no optimizer: any `Policy` (or params) can be evaluated. Tasks are taken round-robin over
task types, so a prefix of `num_tasks` covers every type; the seed of the k-th task is
1000 + k. On multi-host runs each process evaluates its share and the table covers all of them.
"""

from __future__ import annotations

from typing import Optional, Sequence

import jax

from proxmo_jax.parallel import multihost
from proxmo_jax.training import metrics as metrics_lib


def interleave_task_types(tasks: Sequence) -> list:
  """Round-robin over task types (stable within a type), so a prefix covers every type."""
  by_type = {}
  for t in tasks:
    by_type.setdefault(t.task_type, []).append(t)
  out = []
  for k in range(max((len(v) for v in by_type.values()), default=0)):
    out.extend(v[k] for _, v in sorted(by_type.items()) if k < len(v))
  return out


class Evaluator:

  def __init__(self, config, spec, runner):
    self.config = config
    self.spec = spec
    self.runner = runner

  def split_tasks(self, split: str) -> list:
    if split not in ("eval", "train"):
      raise ValueError(f"evaluation split {split!r}: use 'eval' (held out) or 'train'.")
    return self.spec.eval_tasks if split == "eval" else self.spec.train_tasks

  def evaluate(self, params=None, num_tasks: Optional[int] = None,
               temperature: Optional[float] = None, split: str = "eval"):
    """Returns (this host's episodes, the table row over every host's episodes)."""
    tasks = interleave_task_types(self.split_tasks(split))
    tasks = tasks[:num_tasks or self.config.eval.num_tasks]
    requests = multihost.share([(t, 1000 + k) for k, t in enumerate(tasks)])
    temp = self.config.eval.temperature if temperature is None else temperature
    rng = jax.random.PRNGKey(self.config.seed + 7777)
    if params is None:
      params = multihost.local_copy(self.runner.policy.params)  # once: a collective
    episodes = []
    chunk = self.config.eval.get("batch", 0) or self.runner.num_envs
    for start in range(0, len(requests), chunk):
      eps, _ = self.runner.run(requests[start:start + chunk], 1, temp,
                               jax.random.fold_in(rng, start), params=params)
      episodes.extend(eps)
    if multihost.count() > 1:  # the table covers every host's episodes
      # The type list comes from the tasks evaluated (the same on every host), so a type that
      # only this split has is still known.
      types = sorted({t.task_type for t in tasks})
      outcomes = metrics_lib.gather_outcomes(episodes, types, multihost.gather_rows,
                                             self.spec.score_key)
      return episodes, self.spec.eval_table.row(outcomes)
    return episodes, self.spec.eval_table.row(episodes)
