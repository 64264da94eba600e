"""Options of the advantage estimators (hashable, so they are static under `jax.jit`).

Defaults reproduce the reference implementation's ProxMO run scripts (docs/method.md#hyperparameters); the
comments say where the paper's wording differs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

P_MODES = ("code", "paper")
STATS = ("step", "trajectory")
GIGPO_MODES = ("mean_norm", "mean_std_norm")
SINGLETONS = ("reference", "zero")


@dataclasses.dataclass(frozen=True)
class AdvantageConfig:
  """Estimator options.

  Attributes:
    gamma: discount of the step returns (0.95 in the run scripts).
    omega: weight of the step term, A = A^E + omega * A^S (1.0).
    tau: temperature of the proximity softmax (0.1, hard-coded in the reference).
    eps: added to the std in std-normalised variants (1e-6).
    psc_alpha: exponent alpha of the success-rate-aware modulation (4 in the run scripts;
      the reference trainer's own default is 5).
    psc_target_range: r; the weights lie in [1 - r, 1 + r] and beta = r / (sigmoid(1) - 1/2)
      (0.05 in the run scripts; the trainer default is 0.2).
    p_mode: "code": p = clip(group mean of the penalised scores, 0, 1), as the reference code
      (it saturates at 1 on the 10/0 reward scale once >= 10 % of step samples succeed);
      "paper": p = fraction of successful trajectories in the group, as the paper describes.
    success_threshold: a sample is a "success" for the modulation when its (penalised) score
      exceeds this (0.5, as the code); in p_mode "paper" a trajectory is successful when its
      unpenalised episode score does.
    stats: "step": one statistic entry per step sample (reference default; length-weighted);
      "trajectory": one entry per trajectory (its first step sample), the textbook version.
    singleton: rule for an episode group with a single entry: "reference" (mu := 0, sigma := 1,
      the sample keeps its raw score) or "zero" (advantage 0).
    gigpo_mode: step-group normalisation of GiGPO: "mean_norm" (reference yaml default) or
      "mean_std_norm" (verl-agent's GiGPO script).
    invalid_penalty: subtracted from the score and the step return of a sample whose model
      output was invalid (0.1).
    soft_chunk: groups per step of the blocked proximity kernel (memory/speed trade-off).
    group_mesh, group_axis: placement, not maths: when `group_mesh` is set and its axis
      `group_axis` has more than one device, the proximity kernel runs under `jax.shard_map`
      with the groups split over that axis (`proximity.sharded_soft_baselines`); the numbers
      are the same up to float summation order.
  """
  gamma: float = 0.95
  omega: float = 1.0
  tau: float = 0.1
  eps: float = 1e-6
  psc_alpha: float = 4.0
  psc_target_range: float = 0.05
  p_mode: str = "code"
  success_threshold: float = 0.5
  stats: str = "step"
  singleton: str = "reference"
  gigpo_mode: str = "mean_norm"
  invalid_penalty: float = 0.1
  soft_chunk: int = 8
  group_mesh: Optional[Any] = None
  group_axis: str = "data"

  def __post_init__(self):
    for field, allowed in (("p_mode", P_MODES), ("stats", STATS), ("gigpo_mode", GIGPO_MODES),
                           ("singleton", SINGLETONS)):
      value = getattr(self, field)
      if value not in allowed:
        raise ValueError(f"AdvantageConfig.{field}={value!r} is not one of {allowed}.")
    if not 0.0 <= self.gamma <= 1.0:
      raise ValueError(f"AdvantageConfig.gamma={self.gamma} must lie in [0, 1].")
    if self.tau <= 0:
      raise ValueError(f"AdvantageConfig.tau={self.tau} must be > 0.")
    if self.soft_chunk < 1:
      raise ValueError(f"AdvantageConfig.soft_chunk={self.soft_chunk} must be >= 1.")
    if not 0.0 <= self.psc_target_range < 1.0:
      raise ValueError(f"AdvantageConfig.psc_target_range={self.psc_target_range} must lie "
                       "in [0, 1).")
