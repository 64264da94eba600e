"""proxmo_jax/training/eval_files.py: the stored chunks' names, their evaluation order and their
records, on made-up chunk files."""
import json
import os
import sys

import pytest

from proxmo_jax.training import eval_files


def _chunk(directory, process, start, task_ids):
  with open(os.path.join(directory, eval_files.chunk_name(process, start)), "w") as f:
    json.dump({"key": {}, "seconds": 1.0,
               "episodes": [{"task_id": t, "won": True, "steps": []} for t in task_ids]}, f)


def test_records_come_in_the_evaluations_numeric_order(tmp_path):
  # By name p0_c16 < p0_c32 < p0_c4 < p1_c0; the evaluation's order is by first episode.
  for start in (16, 32, 4):
    _chunk(tmp_path, 0, start, [f"t{start + i}" for i in range(2)])
  _chunk(tmp_path, 1, 0, ["t0", "t1"])
  (tmp_path / "p0_c8.json.tmp").write_text("{}")  # a write in progress: not a chunk
  (tmp_path / "notes.json").write_text("{}")
  (tmp_path / "p0_c8-old.json").write_text("{}")  # matches the glob p*_c*.json, not a chunk
  assert [os.path.basename(p) for p in eval_files.chunk_paths(str(tmp_path))] == [
      "p1_c0.json", "p0_c4.json", "p0_c16.json", "p0_c32.json"]
  assert [r["task_id"] for r in eval_files.episode_records(str(tmp_path))] == [
      "t0", "t1", "t4", "t5", "t16", "t17", "t32", "t33"]


def test_a_folder_without_chunks_names_what_to_give(tmp_path):
  with pytest.raises(FileNotFoundError, match="eval_episodes/<split>"):
    eval_files.chunk_paths(str(tmp_path))


def test_eval_files_does_not_import_jax():
  # The analysis scripts read evaluations without JAX's import time.
  import subprocess
  code = ("import sys; from proxmo_jax.training import eval_files; "
          "sys.exit('jax' in sys.modules)")
  assert subprocess.run([sys.executable, "-c", code]).returncode == 0
