"""compare_estimators: its summaries on synthetic runs (intervals, paired differences, the sweep
table), argument parsing, the per-environment config and the recorded commands; and, training on
the corridor testbed, a comparison stopped part way that resumes where the straight one ends."""
import glob
import json
import math
import os
import shutil
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))

import compare_estimators as ce  # noqa: E402
from tests import corridor_comparison  # noqa: E402

SPEC = {"env": "corridor", "families": ["easy", "hard"], "columns": ["easy", "hard", "All"],
        "headline": "All"}


def _runs(finals, start=10.0):
  """finals: {estimator: [final All per seed]}."""
  runs = []
  for name, values in finals.items():
    for seed, v in enumerate(values):
      row = {"easy": v, "hard": None, "All": v}
      runs.append({**SPEC, "estimator": name, "seed": seed, "seconds": 30.0,
                   "start": {"easy": start, "hard": None, "All": start}, "final": row,
                   "curve": [[0, start], [2, v]], "evals": [[0, {}], [2, row]]})
  return runs


def test_t_quantiles():
  assert ce.t975(2) == pytest.approx(4.3027)
  assert ce.t975(30) == pytest.approx(2.0423)
  stats = pytest.importorskip("scipy.stats")
  for df in range(1, 31):  # the table, to its 4 decimals
    assert ce.t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=5e-5), df
  for df in (31, 40, 60, 200):
    assert ce.t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-4)


def test_mean_ci_is_the_student_t_interval():
  mean, half = ce.mean_ci([30.0, 34.0, 29.0, None])
  assert mean == pytest.approx(31.0)
  assert half == pytest.approx(4.3027 * math.sqrt(7.0) / math.sqrt(3.0), rel=1e-4)
  assert ce.mean_ci([]) == (None, None)
  m, h = ce.mean_ci([5.0])
  assert m == 5.0 and math.isnan(h)


def test_paired_difference_by_seed():
  runs = _runs({"proxmo": [30.0, 34.0, 29.0], "gigpo": [28.0, 30.0, 29.0],
                "grpo": [10.0, 12.0, 8.0, 50.0]})
  d = ce.paired_difference(runs, "All", "proxmo", "gigpo")
  assert d["seeds"] == [0, 1, 2] and d["diffs"] == [2.0, 4.0, 0.0]
  assert d["mean"] == pytest.approx(2.0)
  assert d["half"] == pytest.approx(4.3027 * 2.0 / math.sqrt(3.0), rel=1e-4)
  assert not d["excludes_zero"]
  # grpo's seed 3 has no proxmo partner and is left out.
  d = ce.paired_difference(runs, "All", "proxmo", "grpo")
  assert d["diffs"] == [20.0, 22.0, 21.0] and d["excludes_zero"]
  assert ce.paired_difference(runs, "All", "proxmo", "rloo")["mean"] is None


def test_rose_above_start_counts_seeds():
  runs = _runs({"proxmo": [12.0, 10.0, 8.0, 11.0]})
  assert ce.rose_above_start(runs, "proxmo", "All") == (2, 4)


def test_final_and_paired_tables():
  runs = _runs({"grpo": [10.0, 12.0, 8.0], "proxmo": [30.0, 34.0, 29.0]})
  table = ce.final_table(runs, SPEC["columns"], "All")
  assert "| Estimator | seeds | easy | hard | All | rose above start (All) | wall min |" in table
  assert "| proxmo | 3 | 31.0 ± 6.6 | - | 31.0 ± 6.6 | 3 of 3 | 0.5 |" in table
  assert "| grpo | 3 | 10.0 ± 5.0 | - | 10.0 ± 5.0 | 1 of 3 | 0.5 |" in table
  paired = ce.paired_table(runs, "All")
  assert "| proxmo - grpo | 3 | +20.0, +22.0, +21.0 | +21.0 ± 2.5 | yes |" in paired


