"""The results report is computed from runs.json: tables, paired differences, per-seed changes,
commands, the reading and the budget (experiments/make_results.py)."""
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))

import make_results  # noqa: E402

ALFWORLD = {"env": "alfworld", "families": ["Pick", "Look", "Clean", "Heat", "Cool", "Pick2"],
            "columns": ["Pick", "Look", "Clean", "Heat", "Cool", "Pick2", "All"],
            "headline": "All"}
WEBSHOP = {"env": "webshop", "families": [], "columns": ["Score", "Succ."], "headline": "Succ."}
BUDGET = {"budget": "cpu", "preset": "tiny", "iterations": 4, "group_size": 4,
          "groups_per_batch": 2, "episodes_per_iteration": 8, "eval_tasks": 24}


def _alfworld_row(value):
  row = {c: None for c in ALFWORLD["columns"]}
  row["Pick"] = row["All"] = value
  return row


def _webshop_row(score):
  return {"Score": score, "Succ.": 0.0}


def _write_comparison(directory, finals, start=10.0, kl=0.05, spec=ALFWORLD, row=_alfworld_row,
                      budget=BUDGET, run_files=False):
  """finals: {estimator: [final value per seed]}; every seed starts at `start`. The KL goes in
  the records (kl=None: none), or in metrics.jsonl with run_files."""
  runs = []
  for name, values in finals.items():
    for seed, value in enumerate(values):
      record = {**spec, "estimator": name, "seed": seed, "start": row(start),
                "final": row(value), "curve": [[0, start], [4, row(value)[spec["headline"]]]],
                "evals": [[0, row(start)], [4, row(value)]], "seconds": 60.0}
      if budget:
        record["budget"] = budget
      if kl is not None and not run_files:
        record["final_kl"] = kl
      runs.append(record)
      if run_files:
        run_dir = directory / f"{name}_s{seed}"
        run_dir.mkdir()
        (run_dir / "metrics.jsonl").write_text(json.dumps({"kl": kl}) + "\n")
        (run_dir / "config.json").write_text(json.dumps(
            {"iterations": 6, "model": {"preset": "tiny", "init": ""}, "eval": {"num_tasks": 12},
             "env": {"group_size": 8, "groups_per_batch": 4}}))
  (directory / "runs.json").write_text(json.dumps(runs))


def _section(tmp_path, finals, **kwargs):
  d = tmp_path / "cmp"
  d.mkdir()
  _write_comparison(d, finals, **kwargs)
  return d, "\n".join(make_results._compare_section(str(d), str(tmp_path)))


def test_compare_section_tables_paired_differences_and_reading(tmp_path):
  pytest.importorskip("matplotlib")
  d = tmp_path / "cmp"
  d.mkdir()
  _write_comparison(d, {"grpo": [10.0, 12.0, 8.0], "gigpo": [28.0, 30.0, 29.0],
                        "proxmo": [30.0, 34.0, 29.0]})
  (d / "command.txt").write_text("python a.py --estimators grpo\npython a.py --estimators proxmo\n")
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  # Student-t with 2 degrees of freedom: half-width = 4.3027 * std(ddof=1) / sqrt(3).
  # proxmo 30, 34, 29: mean 31, std sqrt(7) -> 6.57; grpo 10, 12, 8: std 2 -> 4.97.
  assert "| proxmo | 3 | 31.0 ± 6.6 | - | - | - | - | - | 31.0 ± 6.6 | 3 of 3 |" in text
  assert "| grpo | 3 | 10.0 ± 5.0 |" in text
  assert "Student-t" in text
  # Paired by seed: proxmo - gigpo = +2, +4, +0 (mean 2, std 2 -> 4.97): includes 0;
  # proxmo - grpo = +20, +22, +21 (mean 21, std 1 -> 2.48): excludes 0.
  assert "| proxmo - gigpo | 3 | +2.0, +4.0, +0.0 | +2.0 ± 5.0 | no |" in text
  assert "| proxmo - grpo | 3 | +20.0, +22.0, +21.0 | +21.0 ± 2.5 | yes |" in text
  assert ("- proxmo - gigpo, final All paired by seed: +2.0, +4.0, +0.0; mean +2.0, 95 % "
          "interval [-3.0, +7.0] over 3 seeds; the interval includes 0") in text
  assert "interval [+18.5, +23.5] over 3 seeds; the interval excludes 0 (proxmo higher)" in text
  assert "| proxmo | 10.0 -> 30.0 | 10.0 -> 34.0 | 10.0 -> 29.0 | +21.0 |" in text
  assert text.index("`python a.py --estimators grpo`") < text.index(
      "`python a.py --estimators proxmo`")
  assert "- proxmo: held-out All changed by +21.0 points" in text
  assert "it rose above its start in 3 of 3 seeds" in text
  assert "final KL to the behaviour-cloned reference is 5.0e-02-5.0e-02 per token" in text
  assert "stayed close" not in text
  assert "Every estimator ended at the same" not in text
  assert ("Budget (from runs.json): the `tiny` preset, 4 iterations of 8 episodes (2 groups x 4) "
          "per estimator and seed, evaluated on up to 24 held-out tasks, 3 seeds.") in text
  assert "The full-scale config (configs/alfworld.py) runs 150 iterations of 128 episodes" in text
  for fixed in ("tests the plumbing", "on par", "CPU budget this small"):
    assert fixed not in text
  assert (d / "curves.png").exists() and (d / "by_task.png").exists()


