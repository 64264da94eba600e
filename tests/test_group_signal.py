"""experiments/group_signal.py counts, per rollout, the groups whose episode returns differ."""
import os
import sys

from environments.interface import Task
from proxmo_jax.rollout.records import Episode, StepRecord

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))

import group_signal  # noqa: E402


def _episode(group, rewards, won, prompt_len=5):
  steps = [StepRecord(prompt_ids=[1] * prompt_len, response_ids=[2, 3], observation="o",
                      action="a", valid=True, reward=r) for r in rewards]
  task = Task(env_name="toy", task_id=f"t{group}", task_type="x")
  return Episode(group=group, task=task, steps=steps, won=won)


def test_group_signal_counts_groups_with_unequal_returns_and_row_lengths():
  episodes = [_episode(0, [0.0, 10.0], True), _episode(0, [0.0, 10.0], True),   # equal
              _episode(1, [0.0, 10.0], True), _episode(1, [0.0, 0.0], False),   # unequal
              _episode(2, [0.0], False, prompt_len=9), _episode(2, [0.0], False)]  # equal
  row = group_signal.group_signal(episodes)
  assert row["episodes"] == 6 and row["groups"] == 3 and row["groups_unequal"] == 1
  assert row["success"] == 0.5
  # 10 step samples: 9 rows of 5 + 2 tokens and one of 9 + 2.
  assert row["step_samples"] == 10 and row["length_max"] == 11
  assert row["length_mean"] == (9 * 7 + 11) / 10 and row["length_median"] == 7.0
