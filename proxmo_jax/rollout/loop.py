"""The multi-turn rollout: groups of environments stepped with the policy until done.

One rollout batch holds G task groups of n environments each; the n environments of a group
reset to the same task and seed (docs/method.md#setting-groups-trajectories-and-step-samples). At every turn each active environment's prompt
is built from its history, all active prompts are sampled in one batched call, each response is
projected to an action and a validity flag, and the environments are stepped together. An
environment stays active through the step on which it reports `done`; after `max_steps` turns
the rest are truncated (reward 0, no terminal bonus).

Pluggable pieces:
  * `VectorEnv`: resets and steps many environments (in-process `SerialVectorEnv`, or a worker
    pool with the same two methods);
  * `Agent` (environments/interface.py): the environment-specific prompt builder and projection;
  * `sample_fn`: prompts (token-id lists) -> (response ids, sampler log-probs[, hidden states
    after the frozen layers]) per prompt;
  * `encode_prompt(text) -> ids` (the policy's: chat template, truncation) and
    `decode(ids) -> text`.

`RolloutStats` times each stage (env reset and step, prompt building + tokenisation, sampling,
detokenisation + projection) so every iteration's metrics carry the breakdown.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Callable, Optional, Protocol, Sequence

from environments.interface import Agent, StepResult, Task, TextEnv, task_context
from proxmo_jax.rollout.records import Episode, StepRecord


class VectorEnv(Protocol):

  def reset(self, requests: Sequence[tuple[Task, int]]) -> list[StepResult]:
    """Resets environment k to requests[k] = (task, seed); len(requests) <= num envs."""

  def step(self, actions: dict[int, str]) -> dict[int, StepResult]:
    """Steps the environments named by the keys; returns their results."""


SampleFn = Callable[[list[list[int]]], list[tuple[list[int], Optional[list[float]]]]]


class SerialVectorEnv:
  """`VectorEnv` over in-process environments (tests, and 1-core setups)."""

  def __init__(self, envs: Sequence[TextEnv]):
    self.envs = list(envs)

  def reset(self, requests):
    if len(requests) > len(self.envs):
      raise ValueError(f"{len(requests)} resets requested but only {len(self.envs)} envs.")
    return [self.envs[k].reset(task, seed) for k, (task, seed) in enumerate(requests)]

  def step(self, actions):
    return {k: self.envs[k].step(a) for k, a in actions.items()}

  def close(self):
    for env in self.envs:
      env.close()


@dataclasses.dataclass
class RolloutStats:
  """Counts and seconds of one rollout, by stage."""
  turns: int = 0
  sampled_tokens: int = 0
  env_steps: int = 0
  time_env_reset: float = 0.0
  time_env_step: float = 0.0
  time_prompt: float = 0.0      # prompt building + tokenisation
  time_sample: float = 0.0      # the sampler (prefill + decode, compiles included)
  time_decode: float = 0.0      # detokenisation + projection
  time_prefill: float = 0.0     # of time_sample: the prompt forward (set by the runner)
  time_decode_tokens: float = 0.0  # of time_sample: the token-by-token decode (runner)

  def metrics(self) -> dict:
    return {"rollout/turns": float(self.turns), "rollout/env_steps": float(self.env_steps),
            "rollout/sampled_tokens": float(self.sampled_tokens),
            "time/env_reset": self.time_env_reset, "time/env_step": self.time_env_step,
            "time/prompt": self.time_prompt, "time/sample": self.time_sample,
            "time/prefill": self.time_prefill, "time/decode_tokens": self.time_decode_tokens,
            "time/decode": self.time_decode}


def run_rollout(vec_env: VectorEnv, groups: Sequence[tuple[Task, int]], group_size: int,
                sample_fn: SampleFn, encode_prompt: Callable[[str], list[int]],
                decode: Callable[[Sequence[int]], str], agent: Agent,
                max_steps: int) -> tuple[list[Episode], RolloutStats]:
  """Rolls out `group_size` episodes of every (task, seed) in `groups`.

  Args:
    vec_env: at least len(groups) * group_size environments.
    groups: the G (task, seed) pairs.
    group_size: n environments per group.
    sample_fn: batched sampler (see module docstring).
    encode_prompt: prompt text -> token ids (the policy's `prompt_ids`; a too long prompt
      keeps its last tokens there: the reference errors instead, and a rollout should not die
      on one long observation).
    decode: response token ids -> text.
    agent: prompt builder and projection.
    max_steps: turn limit per episode.

  Returns:
    (episodes in group-major, trajectory order; stats).
  """
  stats = RolloutStats()
  clock = time.perf_counter
  requests = [(task, seed) for task, seed in groups for _ in range(group_size)]
  t = clock()
  first = vec_env.reset(requests)
  stats.time_env_reset += clock() - t
  episodes = [Episode(group=k // group_size, task=task) for k, (task, _) in enumerate(requests)]
  current = list(first)
  history: list[list[tuple[str, str]]] = [[] for _ in requests]
  active = [True] * len(requests)
  for _ in range(max_steps):
    idx = [k for k, a in enumerate(active) if a]
    if not idx:
      break
    t = clock()
    prompts = [encode_prompt(agent.build_prompt(task_context(first[k]), history[k],
                                                current[k].observation,
                                                current[k].admissible_actions)) for k in idx]
    t1 = clock()
    outputs = sample_fn(prompts)
    t2 = clock()
    stats.time_prompt += t1 - t
    stats.time_sample += t2 - t1
    actions, records = {}, {}
    for k, ids, out in zip(idx, prompts, outputs):
      resp, logps = out[0], out[1]
      text = decode(resp)
      action, valid = agent.project(text, current[k].admissible_actions)
      actions[k] = action
      records[k] = StepRecord(prompt_ids=ids, response_ids=list(resp),
                              observation=current[k].observation, action=action, valid=valid,
                              reward=0.0, sample_logprobs=logps,
                              frozen_hidden=out[2] if len(out) > 2 else None)
      stats.sampled_tokens += len(resp)
    t3 = clock()
    stats.time_decode += t3 - t2
    results = vec_env.step(actions)
    stats.time_env_step += clock() - t3
    stats.turns += 1
    stats.env_steps += len(actions)
    for k in idx:
      res = results[k]
      rec = records[k]
      rec.reward = float(res.reward)
      episodes[k].steps.append(rec)
      history[k].append((rec.observation, rec.action))
      current[k] = res
      if res.done:
        active[k] = False
        episodes[k].won = bool(res.won)
        # A pool reports a crashed worker's episode as done + info["truncated"].
        episodes[k].truncated = bool(res.info.get("truncated", False))
        episodes[k].info.update(res.info)
  for k, a in enumerate(active):
    if a:
      episodes[k].truncated = True
      episodes[k].info.update(current[k].info)
  return episodes, stats
