"""Environments stepped in CPU worker processes, one engine per process.

`EnvPool(env_factory, num_envs, num_workers)` starts `num_workers` processes (spawn); worker w
owns a contiguous block of environments, k with k * num_workers // num_envs == w (a rollout
group's n environments are adjacent, so a group stays on one worker and shares its engine's
caches, e.g. ALFWorld's loaded game and state tables), and builds each with `env_factory()` (a
picklable callable, e.g. `functools.partial(AlfworldEnv)`). `reset` and `step` send every
worker its share first and then collect the answers, so the workers run in parallel; this is the
`VectorEnv` interface of `rollout.loop`.

Failures never stop a rollout:
  * an exception inside an environment ends that episode: its result is done=True with
    info {"truncated": True, "error": ...}; the worker lives on;
  * a worker that dies (or does not answer within `timeout` seconds) is killed and restarted,
    and every episode it was running is reported done with info {"truncated": True,
    "worker_restarted": True}; a reset that hit a dead worker is retried once on the new one.
`close()` (or the context manager) shuts the workers down cleanly.
"""

from __future__ import annotations

import multiprocessing as mp
import traceback
from typing import Callable, Optional, Sequence

from environments.interface import StepResult, Task, TextEnv


def _worker(conn, env_factory, slots: int):
  envs: dict[int, TextEnv] = {}
  try:
    while True:
      cmd, payload = conn.recv()
      if cmd == "close":
        break
      out = {}
      for slot, args in payload:
        try:
          if cmd == "reset":
            if slot not in envs:
              envs[slot] = env_factory()
            out[slot] = envs[slot].reset(*args)
          else:
            out[slot] = envs[slot].step(args)
        except Exception as e:  # noqa: BLE001 - reported as a truncated episode
          out[slot] = StepResult(observation="", done=True, info={
              "truncated": True, "error": f"{type(e).__name__}: {e}",
              "traceback": traceback.format_exc(limit=3)})
      conn.send(out)
  except (EOFError, KeyboardInterrupt):
    pass
  finally:
    for env in envs.values():
      try:
        env.close()
      except Exception:  # noqa: BLE001
        pass


class EnvPool:
  """A `VectorEnv` over worker processes (see module docstring)."""

  def __init__(self, env_factory: Callable[[], TextEnv], num_envs: int, num_workers: int = 2,
               timeout: Optional[float] = 300.0):
    if num_envs < 1 or num_workers < 1:
      raise ValueError(f"EnvPool needs num_envs >= 1 and num_workers >= 1 (got {num_envs}, "
                       f"{num_workers}).")
    self.env_factory = env_factory
    self.num_envs = num_envs
    self.num_workers = min(num_workers, num_envs)
    self.timeout = timeout
    self._ctx = mp.get_context("spawn")
    self._workers = [None] * self.num_workers
    self._conns = [None] * self.num_workers
    self.restarts = 0
    for w in range(self.num_workers):
      self._start(w)

  def worker_of(self, k: int) -> int:
    """The worker that owns environment k (contiguous blocks)."""
    return k * self.num_workers // self.num_envs

  def _start(self, w: int):
    parent, child = self._ctx.Pipe()
    proc = self._ctx.Process(target=_worker, args=(child, self.env_factory, self.num_envs),
                             daemon=True)
    proc.start()
    child.close()
    self._workers[w], self._conns[w] = proc, parent

  def _restart(self, w: int):
    proc = self._workers[w]
    if proc is not None and proc.is_alive():
      proc.kill()
    if proc is not None:
      proc.join(timeout=10)
    self.restarts += 1
    self._start(w)

  def _roundtrip(self, cmd: str, items: dict[int, object]) -> tuple[dict, set]:
    """Sends each worker its items, collects results; returns (results, dead workers)."""
    by_worker: dict[int, list] = {}
    for k, args in items.items():
      if not 0 <= k < self.num_envs:
        raise IndexError(f"environment index {k} outside [0, {self.num_envs}).")
      by_worker.setdefault(self.worker_of(k), []).append((k, args))
    dead, results = set(), {}
    for w, payload in by_worker.items():
      try:
        self._conns[w].send((cmd, payload))
      except (BrokenPipeError, OSError):
        dead.add(w)
    for w in by_worker:
      if w in dead:
        continue
      try:
        if self.timeout is not None and not self._conns[w].poll(self.timeout):
          raise TimeoutError
        results.update(self._conns[w].recv())
      except (EOFError, OSError, TimeoutError):
        dead.add(w)
    for w in dead:
      self._restart(w)
    return results, dead

  def reset(self, requests: Sequence[tuple[Task, int]]) -> list[StepResult]:
    if len(requests) > self.num_envs:
      raise ValueError(f"{len(requests)} resets requested but the pool has {self.num_envs} "
                       "environments.")
    items = dict(enumerate(requests))
    results, dead = self._roundtrip("reset", items)
    if dead:  # retry the resets of restarted workers once
      retry = {k: v for k, v in items.items() if self.worker_of(k) in dead}
      more, still = self._roundtrip("reset", retry)
      results.update(more)
      for k in retry:
        if k not in results:
          results[k] = StepResult("", done=True, info={"truncated": True,
                                                       "worker_restarted": True})
    return [results[k] for k in range(len(requests))]

  def step(self, actions: dict[int, str]) -> dict[int, StepResult]:
    results, dead = self._roundtrip("step", actions)
    for k in actions:
      if k not in results:
        results[k] = StepResult("", done=True, info={"truncated": True,
                                                     "worker_restarted": True})
    return results

  def close(self):
    for w, conn in enumerate(self._conns):
      try:
        conn.send(("close", None))
      except (BrokenPipeError, OSError):
        pass
    for proc in self._workers:
      proc.join(timeout=10)
      if proc.is_alive():
        proc.kill()
        proc.join(timeout=5)

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    self.close()
