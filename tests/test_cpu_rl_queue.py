"""The CPU queue's choice of the ALFWorld RL pair (experiments/cpu_rl_queue.sh, steps 13, 15,
16 and 17).

The queue decides which start the pair runs from (v3 or v4, by success on the 102 training
games in the starts' published rows, v3 on a tie) and in which groups (4 episodes x 8 games from
10 % won, 8 x 4 from 4.94 %, none below), whether step 16's pair from v4 goes on to 16
iterations, and whether step 17 makes that pair again where a new checkout lost step 16's runs:
hours of CPU follow from it. These tests run the script's own text for that
choice, its row-reading helpers and its decision block, in bash in a scratch directory, with
the pair stubbed to print its arguments and the paired test stubbed to answer as asked, on
evaluation files written here.
"""

import json
import os
import re
import subprocess
import sys

import pytest

QUEUE = os.path.join(os.path.dirname(__file__), os.pardir, "experiments", "cpu_rl_queue.sh")
TRAIN_ROW = "smollm2_alfworld_dart_full_eval (training tasks)"


def _section(text: str, start: str, end: str) -> str:
  """The script's lines from the one starting with `start` up to (without) the one with `end`."""
  match = re.search(rf"^{re.escape(start)}.*?(?=^{re.escape(end)})", text, re.S | re.M)
  assert match, f"cpu_rl_queue.sh no longer has a section from {start!r} to {end!r}"
  return match.group(0)


def _choose(tmp_path, v3_rate, v4_rate, v4_params=False, iteration_8=False,
            gain=False) -> list[str]:
  """Runs the queue's choice with start v3 / v4 at those training success rates (None: no
  evaluation file), start v4's params made or not, step 16's evaluation at iteration 8 stored
  or not and ProxMO's paired gain there clearing its interval or not; returns the stubbed pair
  calls, one line each."""
  text = open(QUEUE).read()
  helpers = _section(text, "row_rate() {", "alfworld_pair() {")
  choice = _section(text, "# 13 and 15.", "# 0. The WebShop start")
  tmp_path.mkdir(exist_ok=True)
  if v4_params:
    (tmp_path / "runs" / "v4" / "sft").mkdir(parents=True)
    (tmp_path / "runs" / "v4" / "sft" / "params.npz").write_text("")
  if iteration_8:
    os.makedirs(tmp_path / V5 / "eval_episodes" / "proxmo_s0" / "iter_8" / "eval")
  paths = {}
  for name, rate in (("P3", v3_rate), ("P4", v4_rate)):
    paths[name] = tmp_path / name / "eval_metrics.json"
    if rate is not None:
      paths[name].parent.mkdir()
      rows = {"x (held-out)": {"success_rate": 0.5}, TRAIN_ROW: {"success_rate": rate}}
      paths[name].write_text(json.dumps(rows))
  script = "\n".join([
      "set -euo pipefail",
      f"PY={sys.executable}",
      helpers,
      'alfworld_pair() { echo "pair $*"; }',
      f"paired_gain() {{ return {0 if gain else 1}; }}",
      f"P3={paths['P3'].parent} P4={paths['P4'].parent} D3=runs/v3 D4=runs/v4",
      choice,
  ])
  out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True,
                       cwd=tmp_path)
  return out.stdout.splitlines()


G8 = "--set env.group_size=8 --set env.groups_per_batch=4"
V5 = "experiments/results/compare_alfworld_smollm2_v4_240"
STEP_15 = "pair runs/v4/sft experiments/results/compare_alfworld_smollm2_v4"
STEP_16 = (f"pair runs/v4/sft {V5} --set eval.num_tasks=240 --set eval.every=8 "
           "--set ppo.frozen_hidden=rollout")
V6 = "experiments/results/compare_alfworld_smollm2_v4_240_16"
STEP_17 = (f"pair runs/v4/sft {V6} --set eval.num_tasks=240 --set eval.every=16 "
           "--set ppo.frozen_hidden=rollout --set iterations=16")


@pytest.mark.parametrize("v3, v4, calls", [
    # v4 not evaluated yet: v3 (6 of 102) takes the groups of 8.
    (0.059, None, [f"pair runs/v3/sft experiments/results/compare_alfworld_smollm2_v3_g8 {G8}"]),
    # v4 at 10 % or more: groups of 4 x 8 games from v4.
    (0.059, 0.108, ["pair runs/v4/sft experiments/results/compare_alfworld_smollm2_v4"]),
    # A tie goes to v3.
    (0.059, 0.059, [f"pair runs/v3/sft experiments/results/compare_alfworld_smollm2_v3_g8 {G8}"]),
    # v4 better, between 4.94 and 10 %: groups of 8 from v4.
    (0.059, 0.078, [f"pair runs/v4/sft experiments/results/compare_alfworld_smollm2_v4_g8 {G8}"]),
    # Both under 4.94 %: no pair.
    (0.029, 0.039, []),
    # v3 at 10 % ran its pair at step 11 already: nothing more here.
    (0.118, 0.05, []),
])
def test_the_pair_runs_from_the_better_start_in_the_groups_its_success_allows(
    tmp_path, v3, v4, calls):
  assert _choose(tmp_path, v3, v4) == calls


def test_the_threshold_is_inclusive(tmp_path):
  """1 - (1 - 0.0494)^8 = 1/3 of groups of 8 hold a win at 4.94 %: that rate itself qualifies."""
  (tmp_path / "at").mkdir()
  (tmp_path / "under").mkdir()
  assert _choose(tmp_path / "at", 0.0494, None) == [
      f"pair runs/v3/sft experiments/results/compare_alfworld_smollm2_v3_g8 {G8}"]
  assert _choose(tmp_path / "under", 0.0493, None) == []


