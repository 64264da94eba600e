"""WebShop as an RL environment (the ProxMO / verl-agent wrapper, docs/environments.md#the-rl-wrapper-observation-format-and-reward).

  * reset(task, seed): task.payload is the goal index in the catalog's fixed goal order; a
    group's members share the goal. The seed names the episode (the engine is deterministic).
  * observation: the wrapper's formatted observation, the anchor the step-level estimators
    group on: the page's [SEP] parts after the instruction, each in single quotes, re-joined
    with " [SEP] " (the raw page when the instruction is not on it, i.e. the done page).
    The raw page is in info["raw_observation"], the task sentence in info["task"].
  * admissible actions: "search[<your query>]" on the search page, then "click[c]" for every
    clickable of the page, in order.
  * reward: 10 on a purchase with score exactly 1.0 (won), else 0; the score is logged as
    info["task_score"] on the purchase step, with the per-component details.
  * The step limit (15 in the paper) is the rollout loop's max_steps.
"""

from __future__ import annotations

from typing import Optional

from environments.interface import WIN_REWARD, StepResult, Task, TextEnv
from environments.webshop import data as data_lib
from environments.webshop import policies
from environments.webshop.catalog import DEFAULT_GOAL_SEED
from environments.webshop.engine import SEP, WebShopEngine

SEARCH_PLACEHOLDER = "search[<your query>]"


def format_observation(raw: str, task: str) -> str:
  """The wrapper's format_obs: the parts after the task, quoted, joined with [SEP]."""
  parts = raw.split(SEP)
  if task not in parts:
    return raw
  rest = parts[parts.index(task) + 1:]
  return SEP.join(f"'{p}'" for p in rest)


def admissible_actions(available: dict) -> list[str]:
  actions = [SEARCH_PLACEHOLDER] if available["has_search_bar"] else []
  return actions + [f"click[{c}]" for c in available["clickables"]]


class WebShopEnv(TextEnv):
  """One WebShop session; the catalog is loaded once per process and shared.

  Args:
    data_dir: folder of the catalog files (official or generated).
    use_small, human_goals, goal_seed: catalog options (see data.load_catalog).
    expert: put the oracle's next action in info["expert_action"].
  """

  def __init__(self, data_dir: str = "data/webshop_gen", use_small: bool = True,
               human_goals: bool = False, goal_seed: int = DEFAULT_GOAL_SEED,
               expert: bool = False):
    self.catalog = data_lib.load_catalog(data_dir, use_small, human_goals, goal_seed)
    self.engine = WebShopEngine(self.catalog)
    self.expert = expert
    self._task: Optional[Task] = None
    self._plan: list[str] = []

  def _result(self, raw: str, reward: float = 0.0, done: bool = False, won: bool = False,
              extra: Optional[dict] = None) -> StepResult:
    goal = self.engine.goal
    info = {"task_type": goal.category, "task": goal.instruction_text, "raw_observation": raw,
            "goal_index": self.engine.session.goal_index}
    info.update(extra or {})
    if self.expert:
      info["expert_action"] = self._plan[0] if self._plan else None
    actions = [] if done else admissible_actions(self.engine.available_actions())
    return StepResult(observation=format_observation(raw, goal.instruction_text), reward=reward,
                      done=done, won=won, admissible_actions=actions, info=info)

  def reset(self, task: Task, seed: int) -> StepResult:
    index = task.payload
    if not isinstance(index, int) or not 0 <= index < len(self.catalog.goals):
      raise ValueError(f"WebShop task {task.task_id!r}: payload must be a goal index in "
                       f"[0, {len(self.catalog.goals)}), got {index!r}")
    self._task = task
    self.engine = WebShopEngine(self.catalog, seed)
    raw = self.engine.reset(index)
    self._plan = policies.oracle_plan(self.catalog, self.engine.goal) if self.expert else []
    return self._result(raw)

  def expert_plan(self) -> list[str]:
    """The oracle's actions for the current goal (behaviour cloning)."""
    return policies.oracle_plan(self.catalog, self.engine.goal)

  def step(self, action: str) -> StepResult:
    if self._task is None:
      raise RuntimeError("WebShopEnv.step() before reset().")
    if self._plan and action == self._plan[0]:
      self._plan.pop(0)
    elif self.expert:  # off the plan: the oracle replans from the search page
      self._plan = []
    raw, score, done, info = self.engine.step(str(action))
    extra = {"noop": info["noop"]}
    if done:
      extra["task_score"] = score
      extra.update({f"reward_{k}": v for k, v in info.get("reward_details", {}).items()})
    won = done and score == 1.0
    return self._result(raw, reward=WIN_REWARD if won else 0.0, done=done, won=won,
                        extra=extra)
