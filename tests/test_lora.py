"""LoRA: a fresh adapter is the base model, merge == adapted forward, only adapters train."""

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from proxmo_jax.models import config, logprobs, lora, transformer
from proxmo_jax.training import losses, train_state, update

CFG = config.ModelConfig(vocab_size=64, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2,
                         d_ff=48, rope_theta=10000.0, qkv_bias=False)
PARAMS = transformer.init_params(CFG, jax.random.PRNGKey(0))
LCFG = lora.LoraConfig(rank=4, alpha=8.0, targets="q,k,v,o,gate,up,down")
FWD = jax.jit(transformer.forward, static_argnames=("cfg", "lora_scale"))
TOKS = jnp.asarray(np.random.default_rng(0).integers(1, 64, (3, 10)), jnp.int32)
MASK = jnp.asarray([[0, 0, 1, 1, 1, 1, 1, 1, 1, 1], [1] * 10, [0] * 5 + [1] * 5], jnp.int32)


def _random_adapters(seed=1, b_std=0.05):
  """Adapters with a non-zero B, so the adapted model differs from the base."""
  ad = lora.init_lora(CFG, LCFG, jax.random.PRNGKey(seed))
  keys = iter(jax.random.split(jax.random.PRNGKey(seed + 100), len(ad)))
  return {n: {"a": ab["a"], "b": b_std * jax.random.normal(next(keys), ab["b"].shape)}
          for n, ab in ad.items()}


def test_targets_parse_from_string_or_tuple():
  assert lora.parse_targets("q, v") == ("wq", "wv")
  assert lora.parse_targets(("down_proj", "q_proj")) == ("wq", "w_down")
  assert lora.LoraConfig(targets=("gate", "up")).targets == ("w_gate", "w_up")
  with pytest.raises(ValueError, match="unknown"):
    lora.parse_targets("q,qkv")
  with pytest.raises(ValueError, match="rank"):
    lora.LoraConfig(rank=0)


def test_fresh_adapters_give_the_base_logits_exactly():
  ad = lora.init_lora(CFG, LCFG, jax.random.PRNGKey(1))
  assert set(ad) == set(LCFG.targets)
  assert ad["wq"]["a"].shape == (2, 32, 4) and ad["w_down"]["b"].shape == (2, 4, 32)
  base = FWD(PARAMS, TOKS, MASK, cfg=CFG)
  adapted = FWD(PARAMS, TOKS, MASK, cfg=CFG, lora=ad, lora_scale=LCFG.scale)
  np.testing.assert_array_equal(np.asarray(adapted), np.asarray(base))


def test_merged_equals_unmerged_forward():
  ad = _random_adapters()
  unmerged = FWD(PARAMS, TOKS, MASK, cfg=CFG, lora=ad, lora_scale=LCFG.scale)
  merged = FWD(lora.merge(PARAMS, ad, LCFG), TOKS, MASK, cfg=CFG)
  base = FWD(PARAMS, TOKS, MASK, cfg=CFG)
  # The adapters move the logits by O(0.1); h(W + sAB) and hW + s(hA)B differ by float32
  # rounding of a few dot products of width <= 48 (relative 1e-7 each) on logits of size O(1).
  assert float(jnp.max(jnp.abs(unmerged - base))) > 1e-2
  np.testing.assert_allclose(np.asarray(merged), np.asarray(unmerged), atol=1e-5, rtol=1e-5)


