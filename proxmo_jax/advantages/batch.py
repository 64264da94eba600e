"""The trajectory batch: one padded, masked row per step sample.

A rollout produces G task groups; each group holds n trajectories of the same task and seed;
trajectory k has T_k steps, and every step is one training sample (prompt, response). The
estimators work on the flat list of these step samples, padded to a bucketed length B so that
nothing recompiles from one batch to the next:

  group_ids:        i32[B]    task group of the sample, in [0, num_groups).
  traj_ids:         i32[B]    trajectory of the sample, in [0, num_trajs); unique over the batch.
  step_ids:         i32[B]    time index t of the sample inside its trajectory.
  rewards:          f32[B]    env reward r_t of this step (10 on the winning step on the paper scale).
  episode_scores:   f32[B]    R = sum_t r_t of the whole trajectory, copied to each of its steps.
  valid:            bool[B]   True on real samples, False on padding rows.
  invalid_action:   bool[B]   True where the projection flagged the model output invalid.
  anchor_ids:       i32[B]    exact-match id of the anchor observation (equal texts <-> equal
                              ids), for GiGPO's exact state groups.
  features:         f32[B, F] proximity features of the anchor observation (TF-IDF rows, or
                              zeros if the on-device featurizer is used), F bucketed.

Rows must be **trajectory-contiguous and time-ordered** (all steps of one trajectory in order,
as the rollout emits them); groups may be in any order. Padding rows may sit anywhere; they never
change the result of a real row. `num_groups` and `num_trajs` are static upper bounds (buckets)
carried as pytree metadata, so the jitted estimators know their segment counts; so is
`group_capacity`, a bucketed upper bound on the number of valid rows in one group (0: measure it
on the host when the estimator is called), which sizes the group-blocked proximity kernel.

`build_trajectory_batch` builds this from Python trajectory records and is the reference for the
layout; `TrajectoryBatch.validate()` checks a hand-made batch on the host.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Sequence

import flax.struct
import jax.numpy as jnp
import numpy as np

from proxmo_jax import buckets


@flax.struct.dataclass
class TrajectoryBatch:
  """Padded step samples of one rollout. See the module docstring for the fields."""
  group_ids: jnp.ndarray
  traj_ids: jnp.ndarray
  step_ids: jnp.ndarray
  rewards: jnp.ndarray
  episode_scores: jnp.ndarray
  valid: jnp.ndarray
  invalid_action: jnp.ndarray
  anchor_ids: jnp.ndarray
  features: jnp.ndarray
  num_groups: int = flax.struct.field(pytree_node=False, default=1)
  num_trajs: int = flax.struct.field(pytree_node=False, default=1)
  group_capacity: int = flax.struct.field(pytree_node=False, default=0)

  @property
  def size(self) -> int:
    return int(self.group_ids.shape[0])

  def validate(self) -> "TrajectoryBatch":
    """Host-side checks of shapes, ranges and the trajectory-contiguous layout.

    Returns self; raises ValueError naming the broken field and how to fix it.
    """
    b = self.size
    for name in ("traj_ids", "step_ids", "rewards", "episode_scores", "valid",
                 "invalid_action", "anchor_ids"):
      shape = np.shape(getattr(self, name))
      if shape != (b,):
        raise ValueError(f"TrajectoryBatch.{name} has shape {shape}; expected ({b},) like "
                         "group_ids. Pad every per-sample field to the same length B.")
    if np.ndim(self.features) != 2 or np.shape(self.features)[0] != b:
      raise ValueError(f"TrajectoryBatch.features has shape {np.shape(self.features)}; "
                       f"expected ({b}, F). Use zeros of shape ({b}, 1) if no text features.")
    valid = np.asarray(self.valid, bool)
    g = np.asarray(self.group_ids)[valid]
    t = np.asarray(self.traj_ids)[valid]
    s = np.asarray(self.step_ids)[valid]
    if g.size and (g.min() < 0 or g.max() >= self.num_groups):
      raise ValueError(f"group_ids of valid rows must lie in [0, num_groups={self.num_groups}); "
                       f"got [{g.min()}, {g.max()}]. Renumber groups densely or raise num_groups.")
    if t.size and (t.min() < 0 or t.max() >= self.num_trajs):
      raise ValueError(f"traj_ids of valid rows must lie in [0, num_trajs={self.num_trajs}); "
                       f"got [{t.min()}, {t.max()}]. Renumber trajectories or raise num_trajs.")
    # Trajectory-contiguous and time-ordered among valid rows.
    if t.size:
      change = np.flatnonzero(t[1:] != t[:-1]) + 1
      starts = np.concatenate([[0], change])
      if len(np.unique(t[starts])) != len(starts):
        raise ValueError("rows of one trajectory are not contiguous: keep all steps of a "
                         "trajectory together (trajectory-major order, as the rollout emits).")
      same = t[1:] == t[:-1]
      if np.any(s[1:][same] != s[:-1][same] + 1):
        raise ValueError("step_ids inside a trajectory must be 0, 1, 2, ... in row order.")
      groups_of_traj = {}
      for ti, gi in zip(t, g):
        if groups_of_traj.setdefault(int(ti), int(gi)) != gi:
          raise ValueError(f"trajectory {ti} has rows in more than one group.")
    return self


@dataclasses.dataclass
class Trajectory:
  """One finished episode as the rollout records it (host side).

  Attributes:
    group: any hashable naming the task group (same task and seed <-> same group).
    observations: the anchor observation before each action, len T.
    rewards: env reward of each step, len T.
    invalid: projection's invalid flag of each step, len T (default all False).
  """
  group: object
  observations: Sequence[str]
  rewards: Sequence[float]
  invalid: Optional[Sequence[bool]] = None

  def __post_init__(self):
    if len(self.observations) != len(self.rewards):
      raise ValueError(f"Trajectory of group {self.group!r}: {len(self.observations)} "
                       f"observations but {len(self.rewards)} rewards; give one of each per step.")
    if self.invalid is not None and len(self.invalid) != len(self.rewards):
      raise ValueError(f"Trajectory of group {self.group!r}: invalid has {len(self.invalid)} "
                       f"flags for {len(self.rewards)} steps.")


# Smallest bucket >= n from a geometric ladder (minimum * sqrt(2)^k, rounded to 8).
bucket_size = buckets.geometric


def build_trajectory_batch(
    trajectories: Sequence[Trajectory],
    featurizer: Optional[Callable[[Sequence[str]], np.ndarray]] = None,
    batch_size: Optional[int] = None,
    num_groups: Optional[int] = None,
    num_trajs: Optional[int] = None,
    group_capacity: Optional[int] = None,
) -> tuple[TrajectoryBatch, list[str]]:
  """Flattens trajectories into a padded `TrajectoryBatch` (trajectory-major rows).

  Args:
    trajectories: finished episodes; trajectories of one group need not be adjacent.
    featurizer: maps the list of valid anchor texts (in row order) to f32[N, F] features;
      e.g. `proxmo_jax.proximity.tfidf_features`. None gives zero features of width 1.
    batch_size: padded length B; default `bucket_size(N)`.
    num_groups / num_trajs: static segment bounds; default exact counts bucketed.
    group_capacity: static bound on rows per group; default the largest group, bucketed.

  Returns:
    (batch, anchor_texts): the batch and the anchor text of each valid row.
  """
  if not trajectories:
    raise ValueError("build_trajectory_batch needs at least one trajectory.")
  group_index: dict = {}
  anchor_index: dict[str, int] = {}
  cols = {k: [] for k in ("group_ids", "traj_ids", "step_ids", "rewards", "episode_scores",
                          "invalid_action", "anchor_ids")}
  texts: list[str] = []
  for k, traj in enumerate(trajectories):
    g = group_index.setdefault(traj.group, len(group_index))
    total = float(np.sum(np.asarray(traj.rewards, np.float64)))
    invalid = traj.invalid if traj.invalid is not None else [False] * len(traj.rewards)
    for t, (obs, r, bad) in enumerate(zip(traj.observations, traj.rewards, invalid)):
      obs = str(obs)
      cols["group_ids"].append(g)
      cols["traj_ids"].append(k)
      cols["step_ids"].append(t)
      cols["rewards"].append(float(r))
      cols["episode_scores"].append(total)
      cols["invalid_action"].append(bool(bad))
      cols["anchor_ids"].append(anchor_index.setdefault(obs, len(anchor_index)))
      texts.append(obs)
  n = len(texts)
  b = batch_size or bucket_size(n)
  if b < n:
    raise ValueError(f"batch_size={b} is smaller than the {n} step samples; raise it.")
  num_groups = num_groups or bucket_size(len(group_index), minimum=1)
  num_trajs = num_trajs or bucket_size(len(trajectories), minimum=1)
  if num_groups < len(group_index) or num_trajs < len(trajectories):
    raise ValueError(f"num_groups={num_groups} / num_trajs={num_trajs} below the actual "
                     f"{len(group_index)} groups / {len(trajectories)} trajectories.")

  largest = int(np.bincount(np.asarray(cols["group_ids"])).max())
  group_capacity = group_capacity or bucket_size(largest)
  if group_capacity < largest:
    raise ValueError(f"group_capacity={group_capacity} below the largest group ({largest} rows).")

  def pad(values, dtype, fill=0):
    out = np.full((b,), fill, dtype)
    out[:n] = np.asarray(values, dtype)
    return out

  if featurizer is None:
    feats = np.zeros((n, 1), np.float32)
  else:
    feats = np.asarray(featurizer(texts), np.float32)
    if feats.ndim != 2 or feats.shape[0] != n:
      raise ValueError(f"featurizer returned shape {feats.shape}; expected ({n}, F).")
  features = np.zeros((b, feats.shape[1]), np.float32)
  features[:n] = feats
  valid = np.zeros((b,), bool)
  valid[:n] = True
  batch = TrajectoryBatch(
      group_ids=jnp.asarray(pad(cols["group_ids"], np.int32)),
      traj_ids=jnp.asarray(pad(cols["traj_ids"], np.int32)),
      step_ids=jnp.asarray(pad(cols["step_ids"], np.int32)),
      rewards=jnp.asarray(pad(cols["rewards"], np.float32)),
      episode_scores=jnp.asarray(pad(cols["episode_scores"], np.float32)),
      valid=jnp.asarray(valid),
      invalid_action=jnp.asarray(pad(cols["invalid_action"], bool, False)),
      anchor_ids=jnp.asarray(pad(cols["anchor_ids"], np.int32)),
      features=jnp.asarray(features),
      num_groups=int(num_groups),
      num_trajs=int(num_trajs),
      group_capacity=int(group_capacity),
  )
  return batch, texts
