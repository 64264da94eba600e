"""Corridor task instances: the difficulty map, seeded generation and the train / held-out split.

An instance is a chain of K halls (docs/environments.md#corridor). Hall r has D doors of
distinct colours; exactly one (`exits[r]`) leads on, and a sign in the hall names it. The sign
of a *hidden* hall is too dim to read until the agent reads it (one extra step). Hall
`key_room` holds `len(keys)` keys; the exit (the leading door of the last hall) opens only with
`keys[key]`, the key the task sentence names.

Difficulty d in [0, 1] sets the structure (int(x + 0.5) rounds half up):

    K         = 2 + int(3 d + 0.5)          halls             2 .. 5
    D         = 2 + int(2 d + 0.5)          doors per hall    2 .. 4
    len(keys) = 1 + int(2 d + 0.5)          keys on the floor 1 .. 3
    hidden    = int(K d + 0.5)              halls with a dim sign, a random subset

and the band is easy (d < 1/3), medium (d < 2/3) or hard. Per instance
d = (1 - spread) * center + spread * u with u ~ U[0, 1): `difficulty_spread` is the width of
the drawn range, 0 puts every instance at `difficulty` (the center).

Splits: held-out instances come from their own seed stream (task_seed, "eval"), training
instances from (task_seed, "train"), skipping any layout the held-out set already has, so the
two sets are disjoint and the held-out set does not change with num_train_tasks.
"""

from __future__ import annotations

import dataclasses
import random
import zlib
from typing import Optional

COLOURS = ("red", "blue", "green", "yellow", "white", "black", "grey", "brown")
BANDS = ("easy", "medium", "hard")
MAX_HALLS = 5


def _round(x: float) -> int:
  return int(x + 0.5)


def num_halls(d: float) -> int:
  return 2 + _round(3 * d)


def num_doors(d: float) -> int:
  return 2 + _round(2 * d)


def num_keys(d: float) -> int:
  return 1 + _round(2 * d)


def num_hidden(d: float) -> int:
  return _round(num_halls(d) * d)


def expert_length(d: float) -> int:
  """Decisions of the expert at difficulty d: one door per hall, one read per dim sign, one take."""
  return num_halls(d) + num_hidden(d) + 1


def band_of(d: float) -> str:
  return BANDS[min(2, int(3 * d))]


def difficulty_range(center: float, spread: float) -> tuple[float, float]:
  """[lo, hi] of the per-instance difficulty."""
  lo = (1.0 - spread) * center
  return lo, lo + spread


@dataclasses.dataclass(frozen=True)
class Instance:
  """One corridor layout (the picklable Task payload).

  Attributes:
    seed: the instance's own seed (action order, nothing else).
    difficulty: d in [0, 1].
    doors: per hall, the door colours in canonical (listing) order.
    exits: per hall, the index in doors[r] of the door that leads on.
    hidden: per hall, whether its sign is dim (must be read).
    key_room: the hall that holds the keys.
    keys: the key colours on its floor, canonical order.
    key: index in keys of the key that opens the exit.
  """
  seed: int
  difficulty: float
  doors: tuple[tuple[str, ...], ...]
  exits: tuple[int, ...]
  hidden: tuple[bool, ...]
  key_room: int
  keys: tuple[str, ...]
  key: int

  @property
  def num_halls(self) -> int:
    return len(self.doors)

  @property
  def band(self) -> str:
    return band_of(self.difficulty)

  def layout(self) -> tuple:
    """Everything but the seed and d: two instances with one layout are the same task."""
    return (self.doors, self.exits, self.hidden, self.key_room, self.keys, self.key)


def make_instance(d: float, seed: int) -> Instance:
  """The instance of difficulty d drawn from `seed` (deterministic)."""
  rng = random.Random(seed)
  k, n_doors, n_keys = num_halls(d), num_doors(d), num_keys(d)
  doors = tuple(tuple(rng.sample(COLOURS, n_doors)) for _ in range(k))
  exits = tuple(rng.randrange(n_doors) for _ in range(k))
  hidden_set = set(rng.sample(range(k), num_hidden(d)))
  hidden = tuple(r in hidden_set for r in range(k))
  key_room = rng.randrange(k - 1)
  keys = tuple(rng.sample(COLOURS, n_keys))
  return Instance(seed=seed, difficulty=d, doors=doors, exits=exits, hidden=hidden,
                  key_room=key_room, keys=keys, key=rng.randrange(n_keys))


def _stream_seed(task_seed: int, split: str) -> int:
  return zlib.crc32(f"corridor/{task_seed}/{split}".encode())


def generate(count: int, task_seed: int, split: str, center: float, spread: float,
             exclude: Optional[set] = None) -> list[Instance]:
  """`count` instances with distinct layouts, none of them in `exclude` (layouts)."""
  rng = random.Random(_stream_seed(task_seed, split))
  lo, _ = difficulty_range(center, spread)
  seen = set(exclude or ())
  out = []
  for _ in range(1000 * count + 1000):
    if len(out) == count:
      return out
    d = min(1.0, max(0.0, lo + spread * rng.random()))
    inst = make_instance(d, rng.getrandbits(63))
    if inst.layout() not in seen:
      seen.add(inst.layout())
      out.append(inst)
  raise ValueError(f"could not draw {count} distinct corridor layouts for the {split} split; "
                   "lower num_train_tasks / num_eval_tasks or widen difficulty_spread.")


def splits(num_train: int, num_eval: int, task_seed: int, center: float,
           spread: float) -> tuple[list[Instance], list[Instance]]:
  """(train, held-out) instances with disjoint layouts."""
  held_out = generate(num_eval, task_seed, "eval", center, spread)
  train = generate(num_train, task_seed, "train", center, spread,
                   exclude={i.layout() for i in held_out})
  return train, held_out
