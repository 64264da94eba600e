"""Multi-host helpers: each process rolls out its own groups, the update runs on global arrays.

Layout of a multi-host iteration (P processes, one mesh over all their devices):
  * every process draws the same G task groups and keeps groups[process_index::P]; its env
    workers and its local copy of the policy roll them out;
  * advantages are computed per process: every estimator here only looks inside a group, and a
    group never spans processes, so this is exact;
  * the hosts agree on one (B, P, R) batch shape (`agree_max`), and each host's rows become
    its slice of global arrays sharded over the mesh's data axes (`global_batch`);
  * log-probs and the PPO update are ordinary jitted calls on those global arrays.
With one process every helper is the identity, so single-host code paths do not change.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence, TypeVar

import jax
import numpy as np
from jax.experimental import multihost_utils

T = TypeVar("T")


def count() -> int:
  return jax.process_count()


def index() -> int:
  return jax.process_index()


def is_primary() -> bool:
  return jax.process_index() == 0


def share(items: Sequence[T]) -> list[T]:
  """This process's share of `items` (round-robin)."""
  return list(items[index()::count()])


def primary_first(fn: Callable[[], T], name: str) -> T:
  """Runs `fn` on the primary process, then on the others (which then find its files:
  generated data, a trained tokenizer).

  The primary tells the others whether `fn` succeeded (an all-gather instead of a bare
  barrier), so a failure there (a bad data file, a config error) stops every process with
  an error instead of leaving the others waiting at the barrier forever.
  """
  if count() == 1:
    return fn()
  if is_primary():
    try:
      out = fn()
    except BaseException:
      _any_failed(True)
      raise
    _any_failed(False)
    return out
  if _any_failed(False):
    raise RuntimeError(f"{name}: the primary process (process 0) failed; its log names the "
                       "problem. Fix it there and restart every process.")
  return fn()


def _any_failed(failed: bool) -> bool:
  """All-gathers one failure flag per process (a synchronisation point); True if any is set."""
  flags = multihost_utils.process_allgather(np.asarray([int(failed)], np.int32))
  return bool(np.any(flags))


def agree_max(values: Sequence[int]) -> tuple[int, ...]:
  """Element-wise maximum of an int vector over processes."""
  if count() == 1:
    return tuple(int(v) for v in values)
  gathered = multihost_utils.process_allgather(np.asarray(values, np.int64))
  return tuple(int(v) for v in np.max(gathered.reshape(count(), -1), axis=0))


def sum_over_processes(values: np.ndarray) -> np.ndarray:
  """Sum of a float vector over processes."""
  values = np.asarray(values, np.float64)
  if count() == 1:
    return values
  return np.sum(multihost_utils.process_allgather(values).reshape(count(), -1), axis=0)


def gather_rows(rows: np.ndarray) -> np.ndarray:
  """Every process's [n_p, k] float rows concatenated in process order (n_p may differ)."""
  rows = np.asarray(rows, np.float64)
  if count() == 1:
    return rows
  counts = multihost_utils.process_allgather(np.asarray([len(rows)], np.int64)).reshape(-1)
  padded = np.zeros((max(int(counts.max()), 1),) + rows.shape[1:])
  padded[:len(rows)] = rows
  gathered = multihost_utils.process_allgather(padded).reshape((count(),) + padded.shape)
  return np.concatenate([gathered[p, :int(n)] for p, n in enumerate(counts)])


def global_batch(local: Mapping[str, np.ndarray], sharding_fn) -> dict[str, jax.Array]:
  """Host-local rows -> global arrays whose leading axis concatenates the hosts' rows.

  Args:
    local: name -> [b, ...] array, the same b on every process.
    sharding_fn: ndim -> the batch NamedSharding of the global mesh.
  """
  return {k: jax.make_array_from_process_local_data(sharding_fn(np.ndim(v)), np.asarray(v))
          for k, v in local.items()}


def local_copy(tree):
  """A process-local replica of a pytree of (possibly cross-host) arrays, for sampling."""
  if count() == 1:
    return tree
  full = multihost_utils.process_allgather(tree, tiled=True)
  return jax.device_put(full, jax.local_devices()[0])
