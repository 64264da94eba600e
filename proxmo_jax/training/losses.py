"""The actor loss of the reference recipe (docs/method.md#policy-update), per token, token-mean aggregated.

With ratio r = exp(logp - logp_old) and the step sample's advantage A (broadcast over its
response tokens):

    l_clip = max(-A r, -A clip(r, 1 - eps, 1 + eps))                         (PPO clip)
    l      = min(l_clip, -A c)  where A < 0,  l_clip otherwise                (dual clip, c = 3)
    KL     = clamp(exp(d) - d - 1, -10, 10),  d = logp_ref - logp             (low-variance k3)
    loss   = agg(l) - entropy_coef * agg(H) + kl_coef * agg(KL)
    agg(x) = sum(x * mask) / max(sum(mask), 1)                                (token-mean)

or, for one micro-batch of a mini-batch of N response tokens, agg(x) = sum(x * mask) / N, its
share of the mini-batch's token-mean (`training/update.py`).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class LossConfig:
  clip_eps: float = 0.2
  dual_clip_c: float = 3.0
  kl_coef: float = 0.01
  entropy_coef: float = 0.001


def token_mean(x, mask):
  return jnp.sum(x * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def ppo_token_loss(logp, old_logp, advantages, clip_eps: float, dual_clip_c: float):
  """Per-token dual-clip PPO loss and clip indicators. Shapes f32[B, T] (A may be [B, 1])."""
  ratio = jnp.exp(logp - old_logp)
  l1 = -advantages * ratio
  l2 = -advantages * jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
  l_clip = jnp.maximum(l1, l2)
  l_dual = jnp.minimum(l_clip, -advantages * dual_clip_c)
  loss = jnp.where(advantages < 0, l_dual, l_clip)
  clipped = (l2 > l1).astype(jnp.float32)
  dual = ((advantages < 0) & (l_dual < l_clip)).astype(jnp.float32)
  return loss, ratio, clipped, dual


def low_var_kl(logp, ref_logp):
  """k3 estimator of KL(pi || pi_ref) per token, clamped to [-10, 10]."""
  d = ref_logp - logp
  return jnp.clip(jnp.exp(d) - d - 1.0, -10.0, 10.0)


def actor_loss(logp, entropy, old_logp, ref_logp, advantages, mask, cfg: LossConfig,
               denominator=None):
  """Total loss and metrics.

  Args:
    logp, entropy, old_logp, ref_logp, mask: f32[B, T] (mask = response tokens).
    advantages: f32[B] per step sample.
    denominator: None: agg is the token-mean over these rows. A scalar N: agg(x) =
      sum(x * mask) / N, this part's share of the token-mean over N tokens of which these rows
      hold some; the shares of a mini-batch's parts (N = its response tokens) add up to its
      token-mean, however its rows are split.

  Returns:
    (loss scalar, metrics dict of scalars; `ratio_max` a max and `tokens` a count, the others
    aggregated as the loss).
  """
  agg = ((lambda x: token_mean(x, mask)) if denominator is None else
         (lambda x: jnp.sum(x * mask) / denominator))
  adv = advantages[:, None]
  pg, ratio, clipped, dual = ppo_token_loss(logp, old_logp, adv, cfg.clip_eps, cfg.dual_clip_c)
  kl = low_var_kl(logp, ref_logp)
  pg_loss, ent, kl_m = agg(pg), agg(entropy), agg(kl)
  loss = pg_loss - cfg.entropy_coef * ent + cfg.kl_coef * kl_m
  metrics = {"pg_loss": pg_loss, "entropy": ent, "kl": kl_m, "clip_frac": agg(clipped),
             "dual_clip_frac": agg(dual), "ratio_mean": agg(ratio),
             "ratio_max": jnp.max(jnp.where(mask > 0, ratio, 0.0)), "tokens": jnp.sum(mask)}
  return loss, metrics
