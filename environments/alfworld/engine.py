"""ALFWorld games on the real engine: TextWorld's `PddlEnv` with ALFWorld's wrappers.

`make_textworld_env(expert=True)` stacks AlfredDemangler -> AlfredInfos (-> AlfredExpert with the
hand-coded expert) on a `PddlEnv`, exactly as ALFWorld's own `AlfredTWEnv` does. This is the
*plain* engine: `env.AlfworldEnv(engine="plain")` puts it behind the project's `TextEnv`
interface, and the fast engine (`fast_engine.py`, the default) is tested against it. With
`snapshot_resets=True` a reset restores the state `load` built (`SnapshotPddlEnv`) instead of
translating the PDDL problem again; the expert stack of `AlfworldEnv(expert=True)` uses that.

`patch_expert()` fixes a bug of alfworld 0.4.2's hand-coded expert (docs/environments.md): its
state tracking tests `"put" in last_action`, but the command is now "move X to Y", so after a
move the expert believes it still holds the object and loops on pick_two tasks. The patch
rewrites a last action starting with "move " to "put ..." before the original tracking runs.
"""

from __future__ import annotations

import collections
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


class SnapshotPddlEnv(PddlEnv):
  """`PddlEnv` whose every `reset` restores the initial state that `load` built.

  At load it records Fast Downward's registered state id and copies the Python side of the
  `PddlState` (facts and variable tables); a reset puts both back (`set_state_id` and the
  copies) instead of translating the PDDL problem again. The rest is TextWorld 1.7.0's `reset`.
  """

  def load(self, filename_or_data):
    super().load(filename_or_data)
    self._snapshot = (self.downward_lib.get_state_id(), _copy_tables(self._pddl_state))

  def reset(self):
    fd_state, tables = self._snapshot
    state = self._pddl_state
    (state._facts, state._vars_by_name, state._vars_by_type,  # pylint: disable=protected-access
     state._var_counts) = _copy_tables_from(tables)
    self.downward_lib.set_state_id(fd_state)
    self.prev_state = None
    self.state = GameState()
    self._last_action = None
    self._moves = 0
    context = {"state": state, "facts": list(state.facts), "variables": {}, "mapping": {},
               "entity_infos": self._entity_infos}
    self.state.feedback = self._logic.grammar.derive("#intro#", context)
    self.state.raw = self.state.feedback
    self._gather_infos()
    if "walkthrough" in self.request_infos.extras:
      self.state["extra.walkthrough"] = self.walkthrough or state.replan(self._entity_infos)
    return self.state


def _copy_tables(state) -> tuple:
  """Copies of a `PddlState`'s facts and variable tables (the containers, not the facts)."""
  # pylint: disable=protected-access
  return ({k: set(v) for k, v in state._facts.items()}, dict(state._vars_by_name),
          {k: set(v) for k, v in state._vars_by_type.items()},
          collections.Counter(state._var_counts))


def _copy_tables_from(tables: tuple) -> tuple:
  facts, by_name, by_type, counts = tables
  return (collections.defaultdict(set, {k: set(v) for k, v in facts.items()}), dict(by_name),
          collections.defaultdict(set, {k: set(v) for k, v in by_type.items()}),
          collections.Counter(counts))


def make_textworld_env(expert: bool = False, snapshot_resets: bool = False):
  """The wrapped TextWorld engine (load(path) / reset() / step(cmd)).

  snapshot_resets: reset by restoring the loaded initial state (`SnapshotPddlEnv`) instead of
    TextWorld's re-translation (`ReusingPddlEnv`, which only reuses it for the first reset).
  """
  infos = textworld.EnvInfos(admissible_commands=True, won=True, facts=expert,
                             extras=["gamefile"] + (["expert_plan"] if expert else []))
  base = SnapshotPddlEnv if snapshot_resets else ReusingPddlEnv
  env = AlfredInfos(AlfredDemangler(base(infos)))
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
