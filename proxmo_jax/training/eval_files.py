"""The names and order of an evaluation's stored chunk files, and their episode records, without
JAX: the one place that knows the layout `EvalStore` (eval_store.py) writes, for it and for the
light analysis scripts (experiments/paired_evaluations.py, experiments/alfworld_take.py).

    <directory>/<split>/p<process>_c<start>.json   {"key": ..., "seconds": ..., "episodes": [...]}

`start` is the position of the chunk's first episode in the evaluation, so the evaluation's
order is the chunks' numeric order of (start, process), not their names' order (p0_c16 sorts
before p0_c4 by name).
"""

from __future__ import annotations

import glob
import json
import os
import re

_CHUNK = re.compile(r"p(\d+)_c(\d+)\.json")


def chunk_name(process: int, start: int) -> str:
  """The file name of the chunk whose first episode is `start`, written by `process`."""
  return f"p{process}_c{start}.json"


def chunk_order(path: str) -> tuple[int, int]:
  """p<process>_c<start>.json -> (start, process), the chunk's place in the evaluation."""
  found = _CHUNK.fullmatch(os.path.basename(path))
  if not found:
    raise ValueError(f"{path} is not an evaluation chunk (p<process>_c<start>.json)")
  return int(found.group(2)), int(found.group(1))


def chunk_paths(split_directory: str) -> list[str]:
  """The chunk files of one split in the evaluation's order.

  Raises:
    FileNotFoundError: the directory holds no chunk (naming what to give instead).
  """
  paths = [p for p in glob.glob(os.path.join(split_directory, "p*_c*.json"))
           if _CHUNK.fullmatch(os.path.basename(p))]
  if not paths:
    raise FileNotFoundError(
        f"{split_directory}: no p<process>_c<start>.json chunks; give "
        "<workdir>/eval_episodes/<split> of an experiments/evaluate.py run.")
  return sorted(paths, key=chunk_order)


def episode_records(split_directory: str) -> list[dict]:
  """Every stored episode record of one split (task_id, won, truncated, info, steps), in the
  evaluation's order."""
  out = []
  for path in chunk_paths(split_directory):
    with open(path) as f:
      out.extend(json.load(f)["episodes"])
  return out
