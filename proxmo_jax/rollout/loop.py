"""The multi-turn rollout: groups of environments stepped with the policy until done.

One rollout batch holds G task groups of n environments each; the n environments of a group
reset to the same task and seed (spec section 1). At every turn each active environment's prompt
is built from its history, all active prompts are sampled in one batched call, each response is
projected to an action and a validity flag, and the environments are stepped together. An
environment stays active through the step on which it reports `done`; after `max_steps` turns
the rest are truncated (reward 0, no terminal bonus).

Pluggable pieces (protocols below):
  * `VectorEnv`: resets and steps many environments (in-process `SerialVectorEnv`, or a worker
    pool with the same two methods);
  * `Agent`: the environment-specific prompt builder and projection;
  * `sample_fn`: prompts (token-id lists) -> (response ids, sampler log-probs) per prompt;
  * a tokenizer with `encode(str) -> list[int]` and `decode(list[int]) -> str`.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Optional, Protocol, Sequence

from environments.interface import StepResult, Task, TextEnv, task_context
from proxmo_jax.rollout.records import Episode, StepRecord


class VectorEnv(Protocol):

  def reset(self, requests: Sequence[tuple[Task, int]]) -> list[StepResult]:
    """Resets environment k to requests[k] = (task, seed); len(requests) <= num envs."""

  def step(self, actions: dict[int, str]) -> dict[int, StepResult]:
    """Steps the environments named by the keys; returns their results."""


class Agent(Protocol):

  def build_prompt(self, first_observation: str, history: Sequence[tuple[str, str]],
                   observation: str, admissible: Sequence[str]) -> str:
    """The text prompt at this turn (history: (observation, action) pairs so far).

    `first_observation` is `environments.interface.task_context` of the reset result: the task
    sentence where the env gives one (WebShop), else the first observation (ALFWorld)."""

  def project(self, text: str, admissible: Sequence[str]) -> tuple[str, bool]:
    """Model output -> (action sent to the env, validity flag)."""


class Tokenizer(Protocol):

  def encode(self, text: str) -> list[int]: ...

  def decode(self, ids: Sequence[int]) -> str: ...


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
  turns: int = 0
  sampled_tokens: int = 0
  env_steps: int = 0


def run_rollout(vec_env: VectorEnv, groups: Sequence[tuple[Task, int]], group_size: int,
                sample_fn: SampleFn, tokenizer: Tokenizer, agent: Agent, max_steps: int,
                max_prompt_tokens: Optional[int] = None) -> tuple[list[Episode], RolloutStats]:
  """Rolls out `group_size` episodes of every (task, seed) in `groups`.

  Args:
    vec_env: at least len(groups) * group_size environments.
    groups: the G (task, seed) pairs.
    group_size: n environments per group.
    sample_fn: batched sampler (see module docstring).
    tokenizer, agent: prompt / projection pieces.
    max_steps: turn limit per episode.
    max_prompt_tokens: if set, a longer prompt keeps its last `max_prompt_tokens` tokens
      (the reference errors instead; a rollout should not die on one long observation).

  Returns:
    (episodes in group-major, trajectory order; stats).
  """
  requests = [(task, seed) for task, seed in groups for _ in range(group_size)]
  first = vec_env.reset(requests)
  episodes = [Episode(group=k // group_size, task=task) for k, (task, _) in enumerate(requests)]
  current = list(first)
  history: list[list[tuple[str, str]]] = [[] for _ in requests]
  active = [True] * len(requests)
  stats = RolloutStats()
  for _ in range(max_steps):
    idx = [k for k, a in enumerate(active) if a]
    if not idx:
      break
    prompts = []
    for k in idx:
      text = agent.build_prompt(task_context(first[k]), history[k], current[k].observation,
                                current[k].admissible_actions)
      ids = tokenizer.encode(text)
      if max_prompt_tokens is not None and len(ids) > max_prompt_tokens:
        ids = ids[-max_prompt_tokens:]
      prompts.append(ids)
    outputs = sample_fn(prompts)
    actions, records = {}, {}
    for k, ids, (resp, logps) in zip(idx, prompts, outputs):
      text = tokenizer.decode(resp)
      action, valid = agent.project(text, current[k].admissible_actions)
      actions[k] = action
      records[k] = StepRecord(prompt_ids=ids, response_ids=list(resp),
                              observation=current[k].observation, action=action, valid=valid,
                              reward=0.0, sample_logprobs=logps)
      stats.sampled_tokens += len(resp)
    results = vec_env.step(actions)
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
