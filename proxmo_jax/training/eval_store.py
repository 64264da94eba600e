"""Finished chunks of a held-out evaluation on disk, so that a stopped evaluation resumes.

    store = EvalStore(os.path.join(workdir, "eval_episodes"))
    episodes, row = evaluator.evaluate(split="eval", store=store)

An evaluation runs in chunks of episodes (`Evaluator.evaluate`); each chunk's sampling key is
folded from its first task's position, so a chunk's episodes do not depend on the chunks
before it. The store writes every finished chunk to

    <directory>/<split>/p<process>_c<start>.json   {"key": ..., "seconds": ..., "episodes": [...]}

(the layout is eval_files.py's, which light scripts read without JAX), and the next evaluation
with the same key reads it back instead of running it again (and a store opened with
`reuse=[other directories]` copies their chunks under the same key, so a longer evaluation of
a policy plays only the tasks a shorter one did not): an evaluation of a few hours (a
135M-parameter policy on 100 ALFWorld games on a CPU) stopped at any point loses at most the
chunk in progress, and the resumed evaluation returns the episodes the whole one would have.

The key is everything that shapes a chunk's episodes: a digest of the policy's params, the
config sections an episode depends on (env, rollout, tokenizer, model, seed), the sampling
temperature, the chunk size and the chunk's tasks and seeds. A stored chunk under another key
is an error naming the directory, never silently reused or overwritten.

Stored episodes keep what evaluation reads: the task, the outcome, the environment's scalar
infos, and per step the observation, response ids, action, validity and reward. Prompt ids and
the sampler's log-probs are left out (an evaluation reads neither; they would make a chunk of
30-step ALFWorld episodes ten times larger), so a loaded step has `prompt_ids == []` and
`sample_logprobs is None`.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from typing import Optional, Sequence

import jax
import numpy as np

from proxmo_jax.parallel import multihost
from proxmo_jax.rollout.records import Episode, StepRecord
from proxmo_jax.training import eval_files

# The config sections that shape an episode. eval.num_tasks and the schedule do not: a longer
# evaluation of the same policy reuses the chunks of a shorter one.
KEYED_SECTIONS = ("env", "rollout", "tokenizer", "model")
# ... less their fields that do not: the environments' worker processes, and the decode's CPU
# compile options (the same tokens in every test and benchmark; the log-probs' float32 rounding
# differs, as between machines, which no key holds either).
UNKEYED_FIELDS = (("env", "num_workers"), ("rollout", "cpu_decode_options"))


def params_digest(params) -> str:
  """blake2b over every leaf's dtype, shape and bytes, in tree order (about 1 s at 135M)."""
  h = hashlib.blake2b(digest_size=16)
  for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
    a = np.ascontiguousarray(np.asarray(leaf))
    h.update(f"{jax.tree_util.keystr(path)}:{a.dtype}:{a.shape};".encode())
    h.update(a.view(np.uint8).reshape(-1).data)
  return h.hexdigest()


def keyed_sections(config, names: Sequence[str] = KEYED_SECTIONS) -> dict:
  """{name: the config section as JSON values} for `names`, less UNKEYED_FIELDS: the part of
  a config that a stored result (evaluation chunks, behaviour-cloning demonstrations) depends
  on."""
  sections = {name: json.loads(config[name].to_json_best_effort(sort_keys=True))
              for name in names if name in config}
  for section, field in UNKEYED_FIELDS:
    sections.get(section, {}).pop(field, None)
  return sections


def evaluation_key(config, params, temperature: float, chunk: int) -> dict:
  """The part of a chunk's key that all chunks of an evaluation share."""
  sections = keyed_sections(config)
  return {"params": params_digest(params), "config": sections, "seed": int(config.seed),
          "temperature": float(temperature), "chunk": int(chunk)}


def _scalar_items(info: dict) -> dict:
  """The JSON scalars of an episode's info (numpy scalars as Python ones); the rest is left out."""
  out = {}
  for k, v in info.items():
    v = v.item() if isinstance(v, np.generic) else v
    if isinstance(v, (bool, int, float, str)) or v is None:
      out[k] = v
  return out


def _episode_record(e: Episode) -> dict:
  return {"group": e.group, "task_id": e.task.task_id, "won": bool(e.won),
          "truncated": bool(e.truncated), "info": _scalar_items(e.info),
          "steps": [{"response_ids": [int(i) for i in s.response_ids],
                     "observation": s.observation, "action": s.action, "valid": bool(s.valid),
                     "reward": float(s.reward)} for s in e.steps]}


