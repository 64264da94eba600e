"""ALFWorld behind the project's `TextEnv` interface.

A `Task` whose payload is the path of a `game.tw-pddl` file (with its `traj_data.json` beside
it); reward 10 on the winning step. Two engines give the same observations, admissible commands,
rewards, `done` and `won` (tests/test_alfworld_fast.py checks it step by step):

* `engine="fast"` (default): `fast_engine.FastGame`, one per game and process, shared by every
  env of the process (`fast_engine.process_cache()`): the game is loaded once, a reset is a
  pointer to the initial state, and states and transitions already met are looked up.
* `engine="plain"`: TextWorld's engine stack (`engine.make_textworld_env`), one per env; a reset
  translates the PDDL problem again. Kept as the reference the fast engine is tested against.

`expert=True` (behaviour cloning, validation) adds the hand-coded expert's next action to
`info["expert_action"]` and answers `expert_action()`; it needs the live TextWorld state, so it
runs on the TextWorld stack (with snapshot resets unless `engine="plain"`). Training rollouts
never compute it. The expert tracks the episode's commands, whoever chose them, so it answers
from states off its own path too (the noisy demonstrator, `config.sft.expert_noise`); when it is
stuck it draws from Python's global RNG, which a reset seeds from the task and the seed.
"""

from __future__ import annotations

import json
import os
import random
import zlib

from alfworld.agents.expert.handcoded_expert import HandCodedAgentFailed

from environments.alfworld import fast_engine
from environments.alfworld.engine import make_textworld_env
from environments.interface import WIN_REWARD, StepResult, Task, TextEnv

ENGINES = ("fast", "plain")


class AlfworldEnv(TextEnv):
  """One ALFWorld environment (see module docstring).

  `reset(task, seed)` starts an episode of `task.payload` (a game.tw-pddl path); the games are
  deterministic, so the seed only names the episode. `info` carries the task type, `gamefile`
  and, with `expert=True`, the expert's next action (`expert_action`).
  """

  def __init__(self, expert: bool = False, engine: str = "fast"):
    if engine not in ENGINES:
      raise ValueError(f"AlfworldEnv engine {engine!r}: use one of {ENGINES}.")
    self.expert = expert
    self.engine = engine
    self._fast = engine == "fast" and not expert
    self._env = None if self._fast else make_textworld_env(
        expert, snapshot_resets=engine == "fast")
    self._loaded = None
    self._task = None
    self._game = None  # fast engine: the FastGame and the current state node
    self._node = None
    self._expert_next = None  # expert=True: the expert's command from the current state

  def _info(self, state=None) -> dict:
    info = {"task_type": self._task.task_type, "gamefile": self._loaded}
    if self.expert:
      plan = state.get("extra.expert_plan") or []
      info["expert_action"] = self._expert_next = plan[0] if plan else None
    return info

  def _fast_result(self, feedback: str, node) -> StepResult:
    won = node.won
    return StepResult(observation=feedback.strip() if feedback else "",
                      reward=WIN_REWARD if won else 0.0, done=won, won=won,
                      admissible_actions=list(node.commands), info=self._info())

  def _result(self, state, reward=0.0, done=False):
    won = bool(state.get("won", False))
    return StepResult(observation=str(state["feedback"]).strip() if state.get("feedback")
                      else "", reward=WIN_REWARD if won else 0.0, done=done or won, won=won,
                      admissible_actions=list(state.get("admissible_commands") or []),
                      info=self._info(state))

  def reset(self, task: Task, seed: int) -> StepResult:
    path = task.payload
    if not isinstance(path, str) or not os.path.exists(path):
      raise FileNotFoundError(f"ALFWorld game file {path!r} of task {task.task_id!r} does not "
                              "exist; generate the split first (experiments/generate_alfworld.py).")
    self._task = task
    if self._fast:
      self._game = fast_engine.process_cache().get(path)
      self._loaded = path
      intro, self._node = self._game.reset()
      return self._fast_result(intro, self._node)
    if self._loaded != path:
      self._env.load(path)
      self._loaded = path
    if self.expert:  # the hand-coded expert's random choices: a function of (task, seed)
      random.seed(zlib.crc32(f"{task.task_id}\0{seed}".encode()))
    return self._result(self._env.reset())

  def step(self, action: str) -> StepResult:
    if self._task is None:
      raise RuntimeError("AlfworldEnv.step() before reset().")
    if self._fast:
      feedback, self._node = self._game.step(self._node, str(action))
      return self._fast_result(feedback, self._node)
    try:
      state, _, done = self._env.step(str(action))
    except HandCodedAgentFailed:
      # The expert wrapper raises after the step itself: the game moved on, the expert has no
      # command from here (expert_action() is None).
      state = self._env.state
      state["extra.expert_plan"] = []
      done = bool(state.get("won")) or bool(state.get("lost"))
    return self._result(state, done=bool(done))

  def expert_plan(self) -> list[str]:
    """The walkthrough stored with the game by the generator (or the official data)."""
    if self._loaded is None:
      raise RuntimeError("AlfworldEnv.expert_plan() before reset().")
    with open(self._loaded) as f:
      return list(json.load(f).get("walkthrough") or [])

  def expert_action(self):
    """The hand-coded expert's command from the current state (None: it has none); needs
    `expert=True`."""
    if not self.expert:
      raise NotImplementedError("AlfworldEnv.expert_action needs the live expert: make the env "
                                "with expert=True (EnvSpec.expert_env_factory does).")
    if self._task is None:
      raise RuntimeError("AlfworldEnv.expert_action() before reset().")
    return self._expert_next

  def close(self) -> None:
    self._game = self._node = None  # the process cache keeps the game for the next env
    if self._env is not None:
      try:
        self._env.close()
      except Exception:  # the engine may already be gone
        pass