def test_gradients_reach_only_the_adapters():
  ad = _random_adapters()
  fn = functools.partial(logprobs.token_logprobs, cfg=CFG, lora_scale=LCFG.scale)

  def loss(base, adapters):
    lp, _ = fn(base, TOKS, MASK, lora=adapters)
    return -jnp.sum(lp)

  g_ad = jax.grad(loss, argnums=1)(PARAMS, ad)
  for path, g in jax.tree_util.tree_leaves_with_path(g_ad):
    assert float(jnp.max(jnp.abs(g))) > 0, jax.tree_util.keystr(path)
  # The update differentiates w.r.t. the adapters only: its state holds no base-shaped leaf.
  tx = train_state.make_optimizer(train_state.OptimizerConfig(learning_rate=1e-2))
  state = train_state.create_train_state(ad, tx)
  ad_shapes = {x.shape for x in jax.tree_util.tree_leaves(ad)}
  opt_shapes = {x.shape for x in jax.tree_util.tree_leaves(state.opt_state)}
  assert opt_shapes - {()} == ad_shapes
  assert sum(x.size for x in jax.tree_util.tree_leaves(state.opt_state)) <= 2 * lora.count(ad) + 8


CFG3 = config.ModelConfig(vocab_size=64, d_model=32, n_layers=3, n_heads=4, n_kv_heads=2,
                          d_ff=48, rope_theta=10000.0)
PARAMS3 = transformer.init_params(CFG3, jax.random.PRNGKey(3))


def _top_and_full_adapters(top_layers):
  """Random adapters on the top `top_layers` layers of CFG3, and the all-layer tree that equals
  them on those layers and has B = 0 (no effect) on the layers below."""
  full = lora.init_lora(CFG3, LCFG, jax.random.PRNGKey(5))
  keys = iter(jax.random.split(jax.random.PRNGKey(6), len(full)))
  first = CFG3.n_layers - top_layers
  full = {n: {"a": ab["a"],
              "b": (0.05 * jax.random.normal(next(keys), ab["b"].shape)).at[:first].set(0.0)}
          for n, ab in full.items()}
  top = jax.tree_util.tree_map(lambda x: x[first:], full)
  return top, full


@pytest.mark.parametrize("top_layers", [1, 2])
def test_adapters_on_the_top_layers_equal_all_layer_adapters_that_are_zero_below(top_layers):
  top_cfg = lora.LoraConfig(rank=4, alpha=8.0, layers=top_layers)
  assert lora.init_lora(CFG3, top_cfg, jax.random.PRNGKey(0))["wq"]["a"].shape == (top_layers,
                                                                                    32, 4)
  top, full = _top_and_full_adapters(top_layers)
  assert {x.shape[0] for x in jax.tree_util.tree_leaves(top)} == {top_layers}
  fn = functools.partial(logprobs.token_logprobs, cfg=CFG3, lora_scale=LCFG.scale)
  loss = lambda adapters: -jnp.sum(fn(PARAMS3, TOKS, MASK, lora=adapters)[0])
  v_top, g_top = jax.value_and_grad(loss)(top)
  v_full, g_full = jax.value_and_grad(loss)(full)
  # The same arithmetic per layer (h W + s (h A) 0 = h W exactly below), in two scans instead of
  # one: equal up to float32 rounding of XLA's fusion choices (relative 1e-6 on O(1) values).
  np.testing.assert_allclose(float(v_top), float(v_full), rtol=1e-6)
  for path, g in jax.tree_util.tree_leaves_with_path(g_top):
    g_ref = functools.reduce(lambda t, k: t[k.key], path, g_full)[CFG3.n_layers - top_layers:]
    scale = float(jnp.max(jnp.abs(g_ref)))
    assert scale > 0, jax.tree_util.keystr(path)
    np.testing.assert_allclose(np.asarray(g), np.asarray(g_ref), rtol=0, atol=1e-5 * scale)
  # Merging folds them into the top layers only, and gives the unmerged forward.
  merged = lora.merge(PARAMS3, top, top_cfg)
  first = CFG3.n_layers - top_layers
  for name in top:
    np.testing.assert_array_equal(np.asarray(merged["layers"][name][:first]),
                                  np.asarray(PARAMS3["layers"][name][:first]))
    assert float(jnp.max(jnp.abs(merged["layers"][name][first:]
                                 - PARAMS3["layers"][name][first:]))) > 0
  np.testing.assert_allclose(np.asarray(FWD(merged, TOKS, MASK, cfg=CFG3)),
                             np.asarray(FWD(PARAMS3, TOKS, MASK, cfg=CFG3, lora=top,
                                            lora_scale=LCFG.scale)), atol=1e-5, rtol=1e-5)