def test_compare_section_reads_kl_and_budget_from_run_directories(tmp_path):
  pytest.importorskip("matplotlib")
  d, text = _section(tmp_path, {"grpo": [10.0, 10.0], "proxmo": [10.0, 10.0]}, kl=2e-4,
                     budget=None, run_files=True)
  assert "Command: see compare_estimators.py" in text
  assert "below 1e-3 in every run: the policies stayed close to their start" in text
  assert "Every estimator ended at the same held-out All in each seed" in text
  assert "| proxmo - grpo | 2 | +0.0, +0.0 | +0.0 ± 0.0 | no |" in text
  assert "Budget (from config.json): the `tiny` preset, 6 iterations of 32 episodes" in text


def test_compare_section_without_kl_or_budget_says_nothing_of_them(tmp_path):
  pytest.importorskip("matplotlib")
  _, text = _section(tmp_path, {"grpo": [10.0], "proxmo": [12.0]}, kl=None, budget=None)
  assert "KL" not in text and "Budget" not in text
  assert "proxmo - grpo, final All paired by seed: +2.0 (one seed, no interval)." in text
  assert "12.0 (one seed)" in text


def test_compare_section_webshop_reports_score_and_success_without_families(tmp_path):
  pytest.importorskip("matplotlib")
  d, text = _section(tmp_path, {"grpo": [5.0, 7.0, 3.0], "proxmo": [9.0, 11.0, 7.0]},
                     start=4.0, spec=WEBSHOP, row=_webshop_row)
  assert "| proxmo | 3 | 9.0 ± 5.0 | 0.0 ± 0.0 | 0 of 3 |" in text
  assert "Held-out Score per seed" in text and "Held-out Succ. per seed" in text
  assert "| proxmo | 4.0 -> 9.0 | 4.0 -> 11.0 | 4.0 -> 7.0 | +5.0 |" in text
  assert "- proxmo: held-out Score changed by +5.0 points" in text
  assert "- proxmo: held-out Succ. changed by +0.0 points" in text
  assert "| proxmo - grpo | 3 | +4.0, +4.0, +4.0 | +4.0 ± 0.0 | yes |" in text
  assert not (d / "by_task.png").exists() and "by_task.png" not in text


def test_compare_section_refuses_runs_without_table_fields(tmp_path):
  d = tmp_path / "cmp"
  d.mkdir()
  (d / "runs.json").write_text(json.dumps([{"estimator": "grpo", "seed": 0, "start": {},
                                            "final": {}, "curve": [], "seconds": 1.0}]))
  with pytest.raises(ValueError, match="lack"):
    make_results._compare_section(str(d), str(tmp_path))


def test_fidelity_reading_compares_gaps_with_the_spread():
  settings = [("easy", "4"), ("hard", "4")]
  corr, stds = {}, {}
  for (d, n), (p, g) in zip(settings, [(0.31, 0.30), (0.40, 0.30)]):
    for est, v in (("grpo", 0.2), ("rloo", 0.2), ("gigpo (mean_norm)", g), ("proxmo", p)):
      corr[(d, n, est)], stds[(d, n, est)] = v, 0.05
  text = make_results._fidelity_reading(corr, stds)
  assert "ranges from +0.010 to +0.100" in text
  assert "ProxMO higher in 2 of 2 settings" in text
  assert "in 1 of 2 settings, and exceeds it in the other 1" in text
  assert "on par" not in text


