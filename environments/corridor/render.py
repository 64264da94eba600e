"""Corridor text: the task sentence and observations, canonical or paraphrased.

An observation lists, as sentences, where the agent is, the doors, the keys on the floor (key
hall only), what the agent holds, the sign (its text, or that it is too dim to read) and, in
the key hall with empty hands, the key the exit needs:

    You are in the second hall. Doors: red, blue and green. Keys lie here: white and red.
    You hold nothing. A sign says: enter the blue door. You need the white key.

The order is fixed and ends with the sentence that the expert's next command follows (the dim
sign, else the key to take, else the sign's door), so a small model finds its cue at a fixed
distance from the end of the observation, which the compact prompt puts last (agent.py).

Paraphrase (docs/environments.md#corridor): each visit is rendered canonically (template 0 of
every sentence, lists in canonical order, style 'a, b and c', no filler, '.') with
probability 1 - paraphrase_rate, else paraphrased in two layers:

  * surface, always: the door and key lists in random order and one of three list styles,
    each sentence ending in '.' or '!'. TF-IDF tokens are runs of >= 2 word characters, so
    this layer leaves the bag of words (hence the TF-IDF vector) as it is (up to the word
    'and' of the list style);
  * lexical, each with probability `lexical`: every sentence takes a random one of its four
    templates, and one filler sentence from a pool goes in at a random place before the last
    sentence. New words lower the TF-IDF cosine between two renderings of one state.

Templates keep every colour word, so the information is the same; fillers name no colour,
door, key or sign. At rate 0 the text is a function of the state (exact-match groups work); at
rate 1 two visits of one state almost never read the same (experiments/bench_corridor.py
measures both and the cosines).
"""

from __future__ import annotations

import random
from typing import Optional, Sequence

from environments.corridor.tasks import Instance
from environments.corridor.world import World

ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth")

LOCATION = ("You are in the {o} hall.", "You stand in the {o} hall.", "This is the {o} hall.",
            "You have reached the {o} hall.")
DOORS = ("Doors: {l}.", "There are doors: {l}.", "You see doors: {l}.", "The doors are {l}.")
SIGN = ("A sign says: enter the {c} door.", "A sign reads: enter the {c} door.",
        "The sign says: go through the {c} door.", "A sign on the wall says: enter the {c} door.")
DIM_SIGN = ("A sign hangs here, too dim to read.", "A dim sign hangs here, not yet read.",
            "There is a sign, too dim to read from here.", "A sign hangs on the wall, too dim.")
KEYS = ("Keys lie here: {l}.", "Keys lie on the ground: {l}.", "You see keys: {l}.",
        "Here lie keys: {l}.")
HOLD_NOTHING = ("You hold nothing.", "Your hands are empty.", "You carry nothing.",
                "You hold no key.")
NEED_KEY = ("You need the {c} key.", "The exit needs the {c} key.", "You must take the {c} key.",
            "Take the {c} key for the exit.")
HOLD_KEY = ("You hold the {c} key.", "You carry the {c} key.", "The {c} key is in your hand.",
            "You have the {c} key.")
FILLERS = ("The air is cold.", "A torch flickers.", "Water drips somewhere.",
           "Dust covers everything.", "The walls are damp.", "You hear distant steps.",
           "Cobwebs fill the corners.", "Something creaks.", "A draft blows past.",
           "It smells of smoke.", "The ceiling is low.", "Moss grows on the stones.")

WIN_TEXT = "The {c} key turns in the lock of the {d} door. You escape the halls."
STUCK_TEXT = ("The {d} door is locked and you hold no key that fits. You are stuck; the "
              "episode ends.")


LIST_STYLES = ((", ", " and "), (", ", ", "), (" / ", " / "))


def listing(words: Sequence[str], style: int = 0) -> str:
  """'a', 'a and b', 'a, b and c' (style 0); 'a, b, c' (1); 'a / b / c' (2)."""
  sep, last = LIST_STYLES[style]
  words = list(words)
  return words[0] if len(words) == 1 else sep.join(words[:-1]) + last + words[-1]


def task_text(inst: Instance) -> str:
  return (f"Escape the {len(inst.doors)} halls. Signs name the door that leads on; other doors "
          f"lead back to the first hall. The exit opens with the {inst.keys[inst.key]} key.")


def _parts(world: World, s: int):
  """The sentences of state s as (templates, fields, list to order or None), in a fixed order
  that ends with the sentence the expert's next command follows (the dim sign, else the key
  to take, else the sign's door)."""
  inst = world.inst
  hall, held, read = world.decode(s)
  doors = inst.doors[hall]
  parts = [(LOCATION, {"o": ORDINALS[hall]}, None), (DOORS, {}, doors)]
  if hall == inst.key_room:
    floor = [c for i, c in enumerate(inst.keys) if held != i + 1]
    if floor:
      parts.append((KEYS, {}, floor))
  if held:
    parts.append((HOLD_KEY, {"c": inst.keys[held - 1]}, None))
  else:
    parts.append((HOLD_NOTHING, {}, None))
  dim = inst.hidden[hall] and not read
  if not dim:
    parts.append((SIGN, {"c": doors[inst.exits[hall]]}, None))
  if hall == inst.key_room and not held:
    parts.append((NEED_KEY, {"c": inst.keys[inst.key]}, None))
  if dim:
    parts.append((DIM_SIGN, {}, None))
  return parts


def canonical(world: World, s: int) -> str:
  """The text of state s at paraphrase rate 0 (non-terminal s)."""
  out = []
  for templates, fields, items in _parts(world, s):
    if items is not None:
      fields = dict(fields, l=listing(items))
    out.append(templates[0].format(**fields))
  return " ".join(out)


def paraphrase(world: World, s: int, rng: random.Random, lexical: float = 1.0) -> str:
  """One random rendering of state s (see module docstring); `lexical` is the probability that
  a sentence takes a random template and that a filler sentence is added."""
  parts = _parts(world, s)
  style = rng.randrange(len(LIST_STYLES))
  sentences = []
  for templates, fields, items in parts:
    if items is not None:
      items = list(items)
      rng.shuffle(items)
      fields = dict(fields, l=listing(items, style))
    k = rng.randrange(len(templates)) if rng.random() < lexical else 0
    sentences.append(templates[k].format(**fields))
  if rng.random() < lexical:  # anywhere but after the last sentence
    sentences.insert(rng.randrange(1, len(sentences)), FILLERS[rng.randrange(len(FILLERS))])
  return " ".join(x[:-1] + "!" if rng.random() < 0.5 else x for x in sentences)


class Renderer:
  """Observation texts of one instance; canonical texts cached per state."""

  def __init__(self, world: World, lexical: float = 1.0):
    self.world = world
    self.lexical = lexical
    self._canonical: list[Optional[str]] = [None] * world.num_states

  def observation(self, s: int, rate: float, rng: random.Random) -> str:
    if rate > 0.0 and rng.random() < rate:
      return paraphrase(self.world, s, rng, self.lexical)
    text = self._canonical[s]
    if text is None:
      text = self._canonical[s] = canonical(self.world, s)
    return text

  def terminal(self, s: int, door: str) -> str:
    inst = self.world.inst
    if s == self.world.win:
      return WIN_TEXT.format(c=inst.keys[inst.key], d=door)
    return STUCK_TEXT.format(d=door)