def test_sweep_table_rows_per_value():
  entries = [("0", _runs({"grpo": [10.0, 12.0, 8.0], "gigpo": [28.0, 30.0, 29.0],
                          "proxmo": [30.0, 34.0, 29.0]})),
             ("0.5", _runs({"grpo": [5.0, 5.0], "gigpo": [6.0, 8.0], "proxmo": [7.0, 7.0]})),
             ("1", [])]
  table = ce.sweep_table("env.paraphrase_rate", entries).splitlines()
  assert table[0] == ("| env.paraphrase_rate | grpo | gigpo | proxmo | proxmo - gigpo | "
                      "excludes 0 | proxmo - grpo | excludes 0 |")
  assert table[2] == ("| 0 | 10.0 ± 5.0 | 29.0 ± 2.5 | 31.0 ± 6.6 | +2.0 ± 5.0 | no | "
                      "+21.0 ± 2.5 | yes |")
  # Two seeds: t(1) = 12.706; proxmo - gigpo = +1, -1 -> mean 0, half 12.706 * sqrt(2) / sqrt(2).
  assert table[3] == ("| 0.5 | 5.0 ± 0.0 | 7.0 ± 12.7 | 7.0 ± 0.0 | +0.0 ± 12.7 | no | "
                      "+2.0 ± 0.0 | yes |")
  assert table[4] == "| 1 | - | - | - | - | - | - | - |"


def test_sweep_report_writes_summary(tmp_path):
  for v, finals in (("0", {"grpo": [1.0], "proxmo": [3.0]}),
                    ("1", {"grpo": [2.0], "proxmo": [2.0]})):
    sub = tmp_path / ce.sweep_dir("env.paraphrase_rate", v)
    sub.mkdir()
    (sub / "runs.json").write_text(json.dumps(_runs(finals)))
  text = ce.sweep_report(str(tmp_path), "env.paraphrase_rate", ["0", "1"])
  assert ("| 0 | 1.0 (one seed) | 3.0 (one seed) | - | - | +2.0 (one seed) | n/a (one seed) |"
          in text)
  saved = json.loads((tmp_path / "sweep.json").read_text())
  assert saved["dirs"] == ["env.paraphrase_rate=0", "env.paraphrase_rate=1"]
  assert (tmp_path / "sweep.md").read_text().strip() == text.strip()


def test_report_without_families_draws_no_bar_chart(tmp_path):
  pytest.importorskip("matplotlib")
  runs = [dict(r, families=[]) for r in _runs({"grpo": [1.0, 2.0], "proxmo": [3.0, 4.0]})]
  text = ce.report(runs, str(tmp_path))
  assert "Paired differences of the final All" in text
  assert (tmp_path / "curves.png").exists() and not (tmp_path / "by_task.png").exists()
  assert (tmp_path / "table.md").read_text().strip() == text


def test_parse_sweep():
  assert ce.parse_sweep("env.paraphrase_rate=0, 0.5,1") == ("env.paraphrase_rate",
                                                             ["0", "0.5", "1"])
  for bad in ("env.paraphrase_rate", "=0,1", "env.paraphrase_rate= ,"):
    with pytest.raises(SystemExit, match=r"use FIELD=v1,v2"):
      ce.parse_sweep(bad)


def test_lockstep_turns_alternate_and_bring_resumed_runs_back_into_step():
  def turns(iterations, last=4):
    """Every (run, iteration it reaches) in the order the lockstep steps them."""
    iterations, out = list(iterations), []
    while min(iterations) < last:
      for i in ce.lockstep_turn(iterations):
        iterations[i] += 1
        out.append((i, iterations[i]))
    return out
  # Fresh: 0 first, then 1 first, then 0 first, ... (who compiles a new shape first alternates).
  assert turns([0, 0]) == [(0, 1), (1, 1), (1, 2), (0, 2), (0, 3), (1, 3), (1, 4), (0, 4)]
  # Resumed with run 0 one iteration behind (the session of 2026-12-05 stopped between them):
  # run 0 catches up alone, then the order is the fresh run's.
  assert turns([1, 2]) == [(0, 2), (0, 3), (1, 3), (1, 4), (0, 4)]
  assert turns([2, 1]) == [(1, 2), (0, 3), (1, 3), (1, 4), (0, 4)]
  assert ce.lockstep_turn([3, 3, 5]) == [1, 0]