def test_zero_shot_section_counts_episodes_and_reads_the_dumped_responses(tmp_path):
  root = tmp_path / "zero_shot"
  for env, n, samples in (("alfworld", 12, None), ("webshop", 4, [
      ("<think>search</think><action>search[red shoes]</action>", True),
      ("<think>I need to find", False), ("Sure! Here is", False)])):
    d = root / env
    d.mkdir(parents=True)
    metrics = {"success_rate": 0.25 if env == "webshop" else 0.0, "episode_length": 10.0,
               "invalid_rate": 0.5, "truncated_rate": 1.0, "response_tokens": 40.0}
    if env == "webshop":
      metrics.update(task_score=0.125, episodes=n)
    (d / "eval_metrics.json").write_text(json.dumps({env: metrics}))
    (d / "config.json").write_text(json.dumps(
        {"env": {"name": env, "prompt": "paper"}, "model": {"init": "smollm2-135m"},
         "rollout": {"max_response_tokens": 48}}))
    (d / "command.txt").write_text(f"python experiments/evaluate.py --num_tasks={n}\n")
    if samples:
      (d / "eval_samples.jsonl").write_text("".join(
          json.dumps({"response": r, "valid": v}) + "\n" for r, v in samples))
  text = "\n".join(make_results._zero_shot_section(str(root), str(tmp_path)))
  assert "| alfworld | alfworld | `smollm2-135m` | paper | 12 | 0.0 | - | 0.500 | 10.0 (?) |" \
      in text  # the count from --num_tasks
  assert "| webshop | webshop | `smollm2-135m` | paper | 4 | 25.0 | 0.125 | 0.500 |" in text
  assert "- webshop: 1 of 4 episodes succeeded; 50.0 % of the steps' responses" in text
  assert ("of 3 dumped steps (response budget 48 tokens), 2 responses open `<think>`, "
          "1 open `<action>`, 1 close it, and 1 projected to a valid action") in text
  assert make_results._zero_shot_section(str(tmp_path / "none"), str(tmp_path)) == []


def test_sweep_reading_per_value_from_the_runs(tmp_path):
  """Two sweep values, three seeds: proxmo - grpo diffs (+4, +5, +6): mean 5, half-width
  t(0.975, 2) * 1 / sqrt(3) = 4.3027 / 1.7321 = 2.484, which excludes 0; proxmo - gigpo
  (0, +1, -1): mean 0, includes 0. At the second value proxmo falls below its start."""
  spec = {"env": "corridor", "families": [], "columns": ["All"], "headline": "All"}
  row = lambda v: {"All": v}
  d = tmp_path / "sweep"
  finals = {"0": {"proxmo": [80.0, 82.0, 84.0], "grpo": [76.0, 77.0, 78.0],
                  "gigpo": [80.0, 81.0, 85.0]},
            "1": {"proxmo": [60.0, 71.0, 74.0], "grpo": [70.0, 70.0, 70.0]}}
  for value, f in finals.items():
    sub = d / f"env.paraphrase_rate={value}"
    sub.mkdir(parents=True)
    _write_comparison(sub, f, start=75.0, spec=spec, row=row)
  (d / "sweep.json").write_text(json.dumps(
      {"field": "env.paraphrase_rate", "values": ["0", "1"],
       "dirs": ["env.paraphrase_rate=0", "env.paraphrase_rate=1"]}))
  lines = make_results._sweep_reading(str(d), json.loads((d / "sweep.json").read_text()))
  assert lines[1] == ("- env.paraphrase_rate=0: proxmo 75.0 -> 82.0 held-out All (mean over "
                      "seeds), above its start in 3 of 3 seeds; proxmo - gigpo +0.0 ± 2.5, the "
                      "interval includes 0; proxmo - grpo +5.0 ± 2.5, the interval excludes 0 "
                      "(proxmo higher).")
  # Differences -10, +1, +4: mean -1.7, sd 7.371, t(2) 4.3027 x 7.371 / sqrt(3) = 18.3.
  assert lines[2] == ("- env.paraphrase_rate=1: proxmo 75.0 -> 68.3 held-out All (mean over "
                      "seeds), above its start in 0 of 3 seeds; proxmo - grpo -1.7 ± 18.3, the "
                      "interval includes 0.")