def test_reference_logprobs_from_the_shared_lower_layers_are_the_base_models():
  top, _ = _top_and_full_adapters(1)
  idx = jnp.asarray(logprobs.response_index(MASK[:, :] * (jnp.arange(10) >= 6), multiple=4))
  fn = functools.partial(logprobs.token_logprobs, cfg=CFG3, lora_scale=LCFG.scale,
                         score_index=idx)
  lp, ent, ref = jax.jit(functools.partial(fn, with_reference=True))(PARAMS3, TOKS, MASK,
                                                                     lora=top)
  lp_alone, ent_alone = jax.jit(fn)(PARAMS3, TOKS, MASK, lora=top)
  base_lp, _ = jax.jit(fn)(PARAMS3, TOKS, MASK)
  assert float(jnp.max(jnp.abs(lp - base_lp))) > 1e-3  # the adapters do move the policy
  # The same layers on the same inputs, scanned in other groupings: float32 rounding of
  # log-probs of size ~log(64) = 4.2 (ulp 4.8e-7), a few ulps.
  for got, want in ((ref, base_lp), (lp, lp_alone), (ent, ent_alone)):
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=0, atol=2e-6)
  with pytest.raises(ValueError, match="needs LoRA"):
    fn(PARAMS3, TOKS, MASK, with_reference=True)


def test_update_with_the_reference_inside_equals_the_update_given_it():
  top_cfg = lora.LoraConfig(rank=4, alpha=8.0, layers=1)
  rng = np.random.default_rng(0)
  ids = jnp.asarray(rng.integers(1, 64, (8, 10)), jnp.int32)
  attn = jnp.ones((8, 10), jnp.int32)
  resp = jnp.asarray(np.r_[[0] * 6, [1] * 4][None].repeat(8, 0), jnp.float32)
  idx = jnp.asarray(logprobs.response_index(resp, multiple=4))
  base_lp = logprobs.token_logprobs(PARAMS3, ids, attn, CFG3, score_index=idx)[0] * resp
  given = {"input_ids": ids, "attention_mask": attn, "response_mask": resp,
           "old_logp": base_lp, "ref_logp": base_lp, "score_index": idx,
           "advantages": jnp.asarray(rng.normal(size=8), jnp.float32)}
  inside = {k: v for k, v in given.items() if k != "ref_logp"}
  tx = train_state.make_optimizer(train_state.OptimizerConfig(learning_rate=1e-2))
  fn = functools.partial(logprobs.token_logprobs, cfg=CFG3, lora_scale=top_cfg.scale)
  run = lambda batch: update.ppo_epoch(
      train_state.create_train_state(lora.init_lora(CFG3, top_cfg, jax.random.PRNGKey(1)), tx),
      batch, mini_batch=4, micro_batch=2, tx=tx, logprob_fn=fn, loss_cfg=losses.LossConfig(),
      base=PARAMS3)
  (s_given, m_given), (s_inside, m_inside) = run(given), run(inside)
  assert m_inside["kl"] > 0  # the second mini-batch's policy has moved away from the base
  for k in ("loss", "pg_loss", "kl", "entropy", "grad_norm"):
    np.testing.assert_allclose(m_inside[k], m_given[k], rtol=1e-5, atol=1e-8)
  # As in test_training_update: Adam amplifies float32 rounding where |g| ~ eps; compare the
  # steps to 0.1 % of the largest possible one.
  for a, b in zip(jax.tree_util.tree_leaves(s_inside.params),
                  jax.tree_util.tree_leaves(s_given.params)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-3 * 1e-2)
  # Without LoRA the reference is a separate copy of the params: it must be given.
  with pytest.raises(ValueError, match="without ref_logp"):
    update.ppo_epoch(train_state.create_train_state(PARAMS3, tx), inside, mini_batch=4,
                     micro_batch=2, tx=tx, logprob_fn=fn, loss_cfg=losses.LossConfig())


