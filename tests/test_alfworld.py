"""ALFWorld generator, engine, expert validation and loaders."""

import json
import os

import pytest

from configs import alfworld as alfworld_config
from environments.alfworld import data, engine, generator as G, scenes
from environments.alfworld import spec as alfworld_spec
from environments.alfworld import env as env_lib
from environments.interface import Task

# (task type, floorplan) covering all six task types and all four room types.
SAMPLE = [("pick_and_place_simple", 402), ("look_at_obj_in_light", 303),
          ("pick_clean_then_place_in_recep", 404), ("pick_two_obj_and_place", 205),
          ("pick_heat_then_place_in_recep", 5), ("pick_cool_then_place_in_recep", 3)]


@pytest.mark.parametrize("task,floorplan", SAMPLE)
def test_generated_games_are_solved_by_the_expert(tmp_path, task, floorplan):
  game = G.build_game(floorplan, task, seed=7)
  path = G.write_game(game, G.game_dir(str(tmp_path), floorplan, task, 7))
  won, walkthrough = engine.run_expert(path)
  assert won, f"expert failed on {task} FloorPlan{floorplan}: {walkthrough}"
  # The walkthrough replays to a win in a plain engine (no expert).
  env = env_lib.AlfworldEnv()
  res = env.reset(Task("alfworld", "x", task, payload=path), seed=0)
  assert "Your task is to:" in res.observation and res.admissible_actions
  for cmd in walkthrough:
    res = env.step(cmd)
  assert res.won and res.done and res.reward == 10.0 and res.info["task_type"] == task
  env.close()


def test_generation_is_deterministic_and_seeded():
  a = G.build_game(301, "pick_and_place_simple", 3)
  b = G.build_game(301, "pick_and_place_simple", 3)
  c = G.build_game(301, "pick_and_place_simple", 4)
  assert a.problem == b.problem and a.traj_data == b.traj_data and a.grammar == b.grammar
  assert a.problem != c.problem


def test_naming_and_feasibility_rules():
  kitchen = scenes.load_scene(1)
  assert {"StoveBurner", "CoffeeMachine", "Toaster"} <= kitchen.rtypes
  assert len(kitchen.of_type("StoveBurner")) == 4
  bath = scenes.load_scene(420)  # its Bathtub|...|SinkBasin key is a bathtub
  assert all(r.id.startswith("Sink|") for r in bath.of_type("SinkBasin"))
  assert all(r.id.startswith("Bathtub|") for r in bath.of_type("BathtubBasin"))
  assert scenes.escape("Cabinet|+00.68|-02.20") == "Cabinet_bar__plus_00_dot_68_bar__minus_02_dot_20"
  assert G.candidates("pick_heat_then_place_in_recep", scenes.load_scene(301)) == []
  with pytest.raises(G.InfeasibleTask):
    G.build_game(301, "pick_heat_then_place_in_recep", 0)
  game = G.build_game(1, "pick_cool_then_place_in_recep", 0)
  assert game.traj_data["pddl_params"]["parent_target"] != "Fridge"
  assert "(:goal" in game.problem and "UNKNOWN GOAL" not in game.grammar


def test_generated_split_loader(tmp_path):
  recs = data.generate_split(str(tmp_path), "test", per_task=1,
                             task_types=("pick_and_place_simple",), progress=False)
  assert len(recs) == 1 and recs[0].solvable and recs[0].floorplan in data.SPLIT_SCENES["test"]
  tasks = data.load_tasks("test", str(tmp_path))
  assert len(tasks) == 1 and tasks[0].task_type == "pick_and_place_simple"
  env = env_lib.AlfworldEnv()  # the stored walkthrough is the expert plan, and it wins
  env.reset(tasks[0], seed=0)
  plan = env.expert_plan()
  assert plan
  for cmd in plan:
    res = env.step(cmd)
  assert res.won
  env.close()
  with pytest.raises(FileNotFoundError, match="generate it"):
    data.load_tasks("train", str(tmp_path))
  assert data.interrupted_generation(str(tmp_path), "test") is None

  # An interrupted generation of 2 games a type (its record left behind, its second game never
  # made) is found and completed by the environment's make, with the recorded arguments.
  with open(tmp_path / "test" / data.GENERATING, "w") as f:
    json.dump({"per_task": 2, "task_types": ["pick_and_place_simple"], "seed_offset": 100000}, f)
  cfg = alfworld_config.get_config("proxmo,tiny").env
  cfg.data_dir, cfg.train_split, cfg.eval_split = str(tmp_path), "test", "test"
  cfg.task_types, cfg.generate_per_task, cfg.num_workers = "", 1, 1
  spec = alfworld_spec.make(cfg)
  assert len(spec.eval_tasks) == 2 and {t.task_type for t in spec.eval_tasks} == {
      "pick_and_place_simple"}
  assert data.interrupted_generation(str(tmp_path), "test") is None
  with open(tmp_path / "test" / data.GENERATING, "w") as f:
    f.write("{")
  with pytest.raises(ValueError, match="unreadable record of an interrupted generation"):
    alfworld_spec.make(cfg)


def test_valid_seen_split_holds_new_games_in_the_train_scenes():
  tasks = ("pick_and_place_simple", "look_at_obj_in_light")
  train = set(data._plan("train", 3, tasks, data.SPLIT_SEED_OFFSET["train"]))
  seen = set(data._plan("valid_seen", 3, tasks, data.SPLIT_SEED_OFFSET["valid_seen"]))
  assert not train & seen
  assert {fp for fp, _, _ in seen} <= set(data.SPLIT_SCENES["train"])
  assert {fp for fp, _, _ in train} == {fp for fp, _, _ in seen}  # same scenes, other seeds


def test_official_layout_loader(tmp_path):
  root = tmp_path / "alfworld_data"
  game = G.build_game(402, "pick_and_place_simple", 1)
  for split, trial in (("train", "trial_T1"), ("valid_unseen", "trial_T2")):
    d = root / "json_2.1.1" / split / "pick_and_place_simple-Mug-None-Desk-402" / trial
    G.write_game(game, str(d), walkthrough=["look"], solvable=True)
  movable = root / "json_2.1.1" / "train" / "pick_and_place_with_movable_recep-x" / "trial_T3"
  os.makedirs(movable)
  (movable / "game.tw-pddl").write_text(json.dumps({"solvable": True}))
  (movable / "traj_data.json").write_text(json.dumps({"task_type":
                                                      "pick_and_place_with_movable_recep"}))
  os.environ.pop("ALFWORLD_DATA", None)
  train = data.load_tasks("train", str(root))
  assert [t.task_type for t in train] == ["pick_and_place_simple"]
  assert len(data.load_tasks("valid_unseen", str(root))) == 1
  with pytest.raises(FileNotFoundError, match="valid_seen"):
    data.load_tasks("valid_seen", str(root))
  with pytest.raises(ValueError, match="ALFWORLD_DATA"):
    data.load_tasks("train", None)
