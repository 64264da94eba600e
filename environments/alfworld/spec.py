"""ALFWorld as a registered environment: config checks and `make(env_config) -> EnvSpec`.

Config fields (config.env): data_dir, train_split, eval_split, generate_per_task (games per
task type generated when the split is missing), task_types and room_types (comma-separated
selections, "" = all), prompt ("paper" | "compact"), history_length, choose_admissible,
num_workers. Games are generated offline on the real TextWorld engine (docs/environments.md#alfworld).
"""

from __future__ import annotations

import functools
import os

from environments.interface import ConfigError, EnvSpec, EvalTable

TASK_TYPES = ("pick_and_place_simple", "look_at_obj_in_light", "pick_clean_then_place_in_recep",
              "pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep",
              "pick_two_obj_and_place")
# Room type of an AI2-THOR floor plan: FloorPlan<n> with n // 100 = 0, 2, 3, 4.
ROOM_OF_FLOORPLAN_HUNDRED = {0: "kitchen", 2: "livingroom", 3: "bedroom", 4: "bathroom"}
ROOM_TYPES = tuple(ROOM_OF_FLOORPLAN_HUNDRED.values())

# The paper's ALFWorld table: success rate per task family and over all tasks.
EVAL_TABLE = EvalTable(
    families=(("Pick", "pick_and_place_simple"), ("Look", "look_at_obj_in_light"),
              ("Clean", "pick_clean_then_place_in_recep"),
              ("Heat", "pick_heat_then_place_in_recep"),
              ("Cool", "pick_cool_then_place_in_recep"), ("Pick2", "pick_two_obj_and_place")),
    success_column="All", headline="All")


def comma_subset(env_config, field: str, allowed, what: str) -> tuple:
  """The names in the comma-separated config.env.<field> ('' = none); a ConfigError names any
  that is not in `allowed`."""
  names = tuple(n.strip() for n in env_config.get(field, "").split(",") if n.strip())
  unknown = [n for n in names if n not in allowed]
  if unknown:
    raise ConfigError(
        f"config.env.{field}: {unknown} are not {what}; use a comma-separated subset of "
        f"{list(allowed)} or '' for all.")
  return names


def validate(env_config) -> None:
  comma_subset(env_config, "task_types", TASK_TYPES, "ALFWorld task types")
  comma_subset(env_config, "room_types", ROOM_TYPES, "room types")
  if env_config.prompt not in ("paper", "compact"):
    raise ConfigError(f"config.env.prompt={env_config.prompt!r}: use 'paper' or 'compact'.")


def make(env_config) -> EnvSpec:
  """Generates missing splits (and completes interrupted generations), loads the selected
  games, builds the agent."""
  from environments.alfworld import data as alf_data  # pylint: disable=import-outside-toplevel
  from environments.alfworld.env import AlfworldEnv  # pylint: disable=import-outside-toplevel
  from environments.alfworld.prompts import AlfworldAgent  # pylint: disable=import-outside-toplevel
  e = env_config
  types = comma_subset(e, "task_types", TASK_TYPES, "ALFWorld task types") or TASK_TYPES
  rooms = comma_subset(e, "room_types", ROOM_TYPES, "room types")
  for split in {e.train_split, e.eval_split}:
    if os.path.isdir(os.path.join(e.data_dir, "json_2.1.1")):
      continue  # official data
    if not os.path.isdir(os.path.join(e.data_dir, split)):
      print(f"generating ALFWorld {split} games into {e.data_dir} ...", flush=True)
      alf_data.generate_split(e.data_dir, split, e.generate_per_task, task_types=types,
                              workers=e.num_workers)
    elif (pending := alf_data.interrupted_generation(e.data_dir, split)) is not None:
      print(f"resuming the interrupted generation of ALFWorld {split} games in {e.data_dir} "
            f"({pending['per_task']} per task type) ...", flush=True)
      alf_data.generate_split(e.data_dir, split, workers=e.num_workers, **pending)
  keep = lambda t: t.task_type in types and (not rooms or alf_data.room_type(t.task_id) in rooms)
  train = [t for t in alf_data.load_tasks(e.train_split, e.data_dir) if keep(t)]
  test = [t for t in alf_data.load_tasks(e.eval_split, e.data_dir) if keep(t)]
  if not train or not test:
    raise ConfigError(
        f"config.env.task_types={e.task_types!r}, room_types={e.get('room_types', '')!r}: no "
        f"{'train' if not train else 'eval'} game of these types in {e.data_dir}; generate "
        "them or widen the selection.")
  agent = AlfworldAgent(compact=e.prompt == "compact", history_length=e.history_length,
                        choose_admissible=e.choose_admissible)
  return EnvSpec(name="alfworld", train_tasks=train, eval_tasks=test, env_factory=AlfworldEnv,
                 agent=agent, eval_table=EVAL_TABLE,
                 expert_env_factory=functools.partial(AlfworldEnv, expert=True))
