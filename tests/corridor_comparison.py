"""The small corridor comparison that the comparison script's tests and the widened-evaluation
test start from (experiments/compare_estimators.py must be importable as `compare_estimators`)."""

# A 3-step clone as the start, 2 groups of 2 episodes per iteration, evaluations of 4 tasks in 2
# chunks of 2 episodes.
OVERRIDES = {"sft.steps": "3", "env.group_size": "2", "env.groups_per_batch": "2",
             "eval.num_tasks": "4", "eval.batch": "2"}


def straight_run(tmp_path):
  """A straight 2-iteration GRPO comparison on the corridor under OVERRIDES: (its record, its
  directory, the overrides that later runs share with it, the start's sft directory)."""
  import compare_estimators as ce  # pylint: disable=import-outside-toplevel
  out = tmp_path / "straight"
  straight, = ce.compare("corridor", "smoke", ["grpo"], [0], OVERRIDES, str(out))
  shared = {**OVERRIDES, "tokenizer.path": str(out / "tokenizer.model")}
  return straight, out, shared, str(out / "sft")
