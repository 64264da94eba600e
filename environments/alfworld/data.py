"""ALFWorld task sets: generated splits (train scenes vs unseen test scenes) and official data.

Generated splits use ALFRED's scene split: `constants.TRAIN_SCENE_NUMBERS` for "train" and for
"valid_seen" (other games in the same scenes, as ALFWorld's valid_seen), and
`constants.TEST_SCENE_NUMBERS` (scenes 1-6, 201-206, 301-306, 401-406) for "test" (unseen
scenes). `generate_split` builds `per_task` games of every task type, round-robin over the
feasible scenes, validates each with the (patched) hand-coded expert and stores its walkthrough;
games the expert cannot solve are kept on disk but marked unsolvable and never loaded.

Official data: if `ALFWORLD_DATA` (or `data_dir`) points to a tree holding `json_2.1.1/` with
`train/`, `valid_seen/`, `valid_unseen/` and game directories `<task>-<...>/<trial>/` with
`game.tw-pddl` + `traj_data.json`, `load_tasks` reads those games instead.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp
import os
import re
from typing import Optional, Sequence

from alfworld.gen import constants as C
from tqdm import tqdm

from environments.alfworld import generator as G
from environments.alfworld.spec import ROOM_OF_FLOORPLAN_HUNDRED, TASK_TYPES
from environments.interface import Task

# Generated splits: train games, held-out games in the train scenes (ALFWorld's "valid_seen"),
# and games in ALFRED's unseen test scenes. Seeds start at SPLIT_SEED_OFFSET, so no two splits
# share a game.
SPLIT_SCENES = {"train": list(C.TRAIN_SCENE_NUMBERS), "valid_seen": list(C.TRAIN_SCENE_NUMBERS),
                "test": list(C.TEST_SCENE_NUMBERS)}
SPLIT_SEED_OFFSET = {"train": 0, "valid_seen": 50000, "test": 100000}
OFFICIAL_SPLITS = {"train": "train", "valid_seen": "valid_seen", "valid_unseen": "valid_unseen",
                   "test": "valid_unseen", "eval_in_distribution": "valid_seen"}


@dataclasses.dataclass
class GameRecord:
  path: str
  task_type: str
  floorplan: int
  seed: int
  solvable: bool
  expert_length: int
  seconds: float


def _plan(split: str, per_task: int, task_types: Sequence[str], seed_offset: int):
  """(floorplan, task, seed) triples: feasible scenes round-robin, seeds counting up."""
  scenes = SPLIT_SCENES[split]
  jobs = []
  for task in task_types:
    feasible = [fp for fp in scenes if G.candidates(task, G.S.load_scene(fp))]
    if not feasible:
      raise ValueError(f"no {split} scene can host {task}.")
    for k in range(per_task):
      jobs.append((feasible[k % len(feasible)], task, seed_offset + k))
  return jobs


def _make_one(args) -> GameRecord:
  import time
  from environments.alfworld import engine
  root, fp, task, seed = args
  t0 = time.time()
  game = G.build_game(fp, task, seed)
  directory = G.game_dir(root, fp, task, seed)
  path = G.write_game(game, directory)
  won, walk = engine.run_expert(path)
  G.write_game(game, directory, walkthrough=walk if won else [], solvable=won)
  return GameRecord(path, task, fp, seed, won, len(walk) - 1 if won else -1, time.time() - t0)


# Written into a split's folder while its games are generated, removed when all are: a folder
# that still holds it was interrupted, and `interrupted_generation` gives its arguments back.
GENERATING = ".generating.json"


def interrupted_generation(root: str, split: str) -> Optional[dict]:
  """The `generate_split` arguments (per_task, task_types, seed_offset) of an interrupted
  generation of root/<split>/, or None when none was interrupted there."""
  path = os.path.join(root, split, GENERATING)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      args = json.load(f)
    return {"per_task": int(args["per_task"]), "task_types": tuple(args["task_types"]),
            "seed_offset": int(args["seed_offset"])}
  except (OSError, ValueError, KeyError, TypeError) as err:
    raise ValueError(f"{path}: unreadable record of an interrupted generation ({err}); delete "
                     f"it and run `python experiments/generate_alfworld.py --root {root}` with "
                     "the split's original arguments to complete it.") from err


def generate_split(root: str, split: str = "train", per_task: int = 10,
                   task_types: Sequence[str] = TASK_TYPES, workers: int = 1,
                   seed_offset: Optional[int] = None, progress: bool = True) -> list[GameRecord]:
  """Generates and validates a split under `root/<split>/`; returns one record per game.

  Games already present and marked solvable are reused, so an interrupted run resumes. While
  games are made, `root/<split>/.generating.json` records the arguments, so that an interrupted
  generation is found and resumed (`interrupted_generation`; the environment's `make` does it).
  seed_offset defaults to SPLIT_SEED_OFFSET[split] (train 0, valid_seen 50000, test 100000).
  """
  if split not in SPLIT_SCENES:
    raise ValueError(f"split {split!r}: use 'train', 'valid_seen' or 'test'.")
  offset = SPLIT_SEED_OFFSET[split] if seed_offset is None else seed_offset
  out = os.path.join(root, split)
  marker = os.path.join(out, GENERATING)
  jobs = [(out,) + j for j in _plan(split, per_task, task_types, offset)]
  records, todo = [], []
  for job in jobs:
    path = os.path.join(G.game_dir(*job), "game.tw-pddl")
    info = _read_game_info(path)
    if info is not None and info.get("solvable"):
      records.append(GameRecord(path, job[2], job[1], job[3], True,
                                len(info.get("walkthrough", [])) - 1, 0.0))
    else:
      todo.append(job)
  if todo:
    os.makedirs(out, exist_ok=True)
    with open(marker, "w") as f:
      json.dump({"per_task": per_task, "task_types": list(task_types), "seed_offset": offset}, f)
  bar = tqdm(total=len(todo), desc=f"alfworld {split}", disable=not progress or not todo)
  if workers > 1 and len(todo) > 1:
    with mp.get_context("spawn").Pool(workers) as pool:
      for rec in pool.imap_unordered(_make_one, todo):
        records.append(rec)
        bar.update()
  else:
    for job in todo:
      records.append(_make_one(job))
      bar.update()
  bar.close()
  if os.path.exists(marker):
    os.remove(marker)
  return sorted(records, key=lambda r: (r.task_type, r.floorplan, r.seed))


# AI2-THOR numbers its floor plans by room type: kitchens 1-30, living rooms 201-230, bedrooms
# 301-330, bathrooms 401-430.
_GENERATED_SCENE = re.compile(r"FloorPlan(\d+)")
_OFFICIAL_SCENE = re.compile(r"-(\d+)[/\\]trial_")


def room_type(task_id: str) -> Optional[str]:
  """Room type of a game directory, generated (.../trial_gen_FloorPlan412_7) or official
  (.../pick_and_place_simple-Towel-None-Toilet-412/trial_T2019...); None if it names no scene."""
  m = _GENERATED_SCENE.search(task_id) or _OFFICIAL_SCENE.search(task_id)
  return ROOM_OF_FLOORPLAN_HUNDRED.get(int(m.group(1)) // 100) if m else None


def _read_game_info(path: str) -> Optional[dict]:
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      data = json.load(f)
    return {"solvable": data.get("solvable", False), "walkthrough": data.get("walkthrough", [])}
  except (OSError, ValueError):
    return None


def _task_from_dir(directory: str) -> Optional[Task]:
  game = os.path.join(directory, "game.tw-pddl")
  traj = os.path.join(directory, "traj_data.json")
  if not (os.path.exists(game) and os.path.exists(traj)):
    return None
  info = _read_game_info(game)
  if info is None or not info["solvable"]:
    return None
  with open(traj) as f:
    task_type = json.load(f).get("task_type", "unknown")
  if task_type not in TASK_TYPES:  # movable-receptacle and sliced variants are unsupported
    return None
  return Task("alfworld", os.path.relpath(directory), task_type, payload=game)


def load_tasks(split: str, data_dir: Optional[str] = None) -> list[Task]:
  """Solvable tasks of a split, sorted by id.

  Args:
    split: "train" / "valid_seen" / "test" for generated games; with official data also
      "valid_unseen" and "eval_in_distribution".
    data_dir: root of generated games (holding train/ and test/), or an official data root
      holding json_2.1.1/. Defaults to $ALFWORLD_DATA when set.
  """
  env_dir = os.environ.get("ALFWORLD_DATA")
  # `import alfworld` exports ALFWORLD_DATA=~/.cache/alfworld when it is unset; an env value
  # without official data in it counts as unset.
  if env_dir and not os.path.isdir(os.path.join(env_dir, "json_2.1.1")):
    env_dir = None
  data_dir = data_dir or env_dir
  if not data_dir:
    raise ValueError("no ALFWorld data: pass data_dir (generated games) or set ALFWORLD_DATA "
                     "to the official data root (the folder that holds json_2.1.1/).")
  official = os.path.join(data_dir, "json_2.1.1")
  if os.path.isdir(official):
    if split not in OFFICIAL_SPLITS:
      raise ValueError(f"split {split!r}: official data has {sorted(OFFICIAL_SPLITS)}.")
    base = os.path.join(official, OFFICIAL_SPLITS[split])
    if not os.path.isdir(base):
      raise FileNotFoundError(f"official ALFWorld data at {data_dir!r} lacks "
                              f"json_2.1.1/{OFFICIAL_SPLITS[split]}/; re-run alfworld-download "
                              "or point ALFWORLD_DATA at a complete copy.")
  else:
    base = os.path.join(data_dir, split)
    if not os.path.isdir(base):
      raise FileNotFoundError(f"no {split}/ folder under {data_dir!r}: generate it with "
                              f"`python experiments/generate_alfworld.py --root {data_dir}`.")
  tasks = []
  for dirpath, _, files in os.walk(base):
    if "game.tw-pddl" in files:
      task = _task_from_dir(dirpath)
      if task is not None:
        tasks.append(task)
  if not tasks:
    raise FileNotFoundError(f"no solvable ALFWorld games under {base!r} (each needs "
                            "game.tw-pddl with solvable=true and traj_data.json).")
  return sorted(tasks, key=lambda t: t.task_id)
