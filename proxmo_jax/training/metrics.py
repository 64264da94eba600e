"""Metrics: console lines, TensorBoard event files and a JSON-lines log in the workdir.

    writer = MetricWriter(workdir)            # workdir/metrics.jsonl, workdir/tb/
    writer.write(step, {"success_rate": 0.4, "time/rollout": 12.1})
    writer.close()

`rollout_metrics(episodes)` and `advantage_metrics(adv, valid)` compute the standard scalars:
success rate overall and per task type, episode length, invalid-action rate, and mean / std /
fraction-nonzero of each advantage component.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import os
import types
from typing import Any, Mapping, Optional, Sequence

import numpy as np


class MetricWriter:

  def __init__(self, workdir: Optional[str], tensorboard: bool = True, console: bool = True):
    self.workdir = workdir
    self.console = console
    self._jsonl = None
    self._tb = None
    if workdir:
      os.makedirs(workdir, exist_ok=True)
      self._jsonl = open(os.path.join(workdir, "metrics.jsonl"), "a")
      if tensorboard:
        try:
          from tensorboardX import SummaryWriter
          self._tb = SummaryWriter(os.path.join(workdir, "tb"))
        except ImportError:
          self._tb = None

  def write(self, step: int, scalars: Mapping[str, float], prefix: str = ""):
    clean = {prefix + k: float(v) for k, v in scalars.items()
             if isinstance(v, (int, float, np.floating, np.integer)) and math.isfinite(float(v))}
    if self._jsonl:
      self._jsonl.write(json.dumps({"step": int(step), **clean}) + "\n")
      self._jsonl.flush()
    if self._tb:
      for k, v in clean.items():
        self._tb.add_scalar(k, v, int(step))
      self._tb.flush()
    if self.console:
      keys = [k for k in clean if not k.startswith(("adv/", "task/"))][:12]
      print(f"[{prefix or 'train'} {step}] " + " ".join(f"{k}={clean[k]:.4g}" for k in keys),
            flush=True)

  def close(self):
    if self._jsonl:
      self._jsonl.close()
    if self._tb:
      self._tb.close()


def rollout_metrics(episodes: Sequence) -> dict:
  """Success (overall, per task type), lengths, invalid-action rate of finished episodes."""
  if not episodes:
    return {}
  won = np.array([e.won for e in episodes], float)
  lengths = np.array([e.length for e in episodes], float)
  steps = [s for e in episodes for s in e.steps]
  out = {"success_rate": won.mean(), "episode_length": lengths.mean(),
         "invalid_rate": float(np.mean([not s.valid for s in steps])) if steps else 0.0,
         "truncated_rate": float(np.mean([e.truncated for e in episodes])),
         "response_tokens": float(np.mean([len(s.response_ids) for s in steps])) if steps else 0.0}
  by_type = collections.defaultdict(list)
  for e in episodes:
    by_type[e.task.task_type].append(e.won)
  for t, w in by_type.items():
    out[f"task/{t}"] = float(np.mean(w))
  if any("task_score" in e.info for e in episodes):  # WebShop: partial score, 0 if no purchase
    out["task_score"] = float(np.mean([e.info.get("task_score", 0.0) for e in episodes]))
  return out


def global_rollout_metrics(episodes: Sequence, sum_fn) -> dict:
  """The headline rates of `rollout_metrics` over every host's episodes.

  Args:
    sum_fn: float vector -> its sum over processes (`multihost.sum_over_processes`).
  """
  steps = [s for e in episodes for s in e.steps]
  scored = [e for e in episodes if "task_score" in e.info]
  n, won, length, n_steps, invalid, n_scored, score = sum_fn([
      len(episodes), sum(e.won for e in episodes), sum(e.length for e in episodes),
      len(steps), sum(not s.valid for s in steps), len(scored),
      sum(e.info.get("task_score", 0.0) for e in episodes)])
  out = {"success_rate": won / max(n, 1), "episode_length": length / max(n, 1),
         "invalid_rate": invalid / max(n_steps, 1)}
  if n_scored:
    out["task_score"] = score / max(n, 1)
  return out


@dataclasses.dataclass
class Outcome:
  """What the evaluation tables read of an episode (`task.task_type`, `won`, `info`)."""
  task: Any
  won: bool
  info: dict


def gather_outcomes(episodes: Sequence, task_types: Sequence[str], gather_fn) -> list[Outcome]:
  """Every host's episode outcomes (task type, won, task score), on every host.

  Args:
    gather_fn: [n, k] host-local rows -> every process's rows concatenated
      (`multihost.gather_rows`).
  """
  rows = np.zeros((len(episodes), 4))
  for i, e in enumerate(episodes):
    rows[i] = [task_types.index(e.task.task_type), float(e.won),
               float(e.info.get("task_score", 0.0)), float("task_score" in e.info)]
  return [Outcome(task=types.SimpleNamespace(task_type=task_types[int(t)]), won=bool(w),
                  info={"task_score": sc} if has else {})
          for t, w, sc, has in np.asarray(gather_fn(rows)).reshape(-1, 4)]


def advantage_metrics(adv, valid) -> dict:
  """Mean / std / nonzero fraction of the episode, step and total advantage of real rows."""
  valid = np.asarray(valid, bool)
  out = {}
  for name in ("episode", "step", "total"):
    x = np.asarray(getattr(adv, name))[valid]
    if x.size:
      out[f"adv/{name}_mean"] = float(x.mean())
      out[f"adv/{name}_std"] = float(x.std())
      out[f"adv/{name}_nonzero"] = float(np.mean(np.abs(x) > 1e-6))
  return out
