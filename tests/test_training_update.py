"""The PPO update: it learns, skips non-finite steps, is the same on 8 devices as on 1, and its
micro-batches (sorted by length, padding columns dropped) give the step of the whole mini-batch."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from proxmo_jax import parallel
from proxmo_jax.models import config, logprobs, transformer
from proxmo_jax.training import losses, train_state, update

CFG = config.ModelConfig(vocab_size=32, d_model=16, n_layers=1, n_heads=2, n_kv_heads=1, d_ff=32,
                         rope_theta=10000.0)
LOGPROB = functools.partial(logprobs.token_logprobs, cfg=CFG)
TX = train_state.make_optimizer(train_state.OptimizerConfig(learning_rate=1e-2))


def _batch(rows=8, length=6, seed=0):
  rng = np.random.default_rng(seed)
  ids = jnp.asarray(rng.integers(1, 32, (rows, length)), jnp.int32)
  attn = jnp.ones((rows, length), jnp.int32)
  resp = jnp.asarray(np.r_[[0, 0, 0], [1, 1, 1]][None].repeat(rows, 0), jnp.float32)
  params = transformer.init_params(CFG, jax.random.PRNGKey(0))
  logp, _ = LOGPROB(params, ids, attn)
  adv = jnp.asarray(rng.normal(size=rows), jnp.float32)
  return params, {"input_ids": ids, "attention_mask": attn, "response_mask": resp,
                  "old_logp": logp, "ref_logp": logp, "advantages": adv}


def test_updates_raise_the_likelihood_of_positive_advantage_tokens():
  params, batch = _batch()
  state = train_state.create_train_state(params, TX)
  before = float(jnp.sum(batch["advantages"][:, None] * batch["old_logp"] * batch["response_mask"]))
  for _ in range(5):
    state, metrics = update.ppo_epoch(state, batch, mini_batch=8, micro_batch=4, tx=TX,
                                      logprob_fn=LOGPROB, loss_cfg=losses.LossConfig())
  logp, _ = LOGPROB(state.params, batch["input_ids"], batch["attention_mask"])
  after = float(jnp.sum(batch["advantages"][:, None] * logp * batch["response_mask"]))
  assert after > before and int(state.step) == 5 and metrics["skipped"] == 0.0


def test_non_finite_loss_skips_the_update():
  params, batch = _batch()
  before = jax.tree_util.tree_map(np.asarray, params)  # update_step donates the state
  state = train_state.create_train_state(params, TX)
  opt_before = jax.tree_util.tree_map(np.asarray, state.opt_state)
  bad = dict(batch, advantages=batch["advantages"].at[0].set(jnp.nan))
  state, metrics = update.ppo_epoch(state, bad, mini_batch=8, micro_batch=8, tx=TX,
                                    logprob_fn=LOGPROB, loss_cfg=losses.LossConfig())
  assert metrics["skipped"] == 1.0 and int(state.skipped) == 1 and int(state.step) == 0
  # Neither the params nor the optimizer's moments and step count moved.
  jax.tree_util.tree_map(np.testing.assert_array_equal, (state.params, state.opt_state),
                         (before, opt_before))


def test_one_update_on_8_devices_equals_1_device():
  params, batch = _batch(rows=16)
  host = jax.tree_util.tree_map(np.asarray, params)
  single = train_state.create_train_state(params, TX)
  single, _ = update.ppo_epoch(single, batch, mini_batch=16, micro_batch=16, tx=TX,
                               logprob_fn=LOGPROB, loss_cfg=losses.LossConfig())
  mesh = parallel.make_mesh({"data": 4, "fsdp": 2, "tensor": 1})
  shard = parallel.param_shardings(host, transformer.logical_axes(CFG), mesh)
  sharded_params = jax.device_put(host, shard)
  multi = train_state.create_train_state(sharded_params, TX)
  place = lambda mb: jax.tree_util.tree_map(
      lambda x: jax.device_put(x, parallel.batch_sharding(mesh, x.ndim)), mb)
  multi, _ = update.ppo_epoch(multi, batch, mini_batch=16, micro_batch=16, tx=TX,
                              logprob_fn=LOGPROB, loss_cfg=losses.LossConfig(), shard_fn=place)
  assert len(multi.params["embed"].sharding.device_set) == 8
  # Adam moves each element by at most ~lr; the two runs differ only in float32 summation order
  # of the gradient, which Adam's g / (|g| + eps) normalisation amplifies most where |g| ~ eps.
  # Compare the updates to 0.1 % of the largest possible step.
  lr = 1e-2
  for a, b, h in zip(jax.tree_util.tree_leaves(single.params),
                     jax.tree_util.tree_leaves(multi.params), jax.tree_util.tree_leaves(host)):
    np.testing.assert_allclose(np.asarray(a) - h, np.asarray(b) - h, atol=1e-3 * lr)


def test_response_only_update_equals_full_update():
  params, batch = _batch()
  host = jax.tree_util.tree_map(np.asarray, params)
  full = train_state.create_train_state(params, TX)
  full, m_full = update.ppo_epoch(full, batch, mini_batch=8, micro_batch=4, tx=TX,
                                  logprob_fn=LOGPROB, loss_cfg=losses.LossConfig())
  idx = jnp.asarray(logprobs.response_index(batch["response_mask"], multiple=4))
  fast = train_state.create_train_state(jax.tree_util.tree_map(jnp.asarray, host), TX)
  fast, m_fast = update.ppo_epoch(fast, dict(batch, score_index=idx), mini_batch=8,
                                  micro_batch=4, tx=TX, logprob_fn=LOGPROB,
                                  loss_cfg=losses.LossConfig())
  for k in ("loss", "pg_loss", "entropy", "kl", "grad_norm"):
    np.testing.assert_allclose(m_fast[k], m_full[k], rtol=1e-5, atol=1e-7)
  # As in the 8-device test: Adam amplifies float32 summation-order differences where |g| ~ eps.
  for a, b, h in zip(jax.tree_util.tree_leaves(fast.params),
                     jax.tree_util.tree_leaves(full.params), jax.tree_util.tree_leaves(host)):
    np.testing.assert_allclose(np.asarray(a) - h, np.asarray(b) - h, atol=1e-3 * 1e-2)


def _pad_rows(batch, rows):
  """`rows` padding rows as build_update_batch writes them: no tokens, no response, A = 0."""
  pad = lambda x: jnp.concatenate([x, jnp.zeros((rows,) + x.shape[1:], x.dtype)])
  return {k: pad(v) for k, v in batch.items()}


def test_padding_rows_neither_shrink_the_step_nor_the_metrics():
  # 4 real rows in 2 micro-batches of 2, then the same rows with 4 padding rows after them
  # (2 more micro-batches with no tokens), split as they come and sorted. The step and the
  # metrics must be the same: the loss is the token-mean over the mini-batch's tokens.
  params, batch = _batch(rows=4)
  host = jax.tree_util.tree_map(np.asarray, params)
  fresh = lambda: train_state.create_train_state(jax.tree_util.tree_map(jnp.asarray, host), TX)
  real, m_real = update.update_step(fresh(), batch, tx=TX, logprob_fn=LOGPROB,
                                    loss_cfg=losses.LossConfig(), micro_batch=2)
  for trim in (False, True):
    padded, m_pad = update.update_step(fresh(), _pad_rows(batch, 4), tx=TX, logprob_fn=LOGPROB,
                                       loss_cfg=losses.LossConfig(), micro_batch=2, trim=trim)
    # old_logp are the params' own log-probs, recomputed outside this jit: every response
    # token's ratio is 1 up to a few float32 ulps of log-probs of size ~log(32) = 3.5 (ulp
    # 2.4e-7). Averaging in the padding micro-batches' zeros would have given 0.5.
    np.testing.assert_allclose([float(m_pad["ratio_mean"]), float(m_pad["ratio_max"])],
                               [1.0, 1.0], rtol=0, atol=1e-6)
    for k in ("loss", "pg_loss", "entropy", "kl", "grad_norm", "tokens"):
      np.testing.assert_allclose(float(m_pad[k]), float(m_real[k]), rtol=1e-6, atol=1e-9)
    for a, b in zip(jax.tree_util.tree_leaves(padded.params),
                    jax.tree_util.tree_leaves(real.params)):
      np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-7)
  assert float(m_real["tokens"]) == 12.0  # 4 rows x 3 response tokens: the mini-batch's N


def _ragged_batch(rows=8, length=160, seed=1):
  """Rows as build_update_batch lays them out: prompts of 20..150 tokens left-padded to
  length - 4, then responses of 2..4 tokens right-padded to 4 columns."""
  rng = np.random.default_rng(seed)
  prompt = length - 4
  ids = np.zeros((rows, length), np.int32)
  attn = np.zeros((rows, length), np.int32)
  resp = np.zeros((rows, length), np.float32)
  for i, (lp, lr) in enumerate(zip(rng.integers(20, 151, rows), rng.integers(2, 5, rows))):
    ids[i, prompt - lp:prompt + lr] = rng.integers(1, 32, lp + lr)
    attn[i, prompt - lp:prompt + lr] = 1
    resp[i, prompt:prompt + lr] = 1.0
  params = transformer.init_params(CFG, jax.random.PRNGKey(0))
  ids, attn, resp = jnp.asarray(ids), jnp.asarray(attn), jnp.asarray(resp)
  idx = jnp.asarray(logprobs.response_index(resp, multiple=4))
  logp = LOGPROB(params, ids, attn)[0] * resp
  adv = jnp.asarray(rng.normal(size=rows), jnp.float32)
  return params, {"input_ids": ids, "attention_mask": attn, "response_mask": resp,
                  "old_logp": logp - 0.05 * resp, "ref_logp": logp + 0.1 * resp, "advantages": adv,
                  "score_index": idx}


def test_split_minibatch_sorts_rows_trims_padding_columns_and_shifts_the_score_index():
  _, batch = _ragged_batch()
  # A host array [N, L, D] (the rollout's frozen-layer states) is cut with the [N, L] ones.
  batch["frozen_hidden"] = np.stack(np.meshgrid(np.arange(8), np.arange(160), indexing="ij"),
                                    axis=-1).astype(np.float32)
  first = np.argmax(np.asarray(batch["attention_mask"]) > 0, axis=1)
  micros = update.split_minibatch(batch, micro_batch=2)
  assert len(micros) == 4
  ids = np.asarray(batch["input_ids"])
  seen = []
  for mb in micros:
    width = mb["input_ids"].shape[1]
    assert all(mb[k].shape == (2, width) for k in update.ROW_KEYS if k != "frozen_hidden")
    # Each micro-batch row is the batch row whose last `width` columns it holds.
    rows = [int(np.nonzero((ids[:, -width:] == np.asarray(mb["input_ids"])[r]).all(1))[0][0])
            for r in range(2)]
    seen += rows
    np.testing.assert_array_equal(mb["frozen_hidden"], batch["frozen_hidden"][rows, -width:])
    # The longest row rounded up to a multiple of 64, capped at the 160 columns.
    longest = max(160 - first[i] for i in rows)
    assert width == min(160, -(-longest // 64) * 64)
    # The score index points at the same tokens as before the cut.
    for r, i in enumerate(rows):
      n = int(np.sum(batch["response_mask"][i]))
      np.testing.assert_array_equal(
          np.asarray(mb["input_ids"])[r, np.asarray(mb["score_index"])[r, :n]],
          ids[i, np.asarray(batch["score_index"])[i, :n]])
      assert float(mb["advantages"][r]) == float(batch["advantages"][i])
  assert sorted(seen) == list(range(8))
  assert list(first[seen]) == sorted(first)  # longest rows first
  assert [mb["input_ids"].shape[1] for mb in micros] == sorted(
      [mb["input_ids"].shape[1] for mb in micros], reverse=True)
  assert min(mb["input_ids"].shape[1] for mb in micros) < 160  # some columns were dropped


def test_sorted_trimmed_micro_batches_give_the_step_of_the_whole_mini_batch():
  # The loss is the mini-batch's token-mean, so one micro-batch of 8 rows, 4 consecutive pairs
  # and 4 sorted, trimmed pairs are the same step up to float32 summation order.
  params, batch = _ragged_batch()
  host = jax.tree_util.tree_map(np.asarray, params)
  results = []
  for micro, trim in ((8, False), (2, False), (2, True)):
    state = train_state.create_train_state(jax.tree_util.tree_map(jnp.asarray, host), TX)
    results.append(update.ppo_epoch(state, batch, mini_batch=8, micro_batch=micro, tx=TX,
                                    logprob_fn=LOGPROB, loss_cfg=losses.LossConfig())
                   if trim else
                   update.update_step(state, batch, tx=TX, logprob_fn=LOGPROB,
                                      loss_cfg=losses.LossConfig(), micro_batch=micro,
                                      trim=False))
  (whole, m_whole), rest = results[0], results[1:]
  m_whole = {k: float(v) for k, v in m_whole.items()}
  assert m_whole["tokens"] == float(np.sum(batch["response_mask"]))
  assert m_whole["kl"] > 0 and m_whole["ratio_max"] > 1.0
  for state, m in rest:
    for k in ("loss", "pg_loss", "entropy", "kl", "clip_frac", "ratio_mean", "ratio_max",
              "grad_norm", "tokens"):
      np.testing.assert_allclose(float(m[k]), m_whole[k], rtol=1e-5, atol=1e-8)
    # As in the 8-device test: Adam amplifies float32 summation-order differences where
    # |g| ~ eps; compare the steps to 0.1 % of the largest possible one.
    for a, b, h in zip(jax.tree_util.tree_leaves(state.params),
                       jax.tree_util.tree_leaves(whole.params), jax.tree_util.tree_leaves(host)):
      np.testing.assert_allclose(np.asarray(a) - h, np.asarray(b) - h, atol=1e-3 * 1e-2)