def test_make_config_uses_the_env_file_and_the_estimator_names():
  c = ce.make_config("alfworld", "cpu", "gigpo", {"env.max_steps": "7"}, 3)
  assert (c.env.name, c.model.preset, c.seed) == ("alfworld", "tiny", 3)
  assert (c.algorithm.estimator, c.algorithm.gigpo_mode) == ("gigpo", "mean_norm")
  assert (c.iterations, c.eval.every, c.env.max_steps) == (12, 4, 7)
  c = ce.make_config("webshop", "smoke", "gigpo_std", {}, 0)
  assert (c.env.name, c.algorithm.gigpo_mode, c.iterations) == ("webshop", "mean_std_norm", 2)
  assert ce.make_config("webshop", "full", "grpo", {}, 0).model.preset != "tiny"
  with pytest.raises(SystemExit, match="no configs/nowhere.py"):
    ce.make_config("nowhere", "cpu", "proxmo", {}, 0)
  with pytest.raises(ValueError, match="does not exist"):
    ce.make_config("alfworld", "cpu", "proxmo", {"env.no_such_field": "1"}, 0)


def test_an_interrupted_run_resumes_where_the_straight_run_ends(tmp_path, monkeypatch):
  """A run stopped after iteration 1 (its checkpoint and evaluations saved), then stopped again
  inside iteration 2's evaluation after its first chunk of episodes, and continued, ends with
  the same evaluations as a straight 2-iteration run from the same start, reading that chunk
  back instead of running it again; the start given with --start is used, not cloned again.
  (The lockstep and continued comparisons: the slow test below.)"""
  from proxmo_jax.training import eval_store  # pylint: disable=import-outside-toplevel
  straight, out, shared, sft = corridor_comparison.straight_run(tmp_path)
  assert [it for it, _ in straight["evals"]] == [0, 1, 2]
  assert sorted(os.listdir(out / "eval_episodes" / "grpo_s0")) == ["iter_0", "iter_1", "iter_2"]
  assert sorted(os.listdir(out / "eval_episodes" / "grpo_s0" / "iter_2" / "eval")) == [
      "p0_c0.json", "p0_c2.json"]
  start_files = lambda: {p: os.stat(p).st_mtime_ns for p in glob.glob(os.path.join(sft, "*"))}
  start_before = start_files()
  assert os.path.join(sft, "params.npz") in start_before
  workdir = str(tmp_path / "stopped" / "grpo_s0")
  first = ce.train_one(ce.make_config("corridor", "smoke", "grpo", {**shared, "iterations": "1"},
                                      0), "smoke", workdir, sft, straight["start"],
                       straight["outcomes"]["0"])
  assert [it for it, _ in first["evals"]] == [0, 1]
  # The second attempt stops when iteration 2's evaluation has run its second chunk, before
  # storing it; the third reads the first chunk back and runs the second.
  save, load, loaded = eval_store.EvalStore.save, eval_store.EvalStore.load, []

  def stop_at_second_chunk(store, split, start, *args):
    if start > 0 and store.directory.endswith("iter_2"):
      raise KeyboardInterrupt("stopped inside the evaluation")
    return save(store, split, start, *args)

  def counted_load(store, split, start, *args):
    found = load(store, split, start, *args)
    loaded.extend([(os.path.basename(store.directory), start)] if found else [])
    return found

  monkeypatch.setattr(eval_store.EvalStore, "save", stop_at_second_chunk)
  with pytest.raises(KeyboardInterrupt, match="inside the evaluation"):
    ce.train_one(ce.make_config("corridor", "smoke", "grpo", shared, 0), "smoke", workdir, sft,
                 straight["start"], straight["outcomes"]["0"])
  monkeypatch.setattr(eval_store.EvalStore, "save", save)
  monkeypatch.setattr(eval_store.EvalStore, "load", counted_load)
  resumed = ce.train_one(ce.make_config("corridor", "smoke", "grpo", shared, 0), "smoke",
                         workdir, sft, straight["start"], straight["outcomes"]["0"])
  assert loaded == [("iter_2", 0)]
  assert resumed["evals"] == straight["evals"]
  # Per-task outcomes of every evaluation (the paired interval's pairs), kept across the stop.
  assert sorted(straight["outcomes"]) == ["0", "1", "2"]
  assert all(len(o) == 4 and set(o.values()) <= {0, 1} for o in straight["outcomes"].values())
  assert resumed["outcomes"] == straight["outcomes"]
  # Iteration 2's training metrics (sampled tokens, entropy, KL, gradient norm) show the same
  # rollouts and update, so the policy continued exactly.
  last = lambda d: _comparable([m for m in map(json.loads, open(os.path.join(
      d, "metrics.jsonl")).read().splitlines()) if "kl" in m][-1])
  second = last(workdir)
  assert second["step"] == 2 and second["kl"] > 0
  assert second == last(str(out / "grpo_s0"))
  assert resumed["final_kl"] == straight["final_kl"]
  # The three attempts trained from the straight run's start as it was: nothing in its
  # directory was written again, and none made a start of its own.
  assert start_files() == start_before
  assert sorted(os.listdir(tmp_path / "stopped")) == ["eval_episodes", "grpo_s0"]
  # The per-iteration training metrics survive the stop: iteration 1 from progress.json.
  assert [h["iteration"] for h in resumed["history"]] == [1, 2]
  assert [h["iteration"] for h in straight["history"]] == [1, 2]
  for mine, theirs in zip(resumed["history"], straight["history"]):
    assert _comparable(mine) == _comparable(theirs)
  with pytest.raises(SystemExit, match="no params.npz"):
    ce.compare("corridor", "smoke", ["grpo"], [0], shared, str(tmp_path / "x"), "tiny",
               str(tmp_path / "nowhere"))


