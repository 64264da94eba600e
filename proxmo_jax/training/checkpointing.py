"""Checkpoints with orbax: train state + JSON host state, keep-last-k, async, resume.

    ckpt = Checkpointer(workdir / "checkpoints", keep=3)
    ckpt.save(step, state, host_state)          # host_state: JSON-able (sampler, stats)
    restored = ckpt.restore_latest(state)       # (step, state, host_state) or None

A latest checkpoint that cannot be read (a crash mid-write, a corrupted file) is skipped with a
warning and the previous one is used, so a crash never loses a finished checkpoint. A checkpoint
whose arrays do not match the model's shapes raises an error that names the mismatch.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Optional

import jax
import numpy as np
import orbax.checkpoint as ocp


class CheckpointMismatch(ValueError):
  pass


def _abstract(tree):
  return jax.tree_util.tree_map(
      lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype,
                                     sharding=getattr(x, "sharding", None)), tree)


class Checkpointer:

  def __init__(self, directory: str, keep: int = 3, async_save: bool = True):
    self.directory = os.path.abspath(directory)
    os.makedirs(self.directory, exist_ok=True)
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                           enable_async_checkpointing=async_save)
    # Handlers registered here, not at the first save or restore, so that a new manager (a
    # resumed process) can read a checkpoint's metadata before restoring it
    # (_check_saved_shapes).
    self.manager = ocp.CheckpointManager(
        self.directory, options=options,
        item_handlers={"state": ocp.StandardCheckpointHandler(),
                       "host": ocp.JsonCheckpointHandler()})

  def save(self, step: int, state, host_state: Optional[dict] = None, force: bool = False):
    self.manager.save(int(step), args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), host=ocp.args.JsonSave(host_state or {})),
        force=force)

  def wait(self):
    self.manager.wait_until_finished()

  def steps(self) -> list[int]:
    return sorted(self.manager.all_steps())

  def _restore(self, step: int, target) -> tuple[Any, dict]:
    """(state, host state) of checkpoint `step` in the structure of `target`.

    Raises:
      CheckpointMismatch: the checkpoint's shapes are not the model's.
      Exception: anything else orbax raises for an unreadable checkpoint.
    """
    self._check_saved_shapes(step, target)
    try:
      restored = self.manager.restore(step, args=ocp.args.Composite(
          state=ocp.args.StandardRestore(_abstract(target)), host=ocp.args.JsonRestore()))
    except ValueError as e:
      if "shape" in str(e).lower() or "mismatch" in str(e).lower():
        raise CheckpointMismatch(
            f"checkpoint step {step} in {self.directory} does not match the model: {e}. "
            "Use the same model config as the run that wrote it, or a fresh --workdir.") from e
      raise
    _check_shapes(target, restored["state"], step)
    return restored["state"], dict(restored["host"] or {})

  def restore_latest(self, target) -> Optional[tuple[int, Any, dict]]:
    """Restores the newest readable checkpoint into the structure of `target`."""
    self.manager.wait_until_finished()
    for step in reversed(self.steps()):
      try:
        state, host = self._restore(step, target)
      except CheckpointMismatch:
        raise
      except Exception as e:  # noqa: BLE001 - corrupted / partial checkpoint
        logging.warning("checkpoint step %d in %s is unreadable (%s: %s); trying the previous "
                        "one.", step, self.directory, type(e).__name__, e)
        continue
      return step, state, host
    return None

  def restore_step(self, step: int, target) -> tuple[Any, dict]:
    """(state, host state) of checkpoint `step` into the structure of `target`; a clear error
    when the directory has no such step (`keep` newest are kept)."""
    self.manager.wait_until_finished()
    if step not in self.steps():
      raise FileNotFoundError(
          f"no checkpoint of step {step} in {self.directory} (it has {self.steps()}; a run keeps "
          "its checkpoint.keep newest): evaluate a step it has, or one saved before it was "
          "pruned.")
    return self._restore(step, target)

  def _check_saved_shapes(self, step: int, target) -> None:
    """Raises CheckpointMismatch naming the first array of `target` that checkpoint `step`
    lacks or holds in another shape, or an array it holds that `target` lacks, from the
    checkpoint's metadata alone. (Restoring into the wrong shapes fails inside orbax's
    concurrent reads: its error named the mismatch, but the reads of the other arrays were
    left unfinished and the interpreter later warned of a never-awaited coroutine.) Leaves are
    matched by their key path, attribute and dict keys alike: orbax stores a named tuple (an
    optimizer state) as a dict. Metadata it cannot read raises orbax's error (an unreadable
    checkpoint, which restore_latest skips)."""
    metadata = self.manager.item_metadata(step)["state"]
    saved = _leaf_shapes(metadata) if metadata is not None else {}
    wanted = _leaf_shapes(target)
    if not saved or any(shape is None for shape in saved.values()):
      return  # no metadata with shapes: left to the restore and _check_shapes
    problem = next(
        (f"{_path_text(p)} is missing there" if p not in saved else
         f"{_path_text(p)} has shape {saved[p]} there, the model expects {shape}"
         for p, shape in wanted.items() if shape is not None and saved.get(p) != shape),
        next((f"it holds {_path_text(p)}, which the model lacks" for p in saved
              if p not in wanted), None))
    if problem:
      raise CheckpointMismatch(
          f"checkpoint step {step} in {self.directory} does not match the model: {problem}. "
          "Use the same model config as the run that wrote it, or a fresh --workdir.")

  def close(self):
    self.manager.wait_until_finished()
    self.manager.close()


def _key_name(key) -> str:
  """A key path entry's name, alike for a dict key, an attribute and a sequence index."""
  for field in ("key", "name", "idx"):
    if hasattr(key, field):
      return str(getattr(key, field))
  return str(key)