def test_more_adapted_layers_than_the_model_has_is_an_error():
  with pytest.raises(ValueError, match="has 3 layers"):
    lora.init_lora(CFG3, lora.LoraConfig(layers=4), jax.random.PRNGKey(0))
  with pytest.raises(ValueError, match="layers=-1"):
    lora.LoraConfig(layers=-1)


def _toy_batch(rows=8, length=10, seed=0):
  rng = np.random.default_rng(seed)
  ids = jnp.asarray(rng.integers(1, 64, (rows, length)), jnp.int32)
  attn = jnp.ones((rows, length), jnp.int32)
  resp = jnp.asarray(np.r_[[0] * 6, [1] * 4][None].repeat(rows, 0), jnp.float32)
  lp, _ = logprobs.token_logprobs(PARAMS, ids, attn, CFG)
  adv = jnp.asarray(rng.normal(size=rows), jnp.float32)
  return {"input_ids": ids, "attention_mask": attn, "response_mask": resp,
          "old_logp": lp * resp, "ref_logp": lp * resp, "advantages": adv,
          "score_index": jnp.asarray(logprobs.response_index(resp, multiple=4))}


def test_lora_updates_lower_the_loss_and_leave_the_base_alone():
  batch = _toy_batch()
  base_before = jax.tree_util.tree_map(np.asarray, PARAMS)
  ad = lora.init_lora(CFG, LCFG, jax.random.PRNGKey(1))
  tx = train_state.make_optimizer(train_state.OptimizerConfig(learning_rate=1e-2))
  state = train_state.create_train_state(ad, tx)
  fn = functools.partial(logprobs.token_logprobs, cfg=CFG, lora_scale=LCFG.scale)
  loss_cfg = losses.LossConfig()
  first = None
  for _ in range(6):
    state, m = update.ppo_epoch(state, batch, mini_batch=8, micro_batch=4, tx=tx,
                                logprob_fn=fn, loss_cfg=loss_cfg, base=PARAMS)
    first = m["loss"] if first is None else first
  assert int(state.step) == 6 and m["skipped"] == 0.0
  assert m["loss"] < first - 1e-3, (first, m["loss"])
  # The state holds the adapters only; the base params were neither donated nor changed.
  assert jax.tree_util.tree_structure(state.params) == jax.tree_util.tree_structure(ad)
  assert not any(x.is_deleted() for x in jax.tree_util.tree_leaves(PARAMS))
  for a, b in zip(jax.tree_util.tree_leaves(PARAMS), jax.tree_util.tree_leaves(base_before)):
    np.testing.assert_array_equal(np.asarray(a), b)
  # The reference policy is the base params without adapters, no copy needed.
  ref, _ = logprobs.token_logprobs(PARAMS, batch["input_ids"], batch["attention_mask"], CFG)
  np.testing.assert_array_equal(np.asarray(ref * batch["response_mask"]),
                                np.asarray(batch["ref_logp"]))
  merged = lora.merge(PARAMS, state.params, LCFG)
  lp_m, _ = logprobs.token_logprobs(merged, batch["input_ids"], batch["attention_mask"], CFG)
  lp_u, _ = fn(PARAMS, batch["input_ids"], batch["attention_mask"], lora=state.params)
  np.testing.assert_allclose(np.asarray(lp_m), np.asarray(lp_u), atol=1e-5)
  # ... and the adapters moved the policy away from that reference, far beyond that bound.
  resp = np.asarray(batch["response_mask"]) > 0
  assert np.abs(np.asarray(lp_u) - np.asarray(ref))[resp].max() > 1e-3


