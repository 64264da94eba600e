"""CorridorEnv: the TextEnv over a compiled corridor instance.

reset(task, seed) loads task.payload (an `Instance`) and returns the first hall; step(command)
applies one command (lower-cased, spaces collapsed, a trailing '.' dropped). A command that is
not admissible changes nothing but uses up a step; the observation is the state's text again
and info["admissible"] is False. The episode ends on WIN (reward 10), STUCK (reward 0), or
after `horizon` steps (info["truncated"] = True).

Every StepResult's info holds "state_id" (the discrete state its observation shows, world.py)
and "step" (steps taken so far), never shown in the text: the exact values of values.py at
(step, state_id) are those of the decision taken on this observation. The reset result's info
holds "task", the task sentence (interface.task_context reads it).

Paraphrase randomness: one random stream per episode, seeded from (salt, reset seed, task id),
drawn from at every visit. `salt` tells apart the envs of one rollout group (same task, same
seed): by default each env takes the next number of a per-process counter, so in-process envs
created in the same order get the same salts on every run, and two envs of one group render
the same state differently when paraphrase_rate > 0. Pass `salt` to pin it.
"""

from __future__ import annotations

import collections
import itertools
import random
import re
import zlib
from typing import Optional

from environments.corridor.render import Renderer, task_text
from environments.corridor.world import World
from environments.interface import StepResult, Task, TextEnv

_SALTS = itertools.count()
_SPACES = re.compile(r"\s+")


def normalize(command: str) -> str:
  return _SPACES.sub(" ", command.strip().lower()).rstrip(".").strip()


class CorridorEnv(TextEnv):
  """One corridor environment.

  Args:
    horizon: steps after which an episode is truncated.
    paraphrase_rate: probability that a visit's text is paraphrased (render.py).
    paraphrase_lexical: in a paraphrased visit, the probability of each lexical change
      (a sentence's template, one filler sentence; render.py).
    salt: paraphrase stream salt (module docstring); None = next per-process number.
    cache_size: compiled instances kept (an LRU), so resets to known tasks are cheap.
  """

  def __init__(self, horizon: int = 15, paraphrase_rate: float = 0.0,
               paraphrase_lexical: float = 0.2, salt: Optional[int] = None,
               cache_size: int = 4096):
    self.horizon = horizon
    self.paraphrase_rate = paraphrase_rate
    self.paraphrase_lexical = paraphrase_lexical
    self.salt = next(_SALTS) if salt is None else salt
    self.cache_size = cache_size
    self._cache: collections.OrderedDict = collections.OrderedDict()
    self._rng = random.Random(0)
    self.world: Optional[World] = None
    self.task: Optional[Task] = None
    self.state = -1
    self.t = 0
    self.done = True

  def _load(self, task: Task):
    entry = self._cache.get(task.task_id)
    if entry is None or (entry[0] is not task.payload and entry[0] != task.payload):
      world = World(task.payload)
      entry = (task.payload, world, Renderer(world, self.paraphrase_lexical),
               task_text(task.payload))
      self._cache[task.task_id] = entry
      if len(self._cache) > self.cache_size:
        self._cache.popitem(last=False)
    else:
      self._cache.move_to_end(task.task_id)
    return entry

  def reset(self, task: Task, seed: int) -> StepResult:
    _, self.world, self.renderer, self.task_sentence = self._load(task)
    self.task = task
    self._rng.seed(zlib.crc32(f"{self.salt}/{seed}/{task.task_id}".encode()))
    self.state, self.t, self.done = self.world.initial, 0, False
    return StepResult(
        observation=self.renderer.observation(self.state, self.paraphrase_rate, self._rng),
        admissible_actions=list(self.world.actions[self.state]),
        info={"task": self.task_sentence, "state_id": self.state, "step": 0})

  def step(self, action: str) -> StepResult:
    if self.done:
      raise RuntimeError("CorridorEnv.step after the episode ended; call reset first.")
    self.t += 1
    command = normalize(action)
    edge = self.world.edges[self.state].get(command)
    info = {"state_id": self.state, "step": self.t, "admissible": edge is not None}
    reward, won = 0.0, False
    if edge is not None:
      self.state = info["state_id"] = edge.next_state
      reward, won = edge.reward, edge.event == "win"
      if edge.done:
        self.done = True
        return StepResult(observation=self.renderer.terminal(self.state, command.split()[1]),
                          reward=reward, done=True, won=won, info=info)
    if self.t >= self.horizon:
      self.done = True
      info["truncated"] = True
    return StepResult(
        observation=self.renderer.observation(self.state, self.paraphrase_rate, self._rng),
        reward=reward, done=self.done, won=won,
        admissible_actions=[] if self.done else list(self.world.actions[self.state]),
        info=info)

  def expert_plan(self) -> list[str]:
    if self.world is None:
      raise RuntimeError("CorridorEnv.expert_plan before reset; reset a task first.")
    return self.world.expert_plan()

  def expert_action(self) -> str:
    if self.world is None or self.done:
      raise RuntimeError("CorridorEnv.expert_action needs a running episode; reset a task first.")
    return self.world.expert[self.state]