@pytest.mark.slow
def test_lockstep_and_continued_comparisons_end_where_the_straight_run_ends(tmp_path):
  """The straight run of the test above, advanced in lockstep with another estimator; a
  comparison recorded at 1 iteration and continued to 2, alone and in lockstep; a run whose
  directory is gone cannot be continued. (Split from the resume test above, which took 168 s
  on 2 cores with both, and marked slow to keep the default suite short.)"""
  straight, _, shared, sft = corridor_comparison.straight_run(tmp_path)
  # In lockstep (rloo and grpo in turn in one process, grpo second in the first round and
  # first in the second) grpo's run is the one it has alone, and grpo reuses the start's
  # evaluation that rloo, opened first, made.
  lock = ce.compare("corridor", "smoke", ["rloo", "grpo"], [0], shared, str(tmp_path / "lock"),
                    "tiny", sft, lockstep=True)
  assert [r["estimator"] for r in lock] == ["rloo", "grpo"]
  grpo = lock[1]
  assert grpo["evals"] == straight["evals"] and grpo["start"] == lock[0]["start"]
  assert grpo["outcomes"] == straight["outcomes"]
  assert lock[0]["outcomes"]["0"] == grpo["outcomes"]["0"]
  for mine, theirs in zip(grpo["history"], straight["history"]):
    assert _comparable(mine) == pytest.approx(_comparable(theirs), rel=1e-5, abs=1e-7)
  assert [h["iteration"] for h in lock[0]["history"]] == [1, 2]
  assert "time/compile" in grpo["history"][0]
  assert 0 < grpo["seconds"] < sum(r["seconds"] for r in lock)
  # A comparison of 1 iteration asked again for 2 continues its run from the checkpoint and
  # ends where the straight 2-iteration run does, with one record; a run whose directory is
  # gone cannot be continued.
  ext = tmp_path / "extended"
  short, = ce.compare("corridor", "smoke", ["grpo"], [0], {**shared, "iterations": "1"},
                      str(ext), "tiny", sft)
  assert [it for it, _ in short["evals"]] == [0, 1] and short["budget"]["iterations"] == 1
  finished = {p: os.stat(p).st_mtime_ns for p in glob.glob(str(ext / "eval_episodes" / "**" /
                                                                 "*.json"), recursive=True)}
  assert len(finished) == 4  # the start's and iteration 1's evaluations, 2 chunks each
  longer, = ce.compare("corridor", "smoke", ["grpo"], [0], shared, str(ext), "tiny", sft)
  # Continuing did not run iteration 1 or the finished evaluations again: one training record
  # per iteration, and the stored evaluation chunks untouched.
  trained = [m["step"] for m in map(json.loads, open(ext / "grpo_s0" / "metrics.jsonl"))
             if "kl" in m]
  assert trained == [1, 2]
  assert {p: os.stat(p).st_mtime_ns for p in finished} == finished
  assert longer["budget"]["iterations"] == 2 and longer["evals"] == straight["evals"]
  assert longer["outcomes"] == straight["outcomes"]
  assert [h["iteration"] for h in longer["history"]] == [1, 2]
  assert longer["final_kl"] == pytest.approx(straight["final_kl"], rel=1e-5)
  assert [(r["estimator"], r["budget"]["iterations"]) for r in ce.load_runs(str(ext))] == [
      ("grpo", 2)]
  # The same in lockstep (how experiments/cpu_rl_queue.sh continues its ALFWorld pair from 8
  # iterations to 16): both runs recorded at 1, asked for 2, end as the 2-iteration lockstep
  # pair above, each recorded once.
  ext_lock = str(tmp_path / "extended_lock")
  ce.compare("corridor", "smoke", ["rloo", "grpo"], [0], {**shared, "iterations": "1"},
             ext_lock, "tiny", sft, lockstep=True)
  continued = ce.compare("corridor", "smoke", ["rloo", "grpo"], [0], shared, ext_lock, "tiny",
                         sft, lockstep=True)
  assert [(r["estimator"], r["budget"]["iterations"]) for r in ce.load_runs(ext_lock)] == [
      ("rloo", 2), ("grpo", 2)]
  for mine, theirs in zip(sorted(continued, key=lambda r: r["estimator"]),
                          sorted(lock, key=lambda r: r["estimator"])):
    assert mine["evals"] == theirs["evals"] and mine["outcomes"] == theirs["outcomes"]
    assert [h["iteration"] for h in mine["history"]] == [1, 2]
    assert mine["final_kl"] == pytest.approx(theirs["final_kl"], rel=1e-5)
  shutil.rmtree(ext / "grpo_s0")
  with pytest.raises(SystemExit, match="cannot be continued"):
    ce.compare("corridor", "smoke", ["grpo"], [0], {**shared, "iterations": "3"}, str(ext),
               "tiny", sft)