def test_behaviour_cloning_with_lora_learns_and_returns_merged_params():
  from proxmo_jax.training import behavior_cloning
  rng = np.random.default_rng(3)
  examples = [(rng.integers(1, 64, 5).tolist(), [7, 8, 9, 10]) for _ in range(8)]
  full, full_losses = behavior_cloning.train_bc(
      jax.tree_util.tree_map(jnp.copy, PARAMS), examples, CFG, steps=3, batch_size=8,
      learning_rate=1e-2, log_every=0, length_multiple=16)
  merged, losses_ = behavior_cloning.train_bc(
      PARAMS, examples, CFG, steps=30, batch_size=8, learning_rate=5e-2, log_every=0,
      length_multiple=16, lora_cfg=LCFG)
  assert losses_[0] == pytest.approx(full_losses[0], abs=1e-5)  # both start from the base
  assert losses_[-1] < losses_[0] - 0.3  # slower than full BC: the tied head is not adapted
  assert jax.tree_util.tree_structure(merged) == jax.tree_util.tree_structure(PARAMS)
  np.testing.assert_array_equal(np.asarray(merged["embed"]), np.asarray(PARAMS["embed"]))
  assert float(jnp.max(jnp.abs(merged["layers"]["wq"] - PARAMS["layers"]["wq"]))) > 0


@pytest.mark.parametrize("use_lora", [False, True])
def test_behaviour_cloning_in_micro_batches_matches_the_whole_batch(use_lora):
  """Gradients summed over length-sorted micro-batches (the last one padded with empty rows),
  divided by the batch's token count: the whole batch's mean-token loss. Only float32
  summation order differs: over n <= 80 summed token terms its relative error is at most
  n * 2^-24 < 1e-5, the losses' tolerance; a parameter moves by lr 1e-2 times Adam's step of
  magnitude <= 1 per step, so 4 steps with gradients equal to 1e-5 relative differ by
  ~4 * 1e-2 * 1e-5 < 1e-5 absolute (measured: 1.8e-7 and 2.6e-7)."""
  from proxmo_jax.training import behavior_cloning
  rng = np.random.default_rng(7)
  examples = [(rng.integers(1, 64, int(rng.integers(3, 20))).tolist(),
               rng.integers(1, 64, int(rng.integers(1, 6))).tolist()) for _ in range(10)]
  kw = dict(steps=4, batch_size=8, learning_rate=1e-2, log_every=0, length_multiple=8,
            lora_cfg=LCFG if use_lora else None)
  copy = lambda: jax.tree_util.tree_map(jnp.copy, PARAMS)
  whole, whole_losses = behavior_cloning.train_bc(copy(), examples, CFG, **kw)
  micro, micro_losses = behavior_cloning.train_bc(copy(), examples, CFG, micro_batch=3, **kw)
  np.testing.assert_allclose(micro_losses, whole_losses, rtol=1e-5)
  for a, b in zip(jax.tree_util.tree_leaves(micro), jax.tree_util.tree_leaves(whole)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)
  assert whole_losses[-1] < whole_losses[0]


def test_adapters_shard_by_their_logical_axes():
  from proxmo_jax import parallel
  mesh = parallel.make_mesh({"data": 2, "fsdp": 2, "tensor": 2})
  ad = _random_adapters()
  sh = parallel.param_shardings(ad, lora.logical_axes(CFG, LCFG), mesh)
  placed = jax.device_put(ad, sh)
  assert placed["wq"]["a"].sharding.spec == jax.sharding.PartitionSpec(None, "fsdp", None)
  out = FWD(PARAMS, TOKS, MASK, cfg=CFG, lora=placed, lora_scale=LCFG.scale)
  ref = FWD(PARAMS, TOKS, MASK, cfg=CFG, lora=ad, lora_scale=LCFG.scale)
  np.testing.assert_allclose(np.asarray(out), np.asarray(ref), atol=1e-5)


