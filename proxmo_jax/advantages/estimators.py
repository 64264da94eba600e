"""GRPO, RLOO, GiGPO and ProxMO advantages over a `TrajectoryBatch` (docs/method.md#estimators-by-name).

Every estimator returns `Advantages(episode, step, total)`, each f32[B] and 0 on padding rows,
with total = episode + omega * step (GRPO / RLOO: step = 0). The scalar is later broadcast over
the response tokens of its step sample.

Notation: s_i is the penalised episode score (R - 0.1 * invalid_i); mu_g and sigma_g are the
mean and unbiased std of the statistic entries of group g (one per step sample by default, or
one per trajectory); G_i the penalised discounted step return.

  grpo      A^E = (s - mu) / (sigma + eps)
  grpo_dr   A^E = s - mu                                   (Dr.GRPO: no std)
  rloo      A^E = N / (N - 1) * (s - mu)                   (= s minus the mean of the others)
  gigpo     A^E = (s - mu) [/ (sigma + eps)],  A^S = (G - mean_k G_k) [/ (std_k G_k + eps)]
            over the exact anchor-state group k of i (same group, identical observation);
            the bracketed std only in mode mean_std_norm; a singleton state gives A^S = 0.
  proxmo    A^E = (s - mu) * w_i   (success-rate-aware modulation, `psc_weights`)
            A^S = G - sum_j W_ij G_j   (proximity soft aggregation, `soft_baseline.py`)
  proxmo_no_modulation   w = 1;   proxmo_no_soft   A^S from exact groups (mean_norm).

Singleton episode groups: mu := 0, sigma := 1 (rule "reference") or A^E := 0 (rule "zero").
"""

from __future__ import annotations

import flax.struct
import jax
import jax.numpy as jnp

from proxmo_jax.advantages import returns as returns_lib
from proxmo_jax.advantages import segments
from proxmo_jax.advantages.batch import TrajectoryBatch
from proxmo_jax.advantages.config import AdvantageConfig
from proxmo_jax.advantages.registry import register
from proxmo_jax.proximity import soft_baseline


@flax.struct.dataclass
class Advantages:
  episode: jnp.ndarray  # f32[B] A^E
  step: jnp.ndarray     # f32[B] A^S (0 for GRPO / RLOO)
  total: jnp.ndarray    # f32[B] A = A^E + omega * A^S


# ----------------------------------------------------------------------------- building blocks


def scores(batch: TrajectoryBatch, cfg: AdvantageConfig):
  """f32[B] s_i = R - penalty * invalid_i (0 on padding)."""
  s = returns_lib.penalized(batch.episode_scores, batch.invalid_action, cfg.invalid_penalty)
  return jnp.where(batch.valid, s, 0.0)


def step_returns(batch: TrajectoryBatch, cfg: AdvantageConfig):
  """f32[B] G_i = discounted return - penalty * invalid_i (0 on padding)."""
  g = returns_lib.discounted_returns(batch.rewards, batch.traj_ids, batch.valid, cfg.gamma)
  g = returns_lib.penalized(g, batch.invalid_action, cfg.invalid_penalty)
  return jnp.where(batch.valid, g, 0.0)


def stat_weights(batch: TrajectoryBatch, cfg: AdvantageConfig):
  """f32[B]: 1 on the entries of the episode statistics (all valid rows, or the first row of
  each trajectory), else 0."""
  if cfg.stats == "step":
    keep = batch.valid
  else:
    keep = segments.first_of_segment(batch.traj_ids, batch.valid, batch.num_trajs)
  return keep.astype(jnp.float32)


def episode_moments(s, batch: TrajectoryBatch, cfg: AdvantageConfig):
  """Per-sample (count, mu, sigma) of its group, after the singleton rule."""
  count, mean, std = segments.segment_moments(s, batch.group_ids, stat_weights(batch, cfg),
                                              batch.num_groups)
  singleton = count <= 1
  mean = jnp.where(singleton, 0.0, mean)
  std = jnp.where(singleton, 1.0, std)
  gid = batch.group_ids
  return count[gid], mean[gid], std[gid]


