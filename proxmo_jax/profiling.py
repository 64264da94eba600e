"""Counting XLA compiles: how many happened in a stretch of code and how long they took.

    counter = CompileCounter()        # one per process; registers a jax.monitoring listener
    before = counter.snapshot()
    ...                               # e.g. one training iteration
    counter.metrics_since(before)     # {"compile/count": 2.0, "time/compile": 3.1}

JAX reports every backend compilation as the duration event `BACKEND_COMPILE_EVENT`; a cache
hit reports none, so in steady state (every shape inside its bucket) the count is 0.
"""

from __future__ import annotations

import threading

import jax

BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"

_lock = threading.Lock()
_totals = {"count": 0, "seconds": 0.0}
_registered = False


def _listener(event: str, duration: float, **_):
  if event == BACKEND_COMPILE_EVENT:
    with _lock:
      _totals["count"] += 1
      _totals["seconds"] += float(duration)


class CompileCounter:

  def __init__(self):
    global _registered
    with _lock:
      if not _registered:
        jax.monitoring.register_event_duration_secs_listener(_listener)
        _registered = True

  def snapshot(self) -> tuple[int, float]:
    with _lock:
      return _totals["count"], _totals["seconds"]

  def metrics_since(self, snapshot: tuple[int, float]) -> dict:
    count, seconds = self.snapshot()
    return {"compile/count": float(count - snapshot[0]),
            "time/compile": float(seconds - snapshot[1])}
