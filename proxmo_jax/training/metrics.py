"""Metrics: console lines, TensorBoard event files and a JSON-lines log in the workdir.

    writer = MetricWriter(workdir)            # workdir/metrics.jsonl, workdir/tb/
    writer.write(step, {"success_rate": 0.4, "time/rollout": 12.1})
    writer.close()

`rollout_metrics(episodes, ...)` and `advantage_metrics(adv, valid, ...)` compute the standard
scalars: success rate overall and per task type, episode length, invalid-action rate, and mean /
std / fraction-nonzero of each advantage component; with a `sum_fn` over processes, of every
host's episodes and rows.
"""

from __future__ import annotations

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


def rollout_metrics(episodes: Sequence, score_key: Optional[str] = None,
                    task_types: Optional[Sequence[str]] = None, sum_fn=None) -> dict:
  """Success (overall, per task type), lengths, invalid and truncated rates, response length
  and the partial task score of finished episodes, over every host's episodes.

  One formula for one host and many: each rate is a ratio of sums, and `sum_fn` (float vector
  -> its sum over processes, `multihost.sum_over_processes`; identity when None) adds the
  hosts' sums. Per-type rates need the same `task_types` list on every host (default: the
  types of these episodes, which is only right on one host); a type no host saw is left out.

  Args:
    score_key: info key of a partial score in [0, 1] (WebShop's "task_score"), or None.
  """
  sum_fn = sum_fn or (lambda v: np.asarray(v, np.float64))
  types = list(task_types) if task_types is not None else sorted(
      {e.task.task_type for e in episodes})
  steps = [s for e in episodes for s in e.steps]
  per_type_n = [sum(e.task.task_type == t for e in episodes) for t in types]
  per_type_won = [sum(bool(e.won) for e in episodes if e.task.task_type == t) for t in types]
  head = [len(episodes), sum(bool(e.won) for e in episodes), sum(e.length for e in episodes),
          len(steps), sum(not s.valid for s in steps), sum(bool(e.truncated) for e in episodes),
          sum(len(s.response_ids) for s in steps),
          sum(float(e.info.get(score_key, 0.0)) for e in episodes) if score_key else 0.0]
  totals = np.asarray(sum_fn(np.asarray(head + per_type_n + per_type_won, np.float64)))
  n, won, length, n_steps, invalid, truncated, resp_tokens, score = totals[:8]
  if n == 0:
    return {}
  out = {"success_rate": won / n, "episode_length": length / n,
         "invalid_rate": invalid / n_steps if n_steps else 0.0, "truncated_rate": truncated / n,
         "response_tokens": resp_tokens / n_steps if n_steps else 0.0}
  k = len(types)
  for t, count, w in zip(types, totals[8:8 + k], totals[8 + k:]):
    if count:
      out[f"task/{t}"] = float(w / count)
  if score_key:
    out[score_key] = score / n
  return {key: float(v) for key, v in out.items()}


@dataclasses.dataclass
class Outcome:
  """What the evaluation tables read of an episode (`task.task_type`, `won`, `info`)."""
  task: Any
  won: bool
  info: dict


def gather_outcomes(episodes: Sequence, task_types: Sequence[str], gather_fn,
                    score_key: Optional[str] = None) -> list[Outcome]:
  """Every host's episode outcomes (task type, won, partial score), on every host.

  Args:
    task_types: the same list on every host, holding every episode's type.
    gather_fn: [n, k] host-local rows -> every process's rows concatenated
      (`multihost.gather_rows`).
  """
  rows = np.zeros((len(episodes), 3))
  for i, e in enumerate(episodes):
    if e.task.task_type not in task_types:
      raise ValueError(f"episode of task type {e.task.task_type!r} is not in the agreed type "
                       f"list {list(task_types)}; build the list from the evaluated tasks.")
    rows[i] = [task_types.index(e.task.task_type), float(e.won),
               float(e.info.get(score_key, 0.0)) if score_key else 0.0]
  return [Outcome(task=types.SimpleNamespace(task_type=task_types[int(t)]), won=bool(w),
                  info={score_key: sc} if score_key else {})
          for t, w, sc in np.asarray(gather_fn(rows)).reshape(-1, 3)]


def advantage_metrics(adv, valid, sum_fn=None) -> dict:
  """Mean / std / nonzero fraction of the episode, step and total advantage of the real rows of
  every host.

  One formula for one host and many, as `rollout_metrics`: sums in float64, which `sum_fn`
  (float vector -> its sum over processes; identity when None) adds over the hosts. With n real
  rows x_i: mean = sum x_i / n; std = sqrt(sum (x_i - mean)^2 / n), a second pass around the
  global mean; nonzero = #{|x_i| > 1e-6} / n. No real row anywhere: {}.
  """
  sum_fn = sum_fn or (lambda v: np.asarray(v, np.float64))
  valid = np.asarray(valid, bool)
  names = ("episode", "step", "total")
  xs = [np.asarray(getattr(adv, name), np.float64)[valid] for name in names]
  first = np.asarray(sum_fn(np.asarray([xs[0].size] + [x.sum() for x in xs] +
                                       [np.sum(np.abs(x) > 1e-6) for x in xs], np.float64)))
  n = first[0]
  if n == 0:
    return {}
  means = first[1:4] / n
  squares = np.asarray(sum_fn(np.asarray([np.sum((x - m) ** 2) for x, m in zip(xs, means)],
                                         np.float64)))
  out = {}
  for i, name in enumerate(names):
    out[f"adv/{name}_mean"] = float(means[i])
    out[f"adv/{name}_std"] = float(np.sqrt(squares[i] / n))
    out[f"adv/{name}_nonzero"] = float(first[4 + i] / n)
  return out
