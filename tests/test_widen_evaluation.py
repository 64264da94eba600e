"""experiments/widen_evaluation.py: a comparison's evaluations made again on more tasks are the
evaluations the comparison makes when asked for that many, reusing its chunks; another policy or
settings are refused."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))

import compare_estimators as ce  # noqa: E402
import widen_evaluation as wide  # noqa: E402
from proxmo_jax.training import eval_store  # noqa: E402
from tests import corridor_comparison  # noqa: E402


@pytest.mark.slow
def test_widened_evaluations_are_the_longer_comparisons(tmp_path, monkeypatch):
  """A 2-iteration comparison evaluated on 4 tasks (2 chunks of 2), widened to 6 at the start
  and at iteration 2, has the rows and per-task outcomes of the same comparison run with 6-task
  evaluations; only the third chunk is played, the first two are the comparison's own. (Two
  comparisons: 49-61 s on 2 cores, marked slow to keep the default suite short.)"""
  four, out, shared, sft = corridor_comparison.straight_run(tmp_path)
  six, = ce.compare("corridor", "smoke", ["grpo"], [0], {**shared, "eval.num_tasks": "6"},
                    str(tmp_path / "six"), "tiny", sft)
  assert len(six["outcomes"]["2"]) == 6 and len(four["outcomes"]["2"]) == 4

  played = []
  save = eval_store.EvalStore.save

  def counted_save(store, split, start, *args):
    played.append((os.path.basename(store.directory), start))
    return save(store, split, start, *args)
  monkeypatch.setattr(eval_store.EvalStore, "save", counted_save)
  result = wide.widen("corridor", "smoke", ["grpo"], [0], shared, str(out), "tiny", sft, 6,
                      [0, 2])
  assert played == [("iter_0", 4), ("iter_2", 4)]
  assert sorted(os.listdir(out / "eval_episodes_6" / "grpo_s0" / "iter_2" / "eval")) == [
      "p0_c0.json", "p0_c2.json", "p0_c4.json"]
  by_iteration = {e["iteration"]: e for e in result["evaluations"]}
  assert sorted(by_iteration) == [0, 2]
  for k in (0, 2):
    assert by_iteration[k]["outcomes"] == six["outcomes"][str(k)]
    assert by_iteration[k]["row"] == dict(six["evals"])[k]
  (diff,) = result["paired"]
  assert (diff["a"], diff["b"], diff["pairs"]) == ("grpo_s0/iter_2", "grpo_s0/iter_0", 6)
  assert json.load(open(out / "widened_6.json")) == json.loads(json.dumps(result))
  assert "grpo_s0 iteration 2:" in wide.summary(result)

  # Run again (e.g. after a stop) for iteration 2 alone: every chunk is read back, none played,
  # and the start's widened evaluation is kept in widened_6.json.
  played.clear()
  again = wide.widen("corridor", "smoke", ["grpo"], [0], shared, str(out), "tiny", sft, 6, [2])
  assert played == [] and again == json.loads(json.dumps(result))
  # Other settings than the comparison's, an iteration it did not evaluate or whose checkpoint
  # is gone, and more tasks than the split has are refused.
  with pytest.raises(SystemExit, match=r"config\.env differs"):
    wide.widen("corridor", "smoke", ["grpo"], [0], {**shared, "env.max_steps": "16"}, str(out),
               "tiny", sft, 6, [2])
  with pytest.raises(SystemExit, match="no checkpoint of step 7"):
    wide.widen("corridor", "smoke", ["grpo"], [0], shared, str(out), "tiny", sft, 6, [7])
  with pytest.raises(SystemExit, match="held-out split has"):
    wide.widen("corridor", "smoke", ["grpo"], [0], shared, str(out), "tiny", sft, 10 ** 6, [2])


def test_paired_differences_against_the_start_and_the_reference():
  """Each run at k against its seed's start; ProxMO against each other estimator at k."""
  def ev(estimator, k, won):
    return {"estimator": estimator, "seed": 0, "run": ce.run_dir_name(estimator, 0),
            "iteration": k, "outcomes": {f"t{i}": int(w) for i, w in enumerate(won)}}
  evaluations = [ev("proxmo", 0, [1, 0, 0, 0]), ev("proxmo", 8, [1, 1, 1, 0]),
                 ev("grpo", 8, [1, 1, 0, 0])]
  pairs = wide.paired_differences(evaluations, ["proxmo", "grpo"], [0])
  assert [(p["a"], p["b"]) for p in pairs] == [
      ("proxmo_s0/iter_8", "proxmo_s0/iter_0"), ("grpo_s0/iter_8", "proxmo_s0/iter_0"),
      ("proxmo_s0/iter_8", "grpo_s0/iter_8")]
  assert [(p["a_only"], p["b_only"], p["difference_points"]) for p in pairs] == [
      (2, 0, 50.0), (1, 0, 25.0), (1, 0, 25.0)]


def test_a_store_reuses_only_chunks_under_the_same_key(tmp_path):
  """EvalStore(reuse=...) copies another store's chunk whose key is this chunk's, and leaves one
  under another key (a shorter evaluation's partial last chunk) to be played."""
  import collections  # pylint: disable=import-outside-toplevel
  task = collections.namedtuple("Task", "task_id")
  requests = [(task("a"), 1000), (task("b"), 1001)]
  key = eval_store.chunk_key({"params": "p", "seed": 0}, requests)
  record = {"group": 0, "task_id": "a", "won": True, "truncated": False, "info": {}, "steps": []}
  short = eval_store.EvalStore(str(tmp_path / "short"), process=0)
  os.makedirs(tmp_path / "short" / "eval")
  with open(tmp_path / "short" / "eval" / "p0_c0.json", "w") as f:
    json.dump({"key": key, "seconds": 1.5, "episodes": [record]}, f)
  # Its chunk at 2 played one task where the longer evaluation's has two.
  short.save("eval", 2, eval_store.chunk_key({"params": "p", "seed": 0}, requests[:1]), [], 0.5)
  longer = eval_store.EvalStore(str(tmp_path / "long"), process=0, reuse=[short.directory])
  episodes, seconds = longer.load("eval", 0, key, requests)
  assert seconds == 1.5 and [e.task.task_id for e in episodes] == ["a"] and episodes[0].won
  assert os.path.exists(tmp_path / "long" / "eval" / "p0_c0.json")
  assert longer.load("eval", 2, eval_store.chunk_key({"params": "p", "seed": 0}, requests),
                     requests) is None
  assert not os.path.exists(tmp_path / "long" / "eval" / "p0_c2.json")
