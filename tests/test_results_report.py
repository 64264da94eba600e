"""The results report is computed from runs.json: table, per-seed changes, commands, reading."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))

import make_results  # noqa: E402


def _row(all_value):
  cols = ["Pick", "Look", "Clean", "Heat", "Cool", "Pick2"]
  row = {c: None for c in cols}
  row["Pick"] = row["All"] = all_value
  return row


def _webshop_row(score):
  return {"Score": score, "Succ.": 0.0}


def _write_comparison(directory, finals, start=10.0, kl=0.05, row=_row):
  """finals: {estimator: [final headline per seed]}; every seed starts at `start`."""
  runs = []
  for name, values in finals.items():
    for seed, value in enumerate(values):
      runs.append({"estimator": name, "seed": seed, "start": row(start), "final": row(value),
                   "curve": [[0, start], [4, value]], "seconds": 60.0})
      run_dir = directory / f"{name}_s{seed}"
      run_dir.mkdir()
      (run_dir / "metrics.jsonl").write_text(json.dumps({"kl": kl}) + "\n")
      (run_dir / "config.json").write_text(json.dumps(
          {"iterations": 4, "model": {"preset": "tiny"},
           "env": {"group_size": 8, "groups_per_batch": 4}}))
  (directory / "runs.json").write_text(json.dumps(runs))


def test_compare_section_tables_and_reading(tmp_path):
  pytest.importorskip("matplotlib")
  d = tmp_path / "cmp"
  d.mkdir()
  _write_comparison(d, {"grpo": [10.0, 12.0, 8.0], "proxmo": [30.0, 32.0, 28.0]})
  (d / "command.txt").write_text("python a.py --estimators grpo\npython a.py --estimators proxmo\n")
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  # Mean and normal-approximation 95 % interval over the three seeds: 1.96 * std(ddof=1) / sqrt(3).
  assert "| proxmo | 3 | 30.0 ± 2.3 |" in text
  assert "| grpo | 3 | 10.0 ± 2.3 |" in text
  assert "| proxmo | 10.0 -> 30.0 | 10.0 -> 32.0 | 10.0 -> 28.0 | +20.0 |" in text
  # Both invocations that contributed runs are listed, in order.
  assert text.index("`python a.py --estimators grpo`") < text.index(
      "`python a.py --estimators proxmo`")
  assert "ProxMO 30.0 vs grpo 10.0 final All (change from the start +20.0 vs +0.0): the 95 % " \
         "intervals do not overlap." in text
  assert "- proxmo: held-out All changed by +20.0 points" in text
  assert "rose in 3 of 3 seeds" in text
  assert "the policies moved away from the start" in text
  assert "Every estimator ended at the same" not in text
  assert (d / "curves.png").exists() and (d / "by_task.png").exists()


def test_compare_section_flags_a_policy_that_did_not_move(tmp_path):
  pytest.importorskip("matplotlib")
  d = tmp_path / "cmp"
  d.mkdir()
  _write_comparison(d, {"grpo": [10.0, 10.0], "proxmo": [10.0, 10.0]}, kl=2e-4)
  (d / "command.txt").write_text("python a.py\n")
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert "Command: `python a.py`" in text
  assert "The policies hardly moved" in text
  assert "Every estimator ended at the same held-out All in each seed" in text
  assert "overlap, so this run does not separate them" in text


def test_compare_section_webshop_reports_score_and_success(tmp_path):
  pytest.importorskip("matplotlib")
  d = tmp_path / "cmp"
  d.mkdir()
  _write_comparison(d, {"grpo": [5.0, 7.0, 3.0], "proxmo": [9.0, 11.0, 7.0]}, start=4.0,
                    row=_webshop_row)
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert "| proxmo | 3 | 9.0 ± 2.3 | 0.0 ± 0.0 |" in text
  assert "Held-out Score per seed" in text and "Held-out Succ. per seed" in text
  assert "| proxmo | 4.0 -> 9.0 | 4.0 -> 11.0 | 4.0 -> 7.0 | +5.0 |" in text
  assert "- proxmo: held-out Score changed by +5.0 points" in text
  assert "- proxmo: held-out Succ. changed by +0.0 points" in text
