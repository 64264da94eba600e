"""experiments/paired_evaluations.py: two stored evaluations paired by task, on made-up chunk
files whose 2 x 2 table is known."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))
import paired_evaluations  # noqa: E402


def _write(directory, outcomes, chunk=16):
  """outcomes: [(task_id, won)] written as evaluate.py's chunks of `chunk` episodes (each
  episode's group is its place in its chunk, as the rollout numbers them)."""
  os.makedirs(directory)
  for c in range(0, len(outcomes), chunk):
    episodes = [{"group": g, "task_id": t, "won": w, "truncated": not w, "info": {}, "steps": []}
                for g, (t, w) in enumerate(outcomes[c:c + chunk])]
    with open(os.path.join(directory, f"p0_c{c}.json"), "w") as f:
      json.dump({"key": {}, "seconds": 1.0, "episodes": episodes}, f)


def test_a_published_paired_table_from_episodes(tmp_path, capsys):
  # The paired table [[59, 6], [16, 80]] (Fagerland, Lydersen and Laake, ch. 8; the example
  # tests/test_results_report.py checks the interval on): A - B = (6 - 16) / 161 = -6.2 points,
  # 95 % interval [-11.9, -0.5]. B's chunks in another order and size: pairing is by task.
  table = [(True, True)] * 59 + [(True, False)] * 6 + [(False, True)] * 16 + [(False, False)] * 80
  a = [(f"game{i}", x) for i, (x, _) in enumerate(table)]
  b = [(f"game{i}", y) for i, (_, y) in enumerate(table)][::-1]
  _write(tmp_path / "a", a)
  _write(tmp_path / "b", b, chunk=7)
  paired_evaluations.main([str(tmp_path / "a"), str(tmp_path / "b")])
  out = json.loads(capsys.readouterr().out)
  assert (out["pairs"], out["a_won"], out["b_won"]) == (161, 65, 75)
  assert (out["both"], out["a_only"], out["b_only"], out["neither"]) == (59, 6, 16, 80)
  assert out["difference_points"] == -6.2 and out["interval_95"] == [-11.9, -0.5]
  assert out["unpaired"] == {"a": 0, "b": 0}


def test_episodes_of_one_side_only_are_counted_and_left_out(tmp_path):
  # A still running: 3 of B's 5 games evaluated. Paired: A won games 0 and 1, B games 1 and 2.
  _write(tmp_path / "a", [("g0", True), ("g1", True), ("g2", False)])
  _write(tmp_path / "b", [("g0", False), ("g1", True), ("g2", True), ("g3", True), ("g4", False)])
  out = paired_evaluations.paired(paired_evaluations.outcomes(str(tmp_path / "a")),
                                  paired_evaluations.outcomes(str(tmp_path / "b")))
  assert (out["pairs"], out["both"], out["a_only"], out["b_only"],
          out["neither"]) == (3, 1, 1, 1, 0)
  assert out["difference_points"] == 0.0 and out["unpaired"] == {"a": 0, "b": 2}
  # Both, A only, B only, neither = 1, 1, 1, 0: ad - bc = -1 < 0 keeps phi = -1 / sqrt(2 * 1 * 2
  # * 1) = -0.5, which widens the interval to +-64.0 (+-53.3 with phi = 0).
  assert out["interval_95"] == [-64.0, 64.0]


def test_a_task_played_twice_pairs_in_order_across_chunks(tmp_path):
  # Chunks c0, c2, ..., c10: by name c10 sorts before c2, by first episode after it. Task t
  # is played three times in each evaluation (won, lost, won in A; lost, lost, won in B).
  _write(tmp_path / "a", [("t", True), ("u", False), ("t", False), ("v", True), ("w", False),
                          ("x", False), ("y", False), ("z", False), ("s", False), ("r", False),
                          ("t", True)], chunk=2)
  a = paired_evaluations.outcomes(str(tmp_path / "a"))
  assert [a[("t", n)] for n in range(3)] == [True, False, True]
  _write(tmp_path / "b", [("t", False), ("t", False), ("t", True)], chunk=1)
  b = paired_evaluations.outcomes(str(tmp_path / "b"))
  out = paired_evaluations.paired(a, b)
  assert (out["pairs"], out["both"], out["a_only"], out["b_only"]) == (3, 1, 1, 0)


def test_bad_directories_are_errors_naming_the_fix(tmp_path):
  os.makedirs(tmp_path / "empty")
  with pytest.raises(SystemExit, match="no p<process>_c<start>.json chunks"):
    paired_evaluations.outcomes(str(tmp_path / "empty"))
  _write(tmp_path / "a", [("g0", True)])
  _write(tmp_path / "b", [("h0", True)])
  with pytest.raises(SystemExit, match="share no task"):
    paired_evaluations.paired(paired_evaluations.outcomes(str(tmp_path / "a")),
                              paired_evaluations.outcomes(str(tmp_path / "b")))
