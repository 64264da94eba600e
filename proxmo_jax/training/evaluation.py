"""Held-out evaluation of a policy: episodes at group size 1, tabulated by the environment.

    evaluator = Evaluator(config, spec, runner)
    episodes, row = evaluator.evaluate(split="eval")      # or "train": same count of training tasks

Needs no optimizer: any `Policy` (or params) can be evaluated. Tasks are taken round-robin over
task types, so a prefix of `num_tasks` covers every type; the seed of the k-th task is
1000 + k. On multi-host runs each process evaluates its share and the table covers all of them.
With an `eval_store.EvalStore`, finished chunks are kept on disk and a stopped evaluation
resumes from them.
"""

from __future__ import annotations

import time
from typing import Callable, Optional, Sequence

import jax

from proxmo_jax.parallel import multihost
from proxmo_jax.training import eval_store
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

  @property
  def chunk_size(self) -> int:
    """Episodes run (and stored) at once: config.eval.batch, else the runner's environments."""
    return self.config.eval.get("batch", 0) or self.runner.num_envs

  def split_tasks(self, split: str) -> list:
    if split not in ("eval", "train"):
      raise ValueError(f"evaluation split {split!r}: use 'eval' (held out) or 'train'.")
    return self.spec.eval_tasks if split == "eval" else self.spec.train_tasks

  def evaluate(self, params=None, num_tasks: Optional[int] = None,
               temperature: Optional[float] = None, split: str = "eval",
               store: Optional[eval_store.EvalStore] = None,
               progress: Optional[Callable[[int, int, float, bool], None]] = None):
    """Returns (this host's episodes, the table row over every host's episodes).

    Args:
      store: finished chunks are written there and read back instead of run again (a stopped
        evaluation resumes; `eval_store`).
      progress: called after each chunk with (episodes done, episodes of this host, the seconds
        the chunk's run took, whether it came from the store).
    """
    tasks = interleave_task_types(self.split_tasks(split))
    tasks = tasks[:num_tasks or self.config.eval.num_tasks]
    requests = multihost.share([(t, 1000 + k) for k, t in enumerate(tasks)])
    temp = self.config.eval.temperature if temperature is None else temperature
    rng = jax.random.PRNGKey(self.config.seed + 7777)
    if params is None:
      params = multihost.local_copy(self.runner.policy.params)  # once: a collective
    episodes = []
    chunk = self.chunk_size
    key = None if store is None else eval_store.evaluation_key(self.config, params, temp, chunk)
    for start in range(0, len(requests), chunk):
      part = requests[start:start + chunk]
      part_key = None if store is None else eval_store.chunk_key(key, part)
      found = None if store is None else store.load(split, start, part_key, part)
      if found is None:
        began = time.perf_counter()
        eps, _ = self.runner.run(part, 1, temp, jax.random.fold_in(rng, start), params=params)
        seconds = eval_store.stored_seconds(time.perf_counter() - began)
        if store is not None:
          store.save(split, start, part_key, eps, seconds)
      else:
        eps, seconds = found
      episodes.extend(eps)
      if progress is not None:
        progress(len(episodes), len(requests), seconds, found is not None)
    if multihost.count() > 1:  # the table covers every host's episodes
      # The type list comes from the tasks evaluated (the same on every host), so a type that
      # only this split has is still known.
      types = sorted({t.task_type for t in tasks})
      outcomes = metrics_lib.gather_outcomes(episodes, types, multihost.gather_rows,
                                             self.spec.score_key)
      return episodes, self.spec.eval_table.row(outcomes)
    return episodes, self.spec.eval_table.row(episodes)
