"""Rollout episodes -> the padded arrays of one update: a `TrajectoryBatch` for the advantage
estimators and a `TokenBatch` for the policy loss, row-aligned.

Token layout of a row (L = P + R columns): the prompt left-padded into the first P columns and
the response right-padded into the last R, so every response starts at column P:

    input_ids:      i32[B, L]   0 on padding
    attention_mask: i32[B, L]   1 on real tokens
    response_mask:  f32[B, L]   1 on response tokens only (the tokens the loss sees)

B, P and R are bucketed (see `bucket_size`), so the jitted update compiles once per bucket.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import flax.struct
import jax.numpy as jnp
import numpy as np

from proxmo_jax import buckets
from proxmo_jax.advantages import Trajectory, TrajectoryBatch, build_trajectory_batch, bucket_size
from proxmo_jax.rollout.records import Episode


@flax.struct.dataclass
class TokenBatch:
  input_ids: jnp.ndarray       # i32[B, L]
  attention_mask: jnp.ndarray  # i32[B, L]
  response_mask: jnp.ndarray   # f32[B, L]
  prompt_len: int = flax.struct.field(pytree_node=False, default=0)  # P


def episodes_to_trajectories(episodes: Sequence[Episode]) -> list[Trajectory]:
  return [Trajectory(group=e.group, observations=[s.observation for s in e.steps],
                     rewards=[s.reward for s in e.steps], invalid=[not s.valid for s in e.steps])
          for e in episodes if e.steps]


def batch_shape(episodes: Sequence[Episode], row_multiple: int = 8, prompt_multiple: int = 64,
                response_multiple: int = 32) -> tuple[int, int, int]:
  """(B, P, R) that `build_update_batch` gives these episodes: rows, prompt and response
  lengths, bucketed and rounded up to the multiples."""
  steps = [s for e in episodes for s in e.steps]
  if not steps:
    raise ValueError("build_update_batch got no step samples: every episode is empty.")
  return (buckets.round_up(bucket_size(len(steps)), row_multiple),
          buckets.round_up(max(len(s.prompt_ids) for s in steps), prompt_multiple),
          buckets.round_up(max(len(s.response_ids) for s in steps), response_multiple))


def build_update_batch(episodes: Sequence[Episode],
                       featurizer: Optional[Callable[[Sequence[str]], np.ndarray]],
                       *, row_multiple: int = 8, prompt_multiple: int = 64,
                       response_multiple: int = 32, num_groups: Optional[int] = None,
                       pad_id: int = 0, min_shape: tuple[int, int, int] = (0, 0, 0)
                       ) -> tuple[TrajectoryBatch, TokenBatch]:
  """Flattens episodes (trajectory-major) into row-aligned advantage and token batches.

  Args:
    episodes: finished episodes; empty ones are skipped.
    featurizer: anchor texts -> f32[N, F] (e.g. `proxmo_jax.proximity.tfidf_features`).
    row_multiple: B is bucketed and then rounded up to this (e.g. the PPO mini-batch size).
    prompt_multiple / response_multiple: P and R are rounded up to these.
    num_groups: static number of groups (default: bucketed count).
    min_shape: lower bounds on (B, P, R), multiples of the above; hosts of a multi-host run
      agree on one shape with them (`batch_shape` gives each host's own).

  Returns:
    (TrajectoryBatch, TokenBatch) with the same B rows.
  """
  trajs = episodes_to_trajectories(episodes)
  steps = [s for e in episodes for s in e.steps]
  if not steps:
    raise ValueError("build_update_batch got no step samples: every episode is empty.")
  b, p, r = (max(x, m) for x, m in zip(
      batch_shape(episodes, row_multiple, prompt_multiple, response_multiple), min_shape))
  batch, _ = build_trajectory_batch(trajs, featurizer=featurizer, batch_size=b,
                                    num_groups=num_groups)
  ids = np.full((b, p + r), pad_id, np.int32)
  attn = np.zeros((b, p + r), np.int32)
  resp = np.zeros((b, p + r), np.float32)
  for i, s in enumerate(steps):
    lp, lr = len(s.prompt_ids), len(s.response_ids)
    ids[i, p - lp:p] = s.prompt_ids
    ids[i, p:p + lr] = s.response_ids
    attn[i, p - lp:p + lr] = 1
    resp[i, p:p + lr] = 1.0
  tokens = TokenBatch(jnp.asarray(ids), jnp.asarray(attn), jnp.asarray(resp), prompt_len=p)
  return batch, tokens


def frozen_hidden_batch(episodes: Sequence[Episode], tokens: TokenBatch,
                        release: bool = False) -> np.ndarray:
  """The rollout's residual stream after the frozen layers (`StepRecord.frozen_hidden`) in the
  token layout of `tokens` (the batch `build_update_batch` made of the same episodes): host
  f32[B, L, D].

  Row i's prompt + response tokens occupy columns P - lp .. P + lr - 1; the sampler kept the
  states of all of them but the last response token (never fed back, and its output scores no
  token), whose column stays 0, as padding does: a zero residual stream is normalised to 0,
  which keeps every later layer finite, and causal attention keeps it from the scored
  positions. `release`: drop each step sample's own copy once it is in the batch, so the host
  holds the per-step arrays and the batch together only briefly (about 0.6 + 1.3 GB for an
  ALFWorld iteration of 8 groups otherwise).
  """
  steps = [s for e in episodes for s in e.steps]
  b, length = tokens.input_ids.shape
  p = tokens.prompt_len
  if not steps or steps[0].frozen_hidden is None:
    raise ValueError("frozen_hidden_batch: the step samples carry no hidden states; roll out "
                     "with RolloutRunner.run(keep_layer=...).")
  out = np.zeros((b, length, steps[0].frozen_hidden.shape[-1]), np.float32)
  for i, s in enumerate(steps):
    lp, lr = len(s.prompt_ids), len(s.response_ids)
    h = s.frozen_hidden
    if h is None or h.shape[0] != lp + lr - 1:
      raise ValueError(f"frozen_hidden_batch: step sample {i} has hidden states for "
                       f"{None if h is None else h.shape[0]} tokens, expected {lp + lr - 1} "
                       "(its prompt and response but the last token).")
    out[i, p - lp:p + lr - 1] = h
    if release:
      s.frozen_hidden = None
  return out
