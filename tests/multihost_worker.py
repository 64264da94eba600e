"""One process of the two-process tests (tests/test_multihost.py). Part "iteration": a tiny
WebShop iteration, an evaluation and a checkpoint; part "frozen_hidden": one iteration each way
of ppo.frozen_hidden under top-layer LoRA.

Usage: python -m tests.multihost_worker PROCESS_ID PORT WORKDIR DATA_DIR OUT_JSON PART
"""

import json
import os
import sys

os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
os.environ["JAX_PLATFORMS"] = "cpu"


def _config(data_dir):
  from configs import webshop  # pylint: disable=import-outside-toplevel
  c = webshop.get_config("proxmo,tiny")
  c.env.data_dir = data_dir
  c.env.num_products = 200
  c.env.test_size = 50
  c.env.groups_per_batch = 2     # one group per process
  c.env.group_size = 2
  c.env.num_workers = 1
  c.env.max_steps = 3
  c.rollout.max_response_tokens = 16
  c.tokenizer.vocab_size = 512
  c.eval.before_train = False
  return c


def _frozen_hidden_iterations(data_dir, workdir):
  """One iteration under LoRA on the top layer of two, with ppo.frozen_hidden "recompute" and
  "rollout" (the kept states a global array over both hosts): each mode's metrics. The untrained
  policy buys nothing, so every advantage would be 0: both modes get the same fixed ones (+-1 by
  row), so the policy-gradient term goes through the kept states too."""
  from proxmo_jax.training import train  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import trainer as trainer_lib  # pylint: disable=import-outside-toplevel
  from tests import fixed_advantages  # pylint: disable=import-outside-toplevel
  trainer_lib.compute_advantages = fixed_advantages.alternating(trainer_lib.compute_advantages)
  out = {}
  for mode in ("recompute", "rollout"):
    c = _config(data_dir)
    c.model.lora.rank, c.model.lora.targets, c.model.lora.layers = 4, "q,v", 1
    c.ppo.frozen_hidden = mode
    run = train.Run(c, f"{workdir}_frozen_{mode}")
    try:
      out[mode] = {k: float(v) for k, v in run.trainer.train_iteration().items()}
    finally:
      run.close()
  return out


def _advantages_of_a_host_local_batch(config, trainer):
  """ProxMO on a batch whose groups differ between the hosts (as every host's own rollouts
  do), with the trainer's estimator options against one device's: (max |difference|, max
  |step advantage|). The groups split over several devices must each see this host's rows."""
  import jax  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  from proxmo_jax.advantages import (  # pylint: disable=import-outside-toplevel
      Trajectory, build_trajectory_batch, compute_advantages)
  from proxmo_jax.proximity import tfidf  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import trainer as trainer_lib  # pylint: disable=import-outside-toplevel
  p = jax.process_index()
  rooms = ["kitchen", "garden", "cellar", "attic", "hallway", "library"]
  trajs = []
  for g in range(4):
    for k in range(4):
      won = (g + k + p) % 3 == 0
      obs = [f"you are in the {rooms[(g + k + p + t) % 6]} near the {rooms[(k + 2 * p) % 6]}"
             for t in range(3)]
      trajs.append(Trajectory(f"host{p}-group{g}", obs, [0.0, 0.0, 10.0 if won else 0.0]))
  batch, _ = build_trajectory_batch(trajs, featurizer=tfidf.tfidf_features)
  split = compute_advantages("proxmo", batch, trainer.adv_cfg)
  one = compute_advantages("proxmo", batch, trainer_lib.advantage_config(config, None))
  return (float(np.max(np.abs(np.asarray(split.total) - np.asarray(one.total)))),
          float(np.max(np.abs(np.asarray(one.step)))))


def _iteration(workdir, data_dir):
  """A training iteration, an evaluation, the advantages of a host-local batch and a saved
  checkpoint on the two processes: what test_two_process_iteration checks."""
  import jax  # pylint: disable=import-outside-toplevel
  from proxmo_jax.training import train  # pylint: disable=import-outside-toplevel
  run = train.Run(_config(data_dir), workdir)
  t = run.trainer
  from tests import taps  # pylint: disable=import-outside-toplevel
  local = []  # this host's step samples in the training iteration
  t.runner.run = taps.tap(t.runner.run,
                          lambda r, *a, **k: local.append(sum(len(e.steps) for e in r[0])))
  try:
    metrics = t.train_iteration()
    # The untrained policy scores 0 everywhere, so the evaluation's episodes get a partial score
    # of this host's own (0.25 on process 0, 0.5 on process 1): a table built from one host's
    # episodes differs from the one gathered over both.
    score_key = run.exp.spec.score_key
    t.runner.run = taps.tap(t.runner.run, lambda r, *a, **k: [
        e.info.__setitem__(score_key, 0.25 * (1 + jax.process_index())) for e in r[0]])
    episodes, row = run.evaluate(num_tasks=4, temperature=0.0)
    advantage_check = _advantages_of_a_host_local_batch(run.config, t)
    t.save()
    t.ckpt.wait()
    return {"process": jax.process_index(), "processes": jax.process_count(),
            "devices": jax.device_count(), "local_devices": jax.local_device_count(),
            "metrics": {k: float(v) for k, v in metrics.items()},
            "eval": {k: None if v is None else float(v) for k, v in row.items()},
            "local_eval_episodes": len(episodes),
            "steps": [int(s) for s in t.ckpt.steps()], "local_step_samples": local[0],
            "advantage_check": advantage_check}
  finally:
    run.close()


def _frozen_hidden(workdir, data_dir):
  import jax  # pylint: disable=import-outside-toplevel
  return {"process": jax.process_index(), "processes": jax.process_count(),
          "frozen_hidden": _frozen_hidden_iterations(data_dir, workdir)}


PARTS = {"iteration": _iteration, "frozen_hidden": _frozen_hidden}


def main():
  pid, port, workdir, data_dir, out, part = sys.argv[1:7]
  os.environ.update(PROXMO_COORDINATOR=f"127.0.0.1:{port}", PROXMO_NUM_PROCESSES="2",
                    PROXMO_PROCESS_ID=pid)
  from proxmo_jax import parallel  # pylint: disable=import-outside-toplevel
  parallel.initialize()
  result = PARTS[part](workdir, data_dir)
  with open(out, "w") as f:
    json.dump(result, f)


if __name__ == "__main__":
  main()