def _finish_episode(adv, count, batch, cfg):
  if cfg.singleton == "zero":
    adv = jnp.where(count <= 1, 0.0, adv)
  return jnp.where(batch.valid, adv, 0.0)


def psc_weights(s, p, cfg: AdvantageConfig):
  """Success-rate-aware modulation weights w_i (docs/method.md#episode-term-success-rate-aware-modulation).

    beta = r / (sigmoid(1) - 1/2)
    w = 1 + beta * (sigmoid((1 - p)^alpha) - 1/2)   if s_i > threshold   (success)
    w = 1 + beta * (sigmoid(-(p^alpha)) - 1/2)      otherwise            (failure)

  so w_success lies in [1, 1 + r] (largest for a rare success, p -> 0) and w_failure in
  [1 - r, 1] (smallest for a failure in an easy group, p -> 1).

  Args:
    s: f32[B] penalised scores; p: f32[B] success rate of each sample's group, in [0, 1].
  """
  beta = cfg.psc_target_range / (jax.nn.sigmoid(1.0) - 0.5)
  alpha = cfg.psc_alpha
  w_succ = 1.0 + beta * (jax.nn.sigmoid((1.0 - p) ** alpha) - 0.5)
  w_fail = 1.0 + beta * (jax.nn.sigmoid(-(p ** alpha)) - 0.5)
  return jnp.where(s > cfg.success_threshold, w_succ, w_fail)


def success_rate(s, mean, batch: TrajectoryBatch, cfg: AdvantageConfig):
  """f32[B] p of each sample's group.

  "code": clip(mu_g, 0, 1) with mu_g the (singleton-ruled) statistic mean of the penalised
  scores. "paper": fraction of the group's trajectories whose unpenalised episode score
  exceeds the success threshold.
  """
  if cfg.p_mode == "code":
    return jnp.clip(mean, 0.0, 1.0)
  first = segments.first_of_segment(batch.traj_ids, batch.valid, batch.num_trajs)
  won = (batch.episode_scores > cfg.success_threshold) & first
  n_traj = jax.ops.segment_sum(first.astype(jnp.float32), batch.group_ids, batch.num_groups)
  n_won = jax.ops.segment_sum(won.astype(jnp.float32), batch.group_ids, batch.num_groups)
  return (n_won / jnp.maximum(n_traj, 1.0))[batch.group_ids]


def exact_step_advantage(g, batch: TrajectoryBatch, cfg: AdvantageConfig, mode: str):
  """GiGPO's step term over exact anchor-state groups (same group id and anchor id).

  A^S = G - mean_k G_k, divided by (std_k G_k + eps) in mode mean_std_norm; singleton state
  groups give 0.
  """
  sid = segments.dense_pair_ids(batch.group_ids, batch.anchor_ids, batch.valid)
  w = batch.valid.astype(jnp.float32)
  count, mean, std = segments.segment_moments(g, sid, w, batch.size)
  adv = g - mean[sid]
  if mode == "mean_std_norm":
    adv = adv / (std[sid] + cfg.eps)
  adv = jnp.where(count[sid] <= 1, 0.0, adv)
  return jnp.where(batch.valid, adv, 0.0)


def soft_step_advantage(g, batch: TrajectoryBatch, cfg: AdvantageConfig):
  """ProxMO's step term A^S = G - sum_j W_ij G_j (see `proximity.soft_baseline`).

  If no valid row has a non-zero feature (the reference's empty-vocabulary case, where its
  vectorizer raises), A^S = 0.
  """
  mesh = cfg.group_mesh
  if mesh is not None and mesh.shape.get(cfg.group_axis, 1) > 1:
    b = soft_baseline.sharded_soft_baselines(
        batch.features, g, batch.group_ids, batch.valid, mesh=mesh, axis=cfg.group_axis,
        num_groups=batch.num_groups, capacity=batch.group_capacity, tau=cfg.tau,
        chunk=cfg.soft_chunk)
  else:
    b = soft_baseline.soft_baselines(batch.features, g, batch.group_ids, batch.valid,
                                     num_groups=batch.num_groups,
                                     capacity=batch.group_capacity, tau=cfg.tau,
                                     chunk=cfg.soft_chunk)
  has_vocab = jnp.any((batch.features != 0) & batch.valid[:, None])
  return jnp.where(batch.valid & has_vocab, g - b, 0.0)