def test_warm_start_section_reads_both_splits_and_the_memorisation_gap(tmp_path):
  """Training 30/50 vs held-out 20/50: gap +20.0, Newcombe interval [+0.5, +37.5], which
  excludes 0. 14/40 vs 12/40: +5.0 [-15.1, +24.6], which includes 0 (the published examples in
  test_difference_interval_reproduces_newcombes_examples check the method)."""
  root = tmp_path / "warm_start"
  for run, (k_train, k_eval, n) in (("a_webshop", (30, 20, 50)), ("b_alfworld", (14, 12, 40))):
    d = root / run
    d.mkdir(parents=True)
    row = lambda k, secs: {"success_rate": k / n, "episode_length": 6.0, "invalid_rate": 0.1,
                           "truncated_rate": 0.2, "response_tokens": 20.0, "episodes": n,
                           "seconds": secs, "task_score": 0.5}
    (d / "eval_metrics.json").write_text(json.dumps(
        {f"{run} (held-out)": row(k_eval, 600.0), f"{run} (training tasks)": row(k_train, 90.0)}))
    alf = run == "b_alfworld"  # a 6-turn history and DART demonstrations
    (d / "config.json").write_text(json.dumps(
        {"env": {"name": run[2:], "prompt": "compact", "max_steps": 15,
                 **({"history_length": 6} if alf else {})},
         "model": {"init": "smollm2-135m"},
         "sft": {"steps": 60, "batch_size": 16,
                 **({"expert_noise": 0.2, "expert_labels": "expert"} if alf else {})},
         "rollout": {"max_response_tokens": 96}}))
    (d / "eval_samples.jsonl").write_text("".join(json.dumps({"response": r, "valid": v}) + "\n"
        for r, v in (("<think></think><action>search[a b", False),
                     ("<think></think><action>click[x]</action>", True))))
    (d / "bc_log.json").write_text(json.dumps(
        {"examples": 1000, "tasks": 200, "losses": [2.0, 1.0, 0.5], "seconds": 3600.0,
         "init_params": "runs/first/sft" if run == "b_alfworld" else "",
         # b_alfworld: a log from before "resumed_at" (its seconds: the last call's)
         **({} if run == "b_alfworld" else {"resumed_at": 20})}))
    (d / "command.txt").write_text("python experiments/sft.py\npython experiments/evaluate.py\n")
  (root / "a_webshop" / "notes.md").write_text("Paused 10 min.\n\nBC ran twice.\n")
  split_fit = lambda k: {"tasks": 4, "steps": 10, "greedy_pct": 10.0 * k, "command_nll": 2.5,
                         "by_verb": {"go": {"steps": 6, "greedy_pct": 50.0, "command_nll": 3.0},
                                     "take": {"steps": 4, "greedy_pct": 0.0,
                                              "command_nll": 4.25}}}
  (root / "b_alfworld" / "bc_fit.json").write_text(json.dumps(
      {"command": "python experiments/bc_fit.py --params=x", "train": split_fit(3),
       "held-out": split_fit(2)}))
  single = root / "c_single"                 # a one-split run: rows labelled by its workdir
  single.mkdir()
  (single / "eval_metrics.json").write_text(json.dumps({"c_single": {
      "success_rate": 0.5, "episode_length": 5.0, "invalid_rate": 0.0, "episodes": 4}}))
  (single / "command.txt").write_text("python experiments/evaluate.py --split=eval\n")
  text = "\n".join(make_results._warm_start_section(str(root), str(tmp_path)))
  assert "| c_single | ? | `?` | ? | ? x ? (?, ?) | held-out | ? | 4 | 50.0 |" in text
  assert "- c_single: held-out 2 of 4 succeeded." in text
  assert ("| a_webshop | webshop | `smollm2-135m` | compact | 60 x 16 (1000, 200) | held-out | "
          "96 | 50 | 40.0 | 0.500 | 0.100 | 6.0 (15) | 10.0 |") in text
  assert "| training | 96 | 50 | 60.0 |" in text and "| 1.5 |" in text
  assert ("- a_webshop: held-out 20 of 50 succeeded; training 30 of 50 succeeded; training - "
          "held-out +20.0 points, 95 % interval [+0.5, +37.5] (Newcombe), the interval excludes 0: "
          "part of the training success is memorised; BC loss 2.000 at step 1 -> 0.500 at step 21; "
          "BC took 60 min (resumed at step 20); of 2 dumped steps, 1 opened `<action>` without closing it (cut by "
          "the response budget) and 1 were invalid.") in text
  assert "training - held-out +5.0 points, 95 % interval [-15.1, +24.6]" in text
  assert "the interval includes 0: no memorisation shows at this sample size" in text
  assert "BC's last call took 60 min (continuing the BC in `runs/first/sft`)" in text
  assert text.count("continuing the BC") == 1
  assert "- b_alfworld: `python experiments/sft.py`" in text
  assert "| b_alfworld | alfworld | `smollm2-135m` | compact, history 6 | " in text
  assert "| 60 x 16 (1000, 200; noise 0.2, expert labels) |" in text
  assert ("| b_alfworld | train | 4 | 10 | 30.0 | 2.50 | go 3/6 (3.00), take 0/4 (4.25) |\n"
          "| b_alfworld | held-out | 4 | 10 | 20.0 | 2.50 |") in text
  assert "- b_alfworld: `python experiments/bc_fit.py --params=x`" in text
  assert text.count("Teacher-forced fit") == 1  # a_webshop has no bc_fit.json
  assert text.endswith("Notes on the runs (recorded by hand in notes.md when they ran, not "
                       "computed):\n- a_webshop: Paused 10 min.\n- a_webshop: BC ran twice.\n")
  assert make_results._warm_start_section(str(tmp_path / "none"), str(tmp_path)) == []


