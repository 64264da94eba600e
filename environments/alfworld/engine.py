"""ALFWorld games on the real engine: TextWorld's `PddlEnv` with ALFWorld's wrappers.

`make_textworld_env(expert=True)` stacks AlfredDemangler -> AlfredInfos (-> AlfredExpert with the
hand-coded expert) on a `PddlEnv`, exactly as ALFWorld's own `AlfredTWEnv` does. `env.AlfworldEnv`
puts it behind the project's `TextEnv` interface.

`patch_expert()` fixes a bug of alfworld 0.4.2's hand-coded expert (spec pitfall P1): its state
tracking tests `"put" in last_action`, but the command is now "move X to Y", so after a move the
expert believes it still holds the object and loops on pick_two tasks. The patch rewrites a
last action starting with "move " to "put ..." before the original tracking runs.
"""

from __future__ import annotations

import functools

import textworld
from alfworld.agents.environment.alfred_tw_env import (AlfredDemangler, AlfredExpert,
                                                        AlfredExpertType, AlfredInfos)
from alfworld.agents.expert import handcoded_expert
from textworld.core import GameState
from textworld.envs.pddl import PddlEnv



@functools.lru_cache(maxsize=1)
def patch_expert() -> None:
  base = handcoded_expert.BasePolicy
  original = base.update_state_tracking
  if getattr(original, "_proxmo_patched", False):
    return

  def update_state_tracking(self, game_state, last_action):
    if isinstance(last_action, str) and last_action.startswith("move "):
      last_action = "put " + last_action[len("move "):]
    return original(self, game_state, last_action)

  update_state_tracking._proxmo_patched = True
  base.update_state_tracking = update_state_tracking


class ReusingPddlEnv(PddlEnv):
  """`PddlEnv` whose first `reset` after `load` reuses the state `load` just translated.

  TextWorld's `load` and `reset` each translate the PDDL problem (pddl2sas, about a second in a
  kitchen); the state `load` built is still pristine, so the first reset can use it. Later
  resets of the same game translate again. The rest is TextWorld 1.7.0's `reset` unchanged.
  """

  _pristine = False

  def load(self, filename_or_data):
    super().load(filename_or_data)
    self._pristine = True

  def step(self, command):
    self._pristine = False
    return super().step(command)

  def reset(self):
    if not self._pristine:
      return super().reset()
    self._pristine = False
    self.prev_state = None
    self.state = GameState()
    self._last_action = None
    self._moves = 0
    context = {"state": self._pddl_state, "facts": list(self._pddl_state.facts),
               "variables": {}, "mapping": {}, "entity_infos": self._entity_infos}
    self.state.feedback = self._logic.grammar.derive("#intro#", context)
    self.state.raw = self.state.feedback
    self._gather_infos()
    if "walkthrough" in self.request_infos.extras:
      self.state["extra.walkthrough"] = self.walkthrough or self._pddl_state.replan(
          self._entity_infos)
    return self.state


def make_textworld_env(expert: bool = False):
  """The wrapped TextWorld engine (load(path) / reset() / step(cmd))."""
  infos = textworld.EnvInfos(admissible_commands=True, won=True, facts=expert,
                             extras=["gamefile"] + (["expert_plan"] if expert else []))
  env = AlfredInfos(AlfredDemangler(ReusingPddlEnv(infos)))
  if expert:
    patch_expert()
    env = AlfredExpert(env, AlfredExpertType.HANDCODED)
  return env


def run_expert(game_path: str, max_steps: int = 150) -> tuple[bool, list[str]]:
  """Plays the hand-coded expert (patched) on a game; returns (won, walkthrough)."""
  env = make_textworld_env(expert=True)
  env.load(game_path)
  state = env.reset()
  walkthrough = []
  try:
    for _ in range(max_steps):
      if state.get("won"):
        break
      cmd = (state.get("extra.expert_plan") or ["look"])[0]
      walkthrough.append(cmd)
      state, _, done = env.step(cmd)
      if done and not state.get("won"):
        break
  except (handcoded_expert.HandCodedAgentFailed, handcoded_expert.HandCodedAgentTimeout,
          Exception):  # noqa: BLE001 - any expert failure means "not solved"
    return False, walkthrough
  finally:
    try:
      env.close()
    except Exception:
      pass
  return bool(state.get("won")), walkthrough
