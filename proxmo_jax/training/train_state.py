"""Train state and optimizer: AdamW with global-norm gradient clipping (docs/method.md#policy-update).

`TrainState.params` is whatever is trained: the model params, or under LoRA the adapter tree of
`proxmo_jax.models.lora.init_lora` (then the optimizer state holds the adapters' moments only
and the frozen base params are passed to the update separately).
"""

from __future__ import annotations

import dataclasses

import flax.struct
import jax
import jax.numpy as jnp
import optax


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
  learning_rate: float = 1e-6
  b1: float = 0.9
  b2: float = 0.999
  weight_decay: float = 0.01
  grad_clip: float = 1.0
  warmup_steps: int = 0


def make_optimizer(cfg: OptimizerConfig) -> optax.GradientTransformation:
  """clip_by_global_norm(grad_clip) -> AdamW(lr, b1, b2, wd); constant lr after warmup."""
  if cfg.warmup_steps > 0:
    lr = optax.linear_schedule(0.0, cfg.learning_rate, cfg.warmup_steps)
  else:
    lr = cfg.learning_rate
  return optax.chain(optax.clip_by_global_norm(cfg.grad_clip),
                     optax.adamw(lr, b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay))


@flax.struct.dataclass
class TrainState:
  step: jnp.ndarray
  params: dict
  opt_state: optax.OptState
  skipped: jnp.ndarray  # number of updates skipped for a non-finite loss or gradient


def create_train_state(params, tx: optax.GradientTransformation) -> TrainState:
  """Step 0 with fresh optimizer moments. (Sampling keys derive from config.seed and the
  iteration, so a resumed run needs no PRNG state here.)"""
  return TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params),
                    skipped=jnp.zeros((), jnp.int32))