def test_compare_section_tables_the_per_iteration_history(tmp_path):
  """runs.json "history": training success / invalid rate / KL per iteration and the wall time
  split (medians over iterations), with the advantage's share of the iteration, computed by
  hand here."""
  d = tmp_path / "cmp"
  d.mkdir()
  _write_comparison(d, {"proxmo": [20.0], "grpo": [15.0]})
  runs = json.loads((d / "runs.json").read_text())
  hist = lambda succ, adv: [
      {"iteration": 1, "success_rate": succ, "invalid_rate": 0.1, "kl": 0.0012,
       "time/rollout": 100.0, "time/logprob": 20.0, "time/update": 60.0, "time/advantage": adv,
       "time/iteration": 200.0, "adv_overhead_vs_grpo_pct": 0.2},
      {"iteration": 2, "success_rate": succ + 0.25, "invalid_rate": 0.0, "kl": 0.003,
       "time/rollout": 120.0, "time/logprob": 22.0, "time/update": 64.0, "time/advantage": 0.7,
       "time/iteration": 220.0, "adv_overhead_vs_grpo_pct": 0.3},
      # an iteration that compiled new shapes: the medians leave it out
      {"iteration": 3, "success_rate": succ, "invalid_rate": 0.0, "kl": 0.004,
       "time/rollout": 400.0, "time/logprob": 90.0, "time/update": 300.0, "time/advantage": 9.0,
       "time/iteration": 800.0, "adv_overhead_vs_grpo_pct": 1.1}]
  runs[0]["history"], runs[1]["history"] = hist(0.25, 0.5), hist(0.5, 0.5)
  (d / "runs.json").write_text(json.dumps(runs))
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert "| 1 | 25.0 | 10.0 | 0.0012 | 50.0 | 10.0 | 0.0012 |" in text
  assert "| 2 | 50.0 | 0.0 | 0.0030 | 75.0 | 0.0 | 0.0030 |" in text
  # medians over iterations 1-3; shares 100 * 0.5 / 200 = 0.25, 100 * 0.7 / 220 = 0.318 and
  # 100 * 9 / 800 = 1.125: median 0.318
  assert "| proxmo | 3 | 120.0 | 22.0 | 64.0 | 0.700 | 220.0 | 0.32 | +0.30 | - |" in text
  # with compile seconds recorded: summed over the run's iterations
  for r in runs:
    for h, sec in zip(r["history"], (1.5, 0.0, 40.0)):
      h["time/compile"] = sec
  (d / "runs.json").write_text(json.dumps(runs))
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert "| proxmo | 3 | 120.0 | 22.0 | 64.0 | 0.700 | 220.0 | 0.32 | +0.30 | 41.5 |" in text
  # with the nonzero-advantage share recorded, a column per estimator (mean over seeds)
  for r, share in zip(runs, (0.25, 0.5)):
    r["history"][0]["adv/total_nonzero"] = share
  (d / "runs.json").write_text(json.dumps(runs))
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert ("| iteration | proxmo success % | proxmo invalid % | proxmo KL | proxmo nonzero A % |"
          in text)
  assert "| 1 | 25.0 | 10.0 | 0.0012 | 25 | 50.0 | 10.0 | 0.0012 | 50 |" in text
  assert "| 2 | 50.0 | 0.0 | 0.0030 | - | 75.0 | 0.0 | 0.0030 | - |" in text
  assert ("- Step samples with a nonzero advantage (a policy-gradient term), mean over the "
          "iterations recorded: proxmo 25 % (1 iteration), grpo 50 % (1 iteration).") in text
  # without history (older runs.json) the section has no such tables
  (tmp_path / "older").mkdir()
  _, plain = _section(tmp_path / "older", {"proxmo": [20.0]})
  assert "Training rollouts per iteration" not in plain


