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
  with pytest.raises(CheckpointMismatch, match=r"checkpoint step 1 .* does not match the model: "
                     r"\['params'\]\['w'\] has shape \(3, 2\) there, the model expects \(4, 2\)"):
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


def test_a_missing_or_extra_array_is_named(tmp_path):
  """A checkpoint that lacks one of the model's arrays, or holds one the model lacks (a LoRA
  run's checkpoint against a full model, say), is named from its metadata before any array is
  read; so is a shape mismatch inside an optimizer state (a named tuple, stored as a dict)."""
  import optax  # pylint: disable=import-outside-toplevel
  ck = Checkpointer(str(tmp_path / "ck"), keep=1, async_save=False)
  ck.save(1, _state(1.0))
  ck.close()
  ck = Checkpointer(str(tmp_path / "ck"), keep=1)  # a new process's manager, as on a resume
  with pytest.raises(CheckpointMismatch, match=r"\['params'\]\['b'\] is missing there"):
    ck.restore_latest({**_state(0.0), "params": {"w": jnp.zeros((3, 2)), "b": jnp.zeros(2)}})
  with pytest.raises(CheckpointMismatch, match=r"it holds \['step'\], which the model lacks"):
    ck.restore_latest({"params": {"w": jnp.zeros((3, 2))}})
  ck.close()
  params = {"w": jnp.zeros((3, 2))}
  opt = optax.adam(1e-3)
  ck = Checkpointer(str(tmp_path / "opt"), keep=1, async_save=False)
  ck.save(1, {"params": params, "opt": opt.init(params)})
  ck.wait()
  step, state, _ = ck.restore_latest({"params": params, "opt": opt.init(params)})
  assert step == 1 and int(state["opt"][0].count) == 0
  wide = {"w": jnp.zeros((3, 4))}
  with pytest.raises(CheckpointMismatch, match=r"\['opt'\]\[0\]\['mu'\]\['w'\] has shape "
                     r"\(3, 2\) there, the model expects \(3, 4\)"):
    ck.restore_latest({"params": params, "opt": opt.init(wide)})
  ck.close()
