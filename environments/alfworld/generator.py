"""Genuine ALFWorld games generated offline: (floorplan, task_type, seed) -> game directory.

The recipe of docs/environments.md#generating-a-game: a PDDL problem over the shipped scene data
(`scenes.py`), the goal from ALFRED's goal library, run on TextWorld's PDDL engine with
ALFWorld's unmodified domain and grammar. Each game directory holds

    traj_data.json   {task_type, task_id, scene{floor_plan, scene_num, random_seed}, pddl_params}
    game.tw-pddl     {pddl_domain, grammar, pddl_problem, solvable, walkthrough}

in the layout `<root>/<task_type>/<trial>/`, which ALFWorld's own loader and hand-coded expert
read unchanged. Everything is deterministic in (floorplan, task_type, seed): the generator's RNG
is seeded with crc32 of "FloorPlan{N}|{task}|{seed}", never Python's salted hash().
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import random
import zlib

from alfworld import info as alfworld_info
from alfworld.gen import constants as C
from alfworld.gen import goal_library

from environments.alfworld import scenes as S
from environments.alfworld.spec import TASK_TYPES

APPLIANCE = {"pick_clean_then_place_in_recep": "SinkBasin",
             "pick_heat_then_place_in_recep": "Microwave",
             "pick_cool_then_place_in_recep": "Fridge"}
PROPERTY = {"pick_clean_then_place_in_recep": S.CLEANABLE,
            "pick_heat_then_place_in_recep": S.HEATABLE,
            "pick_cool_then_place_in_recep": S.COOLABLE}
INVALID_PARENTS = {"pick_two_obj_and_place": {"CoffeeMachine", "ToiletPaperHanger",
                                              "HandTowelHolder", "Toaster"}}


class InfeasibleTask(ValueError):
  """The scene cannot host this task type (room type, appliance or candidates missing)."""


@functools.lru_cache(maxsize=1)
def domain_and_grammar() -> tuple[str, str]:
  with open(alfworld_info.ALFRED_PDDL_PATH) as f:
    domain = f.read()
  with open(alfworld_info.ALFRED_TWL2_PATH) as f:
    grammar = f.read()
  return domain, grammar


def stable_rng(*parts) -> random.Random:
  return random.Random(zlib.crc32("|".join(str(p) for p in parts).encode()))


def compatible_rtypes(otype: str, scene: S.Scene) -> list[str]:
  """Static receptacle types of the scene that can hold `otype` (Toaster excluded)."""
  return sorted(r for r in scene.rtypes
                if r != "Toaster" and otype in C.VAL_RECEPTACLE_OBJECTS.get(r, ()))


def _start_rtypes(task: str, otype: str, parent: str, scene: S.Scene) -> list[str]:
  """Where a target instance may start (docs/environments.md#generating-a-game)."""
  types = compatible_rtypes(otype, scene)
  if task in ("pick_and_place_simple", "pick_two_obj_and_place"):
    types = [t for t in types if t != parent]
  if task in APPLIANCE:
    types = [t for t in types if t != APPLIANCE[task]]
  return types


def _lamp_hosts(lamp: str, scene: S.Scene) -> list[str]:
  hosts = [t for t in S.LAMP_HOSTS[lamp] if t in scene.rtypes]
  if not hosts:  # fallbacks: any non-openable furniture
    hosts = sorted(t for t in scene.rtypes if t not in S.OPENABLE and t not in
                   ("SinkBasin", "BathtubBasin", "GarbageCan", "Toilet", "StoveBurner"))
  return hosts


def candidates(task: str, scene: S.Scene) -> list[tuple[str, str]]:
  """Feasible (object type, parent or lamp type) pairs of `task` in `scene` (docs/environments.md#generating-a-game)."""
  if scene.room not in C.GOALS_VALID[task]:
    return []
  if task in APPLIANCE and APPLIANCE[task] not in scene.rtypes:
    return []
  out = []
  if task == "look_at_obj_in_light":
    lamps = [l for l in S.LAMPS if l in scene.object_types and _lamp_hosts(l, scene)]
    for otype in scene.placeable_types:
      if compatible_rtypes(otype, scene):
        out.extend((otype, lamp) for lamp in lamps)
    return out
  invalid = INVALID_PARENTS.get(task, set()) | {"Toaster"}
  if task in APPLIANCE:
    invalid = invalid | {APPLIANCE[task]}
  for otype in scene.placeable_types:
    if task in PROPERTY and otype not in PROPERTY[task]:
      continue
    for parent in compatible_rtypes(otype, scene):
      if parent in invalid:
        continue
      if _start_rtypes(task, otype, parent, scene):
        out.append((otype, parent))
  return out


@dataclasses.dataclass
class GeneratedGame:
  traj_data: dict
  problem: str
  grammar: str
  task_desc: str


def _object_id(otype: str, host: S.Receptacle, rng: random.Random, used: set) -> str:
  while True:
    x, y, z = (c + rng.uniform(-0.45, 0.45) for c in host.xyz)
    oid = f"{otype}|{x:+06.2f}|{y:+06.2f}|{z:+06.2f}"
    if oid not in used:
      used.add(oid)
      return oid


def build_game(floorplan: int, task: str, seed: int) -> GeneratedGame:
  """The PDDL problem, grammar and traj_data of one game (no engine involved)."""
  if task not in TASK_TYPES:
    raise ValueError(f"unknown ALFWorld task type {task!r}; choose one of {TASK_TYPES}.")
  scene = S.load_scene(floorplan)
  rng = stable_rng(f"FloorPlan{floorplan}", task, seed)
  pairs = candidates(task, scene)
  if not pairs:
    raise InfeasibleTask(f"FloorPlan{floorplan} ({scene.room}) cannot host {task}.")
  # Sample the task: object type uniformly, then its parent (or lamp) uniformly.
  otypes = sorted({o for o, _ in pairs})
  otype = rng.choice(otypes)
  parent = rng.choice(sorted(p for o, p in pairs if o == otype))
  lamp = parent if task == "look_at_obj_in_light" else ""
  parent_target = "" if lamp else parent

  by_type = {}
  for r in scene.receptacles:
    by_type.setdefault(r.rtype, []).append(r)
  used_ids: set = set()
  objects: list[tuple[str, str, S.Receptacle]] = []  # (id, type, host)

  def place(t: str, count: int, rtypes: list[str]):
    for _ in range(count):
      host = rng.choice(by_type[rng.choice(rtypes)])
      objects.append((_object_id(t, host, rng, used_ids), t, host))

  n_target = rng.randint(2, 4) if task == "pick_two_obj_and_place" else rng.randint(1, 4)
  place(otype, n_target, _start_rtypes(task, otype, parent_target, scene))
  for t in scene.placeable_types:
    if t == otype:
      continue
    rtypes = compatible_rtypes(t, scene)
    if rtypes:
      place(t, rng.randint(1, 3), rtypes)
  lamps = []
  # The hand-coded expert crashes when a lamp's host shares its location with another
  # receptacle (found on branch feat-alfworld), so lamps prefer hosts on a location of their own.
  loc_count = collections.Counter(r.location for r in scene.receptacles)
  shared = {loc for loc, n in loc_count.items() if n > 1}
  for l in S.LAMPS:
    if l in scene.object_types and _lamp_hosts(l, scene):
      options = [r for t in _lamp_hosts(l, scene) for r in by_type[t]]
      host = rng.choice([r for r in options if r.location not in shared] or options)
      lamps.append((_object_id(l, host, rng, used_ids), l, host))

  # Agent start: a floor point that is no receptacle's location.
  rec_locs = {r.location for r in scene.receptacles}
  for _ in range(1000):
    x, z = scene.layout[rng.randrange(len(scene.layout))]
    start = S.location_id(float(x), float(z), 90 * rng.randrange(4), rng.choice([0, 30]))
    if start not in rec_locs:
      break

  present_otypes = sorted({t for _, t, _ in objects} | {t for _, t, _ in lamps})
  e = S.escape
  lines_obj = ["agent1 - agent"]
  static = set(S.STATIC_RECEPTACLES)
  lines_obj += [f"{t}Type - otype" for t in sorted(set(C.OBJECTS) - static)]
  lines_obj += [f"{t}Type - rtype" for t in sorted(static)]
  lines_obj += [f"{e(oid)} - object" for oid, _, _ in objects + lamps]
  lines_obj += [f"{e(r.id)} - receptacle" for r in scene.receptacles]
  locations = sorted(rec_locs | {start})
  lines_obj += [f"{loc} - location" for loc in locations]

  init = []
  for rt in sorted(scene.rtypes):
    for ot in present_otypes:
      if ot in C.VAL_RECEPTACLE_OBJECTS.get(rt, ()):
        init.append(f"(canContain {rt}Type {ot}Type)")
  for r in scene.receptacles:
    init.append(f"(receptacleType {e(r.id)} {r.rtype}Type)")
    init.append(f"(receptacleAtLocation {e(r.id)} {r.location})")
    if r.rtype in S.OPENABLE:
      init.append(f"(openable {e(r.id)})")
  for oid, t, host in objects + lamps:
    init += [f"(objectType {e(oid)} {t}Type)", f"(inReceptacle {e(oid)} {e(host.id)})",
             f"(objectAtLocation {e(oid)} {host.location})"]
    if t in S.LAMPS:
      init.append(f"(toggleable {e(oid)})")
      continue
    init.append(f"(pickupable {e(oid)})")
    if t in S.MOVABLE:
      init.append(f"(isReceptacleObject {e(oid)})")
    for flag, group in (("cleanable", S.CLEANABLE), ("heatable", S.HEATABLE),
                        ("coolable", S.COOLABLE), ("sliceable", S.SLICEABLE)):
      if t in group:
        init.append(f"({flag} {e(oid)})")
  init.append(f"(atLocation agent1 {start})")

  goal = goal_library.gdict[task]["pddl"].format(obj=otype, recep=parent_target, toggle=lamp,
                                                 mrecep="").replace("#", "-")
  task_id = f"trial_gen_{floorplan}_{seed}"
  problem = (f"(define (problem plan_{task_id})\n(:domain alfred)\n(:objects\n" +
             "\n".join(lines_obj) + "\n)\n(:init\n" + "\n".join(init) + "\n)\n" + goal)
  traj = {"task_type": task, "task_id": task_id,
          "scene": {"floor_plan": f"FloorPlan{floorplan}", "scene_num": floorplan,
                    "random_seed": seed},
          "pddl_params": {"object_target": otype, "parent_target": parent_target,
                          "toggle_target": lamp, "mrecep_target": "", "object_sliced": False}}
  template = rng.choice(goal_library.gdict[task]["templates"])
  desc = template.format(obj=otype.lower(), recep=parent_target.lower(), toggle=lamp.lower(),
                         mrecep="")
  _, grammar = domain_and_grammar()
  return GeneratedGame(traj, problem, grammar.replace("UNKNOWN GOAL", desc), desc)


def game_dir(root: str, floorplan: int, task: str, seed: int) -> str:
  return os.path.join(root, task, f"trial_gen_FloorPlan{floorplan}_{seed}")


def write_game(game: GeneratedGame, directory: str, walkthrough=None, solvable=False) -> str:
  """Writes traj_data.json and game.tw-pddl; returns the game file path."""
  os.makedirs(directory, exist_ok=True)
  domain, _ = domain_and_grammar()
  with open(os.path.join(directory, "traj_data.json"), "w") as f:
    json.dump(game.traj_data, f, indent=2)
  path = os.path.join(directory, "game.tw-pddl")
  with open(path, "w") as f:
    json.dump({"pddl_domain": domain, "grammar": game.grammar, "pddl_problem": game.problem,
               "solvable": bool(solvable), "walkthrough": list(walkthrough or [])}, f)
  return path
