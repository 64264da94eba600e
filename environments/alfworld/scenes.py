"""Scene model of ALFWorld games, built from the data the `alfworld` package ships.

Sources (inside site-packages/alfworld, docs/environments.md#scene-data-and-scene-model): `gen/layouts/FloorPlan{N}-
objects.json` (object types in the scene), `-openable.json` (static receptacle instances and
their interaction poses), `-layout.npy` (reachable floor points) and `gen/constants.py`.

Receptacle instances come from openable.json; static receptacle types that objects.json lists
but openable.json lacks (garbage cans, stove burners, coffee machines, bathroom holders, ...)
are synthesised on fresh floor points, one each (stove burners: four).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import random

import numpy as np

from alfworld.gen import constants as C

LAYOUT_DIR = os.path.join(os.path.dirname(C.__file__), "layouts")
MOVABLE = set(C.MOVABLE_RECEPTACLES)
STATIC_RECEPTACLES = sorted(set(C.VAL_RECEPTACLE_OBJECTS) - MOVABLE)
OPENABLE = {"Fridge", "Cabinet", "Microwave", "Drawer", "Safe"}
PLACEABLE = sorted(set().union(*C.VAL_RECEPTACLE_OBJECTS.values()) & set(C.OBJECTS))
CLEANABLE = set(C.VAL_ACTION_OBJECTS["Cleanable"])
HEATABLE = set(C.VAL_ACTION_OBJECTS["Heatable"])
COOLABLE = set(C.VAL_ACTION_OBJECTS["Coolable"])
SLICEABLE = set(C.VAL_ACTION_OBJECTS["Sliceable"])
LAMPS = ("DeskLamp", "FloorLamp")
LAMP_HOSTS = {"DeskLamp": ("Desk", "SideTable", "Dresser"),
              "FloorLamp": ("SideTable", "Sofa", "ArmChair")}
ROOM_OF = {n: room for room, nums in C.SCENE_TYPE.items() for n in nums}


def room_type(floorplan: int) -> str:
  if floorplan not in ROOM_OF:
    raise ValueError(f"FloorPlan{floorplan} is not an ALFRED scene (1-30, 201-230, 301-330, "
                     "401-430).")
  return ROOM_OF[floorplan]


def escape(name: str) -> str:
  """ALFRED's `fix_pddl_str_chars`: PDDL-safe ids, all replacements at once."""
  table = {"-": "_minus_", "|": "_bar_", "+": "_plus_", ".": "_dot_", ",": "_comma_", "#": "-"}
  return "".join(table.get(c, c) for c in name)


def location_id(x: float, z: float, rot: float, horizon: float) -> str:
  """ALFRED's location id loc|round(x/0.25)|round(z/0.25)|rot/90|horizon, escaped."""
  return escape(f"loc|{int(round(x / 0.25))}|{int(round(z / 0.25))}|{int(round(rot / 90)) % 4}|"
                f"{int(round(horizon))}")


@dataclasses.dataclass(frozen=True)
class Receptacle:
  id: str          # raw ALFRED-style id (unescaped), e.g. "Cabinet|+00.68|+00.50|-02.20"
  rtype: str       # CamelCase type from constants
  location: str    # escaped location id
  xyz: tuple       # coordinates used to jitter object ids


@dataclasses.dataclass
class Scene:
  floorplan: int
  room: str
  object_types: list[str]        # objects.json
  receptacles: list[Receptacle]
  layout: np.ndarray             # f32[K, 2] reachable points

  @property
  def rtypes(self) -> set[str]:
    return {r.rtype for r in self.receptacles}

  @property
  def placeable_types(self) -> list[str]:
    return [t for t in PLACEABLE if t in self.object_types]

  def of_type(self, rtype: str) -> list[Receptacle]:
    return [r for r in self.receptacles if r.rtype == rtype]


def _type_from_key(key: str, floorplan: int) -> str:
  parts = key.split("|")
  rtype = parts[-1] if len(parts) == 5 else parts[0]
  if parts[0] == "Bathtub" and rtype == "SinkBasin":  # FloorPlan420's quirk (docs/environments.md#scene-data-and-scene-model)
    rtype = "BathtubBasin"
  return rtype


def _coords(key: str) -> tuple:
  vals = []
  for p in key.split("|")[1:4]:
    try:
      vals.append(float(p))
    except ValueError:
      vals.append(0.0)
  return tuple(vals + [0.0] * (3 - len(vals)))


@functools.lru_cache(maxsize=256)
def load_scene(floorplan: int) -> Scene:
  """Reads one scene's files and completes its receptacles (deterministic)."""
  base = os.path.join(LAYOUT_DIR, f"FloorPlan{floorplan}")
  room = room_type(floorplan)
  try:
    with open(base + "-objects.json") as f:
      object_types = json.load(f)
    with open(base + "-openable.json") as f:
      poses = json.load(f)
    layout = np.load(base + "-layout.npy")
  except FileNotFoundError as e:
    raise FileNotFoundError(f"scene data for FloorPlan{floorplan} is missing ({e.filename}); "
                            "reinstall alfworld==0.4.2.") from None
  receptacles = []
  for key in sorted(poses):
    rtype = _type_from_key(key, floorplan)
    if rtype not in STATIC_RECEPTACLES:
      continue
    x, z, rot, horizon = poses[key]
    rid = key
    if rtype == "BathtubBasin" and not key.startswith("Bathtub|"):
      rid = "Bathtub|" + "|".join(key.split("|")[1:4]) + "|BathtubBasin"
    if rtype == "SinkBasin" and not key.startswith("Sink|"):
      rid = "Sink|" + "|".join(key.split("|")[1:4]) + "|SinkBasin"
    if key.startswith("Bathtub|") and key.endswith("|SinkBasin"):
      rid = key[: -len("SinkBasin")] + "BathtubBasin"
    receptacles.append(Receptacle(rid, rtype, location_id(x, z, rot, horizon), _coords(key)))
  # Synthesise static receptacle types the scene has but openable.json does not list.
  rng = random.Random(f"synth|{floorplan}")
  used = {r.location for r in receptacles}
  present = {r.rtype for r in receptacles}
  for rtype in sorted(set(object_types) & set(STATIC_RECEPTACLES) - present):
    for _ in range(4 if rtype == "StoveBurner" else 1):
      for _attempt in range(100):
        x, z = layout[rng.randrange(len(layout))]
        loc = location_id(x, z, 90 * rng.randrange(4), 30)
        if loc not in used:
          break
      used.add(loc)
      y = round(rng.uniform(0.1, 1.2), 2)
      coords = f"{x:+06.2f}|{y:+06.2f}|{z:+06.2f}"
      if rtype == "SinkBasin":
        rid = f"Sink|{coords}|SinkBasin"
      elif rtype == "BathtubBasin":
        rid = f"Bathtub|{coords}|BathtubBasin"
      else:
        rid = f"{rtype}|{coords}"
      receptacles.append(Receptacle(rid, rtype, loc, (float(x), y, float(z))))
  return Scene(floorplan, room, list(object_types), receptacles, np.asarray(layout, np.float32))