def test_compare_section_reports_runs_still_training_from_their_progress(tmp_path):
  """A comparison spanning sessions: a run without a runs.json record reports its evaluations
  and per-iteration history from <estimator>_s<seed>/progress.json, before and after the first
  run of the comparison has finished."""
  d = tmp_path / "cmp"
  (d / "proxmo_s0").mkdir(parents=True)
  history = [{"iteration": 1, "success_rate": 0.5, "invalid_rate": 0.0, "kl": 0.002,
              "time/rollout": 300.0, "time/logprob": 0.0, "time/update": 500.0,
              "time/advantage": 0.4, "time/iteration": 800.0, "adv_overhead_vs_grpo_pct": 0.01}]
  (d / "proxmo_s0" / "progress.json").write_text(json.dumps(
      {"evals": [[0, {"Score": 79.65, "Succ.": 43.0}]], "seconds": 5400.0, "final_kl": 0.002,
       "history": history}))
  (d / "command.txt").write_text("python experiments/compare_estimators.py --env webshop\n")
  (d / "notes.md").write_text("The pair was paused from 16:36 to 16:46 UTC.\n\n")
  notes = ("Notes on the runs (recorded by hand in notes.md when they ran, not computed):\n"
           "- The pair was paused from 16:36 to 16:46 UTC.\n")
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert notes in text
  assert ("- proxmo seed 0: 1 iteration done, 1.5 h of wall time so far; held-out iteration 0: "
          "Score 79.7, Succ. 43.0") in text
  assert "| 1 | 50.0 | 0.0 | 0.0020 |" in text
  # 100 * 0.4 / 800 = 0.05 % of the iteration
  assert "| proxmo | 1 | 300.0 | 0.0 | 500.0 | 0.400 | 800.0 | 0.05 | +0.01 |" in text
  assert "Command: `python experiments/compare_estimators.py --env webshop`" in text
  # once proxmo seed 0 is in runs.json, a later run still training is reported after its tables
  _write_comparison(d, {"proxmo": [50.0]}, spec=WEBSHOP, row=_webshop_row)
  (d / "grpo_s0").mkdir()
  (d / "grpo_s0" / "progress.json").write_text(json.dumps(
      {"evals": [[0, {"Score": 79.65, "Succ.": 43.0}], [4, {"Score": 80.0, "Succ.": 45.0}]],
       "seconds": 3600.0, "final_kl": None, "history": []}))
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert notes in text and text.count("The pair was paused") == 1
  assert "- proxmo seed 0:" not in text
  assert ("- grpo seed 0: 0 iterations done, 1.0 h of wall time so far; held-out iteration 0: "
          "Score 79.7, Succ. 43.0; iteration 4: Score 80.0, Succ. 45.0") in text
  # proxmo recorded at 4 iterations and continued (--set iterations=8): its progress past 4 shows
  (d / "proxmo_s0" / "progress.json").write_text(json.dumps(
      {"evals": [[0, {"Score": 79.65, "Succ.": 43.0}]], "seconds": 7200.0, "final_kl": 0.002,
       "history": [{**history[0], "iteration": i} for i in range(1, 6)]}))
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert "- proxmo seed 0: 5 iterations done, 2.0 h of wall time so far" in text


def test_a_comparison_started_without_progress_reports_its_command_and_notes(tmp_path):
  """Started (command.txt) but nothing recorded yet, e.g. inside the start's evaluation at a
  session's end, or on a checkout without the run directories: the section still gives the
  command and the notes; not started, it only says so."""
  d = tmp_path / "cmp"
  d.mkdir()
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert "(no runs.json yet)" in text and "Command" not in text
  (d / "command.txt").write_text("python experiments/compare_estimators.py --env alfworld\n")
  (d / "notes.md").write_text("It began at 12:36 UTC with the start's evaluation.\n")
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert "(no runs.json yet)" in text
  assert "Command: `python experiments/compare_estimators.py --env alfworld`" in text
  assert "- It began at 12:36 UTC with the start's evaluation." in text


def test_compare_section_tests_the_gain_against_the_binomial_interval_of_the_difference(tmp_path):
  # 100 tasks: 43 % -> 60 %, Newcombe [+3.2, +30.0]; 43 % -> 50 %, [-6.7, +20.4].
  pytest.importorskip("matplotlib")
  row = lambda succ: {"Score": 70.0, "Succ.": succ}
  budget = {**BUDGET, "eval_tasks": 100}
  _, text = _section(tmp_path, {"grpo": [50.0], "proxmo": [60.0]}, start=43.0, spec=WEBSHOP,
                     row=row, budget=budget)
  assert ("- proxmo: held-out Succ. 43.0 % at the start -> 60.0 % after training on 100 "
          "tasks (one seed); difference +17.0 points, 95 % binomial interval of the difference "
          "[+3.2, +30.0] (Newcombe): the gain exceeds it.") in text
  assert "- grpo: held-out Succ. 43.0 % at the start -> 50.0 % after training on 100 " in text
  assert ("difference +7.0 points, 95 % binomial interval of the difference [-6.7, +20.4] "
          "(Newcombe): the interval includes 0.") in text


