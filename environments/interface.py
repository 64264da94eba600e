"""The one interface between the library and every text environment.

The library (`proxmo_jax`) knows environments only through this module and the registry
(`environments.registry`): an environment package exposes `make(env_config) -> EnvSpec` and
`validate(env_config)`, and registers them under its name.

An environment is stepped with text and answers with text. A *task* names one game or goal;
`reset(task, seed)` loads it, and n environments reset with the same task and seed form one
rollout group (their trajectories share a `group_id` in the trajectory batch).

Conventions:
  * `observation` is the raw text the environment produced, without prompt template, history or
    admissible actions. It is the *anchor observation* that the step-level estimators group on
    (docs/method.md#anchor-observation).
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
from typing import Any, Callable, Optional, Protocol, Sequence

from proxmo_jax.errors import ConfigError  # noqa: F401  (re-exported for environments)

WIN_REWARD = 10.0


@dataclasses.dataclass(frozen=True)
class Task:
  """One game / goal that a group of environments resets to.

  Attributes:
    env_name: the registry name of the environment.
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

  def expert_action(self) -> Optional[str]:
    """The expert's next command from the current state, wherever the episode has gone (a
    noisy demonstrator, config.sft.expert_noise, needs an expert that recovers from its
    detours); None when the expert has no command from here (the demonstration ends).
    Environments whose expert is a fixed walkthrough leave this unimplemented."""
    raise NotImplementedError(
        f"{type(self).__name__} has no expert for arbitrary states (expert_action); use "
        "config.sft.expert_noise=0 with it.")

  def close(self) -> None:
    """Releases engine resources."""


def task_context(first: StepResult) -> str:
  """What an agent reads the task from: info["task"] if the env gives it, else the first
  observation (ALFWorld states the task in it)."""
  return first.info.get("task") or first.observation


class Agent(Protocol):
  """The environment-specific half of a policy: prompt text in, action text out.

  `environments.projection.ProtocolAgent` implements all but `build_prompt` for the paper's
  `<think>...</think><action>...</action>` responses.
  """

  stop_strings: tuple[str, ...]  # sampling stops once the response contains one of these
  special_strings: tuple[str, ...]  # kept whole by a tokenizer trained for the agent

  def expert_response(self, command: str) -> str:
    """The response text that makes the env receive `command` (behaviour-cloning target)."""

  def build_prompt(self, task_context: str, history: Sequence[tuple[str, str]],
                   observation: str, admissible: Sequence[str]) -> str:
    """The user message at this turn (history: the (observation, action) pairs so far).

    `task_context` is `task_context(reset result)`: the task sentence where the env gives one
    (WebShop), else the first observation (ALFWorld states the task in it)."""

  def project(self, text: str, admissible: Sequence[str]) -> tuple[str, bool]:
    """Model output -> (action sent to the env, validity flag)."""


@dataclasses.dataclass(frozen=True)
class EvalTable:
  """How an environment's held-out results are tabulated (the paper's table format).

  A row holds, in this order: one success-rate column (%) per task family in `families`
  ((column name, task_type) pairs, e.g. ("Pick", "pick_and_place_simple")), then
  `score_column` (mean of info[score_key] x 100) when `score_key` is set, then
  `success_column` (% of episodes won over all families). `headline` names the column that a
  comparison ranks by.
  """
  families: tuple[tuple[str, str], ...] = ()
  success_column: str = "Succ."
  score_key: Optional[str] = None
  score_column: str = "Score"
  headline: str = "Succ."

  def columns(self) -> list[str]:
    cols = [c for c, _ in self.families]
    if self.score_key:
      cols.append(self.score_column)
    return cols + [self.success_column]

  def row(self, episodes: Sequence) -> dict:
    """{column: value in %, or None when no episode falls in it}; episodes need
    `.task.task_type`, `.won` and `.info`."""
    pct = lambda xs: 100.0 * sum(xs) / len(xs) if xs else None
    out = {}
    for col, family in self.families:
      out[col] = pct([bool(e.won) for e in episodes if e.task.task_type == family])
    if self.score_key:
      out[self.score_column] = pct([float(e.info.get(self.score_key, 0.0)) for e in episodes])
    out[self.success_column] = pct([bool(e.won) for e in episodes])
    return out


@dataclasses.dataclass
class EnvSpec:
  """Everything the library needs of one configured environment.

  Attributes:
    name: registry name.
    train_tasks, eval_tasks: the task splits (eval = held out).
    env_factory: picklable zero-argument callable -> a fresh `TextEnv` (one per worker slot).
      Its envs' `expert_plan()` is the behaviour-cloning expert.
    expert_env_factory: the same for an env whose `expert_action()` answers from any state,
      where that costs the rollouts' env speed (ALFWorld's live hand-coded expert); the noisy
      demonstrator uses it. None: env_factory's envs answer.
    agent: prompt builder + projection.
    eval_table: the evaluation table of this environment.
    in_process: step the envs in the trainer's process (fast pure-Python envs) instead of
      worker processes.
  """
  name: str
  train_tasks: list
  eval_tasks: list
  env_factory: Callable[[], TextEnv]
  agent: Agent
  eval_table: EvalTable
  in_process: bool = False
  expert_env_factory: Optional[Callable[[], TextEnv]] = None

  @property
  def score_key(self) -> Optional[str]:
    """info key of a partial task score in [0, 1] logged at episode end (WebShop's
    "task_score"), or None: the evaluation table's, so metrics and tables read one fact."""
    return self.eval_table.score_key
