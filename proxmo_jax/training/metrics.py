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
import json
import math
import os
from typing import Mapping, Optional, Sequence

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
