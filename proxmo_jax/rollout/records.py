"""Host-side records of a multi-turn rollout: one `StepRecord` per (prompt, response) pair.

The sampled token ids are kept as generated; the update never re-tokenises decoded text.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from environments.interface import Task


@dataclasses.dataclass
class StepRecord:
  """One step sample.

  Attributes:
    prompt_ids: token ids of the prompt the policy saw.
    response_ids: sampled token ids (incl. EOS when generated).
    observation: the anchor observation before the action (raw env text).
    action: the action sent to the environment (after projection).
    valid: the projection's validity flag (format), docs/environments.md#from-model-text-to-action.
    reward: env reward of this step.
    sample_logprobs: the sampler's log-probs of response_ids; PPO's old log-probs when
      config.ppo.old_logprobs="sampled" (else the update recomputes them, as the reference).
    frozen_hidden: with config.ppo.frozen_hidden="rollout" (LoRA on the top N layers), the
      sampler's residual stream after the L - N frozen layers, f32[len(prompt_ids) +
      len(response_ids) - 1, D]; the update starts its forward there. Never stored on disk.
  """
  prompt_ids: list[int]
  response_ids: list[int]
  observation: str
  action: str
  valid: bool
  reward: float
  sample_logprobs: Optional[list[float]] = None
  frozen_hidden: Optional[Any] = None


@dataclasses.dataclass
class Episode:
  """One trajectory of a group.

  Attributes:
    group: index of the task group in the rollout batch.
    task: the task it ran.
    steps: its step samples in time order.
    won: True if it ended in success.
    truncated: True if it hit max_steps (or its worker died) before ending.
    info: extras from the environment (e.g. WebShop's partial score).
  """
  group: int
  task: Task
  steps: list[StepRecord] = dataclasses.field(default_factory=list)
  won: bool = False
  truncated: bool = False
  info: dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def length(self) -> int:
    return len(self.steps)

  @property
  def total_reward(self) -> float:
    return float(sum(s.reward for s in self.steps))
