"""End to end on the real engine: one PPO iteration, checkpoint, and an identical resume."""

import math

import jax
import numpy as np
import pytest

from configs import alfworld
from environments.alfworld import data
from proxmo_jax.training import train
from proxmo_jax.training import trainer as trainer_lib
from tests import fixed_advantages


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
  root = str(tmp_path_factory.mktemp("alf"))
  for split in ("train", "test"):  # a run generates a missing split: both are made small here
    data.generate_split(root, split, per_task=2, task_types=("pick_and_place_simple",),
                        progress=False)
  return root


def _config(data_dir):
  c = alfworld.get_config("proxmo,tiny")
  c.env.data_dir = data_dir
  c.env.group_size = 2
  c.env.groups_per_batch = 2
  c.env.max_steps = 3
  c.env.num_workers = 1
  c.rollout.max_response_tokens = 8
  c.ppo.mini_batch = 8
  c.ppo.micro_batch = 8
  c.optim.learning_rate = 1e-3
  c.eval.before_train = False
  c.checkpoint.every = 1
  c.iterations = 2
  return c


def _comparable(m):
  return {k: v for k, v in m.items()
          if not k.startswith(("time/", "compile/")) and "overhead" not in k}


def test_iteration_checkpoint_and_identical_resume(data_dir, tmp_path, monkeypatch):
  """The straight run checkpoints after its first iteration only and goes on to the second; a
  new run on its directory (as after a kill that followed the checkpoint) resumes from iteration
  1, and its second iteration gives the straight run's metrics, params and optimizer state. The
  untrained policy wins nothing, so the advantages are fixed at +-1 by row: the policy-gradient
  term and Adam's moments from iteration 1 then shape iteration 2's update."""
  monkeypatch.setattr(trainer_lib, "compute_advantages",
                      fixed_advantages.alternating(trainer_lib.compute_advantages))
  c = _config(data_dir)
  run = train.Run(c, str(tmp_path / "a"))
  straight = run.trainer
  try:
    m1 = straight.train_iteration()
    straight.save()
    m2 = straight.train_iteration()
    state_a = jax.device_get((straight.state.params, straight.state.opt_state))
  finally:
    run.close()
  assert m1["step_samples"] > 0 and math.isfinite(m1["loss"]) and m1["skipped"] == 0.0
  assert m1["adv/total_nonzero"] > 0 and m2["adv/total_nonzero"] > 0
  assert set(m1) >= {"success_rate", "invalid_rate", "adv/step_std", "kl", "entropy",
                     "clip_frac", "time/rollout", "time/advantage", "adv_overhead_vs_grpo_pct"}
  # The directory holds iteration 1's checkpoint alone (iteration 2 was not saved): a new run
  # there starts from it.
  run = train.Run(c, str(tmp_path / "a"))
  resumed = run.trainer
  try:
    assert resumed.iteration == 1 and list(resumed.ckpt.steps()) == [1]
    m2b = resumed.train_iteration()
    state_b = jax.device_get((resumed.state.params, resumed.state.opt_state))
  finally:
    run.close()
  # The same programs on the same inputs: the resumed run's metrics (all but timings and
  # compile counts) and state are the straight run's, bit for bit (Adam's moments and step
  # count included).
  assert _comparable(m2b) == _comparable(m2)
  jax.tree_util.tree_map(np.testing.assert_array_equal, state_b, state_a)


def test_scoring_in_micro_batches_matches_one_forward(data_dir, tmp_path, monkeypatch):
  """Old and reference log-probs are computed ppo.micro_batch rows per data-parallel shard at a
  time (memory), rows sorted by length and each chunk without its all-padding columns; rows are
  independent and positions come from the mask, so only the matmul kernels' blocking may
  differ: float32 rounding, far below 1e-5 on log-probs of magnitude < 10. On the tests' 8
  devices a chunk is 2 x 8 = 16 rows, so 32 rows make two (8 rows were one call, and the test
  compared that call with itself)."""
  import jax.numpy as jnp
  import numpy as np
  from proxmo_jax.models import logprobs
  from proxmo_jax.training import update
  c = _config(data_dir)
  c.ppo.micro_batch = 2
  run = train.Run(c, str(tmp_path / "s"))
  plans = []
  plan = update.plan_micro_batches
  monkeypatch.setattr(update, "plan_micro_batches",
                      lambda *a: (lambda p: (plans.append(p), p)[1])(plan(*a)))
  try:
    t = run.trainer
    rng = np.random.default_rng(0)
    ids = jnp.asarray(rng.integers(1, t.policy.model_cfg.vocab_size, (32, 160)), jnp.int32)
    attn = np.ones((32, 160), np.int32)
    for i in range(32):                      # left padding: 0, 4, ..., 124 columns
      attn[i, :4 * i] = 0
    resp = np.zeros((32, 160), np.float32)
    resp[:, 152:] = 1.0
    resp[31] = 0.0                           # a padding row: nothing scored
    idx = jnp.asarray(logprobs.response_index(resp, multiple=8))
    attn = jnp.asarray(attn)
    whole = t._logprob_jit(t.ref_params, ids, attn, score_index=idx)[0] * resp
    chunked = t.score(t.ref_params, ids, attn, idx)
    assert chunked.shape == whole.shape == (32, 160)
    # Two sorted chunks of 16 rows: 160 to 100 real columns, then 96 to 36 (128 kept columns).
    assert [[len(rows), 160 - lo] for rows, lo in plans[0]] == [[16, 160], [16, 128]]
    np.testing.assert_allclose(np.asarray(chunked), np.asarray(whole), rtol=0, atol=1e-5)
    assert float(jnp.max(jnp.abs(whole))) > 0
    # From the kept states of the layers below adapters on the top layer (ppo.frozen_hidden):
    # each chunk gets its rows' and columns' states, so the chunks give the same numbers.
    import jax  # pylint: disable=import-outside-toplevel
    from proxmo_jax.models import lora, transformer  # pylint: disable=import-outside-toplevel
    cfg = t.policy.model_cfg
    adapters = jax.tree_util.tree_map(lambda x: x + 0.05, lora.init_lora(
        cfg, lora.LoraConfig(rank=2, alpha=2.0, targets="q,v", layers=1), jax.random.PRNGKey(1)))
    bottom, bottom_cfg = transformer.first_layers(t.ref_params, cfg, cfg.n_layers - 1)
    kept = np.asarray(transformer.hidden_states(bottom, ids, attn, bottom_cfg))
    whole = t._logprob_jit(t.ref_params, ids, attn, score_index=idx, lora=adapters)[0] * resp
    chunked = t.score(t.ref_params, ids, attn, idx, lora=adapters, frozen_hidden=kept)
    assert len(plans) == 2
    np.testing.assert_allclose(np.asarray(chunked), np.asarray(whole), rtol=0, atol=1e-5)
  finally:
    run.close()
