"""Checkpoint save / restore, keep-last-k, fallback over a corrupted latest, shape mismatch."""

import glob
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from proxmo_jax.training.checkpointing import CheckpointMismatch, Checkpointer


def _state(v):
  return {"params": {"w": jnp.full((3, 2), v, jnp.float32)}, "step": jnp.int32(v)}


def test_save_restore_keep_and_fallback(tmp_path, caplog):
  ck = Checkpointer(str(tmp_path / "ck"), keep=2)
  for s in (1, 2, 3):
    ck.save(s, _state(float(s)), {"sampler": {"cursor": s}})
  ck.wait()
  assert ck.steps() == [2, 3]
  step, state, host = ck.restore_latest(_state(0.0))
  assert step == 3 and float(state["params"]["w"][0, 0]) == 3.0 and host["sampler"]["cursor"] == 3
  # Corrupt every file of the latest checkpoint: the previous one is used, with a warning.
  for f in glob.glob(str(tmp_path / "ck" / "3" / "**" / "*"), recursive=True):
    if os.path.isfile(f):
      with open(f, "wb") as fh:
        fh.write(b"garbage")
  ck2 = Checkpointer(str(tmp_path / "ck"), keep=2)
  with caplog.at_level("WARNING"):
    step, state, host = ck2.restore_latest(_state(0.0))
  assert step == 2 and host["sampler"]["cursor"] == 2 and int(state["step"]) == 2
  np.testing.assert_array_equal(np.asarray(state["params"]["w"]), 2.0)
  assert any("checkpoint step 3" in r.getMessage() and "unreadable" in r.getMessage()
             for r in caplog.records)
  ck.close()
  ck2.close()


def test_shape_mismatch_is_named(tmp_path):
  ck = Checkpointer(str(tmp_path / "ck"), keep=1, async_save=False)
  ck.save(1, _state(1.0))
  ck.wait()
  wrong = {"params": {"w": jnp.zeros((4, 2))}, "step": jnp.int32(0)}
  with pytest.raises(CheckpointMismatch, match="checkpoint step 1 .* does not match the model"):
    ck.restore_latest(wrong)
  ck.close()


def test_empty_directory_restores_nothing(tmp_path):
  ck = Checkpointer(str(tmp_path / "none"))
  assert ck.restore_latest(_state(0.0)) is None
  ck.close()


def test_restore_a_given_step(tmp_path):
  """restore_step reads the step asked for, not the newest; a pruned or unknown step is named
  with the steps there are (a shape mismatch is restore_latest's, above: the same _restore)."""
  ck = Checkpointer(str(tmp_path / "ck"), keep=2, async_save=False)
  for s in (1, 2, 3):
    ck.save(s, _state(float(s)), {"iteration": s})
  ck.wait()
  state, host = ck.restore_step(2, _state(0.0))
  assert host == {"iteration": 2}
  np.testing.assert_array_equal(np.asarray(state["params"]["w"]), 2.0)
  with pytest.raises(FileNotFoundError, match=r"no checkpoint of step 1 .*\[2, 3\]"):
    ck.restore_step(1, _state(0.0))
  ck.close()
