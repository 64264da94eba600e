"""The rollout loop on a tiny deterministic environment."""

from environments.interface import StepResult, Task, TextEnv
from proxmo_jax.rollout.loop import SerialVectorEnv, run_rollout


class CounterEnv(TextEnv):
  """Win by saying "up" `target` times; "down" is admissible but useless."""

  def reset(self, task, seed):
    self.target, self.count = int(task.payload) + seed, 0
    return StepResult(f"count 0 of {self.target}", admissible_actions=["up", "down"])

  def step(self, action):
    self.count += action == "up"
    won = self.count >= self.target
    return StepResult(f"count {self.count} of {self.target}", reward=10.0 * won, done=won,
                      won=won, admissible_actions=["up", "down"])


class WordTokenizer:
  vocab = ["<pad>", "up", "down", "x"]

  def encode(self, text):
    return [self.vocab.index(w) if w in self.vocab else 3 for w in text.split()]

  def decode(self, ids):
    return " ".join(self.vocab[i] for i in ids)


class EchoAgent:

  def build_prompt(self, first, history, obs, admissible):
    return f"{obs} " + " ".join(a for _, a in history)

  def project(self, text, admissible):
    return (text, True) if text in admissible else (text[-30:], False)


def test_groups_share_task_and_episodes_end_or_truncate():
  task = Task("toy", "t", "count", payload=2)
  calls = []

  def sample_fn(prompts):
    calls.append(len(prompts))
    # Environment k alternates deterministically: even ones always say "up".
    return [([1], None) if (len(p) % 2 == 0 or i % 2 == 0) else ([2], None)
            for i, p in enumerate(prompts)]

  envs = SerialVectorEnv([CounterEnv() for _ in range(4)])
  tok = WordTokenizer()
  episodes, stats = run_rollout(envs, [(task, 0), (task, 1)], group_size=2, sample_fn=sample_fn,
                                encode_prompt=tok.encode, decode=tok.decode, agent=EchoAgent(),
                                max_steps=5)
  assert [e.group for e in episodes] == [0, 0, 1, 1]
  assert episodes[0].won and episodes[0].length == 2 and episodes[0].total_reward == 10.0
  assert episodes[0].steps[-1].reward == 10.0 and episodes[0].steps[0].reward == 0.0
  assert episodes[0].steps[0].observation == "count 0 of 2"
  assert all(s.valid for e in episodes for s in e.steps)
  for e in episodes:
    assert e.won != e.truncated and e.length <= 5
  assert calls[0] == 4 and stats.turns == len(calls)
  assert stats.env_steps == sum(calls) == sum(e.length for e in episodes)
  m = stats.metrics()
  assert m["rollout/env_steps"] == stats.env_steps and m["time/sample"] >= 0.0


def test_step_limit_truncates_and_invalid_outputs_are_marked():
  """A task the step limit cuts short ends truncated, not won, with no reward; an output outside
  the admissible actions is marked invalid and still stepped (it does nothing here)."""
  task = Task("toy", "t", "count", payload=5)  # 5 "up"s needed (one seed a group), 3 allowed
  turn = []

  def sample_fn(prompts):
    turn.append(len(prompts))
    # Row 0 says "x" (not admissible) on the first turn; every other output is "up".
    return [([3], None) if (len(turn) == 1 and i == 0) else ([1], None)
            for i in range(len(prompts))]

  envs = SerialVectorEnv([CounterEnv() for _ in range(2)])
  tok = WordTokenizer()
  episodes, stats = run_rollout(envs, [(task, 0)], group_size=2, sample_fn=sample_fn,
                                encode_prompt=tok.encode, decode=tok.decode, agent=EchoAgent(),
                                max_steps=3)
  assert len(episodes) == 2 and stats.env_steps == 6
  for e in episodes:
    assert e.truncated and not e.won and e.length == 3 and e.total_reward == 0.0
    assert [s.reward for s in e.steps] == [0.0, 0.0, 0.0]
  assert [s.valid for s in episodes[0].steps] == [False, True, True]
  assert all(s.valid for s in episodes[1].steps)
  assert episodes[0].steps[1].observation == "count 0 of 5"  # "x" did not count
  assert episodes[1].steps[1].observation == "count 1 of 5"