def _comparable(m):
  return {k: v for k, v in m.items()
          if not k.startswith(("time/", "compile/", "env/", "rollout/")) and "overhead" not in k}


def test_commands_are_recorded_with_the_commit_they_ran_at(tmp_path, monkeypatch):
  import subprocess  # pylint: disable=import-outside-toplevel
  repo = tmp_path / "repo"
  repo.mkdir()
  git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True,
                                  text=True).stdout.strip()
  git("init", "-q")
  (repo / "code.py").write_text("x = 1\n")
  git("add", "code.py")
  git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "c")
  head = git("rev-parse", "--short", "HEAD")
  assert ce.code_version(str(repo)) == head
  (repo / "untracked.txt").write_text("ignored: not code the run uses\n")
  assert ce.code_version(str(repo)) == head
  (repo / "code.py").write_text("x = 2\n")
  assert ce.code_version(str(repo)) == head + "-dirty"
  assert ce.code_version(str(tmp_path / "not_a_repo")) == ""
  monkeypatch.setattr(ce, "code_version", lambda: head)
  monkeypatch.setattr(sys, "argv", ["experiments/compare_estimators.py", "--seeds", "0"])
  out = tmp_path / "out"
  out.mkdir()
  ce.record_command(str(out))
  ce.record_command(str(out))  # a resume at the same commit adds nothing
  assert (out / "command.txt").read_text().splitlines() == [
      f"python experiments/compare_estimators.py --seeds 0  # code at {head}"]
