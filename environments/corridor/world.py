"""The corridor's discrete dynamics, compiled once per instance (no text here).

State s = (hall r, held h, read f): h = 0 holds nothing, h = i + 1 holds keys[i]; f = 1 once
the dim sign of hall r was read (always 0 in a hall with a plain sign). Two terminal states
follow the non-terminal ones: WIN and STUCK. Ids:

    id(r, h, f) = (r * (len(keys) + 1) + h) * 2 + f
    WIN = K * (len(keys) + 1) * 2,   STUCK = WIN + 1

Commands in hall r (listed in a per-instance shuffled order, so position carries no clue):

    enter <c> door   the leading door: hall r + 1 with f = 0, keeping the key; in the last hall
                     it is the exit, locked: WIN (reward 10) with the task's key, else STUCK
                     (episode over, reward 0). Any other door: back to the first hall (r = 0).
    take <c> key     in the key hall, hands empty: h = that key (a key cannot be dropped).
    read sign        in a dim-sign hall, unread: f = 1.

Transitions are deterministic; anything else is not admissible (the env leaves the state as it
is). The expert acts on what the observation shows: read a dim sign, take the task's key in the
key hall, else enter the door the sign names. From the reset state it wins in
K + (dim signs) + 1 steps.
"""

from __future__ import annotations

import dataclasses
import random

from environments.corridor.tasks import Instance

WIN_REWARD = 10.0
READ = "read sign"


def door_command(colour: str) -> str:
  return f"enter {colour} door"


def key_command(colour: str) -> str:
  return f"take {colour} key"


@dataclasses.dataclass(frozen=True)
class Edge:
  """One admissible command: next state, reward, episode end, and what happened."""
  next_state: int
  reward: float
  done: bool
  event: str   # "pass", "fall", "take", "read", "win", "stuck"


class World:
  """Compiled instance: per state its commands (ordered) and edges, plus the expert."""

  def __init__(self, inst: Instance):
    self.inst = inst
    self.num_halls = inst.num_halls
    self.num_held = len(inst.keys) + 1
    self.win = self.num_halls * self.num_held * 2
    self.stuck = self.win + 1
    self.num_states = self.win + 2
    self.initial = self.state_id(0, 0, 0)
    self.actions: list[tuple[str, ...]] = []
    self.edges: list[dict[str, Edge]] = []
    self.expert: list[str] = []
    for s in range(self.num_states):
      acts, edges, expert = self._compile(s)
      self.actions.append(acts)
      self.edges.append(edges)
      self.expert.append(expert)

  def state_id(self, hall: int, held: int, read: int) -> int:
    return (hall * self.num_held + held) * 2 + read

  def decode(self, s: int) -> tuple[int, int, int]:
    """(hall, held, read) of a non-terminal state."""
    return s // 2 // self.num_held, s // 2 % self.num_held, s % 2

  def terminal(self, s: int) -> bool:
    return s >= self.win

  def _compile(self, s: int):
    if self.terminal(s):
      return (), {}, ""
    inst = self.inst
    hall, held, read = self.decode(s)
    last = hall == self.num_halls - 1
    edges: dict[str, Edge] = {}
    for j, colour in enumerate(inst.doors[hall]):
      if j != inst.exits[hall]:
        edges[door_command(colour)] = Edge(self.state_id(0, held, 0), 0.0, False, "fall")
      elif not last:
        edges[door_command(colour)] = Edge(self.state_id(hall + 1, held, 0), 0.0, False, "pass")
      elif held == inst.key + 1:
        edges[door_command(colour)] = Edge(self.win, WIN_REWARD, True, "win")
      else:
        edges[door_command(colour)] = Edge(self.stuck, 0.0, True, "stuck")
    if hall == inst.key_room and held == 0:
      for i, colour in enumerate(inst.keys):
        edges[key_command(colour)] = Edge(self.state_id(hall, i + 1, read), 0.0, False, "take")
    if inst.hidden[hall] and not read:
      edges[READ] = Edge(self.state_id(hall, held, 1), 0.0, False, "read")
    acts = sorted(edges)
    random.Random(inst.seed * 1000003 + s).shuffle(acts)
    if inst.hidden[hall] and not read:
      expert = READ
    elif hall == inst.key_room and held == 0:
      expert = key_command(inst.keys[inst.key])
    else:
      expert = door_command(inst.doors[hall][inst.exits[hall]])
    return tuple(acts), edges, expert

  def expert_plan(self, start: int | None = None, limit: int = 100) -> list[str]:
    """The expert's commands from `start` (default: the reset state) to the episode end."""
    s, plan = self.initial if start is None else start, []
    while not self.terminal(s) and len(plan) < limit:
      plan.append(self.expert[s])
      s = self.edges[s][self.expert[s]].next_state
    return plan