@pytest.mark.parametrize("use_lora", [pytest.param(False, marks=pytest.mark.slow), True])
def test_behaviour_cloning_resumes_where_the_uninterrupted_run_ends(tmp_path, monkeypatch,
                                                                    use_lora):
  """A run killed right after its step-3 save and started again ends with the same params and
  losses as one that was never interrupted (the optimizer moments and the batch sampler's
  state are restored); a state that does not fit the run is refused with the fix; a run
  stopped part way (stop_after) goes on from there to the same end."""
  from proxmo_jax.training import behavior_cloning
  rng = np.random.default_rng(5)
  examples = [(rng.integers(1, 64, 5).tolist(), [7, 8, 9, 10]) for _ in range(12)]
  kw = dict(steps=6, batch_size=4, learning_rate=1e-2, log_every=0, length_multiple=16,
            lora_cfg=LCFG if use_lora else None)
  copy = lambda: jax.tree_util.tree_map(jnp.copy, PARAMS)
  ref, ref_losses = behavior_cloning.train_bc(copy(), examples, CFG, **kw)

  save = behavior_cloning._save_state

  def save_then_die(*args):
    save(*args[:-1], 1000.0)  # as if the killed call had run for 1000 s
    raise KeyboardInterrupt("killed after the save")

  monkeypatch.setattr(behavior_cloning, "_save_state", save_then_die)
  ckpt = str(tmp_path / "bc_state")
  with pytest.raises(KeyboardInterrupt):
    behavior_cloning.train_bc(copy(), examples, CFG, checkpoint_dir=ckpt, checkpoint_every=3,
                              **kw)
  monkeypatch.setattr(behavior_cloning, "_save_state", save)
  timing, began = {}, time.time()
  out, losses_ = behavior_cloning.train_bc(copy(), examples, CFG, checkpoint_dir=ckpt,
                                           checkpoint_every=3, timing=timing, **kw)
  own = time.time() - began
  assert losses_ == ref_losses
  # The resumed run's seconds are the killed call's (to its save) plus its own.
  assert timing["resumed_at"] == 3 and 1000.0 < timing["seconds"] <= 1000.0 + own
  for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(ref)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  other = LCFG if not use_lora else None  # the other kind of run cannot take this state
  with pytest.raises(RuntimeError, match="delete .*bc_state"):
    behavior_cloning.train_bc(copy(), examples, CFG, checkpoint_dir=ckpt, checkpoint_every=3,
                              **{**kw, "lora_cfg": other})
  with pytest.raises(RuntimeError, match="written by a run with .*'steps': 6"):
    behavior_cloning.train_bc(copy(), examples, CFG, checkpoint_dir=ckpt, checkpoint_every=3,
                              **{**kw, "steps": 7})
  # Stopped after step 4 (between saves) on the 6-step schedule, then the same call without
  # stop_after: it resumes at 4 and ends where the uninterrupted run ends.
  ckpt2 = str(tmp_path / "bc_state_stopped")
  part, part_losses = behavior_cloning.train_bc(copy(), examples, CFG, checkpoint_dir=ckpt2,
                                                checkpoint_every=3, stop_after=4, **kw)
  assert part_losses == ref_losses[:4]
  timing = {}
  out, losses_ = behavior_cloning.train_bc(copy(), examples, CFG, checkpoint_dir=ckpt2,
                                           checkpoint_every=3, timing=timing, **kw)
  assert timing["resumed_at"] == 4 and losses_ == ref_losses
  for a, b in zip(jax.tree_util.tree_leaves(out), jax.tree_util.tree_leaves(ref)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  with pytest.raises(RuntimeError, match="at step 3, past stop_after=2"):
    behavior_cloning.train_bc(copy(), examples, CFG, checkpoint_dir=ckpt, checkpoint_every=3,
                              stop_after=2, **kw)
  moved = sum(not np.array_equal(np.asarray(a), np.asarray(b)) for a, b in
              zip(jax.tree_util.tree_leaves(part), jax.tree_util.tree_leaves(ref)))
  assert moved  # the params at step 4 are not the end's
