"""experiments/remake_check.py: a comparison made again is set against the first iteration by
iteration (training metrics less timings, held-out outcomes per game), from runs.json or a run's
progress.json, and the first difference is named."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))

import remake_check  # noqa: E402


def _history(iteration, kl, seconds, success=0.5):
  return {"iteration": iteration, "success_rate": success, "kl": kl, "grad_norm": 0.1,
          "time/iteration": seconds, "compile/count": 3.0}


def _write_runs(directory, records):
  os.makedirs(directory, exist_ok=True)
  with open(os.path.join(directory, "runs.json"), "w") as f:
    json.dump(records, f)


def test_episode_counts_decide_floats_and_timings_do_not_and_the_first_difference_is_named(
    tmp_path, capsys):
  first = {"estimator": "proxmo", "seed": 0,
           "history": [_history(1, 0.001, 900.0), _history(2, 0.002, 950.0)],
           "outcomes": {"0": {"a": 1, "b": 0, "c": 1}, "2": {"a": 1, "b": 1, "c": 0}}}
  _write_runs(tmp_path / "first", [first])
  # The remake under way: iteration 1 the same episodes with another KL and time, iteration 2
  # another success rate, the start's evaluation the same, iteration 2's with game c won.
  run = tmp_path / "remade" / "proxmo_s0"
  os.makedirs(run)
  with open(run / "progress.json", "w") as f:
    json.dump({"history": [_history(1, 0.00125, 1200.0), _history(2, 0.002, 950.0, 0.75)],
               "outcomes": {"0": {"a": 1, "b": 0, "c": 1}, "2": {"a": 1, "b": 1, "c": 1}}}, f)
  summary = remake_check.check(str(tmp_path / "first"), str(tmp_path / "remade"))
  out = capsys.readouterr().out
  # kl 0.001 vs 0.00125: |difference| / the larger = 0.2
  assert ("proxmo_s0 iteration 1: the same episode counts; KL, entropy and the rest differ by at "
          "most 2.0e-01 (relative)") in out
  assert "proxmo_s0 iteration 2: other episodes: success_rate 0.5 vs 0.75; " in out
  assert "evaluation at 0: 3 games in both, 0 with another outcome (2 vs 2 won)" in out
  assert "evaluation at 2: 3 games in both, 1 with another outcome (2 vs 3 won)" in out
  assert summary == {"runs": ["proxmo_s0"], "iterations": 2, "evaluations": 2,
                     "first_difference": {"run": "proxmo_s0", "iteration": 2,
                                          "training": ["success_rate"]}}


def test_the_first_difference_is_the_earliest_over_all_runs(tmp_path):
  """grpo's start evaluation differs before proxmo's iteration 2, though proxmo comes first."""
  same = {"estimator": "proxmo", "seed": 0, "history": [_history(1, 0.001, 900.0)],
          "outcomes": {"0": {"a": 1}}}
  grpo = {"estimator": "grpo", "seed": 0, "history": [], "outcomes": {"0": {"a": 1}}}
  _write_runs(tmp_path / "first", [{**same, "history": same["history"] + [_history(2, 0, 0)]},
                                   grpo])
  _write_runs(tmp_path / "remade", [{**same, "history": same["history"] +
                                     [_history(2, 0, 0, success=0.25)]},
                                    {**grpo, "outcomes": {"0": {"a": 0}}}])
  summary = remake_check.check(str(tmp_path / "first"), str(tmp_path / "remade"))
  assert summary["first_difference"] == {"run": "grpo_s0", "evaluation": 0, "games": 1}


def test_an_exact_remake_has_no_difference_and_only_common_iterations_count(tmp_path, capsys):
  record = {"estimator": "grpo", "seed": 0,
            "history": [_history(i, 0.001 * i, 800.0) for i in (1, 2, 3)],
            "outcomes": {"0": {"a": 0, "b": 1}, "3": {"a": 1, "b": 1}}}
  _write_runs(tmp_path / "first", [record])
  # Stopped after iteration 2, before its second evaluation; a key the older code did not keep.
  # Its runs.json records 1 iteration, its progress.json 2: the progress is read.
  partial = {**record, "history": [{**h, "adv/total_nonzero": 0.5} for h in record["history"][:2]],
             "outcomes": {"0": record["outcomes"]["0"]}}
  _write_runs(tmp_path / "remade", [{**partial, "history": partial["history"][:1]}])
  os.makedirs(tmp_path / "remade" / "grpo_s0")
  with open(tmp_path / "remade" / "grpo_s0" / "progress.json", "w") as f:
    json.dump(partial, f)
  summary = remake_check.check(str(tmp_path / "first"), str(tmp_path / "remade"))
  assert summary["first_difference"] is None
  assert (summary["iterations"], summary["evaluations"]) == (2, 1)
  assert "recorded on one side only: adv/total_nonzero" in capsys.readouterr().out


def test_directories_without_runs_or_in_common_are_refused(tmp_path):
  os.makedirs(tmp_path / "empty")
  with pytest.raises(SystemExit, match="neither runs.json nor"):
    remake_check.load_runs(str(tmp_path / "empty"))
  _write_runs(tmp_path / "a", [{"estimator": "proxmo", "seed": 0, "history": []}])
  _write_runs(tmp_path / "b", [{"estimator": "grpo", "seed": 0, "history": []}])
  with pytest.raises(SystemExit, match="no run in both"):
    remake_check.check(str(tmp_path / "a"), str(tmp_path / "b"))


def test_the_committed_pair_repeats_itself():
  """The published ALFWorld pair against itself: every iteration and evaluation compared."""
  pair = os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments", "results",
                      "compare_alfworld_smollm2_v4")
  summary = remake_check.check(pair, pair)
  assert summary == {"runs": ["grpo_s0", "proxmo_s0"], "iterations": 16, "evaluations": 6,
                     "first_difference": None}
