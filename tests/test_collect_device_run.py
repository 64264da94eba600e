"""experiments/collect_device_run.py: runs stopped at different iterations, paired at the last
evaluation that all of them reached."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))
import collect_device_run  # noqa: E402

FIELDS = {"env": "webshop", "columns": ["Score", "Succ."], "families": [], "headline": "Succ."}


def _row(succ):
  return {"Score": 2.0 * succ, "Succ.": float(succ)}


def _history(last):  # iteration k takes 10 k seconds, so sums are easy to check
  return [{"iteration": k, "kl": 0.01 * k, "time/iteration": 10.0 * k} for k in range(1, last + 1)]


def _config(iterations=8):
  return {"iterations": iterations, "model": {"preset": "smollm2-135m", "init": "gguf:x"},
          "env": {"name": "webshop", "group_size": 4, "groups_per_batch": 16, "max_steps": 10},
          "eval": {"num_tasks": 500, "every": 4}}


def _write(path, obj):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w") as f:
    json.dump(obj, f)


@pytest.fixture
def device_run(tmp_path):
  """GRPO finished its 8 iterations (a runs.json record); ProxMO was stopped after iteration 6
  with evaluations at 0 and 4."""
  root = str(tmp_path)
  grpo_evals = [[0, _row(40)], [4, _row(44)], [8, _row(47)]]
  record = {**FIELDS, "estimator": "grpo", "seed": 0, "start": _row(40), "final": _row(47),
            "curve": [[0, 40.0], [4, 44.0], [8, 47.0]], "evals": grpo_evals,
            "budget": {"budget": "cpu", "iterations": 8}, "final_kl": 0.08,
            "history": _history(8), "seconds": 999.0}
  _write(os.path.join(root, "grpo", "runs.json"), [record])
  _write(os.path.join(root, "grpo", "grpo_s0", "progress.json"),
         {"evals": grpo_evals, "seconds": 999.0, "final_kl": 0.08, "history": _history(8)})
  _write(os.path.join(root, "grpo", "grpo_s0", "config.json"), _config())
  _write(os.path.join(root, "proxmo", "proxmo_s0", "progress.json"),
         {"evals": [[0, _row(40)], [4, _row(45)]], "seconds": 700.0, "final_kl": 0.06,
          "history": _history(6)})
  _write(os.path.join(root, "proxmo", "proxmo_s0", "config.json"), _config())
  return root


def test_pairs_at_the_last_common_evaluation(device_run):
  records, dirs = collect_device_run.collect_runs(device_run)
  assert sorted(os.path.basename(d) for d in dirs) == ["grpo_s0", "proxmo_s0"]
  runs, last = collect_device_run.pair(records)
  assert last == 4
  by_name = {r["estimator"]: r for r in runs}
  for r in runs:
    assert [e[0] for e in r["evals"]] == [0, 4]
    assert [h["iteration"] for h in r["history"]] == [1, 2, 3, 4]
    assert r["seconds"] == 10.0 * (1 + 2 + 3 + 4)      # training iterations up to the cut
    assert r["budget"]["iterations"] == 4 and r["budget"]["planned_iterations"] == 8
    assert r["final_kl"] == pytest.approx(0.04)
    assert r["curve"][-1] == [4, r["final"]["Succ."]]
  assert by_name["proxmo"]["final"] == _row(45) and by_name["grpo"]["final"] == _row(44)
  # The stopped run takes the table fields of the finished one.
  assert {k: by_name["proxmo"][k] for k in FIELDS} == FIELDS
  assert by_name["proxmo"]["stopped"] and by_name["proxmo"]["budget"]["eval_tasks"] == 500


def test_a_run_without_that_evaluation_is_an_error():
  record = {**FIELDS, "estimator": "grpo", "seed": 0, "evals": [[0, _row(1)], [8, _row(2)]],
            "budget": {"iterations": 8}, "history": _history(8)}
  with pytest.raises(ValueError, match="no evaluation at iteration 4"):
    collect_device_run.cut(record, 4)


def test_main_writes_a_comparison(device_run, tmp_path):
  out = str(tmp_path / "out")
  collect_device_run.main([device_run, "--out", out])
  runs = json.load(open(os.path.join(out, "runs.json")))
  assert {r["estimator"] for r in runs} == {"grpo", "proxmo"}
  assert "proxmo - grpo" in open(os.path.join(out, "table.md")).read()
  assert os.path.exists(os.path.join(out, "proxmo_s0", "progress.json"))


def test_runs_that_all_stopped_take_the_table_from_the_environment(tmp_path):
  """The GPU run's usual case: no run finished, so no runs.json holds the table's fields."""
  from configs import common  # pylint: disable=import-outside-toplevel
  config = common.load("configs/corridor.py:proxmo").to_dict()
  config["iterations"], config["eval"]["every"] = 8, 4
  row = lambda x: {"easy": x, "medium": x, "hard": x, "All": x}
  for name, evals in (("proxmo", [[0, row(10.0)], [4, row(20.0)]]),
                      ("grpo", [[0, row(10.0)]])):
    run_dir = os.path.join(str(tmp_path), name, f"{name}_s0")
    _write(os.path.join(run_dir, "progress.json"),
           {"evals": evals, "seconds": 50.0, "final_kl": 0.05, "history": _history(5)})
    _write(os.path.join(run_dir, "config.json"), config)
  records, _ = collect_device_run.collect_runs(str(tmp_path))
  assert {r["headline"] for r in records} == {"All"}
  assert records[0]["columns"] == ["easy", "medium", "hard", "All"]
  runs, last = collect_device_run.pair(records)
  assert last == 0
  for r in runs:  # paired at the start: nothing trained, no KL, no time
    assert r["final"] == row(10.0) and r["history"] == [] and r["final_kl"] is None
    assert r["seconds"] == 0.0 and r["budget"]["planned_iterations"] == 8


def test_one_estimator_is_no_comparison(device_run):
  records, _ = collect_device_run.collect_runs(device_run)
  with pytest.raises(SystemExit, match="nothing to pair"):
    collect_device_run.pair([r for r in records if r["estimator"] == "grpo"])


def test_the_start_rows_come_from_the_run_that_evaluated_the_start(device_run, tmp_path):
  """In lockstep only the first run opened (ProxMO) evaluates the start; GRPO, first in the
  sorted run directories, reuses its row and has no step-0 evaluation in its metrics.jsonl."""
  with open(os.path.join(device_run, "grpo", "grpo_s0", "metrics.jsonl"), "w") as f:
    f.write(json.dumps({"step": 1, "kl": 0.01}) + "\n")
  with open(os.path.join(device_run, "proxmo", "proxmo_s0", "metrics.jsonl"), "w") as f:
    f.write(json.dumps({"step": 0, "eval/success_rate": 0.4, "eval/episode_length": 5.0}) + "\n")
  _write(os.path.join(device_run, "bc_train_eval", "eval_metrics.json"),
         {"train": {"success_rate": 0.45, "episode_length": 4.8, "episodes": 500}})
  _, dirs = collect_device_run.collect_runs(device_run)
  dest = str(tmp_path / "start")
  collect_device_run.publish_start(device_run, dirs, dest)
  rows = json.load(open(os.path.join(dest, "eval_metrics.json")))
  assert rows["device start (held-out)"] == {"success_rate": 0.4, "episode_length": 5.0,
                                             "episodes": 500}
  assert rows["device start (training tasks)"]["success_rate"] == 0.45


def test_a_stopped_run_takes_its_evaluation_size_from_its_log(device_run):
  """A split smaller than eval.num_tasks (ALFWorld's generated games): the Newcombe interval's
  n is the count the evaluations logged, not the 500 asked for."""
  with open(os.path.join(device_run, "proxmo", "proxmo_s0", "metrics.jsonl"), "w") as f:
    f.write(json.dumps({"step": 0, "eval/success_rate": 0.4, "eval/episodes": 238.0}) + "\n")
  records, _ = collect_device_run.collect_runs(device_run)
  by_name = {r["estimator"]: r for r in records}
  assert by_name["proxmo"]["budget"]["eval_tasks"] == 238
  assert "eval_tasks" not in by_name["grpo"]["budget"]  # its runs.json record, untouched


def test_a_cut_keeps_the_outcomes_up_to_the_cut():
  """Per-task outcomes past the pairing iteration are dropped with their evaluations."""
  record = {**FIELDS, "estimator": "proxmo", "seed": 0, "budget": {"iterations": 8},
            "evals": [[0, _row(40)], [4, _row(45)], [8, _row(50)]], "history": _history(8),
            "outcomes": {"0": {"a": 0}, "4": {"a": 1}, "8": {"a": 1}}}
  cut = collect_device_run.cut(record, 4)
  assert cut["outcomes"] == {"0": {"a": 0}, "4": {"a": 1}}
  assert record["outcomes"]["8"] == {"a": 1}  # the input is left as it was


def test_a_comparison_directory_in_progress_is_collected(device_run, tmp_path):
  """A CPU pair still running: compare_estimators.py's own output directory, one level of run
  directories and its command.txt at the top; --out must be another directory."""
  comparison = tmp_path / "compare_pair"
  comparison.mkdir()
  for name in ("grpo", "proxmo"):
    os.rename(os.path.join(device_run, name, f"{name}_s0"), comparison / f"{name}_s0")
  # GRPO finished (recorded in the comparison's runs.json), ProxMO is still going.
  os.rename(os.path.join(device_run, "grpo", "runs.json"), comparison / "runs.json")
  recorded = (comparison / "runs.json").read_text()
  (comparison / "command.txt").write_text("compare_estimators.py --lockstep ...\n")
  (comparison / "notes.md").write_text("Paused 16:36-16:46 UTC for a test run.\n")
  with pytest.raises(SystemExit, match="is the source"):
    collect_device_run.main([str(comparison), "--out", str(comparison)])
  out = str(tmp_path / "so_far")
  collect_device_run.main([str(comparison), "--out", out])
  runs = json.load(open(os.path.join(out, "runs.json")))
  assert {r["estimator"] for r in runs} == {"grpo", "proxmo"}
  assert all(r["budget"]["iterations"] == 4 for r in runs)  # paired at ProxMO's last evaluation
  assert open(os.path.join(out, "command.txt")).read() == "compare_estimators.py --lockstep ...\n"
  assert open(os.path.join(out, "notes.md")).read() == "Paused 16:36-16:46 UTC for a test run.\n"
  assert (comparison / "runs.json").read_text() == recorded  # the source is left as it was


def test_history_takes_the_keys_it_lacks_from_the_run_log(device_run):
  """Code older than a history key (the nonzero-advantage shares) logged it in metrics.jsonl
  only: each history row takes it from the last line of its iteration, its own keys kept."""
  lines = [{"step": 0, "eval/success_rate": 0.4},
           {"step": 1, "success_rate": 0.5, "kl": 9.0, "adv/total_nonzero": 0.25, "other": 1.0},
           {"step": 2, "success_rate": 0.5, "adv/total_nonzero": 0.75},  # stopped, run again:
           {"step": 2, "success_rate": 0.5, "adv/total_nonzero": 0.5}]   # the last one counts
  with open(os.path.join(device_run, "proxmo", "proxmo_s0", "metrics.jsonl"), "w") as f:
    f.write("".join(json.dumps(line) + "\n" for line in lines))
  records, _ = collect_device_run.collect_runs(device_run)
  history = {r["estimator"]: r["history"] for r in records}
  assert history["proxmo"][0] == {"iteration": 1, "kl": 0.01, "time/iteration": 10.0,
                                  "success_rate": 0.5, "adv/total_nonzero": 0.25}
  assert history["proxmo"][1]["adv/total_nonzero"] == 0.5
  assert "adv/total_nonzero" not in history["proxmo"][2]  # iteration 3: not logged
  assert history["grpo"] == _history(8)  # no log: untouched
