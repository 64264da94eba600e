"""Estimators by name, and the jitted entry point `compute_advantages`.

    adv = compute_advantages("proxmo", batch)                 # reference defaults
    adv = compute_advantages("gigpo", batch, gigpo_mode="mean_std_norm")

Estimators register where they are defined, with `@register("name", needs_features=...,
needs_group_blocks=..., exact_states=...)`; a function takes (batch: TrajectoryBatch,
cfg: AdvantageConfig) and returns `Advantages`. `info(name)` gives the metadata.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Optional

import jax

from proxmo_jax.advantages.batch import TrajectoryBatch, bucket_size
from proxmo_jax.advantages.config import AdvantageConfig
from proxmo_jax.proximity import blocks

Estimator = Callable[[TrajectoryBatch, AdvantageConfig], "estimators.Advantages"]


@dataclasses.dataclass(frozen=True)
class EstimatorInfo:
  """A registered estimator and what it needs of the batch.

  Attributes:
    fn: (batch, cfg) -> Advantages.
    needs_features: reads `batch.features` (proximity features of the anchor observations);
      without it the caller may pass zero-width features.
    needs_group_blocks: runs the group-blocked proximity kernel, so the batch needs a static
      `group_capacity` (measured and bucketed by `compute_advantages` when 0).
    exact_states: groups step samples by exact anchor state (`batch.anchor_ids`).
  """
  fn: Estimator
  needs_features: bool = False
  needs_group_blocks: bool = False
  exact_states: bool = False


_REGISTRY: dict[str, EstimatorInfo] = {}


def register(name: str, *, needs_features: bool = False, needs_group_blocks: bool = False,
             exact_states: bool = False):
  """Decorator: registers `fn(batch, cfg) -> Advantages` under `name` with its metadata."""
  def wrap(fn: Estimator) -> Estimator:
    if name in _REGISTRY:
      raise ValueError(f"estimator {name!r} is already registered.")
    _REGISTRY[name] = EstimatorInfo(fn, needs_features, needs_group_blocks, exact_states)
    return fn
  return wrap


def names() -> tuple[str, ...]:
  return tuple(sorted(_REGISTRY))


def info(name: str) -> EstimatorInfo:
  try:
    return _REGISTRY[name]
  except KeyError:
    raise ValueError(f"unknown advantage estimator {name!r}; choose one of {names()}.") from None


def get(name: str) -> Estimator:
  return info(name).fn


@functools.partial(jax.jit, static_argnames=("name", "cfg"))
def _jitted(batch: TrajectoryBatch, name: str, cfg: AdvantageConfig):
  return get(name)(batch, cfg)


def compute_advantages(name: str, batch: TrajectoryBatch, cfg: Optional[AdvantageConfig] = None,
                       **overrides) -> estimators.Advantages:
  """Runs estimator `name` on `batch` under `jax.jit` (one compile per shape bucket).

  Args:
    name: a registered estimator (see `names()`).
    batch: the padded step samples. If `batch.group_capacity` is 0 it is measured on the host
      (concrete arrays needed) and bucketed.
    cfg: options; `overrides` replace fields of it (or of the defaults).

  Returns:
    Advantages(episode, step, total), each f32[B].
  """
  meta = info(name)
  cfg = cfg or AdvantageConfig()
  if overrides:
    cfg = dataclasses.replace(cfg, **overrides)
  if meta.needs_group_blocks:
    traced = isinstance(batch.group_ids, jax.core.Tracer)
    if batch.group_capacity <= 0:
      if traced:
        raise ValueError("batch.group_capacity is 0 inside a jax transformation, where it "
                         "cannot be measured: build the batch with an explicit group_capacity.")
      batch = batch.replace(group_capacity=bucket_size(
          blocks.largest_group(batch.group_ids, batch.valid)))
    elif not traced:
      blocks.check_capacity(batch.group_ids, batch.valid, batch.group_capacity)
  return _jitted(batch, name, cfg)


# The built-in estimators register themselves when their module is imported.
from proxmo_jax.advantages import estimators  # noqa: E402,F401  pylint: disable=wrong-import-position