def _leaf_shapes(tree) -> dict[tuple, Optional[tuple]]:
  """{key path as names: shape (None where a leaf has none)} of a tree of arrays or of
  orbax's array metadata."""
  return {tuple(_key_name(k) for k in path):
          (tuple(leaf.shape) if getattr(leaf, "shape", None) is not None else None)
          for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


def _path_text(path: tuple) -> str:
  return "".join(f"[{name!r}]" if not name.isdigit() else f"[{name}]" for name in path)


def _check_shapes(target, restored, step):
  flat_t = jax.tree_util.tree_leaves_with_path(target)
  flat_r = jax.tree_util.tree_leaves(restored)
  for (path, t), r in zip(flat_t, flat_r):
    if np.shape(t) != np.shape(r):
      raise CheckpointMismatch(
          f"checkpoint step {step}: {jax.tree_util.keystr(path)} has shape {np.shape(r)}, the "
          f"model expects {np.shape(t)}. Use the run's model config or a fresh --workdir.")


def restore_params(directory: str, like):
  """The params of the newest readable checkpoint in `directory`, in the structure, shapes and
  shardings of `like`, without building an optimizer (evaluation). Raises FileNotFoundError
  when there is no checkpoint."""
  ckpt = Checkpointer(directory, async_save=False)
  try:
    for step in reversed(ckpt.steps()):
      try:
        restored = ckpt.manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.StandardRestore()))
      except Exception as e:  # noqa: BLE001 - corrupted / partial checkpoint
        logging.warning("checkpoint step %d in %s is unreadable (%s: %s); trying the previous "
                        "one.", step, directory, type(e).__name__, e)
        continue
      saved = restored["state"]["params"]
      flat = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(saved)}
      leaves = []
      for path, t in jax.tree_util.tree_leaves_with_path(like):
        key = jax.tree_util.keystr(path)
        if key not in flat or np.shape(flat[key]) != np.shape(t):
          raise CheckpointMismatch(
              f"checkpoint step {step} in {directory}: parameter {key} missing or of shape "
              f"{np.shape(flat[key]) if key in flat else None}, the model expects "
              f"{np.shape(t)}. Use the run's model config.")
        value = np.asarray(flat[key], dtype=t.dtype)
        sharding = getattr(t, "sharding", None)
        leaves.append(jax.device_put(value, sharding) if sharding is not None else value)
      return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), leaves)
  finally:
    ckpt.close()
  raise FileNotFoundError(f"no readable checkpoint in {directory}; train first, or pass "
                          "--params=<dir with params.npz>.")