def _zeros(batch):
  return jnp.zeros((batch.size,), jnp.float32)


# ----------------------------------------------------------------------------- estimators


@register("grpo")
def grpo(batch: TrajectoryBatch, cfg: AdvantageConfig, *, norm_by_std: bool = True):
  """GRPO (norm_by_std=True) or Dr.GRPO (False) episode advantage."""
  s = scores(batch, cfg)
  count, mean, std = episode_moments(s, batch, cfg)
  adv = s - mean
  if norm_by_std:
    adv = adv / (std + cfg.eps)
  adv = _finish_episode(adv, count, batch, cfg)
  return Advantages(episode=adv, step=_zeros(batch), total=adv)


@register("grpo_dr")
def grpo_dr(batch: TrajectoryBatch, cfg: AdvantageConfig):
  return grpo(batch, cfg, norm_by_std=False)


@register("rloo")
def rloo(batch: TrajectoryBatch, cfg: AdvantageConfig):
  """RLOO: N / (N - 1) * (s - mu) with N the group's number of entries; s itself if N = 1."""
  s = scores(batch, cfg)
  count, mean, _ = episode_moments(s, batch, cfg)
  adv = jnp.where(count > 1, count / jnp.maximum(count - 1.0, 1.0) * (s - mean), s)
  adv = _finish_episode(adv, count, batch, cfg)
  return Advantages(episode=adv, step=_zeros(batch), total=adv)


@register("gigpo", needs_features=False, exact_states=True)
def gigpo(batch: TrajectoryBatch, cfg: AdvantageConfig):
  """GiGPO: episode term (std per gigpo_mode) + omega * exact anchor-state step term."""
  s = scores(batch, cfg)
  count, mean, std = episode_moments(s, batch, cfg)
  ep = s - mean
  if cfg.gigpo_mode == "mean_std_norm":
    ep = ep / (std + cfg.eps)
  ep = _finish_episode(ep, count, batch, cfg)
  st = exact_step_advantage(step_returns(batch, cfg), batch, cfg, cfg.gigpo_mode)
  return Advantages(episode=ep, step=st, total=ep + cfg.omega * st)


@register("proxmo", needs_features=True, needs_group_blocks=True, exact_states=False)
def proxmo(batch: TrajectoryBatch, cfg: AdvantageConfig, *, modulation: bool = True,
           soft: bool = True):
  """ProxMO: (s - mu) * w (modulation) + omega * (G - soft baseline)."""
  s = scores(batch, cfg)
  count, mean, _ = episode_moments(s, batch, cfg)
  ep = s - mean
  if modulation:
    ep = ep * psc_weights(s, success_rate(s, mean, batch, cfg), cfg)
  ep = _finish_episode(ep, count, batch, cfg)
  g = step_returns(batch, cfg)
  if soft:
    st = soft_step_advantage(g, batch, cfg)
  else:
    st = exact_step_advantage(g, batch, cfg, "mean_norm")
  return Advantages(episode=ep, step=st, total=ep + cfg.omega * st)


@register("proxmo_no_modulation", needs_features=True, needs_group_blocks=True)
def proxmo_no_modulation(batch: TrajectoryBatch, cfg: AdvantageConfig):
  return proxmo(batch, cfg, modulation=False)


@register("proxmo_no_soft", exact_states=True)
def proxmo_no_soft(batch: TrajectoryBatch, cfg: AdvantageConfig):
  return proxmo(batch, cfg, soft=False)