def test_gain_sentence_averages_seeds_on_the_tasks_and_needs_the_evaluation_size(tmp_path):
  # Two seeds on the same 24 tasks, 10 % each side: Newcombe [-19.2, +19.2] on n = 24.
  pytest.importorskip("matplotlib")
  _, text = _section(tmp_path, {"grpo": [10.0, 10.0], "proxmo": [10.0, 10.0]})
  assert ("- proxmo: held-out All 10.0 % at the start -> 10.0 % after training on 24 tasks "
          "(mean of 2 seeds); difference +0.0 points, 95 % binomial interval of the difference "
          "[-19.2, +19.2] (Newcombe): the interval includes 0.") in text
  without_size = tmp_path / "without_size"
  without_size.mkdir()
  _, text = _section(without_size, {"proxmo": [10.0]}, budget=None)
  assert "binomial interval" not in text


def test_difference_interval_reproduces_newcombes_examples():
  # Newcombe (1998), Table II, method 10: 56/70 - 48/80 -> [0.0524, 0.3339];
  # 9/10 - 3/10 -> [0.1705, 0.8090]. At 0 % on both sides the interval stays wide.
  d, lo, hi = make_results._difference_interval(56 / 70, 70, 48 / 80, 80)
  assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0524, 0.3339)
  d, lo, hi = make_results._difference_interval(0.9, 10, 0.3, 10)
  assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.6, 0.1705, 0.809)
  d, lo, hi = make_results._difference_interval(0.0, 24, 0.0, 24)
  assert d == 0.0 and round(lo, 4) == -0.1380 and round(hi, 4) == 0.1380


def test_paired_difference_interval_reproduces_a_published_example():
  # The paired 2x2 table [[59, 6], [16, 80]] (Fagerland, Lydersen and Laake, Statistical
  # Analysis of Contingency Tables, ch. 8; the R package contingencytables' test of its
  # Newcombe square-and-add interval): -0.0621, 95 % CI [-0.1186, -0.0046].
  d, lo, hi = make_results._paired_difference_interval(59, 6, 16, 80)
  assert (round(d, 4), round(lo, 4), round(hi, 4)) == (-0.0621, -0.1186, -0.0046)
  # ad - bc within [0, n/2] makes phi 0: the independent-samples interval on the same n.
  paired = make_results._paired_difference_interval(10, 10, 10, 10)
  assert paired == pytest.approx(make_results._difference_interval(0.5, 40, 0.5, 40))
  # ad - bc < 0 keeps phi negative (ad - bc itself): Newcombe's own example (Statistics in
  # Medicine 17, 2635, 1998, Table II, a = 36, b = 12, c = 2, d = 0): 0.2, method 10 [0.0569,
  # 0.3404] (phi clamped to 0 would give [0.0645, 0.3371]).
  d, lo, hi = make_results._paired_difference_interval(36, 12, 2, 0)
  assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0569, 0.3404)


def test_gain_sentence_pairs_the_tasks_when_the_runs_kept_their_outcomes(tmp_path):
  # 100 tasks: 43 won at the start, 60 after training, every start success kept (a=43, b=17,
  # c=0, d=40): paired [+9.3, +24.2] against the independent [+3.2, +30.0].
  pytest.importorskip("matplotlib")
  row = lambda succ: {"Score": 70.0, "Succ.": succ}
  d = tmp_path / "cmp"
  d.mkdir()
  _write_comparison(d, {"proxmo": [60.0]}, start=43.0, spec=WEBSHOP, row=row,
                    budget={**BUDGET, "eval_tasks": 100})
  runs = json.loads((d / "runs.json").read_text())
  tasks = [f"t{i}" for i in range(100)]
  runs[0]["outcomes"] = {"0": {t: int(i < 43) for i, t in enumerate(tasks)},
                         "4": {t: int(i < 60) for i, t in enumerate(tasks)}}
  (d / "runs.json").write_text(json.dumps(runs))
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert ("[+3.2, +30.0] (Newcombe): the gain exceeds it. Paired by task (100 tasks evaluated "
          "both times: 17 won only after training, 0 only at the start, 43 both times): "
          "difference +17.0 points, 95 % interval [+9.3, +24.2] (Newcombe's paired method 10): "
          "the gain exceeds it.") in text


