"""Evaluation tables printed and written as markdown and CSV.

The rows come from the environment's `EvalTable` (environments/interface.py): e.g. ALFWorld's
success per task family and All, WebShop's Score and Succ., as in the paper's tables.
"""

from __future__ import annotations

import csv
import os
from typing import Mapping, Optional

def ci95(values) -> tuple:
  """(mean, half-width of the normal-approximation 95 % interval) of the non-None values;
  (None, None) if there are none, half-width nan for a single value."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  v = np.asarray([x for x in values if x is not None], float)
  if v.size == 0:
    return None, None
  half = 1.96 * v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else float("nan")
  return float(v.mean()), float(half)


def format_markdown(rows: Mapping[str, dict]) -> str:
  cols = list(next(iter(rows.values())).keys())
  lines = ["| Method | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
  for name, row in rows.items():
    cells = ["-" if row[c] is None else f"{row[c]:.1f}" for c in cols]
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def write_tables(rows: Mapping[str, dict], out_dir: Optional[str], name: str = "eval") -> str:
  """Returns the markdown table; also writes <out_dir>/<name>.md and .csv when out_dir is set."""
  md = format_markdown(rows)
  if out_dir:
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{name}.md"), "w") as f:
      f.write(md + "\n")
    cols = list(next(iter(rows.values())).keys())
    with open(os.path.join(out_dir, f"{name}.csv"), "w", newline="") as f:
      w = csv.writer(f)
      w.writerow(["Method"] + cols)
      for method, row in rows.items():
        w.writerow([method] + ["" if row[c] is None else f"{row[c]:.2f}" for c in cols])
  return md
