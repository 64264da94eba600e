"""The interface shared by every text environment (ALFWorld, WebShop).

An environment is stepped with text and answers with text. A *task* names one game or goal;
`reset(task, seed)` loads it, and n environments reset with the same task and seed form one
rollout group (their trajectories share a `group_id` in the trajectory batch).

Conventions:
  * `observation` is the raw text the environment produced, without prompt template, history or
    admissible actions. It is the *anchor observation* that the step-level estimators group on
    (spec/estimators.md section 4).
  * `reward` is the env reward of this step: 10.0 on the winning step, else 0.0 (paper scale).
  * `won` is True only on a successful episode end; `done` is True on any episode end.
  * `admissible_actions` lists the commands the engine accepts now ([] when not applicable).
  * `info` carries extras (task type, partial score, truncation) as plain Python values. An
    environment whose observations do not state the task (WebShop) puts the task sentence in
    the reset result's info["task"]; `task_context` gives the agent that, else the reset
    observation.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

WIN_REWARD = 10.0


@dataclasses.dataclass(frozen=True)
class Task:
  """One game / goal that a group of environments resets to.

  Attributes:
    env_name: "alfworld" or "webshop".
    task_id: stable identifier (e.g. the game directory or the goal index).
    task_type: task family used for per-type metrics (e.g. "pick_and_place_simple").
    payload: what the environment needs to load the task (paths, goal dict), picklable.
  """
  env_name: str
  task_id: str
  task_type: str
  payload: Any = None


@dataclasses.dataclass
class StepResult:
  observation: str
  reward: float = 0.0
  done: bool = False
  won: bool = False
  admissible_actions: list[str] = dataclasses.field(default_factory=list)
  info: dict[str, Any] = dataclasses.field(default_factory=dict)


class TextEnv(abc.ABC):
  """A single text environment. Not thread-safe; one per worker process."""

  @abc.abstractmethod
  def reset(self, task: Task, seed: int) -> StepResult:
    """Loads `task` with `seed`; returns the initial observation (reward 0, done False)."""

  @abc.abstractmethod
  def step(self, action: str) -> StepResult:
    """Applies one text action (already projected from the model output)."""

  def expert_plan(self) -> list[str]:
    """The expert's commands for the task loaded by the last reset (behaviour cloning)."""
    raise NotImplementedError(f"{type(self).__name__} has no expert walkthrough.")

  def close(self) -> None:
    """Releases engine resources."""


def task_context(first: StepResult) -> str:
  """What an agent reads the task from: info["task"] if the env gives it, else the first
  observation (ALFWorld states the task in it)."""
  return first.info.get("task") or first.observation