def test_compare_section_reports_the_widened_evaluations(tmp_path):
  # widen_evaluation.py's widened_161.json: the start and a run at 4 on 161 tasks whose paired
  # table is [[59, 16], [6, 80]] (the published example above, the other way round): +6.2
  # points, 95 % interval [+0.5, +11.9].
  pytest.importorskip("matplotlib")
  d = tmp_path / "cmp"
  d.mkdir()
  _write_comparison(d, {"proxmo": [20.0]})
  table = [(1, 1)] * 59 + [(0, 1)] * 16 + [(1, 0)] * 6 + [(0, 0)] * 80
  start = {f"t{i}": a for i, (a, _) in enumerate(table)}
  after = {f"t{i}": b for i, (_, b) in enumerate(table)}
  evaluations = [{"estimator": "proxmo", "seed": 0, "run": "proxmo_s0", "iteration": k,
                  "row": {}, "seconds": 1.0, "outcomes": o} for k, o in ((0, start), (4, after))]
  import widen_evaluation  # pylint: disable=import-outside-toplevel  # (jax): this test only
  paired = widen_evaluation.paired_differences(evaluations, ["proxmo"], [0])
  (d / "widened_161.json").write_text(json.dumps(
      {"tasks": 161, "evaluations": evaluations, "paired": paired}))
  text = "\n".join(make_results._compare_section(str(d), str(tmp_path)))
  assert "| proxmo_s0 | 0 | 65 of 161 | 40.4 |" in text
  assert "| proxmo_s0 | 4 | 75 of 161 | 46.6 |" in text
  assert ("- proxmo_s0/iter_4 - proxmo_s0/iter_0, paired by task (161 tasks: 16 won only by the "
          "first, 6 only by the second, 59 by both): +6.2 points, 95 % interval [+0.5, +11.9] "
          "(Newcombe's paired method 10): the gain exceeds it.") in text


def test_a_pattern_in_the_comparison_list_stands_for_its_directories(tmp_path):
  """Entries keep their order; `*` expands to the existing directories, sorted, and adds none
  when nothing matches; a named directory stays even when missing (its "no runs.json" line)."""
  for name in ("cmp_b_so_far", "cmp_b", "cmp_a"):
    (tmp_path / name).mkdir()
  (tmp_path / "cmp_file").write_text("")
  spec = f"{tmp_path}/first,{tmp_path}/cmp_*,{tmp_path}/none_*,"
  assert make_results.comparison_dirs(spec) == [
      f"{tmp_path}/first", f"{tmp_path}/cmp_a", f"{tmp_path}/cmp_b", f"{tmp_path}/cmp_b_so_far"]


def test_a_remade_comparison_is_set_against_the_first(tmp_path):
  """`remake_of` names the first comparison: the remake's section says how far it repeats it,
  while it runs (progress.json) and once recorded; a first comparison that is not there is said."""
  pytest.importorskip("matplotlib")
  history = [{"iteration": i, "success_rate": 0.5, "kl": 0.001 * i, "time/iteration": 900.0}
             for i in (1, 2)]
  first = tmp_path / "first"
  first.mkdir()
  _write_comparison(first, {"proxmo": [20.0]})
  records = json.loads((first / "runs.json").read_text())
  records[0].update(history=history, outcomes={"0": {"a": 1, "b": 0}, "4": {"a": 1, "b": 1}})
  (first / "runs.json").write_text(json.dumps(records))
  remade = tmp_path / "remade"
  (remade / "proxmo_s0").mkdir(parents=True)
  (remade / "remake_of").write_text(f"{first}\n")
  (remade / "proxmo_s0" / "progress.json").write_text(json.dumps(
      {"evals": [[0, _alfworld_row(10.0)]], "seconds": 60.0, "final_kl": 0.002,
       "history": [{**h, "time/iteration": 1000.0} for h in history],
       "outcomes": {"0": {"a": 1, "b": 0}}}))
  text = "\n".join(make_results._compare_section(str(remade), str(tmp_path)))
  assert (f"Set against `{first}` (its `remake_of`), the runs both hold: 2 run iterations "
          "and 1 evaluation in both compared (experiments/remake_check.py): the same episode counts "
          "in every iteration and every held-out game's outcome the same.") in text
  # Recorded, with iteration 2's success and the evaluation at 4 (game b) differing.
  record = {**records[0], "history": [history[0], {**history[1], "success_rate": 0.25}],
            "outcomes": {"0": {"a": 1, "b": 0}, "4": {"a": 1, "b": 0}}}
  (remade / "runs.json").write_text(json.dumps([record]))
  text = "\n".join(make_results._compare_section(str(remade), str(tmp_path)))
  assert ("2 run iterations and 2 evaluations in both compared (experiments/remake_check.py): "
          "they first differ in proxmo_s0 at iteration 2 (success_rate).") in text
  (remade / "remake_of").write_text(f"{tmp_path / 'gone'}\n")
  text = "\n".join(make_results._compare_section(str(remade), str(tmp_path)))
  assert "not compared: " in text and "neither runs.json nor" in text
