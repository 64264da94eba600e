"""ALFWorld behind the project's `TextEnv` interface.

A `Task` whose payload is the path of a `game.tw-pddl` file (with its `traj_data.json` beside
it); reward 10 on the winning step. The engine is `engine.make_textworld_env`.
"""

from __future__ import annotations

import json
import os

from environments.alfworld.engine import make_textworld_env
from environments.interface import WIN_REWARD, StepResult, Task, TextEnv


class AlfworldEnv(TextEnv):
  """One ALFWorld game engine (one per worker process).

  `reset(task, seed)` loads `task.payload` (a game.tw-pddl path) unless it is already loaded;
  the games are deterministic, so the seed only names the episode. `info` carries the task
  type, `gamefile` and, with `expert=True`, the expert's next action (`expert_action`).
  """

  def __init__(self, expert: bool = False):
    self.expert = expert
    self._env = make_textworld_env(expert)
    self._loaded = None
    self._task = None

  def _result(self, state, reward=0.0, done=False):
    won = bool(state.get("won", False))
    info = {"task_type": self._task.task_type, "gamefile": self._loaded}
    if self.expert:
      plan = state.get("extra.expert_plan") or []
      info["expert_action"] = plan[0] if plan else None
    return StepResult(observation=str(state["feedback"]).strip() if state.get("feedback")
                      else "", reward=WIN_REWARD if won else 0.0, done=done or won, won=won,
                      admissible_actions=list(state.get("admissible_commands") or []), info=info)

  def reset(self, task: Task, seed: int) -> StepResult:
    path = task.payload
    if not isinstance(path, str) or not os.path.exists(path):
      raise FileNotFoundError(f"ALFWorld game file {path!r} of task {task.task_id!r} does not "
                              "exist; generate the split first (experiments/generate_alfworld.py).")
    self._task = task
    if self._loaded != path:
      self._env.load(path)
      self._loaded = path
    return self._result(self._env.reset())

  def step(self, action: str) -> StepResult:
    if self._task is None:
      raise RuntimeError("AlfworldEnv.step() before reset().")
    state, _, done = self._env.step(str(action))
    return self._result(state, done=bool(done))

  def expert_plan(self) -> list[str]:
    """The walkthrough stored with the game by the generator (or the official data)."""
    if self._loaded is None:
      raise RuntimeError("AlfworldEnv.expert_plan() before reset().")
    with open(self._loaded) as f:
      return list(json.load(f).get("walkthrough") or [])

  def close(self) -> None:
    try:
      self._env.close()
    except Exception:  # the engine may already be gone
      pass