def _episode(record: dict, task) -> Episode:
  steps = [StepRecord(prompt_ids=[], response_ids=s["response_ids"],
                      observation=s["observation"], action=s["action"], valid=s["valid"],
                      reward=s["reward"]) for s in record["steps"]]
  return Episode(group=record["group"], task=task, steps=steps, won=record["won"],
                 truncated=record["truncated"], info=dict(record["info"]))


class EvalStore:
  """Chunks of evaluation episodes under `directory`, one JSON file each (see module doc)."""

  def __init__(self, directory: str, process: Optional[int] = None,
               reuse: Sequence[str] = ()):
    """`reuse`: directories of other stores (e.g. a shorter evaluation of the same policy and
    settings) whose chunks under the same key are copied here instead of being run again; a
    chunk of theirs under another key (a shorter evaluation's last, partial chunk) is not
    used."""
    self.directory = directory
    self.process = multihost.index() if process is None else process
    self.reuse = tuple(reuse)

  def _path(self, split: str, start: int, directory: Optional[str] = None) -> str:
    return os.path.join(directory or self.directory, split,
                        eval_files.chunk_name(self.process, start))

  def _reused(self, split: str, start: int, key: dict) -> bool:
    """Copies the first `reuse` directory's chunk at `start` stored under `key` here; whether
    one was."""
    for directory in self.reuse:
      path = self._path(split, start, directory)
      try:
        with open(path) as f:
          same = json.load(f).get("key") == key
      except (OSError, ValueError, AttributeError):
        continue
      if same:
        target = self._path(split, start)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path, target + ".tmp")
        os.replace(target + ".tmp", target)
        return True
    return False

  def load(self, split: str, start: int, key: dict,
           requests: Sequence) -> Optional[tuple[list, float]]:
    """(The chunk's episodes, the seconds its run took) when it was stored under `key`, else
    None (not yet run).

    Args:
      key: the evaluation's key plus this chunk's tasks and seeds (see `chunk_key`).
      requests: the chunk's (task, seed) pairs; the loaded episodes get these task objects.
    Raises:
      ValueError: the file holds another key (another policy or settings), or is unreadable.
    """
    path = self._path(split, start)
    if not os.path.exists(path) and not self._reused(split, start, key):
      return None
    try:
      with open(path) as f:
        stored = json.load(f)
      stored_key, records, seconds = stored["key"], stored["episodes"], float(stored["seconds"])
    except (OSError, ValueError, KeyError, TypeError) as err:
      raise ValueError(
          f"evaluation chunk {path} is unreadable ({err}); delete it to evaluate that chunk "
          "again.") from err
    if stored_key != key:
      changed = key_differences(key, stored_key)
      raise ValueError(
          f"{path} holds episodes of another evaluation (its {', '.join(changed)} "
          f"{'differs' if len(changed) == 1 else 'differ'} from this one's): evaluate into "
          f"another --workdir, or delete {os.path.dirname(path)} to evaluate this split again.")
    tasks = {t.task_id: t for t, _ in requests}
    return [_episode(r, tasks[r["task_id"]]) for r in records], seconds

  def save(self, split: str, start: int, key: dict, episodes: Sequence[Episode],
           seconds: float) -> None:
    """Writes the chunk and the seconds its run took, atomically (a stop mid-write leaves no
    partial file)."""
    path = self._path(split, start)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
      json.dump({"key": key, "seconds": stored_seconds(seconds),
                 "episodes": [_episode_record(e) for e in episodes]}, f)
    os.replace(tmp, path)


def stored_seconds(seconds: float) -> float:
  """A chunk's seconds as its file keeps them (milliseconds). The evaluator reports a chunk it
  runs at this precision too, so a chunk read back reports the figure it reported when it ran,
  and sums over chunks (e.g. a widened evaluation's seconds) do not depend on which were read."""
  return round(float(seconds), 3)


def key_differences(key: dict, stored: dict) -> list[str]:
  """The names of the key's fields that differ, config sections as "config.<section>"."""
  out = []
  for k in sorted(set(key) | set(stored)):
    a, b = key.get(k), stored.get(k)
    if k == "config" and isinstance(a, dict) and isinstance(b, dict):
      out += [f"config.{s}" for s in sorted(set(a) | set(b)) if a.get(s) != b.get(s)]
    elif a != b:
      out.append(k)
  return out


def chunk_key(evaluation: dict, requests: Sequence) -> dict:
  """A chunk's key: the evaluation's, plus its tasks and seeds in order."""
  return dict(evaluation, tasks=[[t.task_id, int(seed)] for t, seed in requests])


__all__ = ["EvalStore", "chunk_key", "evaluation_key", "key_differences", "params_digest"]
