"""WebShop data: the official files when a user has them, else the generated catalog.

A data directory holds, in the official schema,
  items_shuffle_1000.json + items_ins_v2_1000.json   (the "small" catalog, the paper's setting)
  or items_shuffle.json + items_ins_v2.json            (the full catalog, `use_small=False`)
  and optionally items_human_ins.json                  (needed for human goals).
`ensure_data` writes a generated catalog there when the directory has none; nothing is
downloaded. `load_catalog` is cached per process, so the env workers of one process share the
catalog and its search index.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Optional

from environments.interface import Task
from environments.webshop import generator
from environments.webshop.catalog import DEFAULT_GOAL_SEED, Catalog, build_catalog

SMALL = ("items_shuffle_1000.json", "items_ins_v2_1000.json")
FULL = ("items_shuffle.json", "items_ins_v2.json")
HUMAN = "items_human_ins.json"


class WebShopDataError(ValueError):
  """A missing or malformed WebShop data file (the message names the file and the fix)."""


def catalog_files(data_dir: str, use_small: bool = True) -> tuple[str, str]:
  names = SMALL if use_small else FULL
  paths = tuple(os.path.join(data_dir, n) for n in names)
  missing = [p for p in paths if not os.path.exists(p)]
  if missing:
    raise WebShopDataError(
        f"WebShop data file(s) {missing} not found. Point env.data_dir at a folder with the "
        f"official {names[0]} and {names[1]}, or at an empty folder to generate a catalog "
        "(python -m environments.webshop.generator --out DIR).")
  return paths


def _read_json(path: str, kind: type, what: str):
  try:
    with open(path, encoding="utf-8") as f:
      value = json.load(f)
  except json.JSONDecodeError as e:
    raise WebShopDataError(f"{path} is not valid JSON ({e}); re-copy or regenerate the "
                           "file") from e
  if not isinstance(value, kind):
    raise WebShopDataError(f"{path} must hold a JSON {what}, found a "
                           f"{type(value).__name__}; is it the right file?")
  return value


def read_files(data_dir: str, use_small: bool = True, human_goals: bool = False):
  """(raw items, attrs, human) read and checked from `data_dir`."""
  items_path, attrs_path = catalog_files(data_dir, use_small)
  items = _read_json(items_path, list, "list of product records")
  attrs = _read_json(attrs_path, dict, "object asin -> {attributes, instruction, ...}")
  for asin, record in attrs.items():
    if not isinstance(record, dict) or not isinstance(record.get("attributes", []), list):
      raise WebShopDataError(f"{attrs_path}: the record of {asin!r} must be an object with a "
                             "list 'attributes'")
  human_path = os.path.join(data_dir, HUMAN)
  if os.path.exists(human_path):
    human = _read_json(human_path, dict, "object asin -> list of instruction records")
  elif human_goals:
    raise WebShopDataError(f"human goals need {human_path}; copy the official file there or "
                           "set env.human_goals=False")
  else:
    human = {}
  return items, attrs, human


def ensure_data(data_dir: str, num_products: int = 1000, seed: int = 0) -> None:
  """Generates a catalog into `data_dir` unless it already holds catalog files."""
  if any(os.path.exists(os.path.join(data_dir, n)) for n in SMALL + FULL):
    return
  print(f"generating a WebShop catalog of {num_products} products into {data_dir} ...",
        flush=True)
  generator.write_catalog(data_dir, num_products, seed)
  if num_products != 1000:  # the loader's "small" names
    for src, dst in zip(generator.file_names(num_products).values(), SMALL):
      os.replace(os.path.join(data_dir, src), os.path.join(data_dir, dst))


@functools.lru_cache(maxsize=4)
def load_catalog(data_dir: str, use_small: bool = True, human_goals: bool = False,
                 seed: int = DEFAULT_GOAL_SEED, num_products: Optional[int] = None) -> Catalog:
  items, attrs, human = read_files(data_dir, use_small, human_goals)
  try:
    return build_catalog(items, attrs, human, human_goals=human_goals, seed=seed,
                         num_products=num_products)
  except (ValueError, KeyError, TypeError) as e:
    raise WebShopDataError(f"WebShop data in {data_dir}: {e}") from e


def load_tasks(data_dir: str, split: str, use_small: bool = True, human_goals: bool = False,
               seed: int = DEFAULT_GOAL_SEED, test_size: int = 500) -> list[Task]:
  """The goals of `split` as Tasks (task_type = the target's category)."""
  catalog = load_catalog(data_dir, use_small, human_goals, seed)
  return [Task(env_name="webshop", task_id=f"goal-{i}", task_type=catalog.goals[i].category,
               payload=i) for i in catalog.split(split, test_size)]