@pytest.mark.parametrize("iteration_8, gain, calls", [
    # Start v4 made again: its pair on 240 held-out games, to 8 iterations first.
    (False, False, [STEP_15, STEP_16]),
    # ProxMO's gain at 8 does not clear its interval: on to 16 iterations.
    (True, False, [STEP_15, STEP_16, STEP_16 + " --set iterations=16"]),
    # It does: the pair stops at 8.
    (True, True, [STEP_15, STEP_16]),
])
def test_step_16_runs_from_start_v4_made_again_and_goes_on_unless_proxmo_gained(
    tmp_path, iteration_8, gain, calls):
  # One run has recorded what it ran on (a stub pair writes nothing): that record is copied out
  # of its (ignored) run directory into the comparison's.
  os.makedirs(tmp_path / V5 / "proxmo_s0")
  (tmp_path / V5 / "proxmo_s0" / "environment.jsonl").write_text('{"cpu": {}}\n')
  lines = _choose(tmp_path, 0.059, 0.51, v4_params=True, iteration_8=iteration_8, gain=gain)
  assert [x for x in lines if x.startswith("pair ")] == calls
  assert (tmp_path / V5 / "environment_proxmo_s0.jsonl").read_text() == '{"cpu": {}}\n'
  assert not (tmp_path / V5 / "environment_grpo_s0.jsonl").exists()
  # Without the stored evaluation at 8 (the stubbed pair stored none; a new checkout loses it)
  # the queue says why it does not continue.
  said = [x for x in lines if not x.startswith("pair ")]
  assert len(said) == (0 if iteration_8 else 1)
  assert all("step 16: no stored evaluation at iteration 8" in x for x in said)
  # The first pair is named for experiments/make_results.py's comparison of the two draws.
  first = "experiments/results/compare_alfworld_smollm2_v4\n"
  assert (tmp_path / V5 / "remake_of").read_text() == first


def test_step_17_makes_step_16_again_to_16_where_its_runs_were_lost(tmp_path):
  """Step 16 recorded at 8 in its runs.json, its run directories gone (a new checkout): the
  pair is made again to 16 iterations in its own directory, evaluated at 0 and 16, named a
  remake of step 16; step 16's own calls are not made (they would only append to its
  command.txt, or refuse)."""
  os.makedirs(tmp_path / V5)
  (tmp_path / V5 / "runs.json").write_text("[]")
  os.makedirs(tmp_path / V6 / "grpo_s0")
  (tmp_path / V6 / "grpo_s0" / "environment.jsonl").write_text('{"cpu": {}}\n')
  lines = _choose(tmp_path, 0.059, 0.51, v4_params=True)
  assert lines == [STEP_15, STEP_17]
  assert (tmp_path / V6 / "remake_of").read_text() == V5 + "\n"
  assert (tmp_path / V6 / "environment_grpo_s0.jsonl").read_text() == '{"cpu": {}}\n'
  # Without start v4 made again, nothing yet.
  os.makedirs(tmp_path / "unmade" / V5)
  (tmp_path / "unmade" / V5 / "runs.json").write_text("[]")
  assert _choose(tmp_path / "unmade", 0.059, 0.51) == [STEP_15]


def test_steps_16_and_17_pin_one_commit_that_knows_their_settings():
  """Every pair call of steps 16 and 17 (to 8, on to 16, made again to 16) runs one pinned
  commit, and that commit's config has every field the calls set (a pin from before
  ppo.frozen_hidden would fail)."""
  text = open(QUEUE).read()
  section = _section(text, "if test \"$BEST\" = v4", "# 0. The WebShop start")
  pins = re.findall(r"PIN=(\w+) alfworld_pair", section)
  assert len(pins) == 3 and len(set(pins)) == 1
  common = subprocess.run(["git", "show", f"{pins[0]}:configs/common.py"], capture_output=True,
                          text=True, check=True, cwd=os.path.dirname(QUEUE)).stdout
  for field in re.findall(r"--set (\w+\.\w+)=", section):
    section_name, key = field.split(".")
    assert f"c.{section_name}.{key} =" in common, field


def test_webshop_v2_pin_knows_its_settings():
  """The WebShop v2 pair's pinned commit has every config field its settings (V2) set."""
  text = open(QUEUE).read()
  pin = re.search(r"^WEBSHOP_PIN=(\w+)$", text, re.M).group(1)
  settings = re.search(r'^V2="(.*?)"$', text, re.M | re.S).group(1)
  common = subprocess.run(["git", "show", f"{pin}:configs/common.py"], capture_output=True,
                          text=True, check=True, cwd=os.path.dirname(QUEUE)).stdout
  fields = re.findall(r"--set (\w+)\.(\w+)=", settings)
  assert ("ppo", "frozen_hidden") in fields
  for section_name, key in fields:
    assert f"c.{section_name}.{key} =" in common, (section_name, key)


def test_step_16_waits_for_start_v4_and_needs_it_best(tmp_path):
  """Without start v4's params (being made again) no step 16; with them, v3 on a tie keeps it
  from running."""
  assert _choose(tmp_path / "unmade", 0.059, 0.51) == [STEP_15]
  assert _choose(tmp_path / "tie", 0.51, 0.51, v4_params=True) == []
