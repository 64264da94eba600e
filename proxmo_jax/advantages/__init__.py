"""Advantage estimators: GRPO, RLOO, GiGPO and ProxMO as pure jitted JAX functions."""

from proxmo_jax.advantages.batch import (TrajectoryBatch, Trajectory, build_trajectory_batch,
                                         bucket_size)
from proxmo_jax.advantages.config import AdvantageConfig
from proxmo_jax.advantages.estimators import Advantages, psc_weights
from proxmo_jax.advantages.registry import compute_advantages, get, info, names, register
from proxmo_jax.advantages.returns import discounted_returns, penalized

__all__ = [
    "Advantages", "AdvantageConfig", "Trajectory", "TrajectoryBatch", "build_trajectory_batch",
    "bucket_size", "compute_advantages", "discounted_returns", "get", "info", "names", "penalized",
    "psc_weights", "register",
]
