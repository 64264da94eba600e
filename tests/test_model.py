"""The decoder: cache == full forward, padding invariance, sampling, log-probs, sharding."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from proxmo_jax import parallel
from proxmo_jax.models import config, logprobs, sampler, transformer

CFG = config.ModelConfig(vocab_size=97, d_model=32, n_layers=2, n_heads=4, n_kv_heads=2,
                         d_ff=64, rope_theta=10000.0)
PARAMS = transformer.init_params(CFG, jax.random.PRNGKey(0))
FWD = jax.jit(transformer.forward, static_argnames="cfg")


def test_left_padding_and_cached_decode_equal_full_forward():
  toks = jnp.array([[0, 0, 5, 6, 7, 8, 9], [1, 2, 3, 4, 5, 6, 7]], jnp.int32)
  mask = jnp.array([[0, 0, 1, 1, 1, 1, 1], [1] * 7], jnp.int32)
  full = FWD(PARAMS, toks, mask, cfg=CFG)
  unpadded = FWD(PARAMS, toks[:1, 2:], mask[:1, 2:], cfg=CFG)
  np.testing.assert_allclose(full[0, 2:], unpadded[0], atol=1e-5)
  cache = transformer.init_cache(CFG, 2, 10)
  pos = transformer.positions_from_mask(mask)
  outs = []
  l, cache = transformer.forward_with_cache(PARAMS, toks[:, :4], mask[:, :4], pos[:, :4], cache,
                                            0, CFG)
  outs.append(l)
  for t in range(4, 7):
    l, cache = transformer.forward_with_cache(PARAMS, toks[:, t:t + 1], mask[:, t:t + 1],
                                              pos[:, t:t + 1], cache, t, CFG)
    outs.append(l)
  cached = jnp.concatenate(outs, axis=1)
  real = np.asarray(mask, bool)
  np.testing.assert_allclose(np.asarray(cached)[real], np.asarray(full)[real], atol=1e-5)


def test_greedy_sampling_is_deterministic_and_matches_argmax():
  s = sampler.Sampler(CFG, eos_ids=[])
  prompts = [[5, 6, 7], [8, 9, 10, 11, 12, 13]]
  a = s.sample(PARAMS, prompts, jax.random.PRNGKey(1), max_new_tokens=6, temperature=0.0)
  b = s.sample(PARAMS, prompts, jax.random.PRNGKey(2), max_new_tokens=6, temperature=0.0)
  assert a.tokens == b.tokens
  for prompt, toks, lps in zip(prompts, a.tokens, a.logprobs):
    seq = jnp.asarray([prompt + toks], jnp.int32)
    logits = FWD(PARAMS, seq, jnp.ones_like(seq), cfg=CFG)
    assert toks == np.asarray(jnp.argmax(logits[0], -1))[len(prompt) - 1:-1].tolist()
    lp, _ = logprobs.logprobs_from_logits(logits, seq)
    np.testing.assert_allclose(lps, np.asarray(lp[0, len(prompt):]), atol=1e-5)


def test_sampled_logprobs_and_eos_stop():
  """A row stops at its first end-of-turn token, which it keeps, and its draws up to there are
  those of the same key without a stop token; every kept token's log-prob is the full
  forward's."""
  free = sampler.Sampler(CFG, eos_ids=[]).sample(
      PARAMS, [[5, 6]] * 4, jax.random.PRNGKey(3), max_new_tokens=12, temperature=1.0).tokens
  eos = free[0][4]  # a token row 0 draws at its fifth step: row 0 stops there
  s = sampler.Sampler(CFG, eos_ids=[eos])
  out = s.sample(PARAMS, [[5, 6]] * 4, jax.random.PRNGKey(3), max_new_tokens=12,
                 temperature=1.0)
  assert len(out.tokens[0]) <= 5
  for toks, lps, ref in zip(out.tokens, out.logprobs, free):
    assert toks == (ref[:ref.index(eos) + 1] if eos in ref else ref)
    seq = jnp.asarray([[5, 6] + toks], jnp.int32)
    lp, _ = logprobs.logprobs_from_logits(FWD(PARAMS, seq, jnp.ones_like(seq), cfg=CFG), seq)
    np.testing.assert_allclose(lps, np.asarray(lp[0, 2:]), atol=1e-5)


def test_top_k_one_equals_greedy():
  s = sampler.Sampler(CFG, eos_ids=[])
  greedy = s.sample(PARAMS, [[5, 6, 7]], jax.random.PRNGKey(0), max_new_tokens=5, temperature=0.0)
  topk = s.sample(PARAMS, [[5, 6, 7]], jax.random.PRNGKey(9), max_new_tokens=5, temperature=1.0,
                  top_k=1)
  assert greedy.tokens == topk.tokens


def test_first_argmax_is_jnp_argmax_with_ties_masks_and_nan():
  rng = np.random.default_rng(2)
  x = rng.integers(-3, 4, size=(7, 300)).astype(np.float32)  # many ties at the maximum
  x[1, :] = np.finfo(np.float32).min
  x[2, 17] = -np.inf
  x[3, [40, 9]] = np.nan
  x[4, :] = -np.inf
  np.testing.assert_array_equal(sampler.first_argmax(jnp.asarray(x)),
                                jnp.argmax(jnp.asarray(x), axis=-1))


@pytest.mark.parametrize("top_k,top_p", [(0, 1.0), (5, 1.0), (0, 0.6)])
def test_draw_is_jax_categorical_token_for_token(top_k, top_p):
  """The sampled draw is `jax.random.categorical` over the filtered logits (the same random
  stream), its log-prob log softmax(logits / T) before the filters; greedy is jnp.argmax. The
  log-probs are float32 sums of 300 exponentials, |z| up to about 35: 1e-5 is a few ulp there."""
  logits = jax.random.normal(jax.random.PRNGKey(1), (16, 300)) * 3.0
  draw = jax.jit(sampler._draw, static_argnums=3)  # pylint: disable=protected-access
  for seed in range(5):
    key = jax.random.PRNGKey(seed)
    tok, lp = draw(key, logits, jnp.float32(0.4), top_k, jnp.float32(top_p))
    z = logits / 0.4
    ref = jax.random.categorical(key, sampler.filter_logits(z, top_k, jnp.float32(top_p)))
    np.testing.assert_array_equal(tok, ref)
    np.testing.assert_allclose(
        lp, jnp.take_along_axis(jax.nn.log_softmax(z), ref[:, None], -1)[:, 0], atol=1e-5)
  tok, lp = draw(key, logits, jnp.float32(0.0), top_k, jnp.float32(top_p))
  np.testing.assert_array_equal(tok, jnp.argmax(logits, -1))
  np.testing.assert_allclose(lp, jnp.max(jax.nn.log_softmax(logits), -1), atol=1e-5)


def test_filter_logits_top_p():
  logits = jnp.log(jnp.array([[0.5, 0.3, 0.15, 0.05]]))
  kept = np.asarray(sampler.filter_logits(logits, 0, jnp.float32(0.7))) > -1e30
  np.testing.assert_array_equal(kept, [[True, True, False, False]])


def test_logprobs_match_numpy_reference():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(2, 5, 7)).astype(np.float32)
  toks = rng.integers(0, 7, size=(2, 5))
  lp, ent = logprobs.logprobs_from_logits(jnp.asarray(logits), jnp.asarray(toks), 0.5)
  z = logits / 0.5
  logz = z - np.log(np.exp(z).sum(-1, keepdims=True))
  for b in range(2):
    for t in range(1, 5):
      assert abs(lp[b, t] - logz[b, t - 1, toks[b, t]]) < 1e-5
      assert abs(ent[b, t] + np.sum(np.exp(logz[b, t - 1]) * logz[b, t - 1])) < 1e-5
  assert np.all(np.asarray(lp[:, 0]) == 0)


def test_sharded_forward_on_8_devices_equals_unsharded():
  mesh = parallel.make_mesh({"data": 2, "fsdp": 2, "tensor": 2})
  shardings = parallel.param_shardings(PARAMS, transformer.logical_axes(CFG), mesh)
  sharded = jax.device_put(PARAMS, shardings)
  assert sharded["layers"]["wq"].sharding.spec == jax.sharding.PartitionSpec(None, "fsdp",
                                                                             "tensor")
  toks = jnp.asarray(np.random.default_rng(0).integers(0, 97, (4, 9)), jnp.int32)
  mask = jnp.ones_like(toks)
  toks_s = jax.device_put(toks, parallel.batch_sharding(mesh, 2))
  ref = FWD(PARAMS, toks, mask, cfg=CFG)
  out = jax.jit(transformer.forward, static_argnames="cfg")(sharded, toks_s, mask, cfg=CFG)
  np.testing.assert_allclose(np.asarray(out), np.asarray(ref), atol=1e-5)


def test_no_retrace_across_decode_calls_in_a_bucket():
  """Sampler.sample, the public path, compiles one prefill and one decode program for prompts
  of one length bucket, whatever their lengths and temperatures."""
  s = sampler.Sampler(CFG, eos_ids=[])
  sizes = lambda: (sampler.prefill_prompts._cache_size(), sampler.decode_program()._cache_size())  # pylint: disable=protected-access
  before = sizes()
  for prompts, temp in (([[5, 6]], 1.0), ([[7, 8, 9]], 0.7), ([[1] * 20], 1.0)):
    s.sample(PARAMS, prompts, jax.random.PRNGKey(0), max_new_tokens=4, temperature=temp)
  assert all(after - b <= 1 for after, b in zip(sizes(), before))


def test_sampler_told_to_keep_xla_defaults_decodes_with_them(monkeypatch):
  """`Sampler(cpu_decode_options=False)` (the config's `rollout.cpu_decode_options=False`)
  decodes with `decode_tokens`, XLA's defaults, on a CPU too, and draws what the default
  sampler draws."""
  prompts, rng = [[5, 6, 7], [8, 9]], jax.random.PRNGKey(1)
  tuned = sampler.Sampler(CFG, eos_ids=[]).sample(PARAMS, prompts, rng, max_new_tokens=4,
                                                 temperature=0.7)
  assert sampler.decode_program(cpu_options=False) is sampler.decode_tokens
  monkeypatch.setattr(sampler, "decode_tokens_cpu", None)  # a call to it would fail
  plain = sampler.Sampler(CFG, eos_ids=[], cpu_decode_options=False).sample(
      PARAMS, prompts, rng, max_new_tokens=4, temperature=0.7)
  assert plain.tokens == tuned.tokens
  np.testing.assert_allclose(np.concatenate(plain.logprobs), np.concatenate(tuned.logprobs),
                             atol=1e-5)


def test_cpu_decode_options_reach_the_compiler_and_draw_the_same_tokens():
  """On a CPU the sampler decodes with its own XLA options (`sampler.CPU_DECODE_OPTIONS`): the
  compiled program differs from the one under XLA's defaults, and both draw the same tokens
  with the same log-probs up to float32 rounding (the options change which kernels run the
  products, so sums of at most d_ff terms are added in another order). One layer at
  SmolLM2-135M's widths and 16 rows: at the suite's tiny widths XLA compiles the two alike."""
  assert sampler.decode_program() is sampler.decode_tokens_cpu  # this suite runs on a CPU
  cfg = config.ModelConfig(vocab_size=256, d_model=576, n_layers=1, n_heads=9, n_kv_heads=3,
                           d_ff=1536, head_dim=64, rope_theta=100000.0)
  params = transformer.init_params(cfg, jax.random.PRNGKey(0))
  ids = jnp.asarray(np.random.default_rng(0).integers(3, 256, (16, 4)), jnp.int32)
  last, cache, pos = sampler.prefill_prompts(params, ids, jnp.ones_like(ids), None, cfg=cfg,
                                             max_new_tokens=6)[:3]
  args = (params, cache, last, pos, jax.random.PRNGKey(3), jnp.float32(0.7), jnp.float32(1.0),
          jnp.asarray([-1], jnp.int32))
  texts = [p.lower(*args, cfg=cfg, max_new_tokens=6).compile().as_text()
           for p in (sampler.decode_tokens, sampler.decode_tokens_cpu)]
  assert texts[0] != texts[1]
  plain = sampler.decode_tokens(*args, cfg=cfg, max_new_tokens=6)
  tuned = sampler.decode_tokens_cpu(*args, cfg=cfg, max_new_tokens=6)
  np.testing.assert_array_equal(plain[0], tuned[0])
  np.testing.assert_array_equal(plain[2], tuned[2])
  np.testing.assert_allclose(plain[1], tuned[1], rtol=1e-5, atol=1e-5)


def test_decode_falls_back_to_xla_defaults_when_xla_rejects_the_options(monkeypatch):
  """An XLA that does not know the CPU options (a renamed experimental flag) leaves the decode
  on XLA's defaults, with a warning naming the options."""
  monkeypatch.setattr(sampler, "CPU_DECODE_OPTIONS",
                      {"xla_cpu_experimental_ynn_fusion_type": "NOT_A_FUSION_TYPE"})
  # The check without its once-per-process cache, so that it compiles with these options.
  monkeypatch.setattr(sampler, "_cpu_options_accepted",
                      sampler._cpu_options_accepted.__wrapped__)  # pylint: disable=protected-access
  with pytest.warns(UserWarning, match="NOT_A_FUSION_TYPE"):
    assert sampler.decode_program() is sampler.decode_tokens


def _loop_instructions(hlo: str) -> list[str]:
  """The instructions of every while loop's body and of the computations it calls (fusions,
  nested loops), from a compiled program's HLO text."""
  comps, name = {}, None
  for line in hlo.splitlines():
    head = re.match(r"(?:ENTRY )?%([\w.\-]+) \(.*\{$", line)
    if head:
      name = head.group(1)
      comps[name] = []
    elif name and line.strip() and line.strip() != "}":
      comps[name].append(line.strip())
  todo = [b for lines in comps.values() for l in lines
          for b in re.findall(r"body=%([\w.\-]+)", l)]
  seen = set()
  while todo:
    c = todo.pop()
    if c not in seen and c in comps:
      seen.add(c)
      todo += [d for l in comps[c] for d in
               re.findall(r"(?:calls|body|condition|to_apply)=%([\w.\-]+)", l)]
  return [l for c in seen for l in comps[c]]


def test_decode_steps_read_per_layer_weights_and_cache_in_place():
  """A decode step over split weights is the step over stacked ones, and the compiled decode
  loop neither slices a weight or cache array out of a stack nor copies one: on a CPU, XLA
  copies a dynamic slice before a product, which made a layer-scan decode step move every
  weight and cache entry three times (docs/performance.md)."""
  ids = jnp.array([[5, 6, 7, 8], [9, 10, 11, 12]], jnp.int32)
  last, cache, pos = sampler.prefill_prompts(PARAMS, ids, jnp.ones_like(ids), None, cfg=CFG,
                                             max_new_tokens=4)[:3]
  step = lambda params: transformer.forward_with_cache(
      params, jnp.array([[3], [4]], jnp.int32), jnp.ones((2, 1), jnp.int32), pos[:, None],
      cache, jnp.int32(4), CFG)
  split = dict(PARAMS, layers=transformer.unstack_layers(PARAMS["layers"]))
  for stacked, unstacked in zip(jax.tree_util.tree_leaves(step(PARAMS)),
                                jax.tree_util.tree_leaves(step(split))):
    np.testing.assert_array_equal(stacked, unstacked)
  hlo = sampler.decode_program().lower(
      PARAMS, cache, last, pos, jax.random.PRNGKey(0), jnp.float32(0.5), jnp.float32(1.0),
      jnp.asarray([-1], jnp.int32), cfg=CFG, max_new_tokens=4).compile().as_text()
  shapes = {"f32[%s]" % ",".join(map(str, a.shape[1:]))
            for a in jax.tree_util.tree_leaves(PARAMS["layers"]) if a.ndim == 3}
  shapes.add("f32[%s]" % ",".join(map(str, cache["k"][0].shape)))
  loop = _loop_instructions(hlo)
  assert any("dot(" in l or "fusion(" in l for l in loop), "no while loop body found"
  # A weight- or cache-shaped copy, or a slice of one out of a stack (the in-place write of the
  # new keys, a dynamic-update-slice, is allowed).
  shaped = re.compile(r"^%%(\S+) = (%s)\{[^}]*\} (\w[\w-]*)\(" %
                      "|".join(re.escape(x) for x in shapes))
  moved = [l for l in loop for m in [shaped.match(l)] if m and (
      m.group(3) == "copy" or "slice" in m.group(1).replace("update-slice", "")
      or "slice" in m.group(3).replace("update-slice", ""))]
  assert not moved, moved[:3]


def test_bad_config_is_reported():
  with pytest.raises(ValueError, match="n_kv_heads"):
    config.ModelConfig(vocab_size=10, d_model=32, n_layers=1, n_heads=4, n_kv_heads=3, d_ff=8)
  with pytest.raises(ValueError, match="unknown model preset"):
    config.get_preset("gpt5")


def test_padded_vocabulary_is_never_sampled():
  cfg = CFG.replace(valid_vocab=50)
  s = sampler.Sampler(cfg, eos_ids=[])
  out = s.sample(PARAMS, [[5, 6, 7]] * 8, jax.random.PRNGKey(4), max_new_tokens=16,
                 temperature=5.0)
  assert max(max(t) for t in out.tokens) < 50
  seq = jnp.asarray([[5, 6, 7] + out.tokens[0]], jnp.int32)
  lp, ent = logprobs.token_logprobs(PARAMS, seq, jnp.ones_like(seq), cfg)
  assert np.all(np.isfinite(np.asarray(lp))) and np.all(np.isfinite(np.asarray(ent)))


def test_response_only_logprobs_equal_full_logprobs():
  rng = np.random.default_rng(5)
  toks = jnp.asarray(rng.integers(1, 97, (3, 12)), jnp.int32)
  mask = jnp.asarray([[0, 0, 0] + [1] * 9, [1] * 12, [1] * 8 + [0] * 4], jnp.int32)
  resp = np.zeros((3, 12), np.float32)
  resp[0, 7:], resp[1, 4:10], resp[2, 5:8] = 1, 1, 1
  idx = logprobs.response_index(resp, multiple=4)
  assert idx.shape == (3, 8) and idx[2].tolist() == [5, 6, 7, 0, 0, 0, 0, 0]
  full_lp, full_ent = logprobs.token_logprobs(PARAMS, toks, mask, CFG, 0.7)
  lp, ent = jax.jit(logprobs.token_logprobs, static_argnames="cfg")(
      PARAMS, toks, mask, cfg=CFG, temperature=0.7, score_index=jnp.asarray(idx))
  # The same hidden states and head per position; only the matmul shapes differ (float32).
  np.testing.assert_allclose(np.asarray(lp), np.asarray(full_lp) * resp, atol=1e-5)
  np.testing.assert_allclose(np.asarray(ent), np.asarray(full_ent) * resp, atol=1e-5)


def test_sampled_logprobs_replace_recomputed_old_logprobs():
  """On-policy, the sampler's log-probs are PPO's old log-probs in the update layout."""
  s = sampler.Sampler(CFG, eos_ids=[3])
  prompts = [[5, 6, 7], [8, 9], [10, 11, 12, 13, 14]]
  out = s.sample(PARAMS, prompts, jax.random.PRNGKey(7), max_new_tokens=8, temperature=0.7)
  p, r = 8, 8  # the rollout.batching layout: prompts left-padded into P, responses in R
  ids = np.zeros((4, p + r), np.int32)
  attn, resp = np.zeros_like(ids), np.zeros((4, p + r), np.float32)
  for i, (pr, toks) in enumerate(zip(prompts, out.tokens)):
    ids[i, p - len(pr):p], ids[i, p:p + len(toks)] = pr, toks
    attn[i, p - len(pr):p + len(toks)], resp[i, p:p + len(toks)] = 1, 1
  sampled = logprobs.sampled_logprobs(out.logprobs, 4, p, p + r)
  recomputed, _ = logprobs.token_logprobs(PARAMS, jnp.asarray(ids), jnp.asarray(attn), CFG, 0.7)
  # float32: the cached left-padded decode and the full forward sum in different orders.
  np.testing.assert_allclose(sampled, np.asarray(recomputed) * resp, atol=1e-5)


def test_shared_prompts_are_prefilled_once_with_the_same_result():
  prompts = [[5, 6, 7]] * 4 + [[8, 9]] * 4
  shared = sampler.Sampler(CFG, eos_ids=[])
  alone = sampler.Sampler(CFG, eos_ids=[], share_prompts=False)
  for temp in (0.0, 1.0):
    a = shared.sample(PARAMS, prompts, jax.random.PRNGKey(2), max_new_tokens=6, temperature=temp)
    b = alone.sample(PARAMS, prompts, jax.random.PRNGKey(2), max_new_tokens=6, temperature=temp)
    assert a.tokens == b.tokens
    np.testing.assert_allclose(np.asarray(a.logprobs), np.asarray(b.logprobs), atol=1e-5)
  # Members of a group draw their own tokens from the shared prefill.
  assert len({tuple(t) for t in a.tokens[:4]}) > 1


def test_prefill_groups_split_off_a_long_tail_and_keep_equal_buckets_together():
  """Cost sum_g rows(g) * width(g) + overhead (64): 7 prompts of 10 tokens and one of 100,
  buckets (1, 2, 4, 8) x (16, 128): one group costs 8 * 128 + 64 = 1088, the tail apart
  8 * 16 + 1 * 128 + 2 * 64 = 384; the 7 split further (1 + 2 + 4 rows: 112 + 3 * 64) would
  cost more than their 8 rows of 16 (128 + 64). Without overhead that split wins."""
  rows, widths = (1, 2, 4, 8), (16, 128)
  assert sampler.prefill_groups([10] * 7 + [100], rows, widths) == [(0, 7), (7, 8)]
  assert sampler.prefill_groups([10] * 7 + [100], rows, widths, overhead=0) == [
      (0, 1), (1, 3), (3, 7), (7, 8)]
  # In one bucket a split only adds overhead: 4 * 16 + 64 < 1 * 16 + 2 * 16 + 2 * 64.
  assert sampler.prefill_groups([10, 12, 14], rows, widths) == [(0, 3)]
  # The overhead can outweigh the saving: one row of 16 tokens against 128.
  assert sampler.prefill_groups([10, 100], rows, widths, overhead=200) == [(0, 2)]
  with pytest.raises(ValueError, match="sorted"):
    sampler.prefill_groups([100, 10], rows, widths)


def test_grouped_prefill_samples_what_one_wide_prefill_samples():
  """Prompts of 3 to 90 tokens, some repeated, in their own buckets (prefilled in groups, the
  caches assembled at the longest width) give the tokens and log-probs of one prefill of every
  row at one width, greedy and sampled with the same key."""
  rng = np.random.default_rng(0)
  lengths = [3, 90, 5, 3, 40, 7, 88, 6]
  prompts = [rng.integers(4, 97, n).tolist() for n in lengths]
  prompts[3] = prompts[0]  # a shared prompt inside a group
  grouped = sampler.Sampler(CFG, eos_ids=[], prompt_buckets=(8, 16, 64, 128))
  wide = sampler.Sampler(CFG, eos_ids=[], prompt_buckets=(128,), share_prompts=False)
  assert len(sampler.prefill_groups(sorted(lengths), grouped.batch_buckets,
                                    grouped.prompt_buckets)) > 1
  for temp in (0.0, 1.0):
    a = grouped.sample(PARAMS, prompts, jax.random.PRNGKey(4), max_new_tokens=6,
                       temperature=temp)
    b = wide.sample(PARAMS, prompts, jax.random.PRNGKey(4), max_new_tokens=6, temperature=temp)
    assert a.tokens == b.tokens
    np.testing.assert_allclose(np.asarray(a.logprobs), np.asarray(b.logprobs), atol=1e-5)
  assert len({tuple(t) for t in a.tokens}) > 1


def _naive_attention(q, k, v, mask, n_kv_heads):
  """numpy float64: softmax(q k^T / sqrt(hd)) v per row and head, head h reading KV head
  h // (H / KV); masked keys left out."""
  q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
  mask = np.asarray(mask)
  b, t, h, hd = q.shape
  out = np.zeros((b, t, h, hd))
  for r in range(b):
    for head in range(h):
      kvh = head // (h // n_kv_heads)
      s = q[r, :, head] @ k[r, :, kvh].T / np.sqrt(hd)
      s = np.where(mask[r], s, -1e300)  # exp(-1e300 - max) = 0; all-masked rows: uniform
      p = np.exp(s - s.max(axis=-1, keepdims=True))
      out[r, :, head] = (p / p.sum(axis=-1, keepdims=True)) @ v[r, :, kvh]
  return out.reshape(b, t, h * hd)


def test_causal_attention_in_query_chunks_equals_the_whole_and_the_naive_form():
  # T = 300 runs as chunks [0, 128), [128, 256), [256, 300); rows 1 and 2 are left-padded.
  t, cfg = 300, config.ModelConfig(vocab_size=8, d_model=48, n_layers=1, n_heads=6,
                                   n_kv_heads=2, d_ff=8)
  rng = np.random.default_rng(0)
  q = jnp.asarray(rng.normal(size=(3, t, 6, 8)), jnp.float32)
  k, v = (jnp.asarray(rng.normal(size=(3, t, 2, 8)), jnp.float32) for _ in range(2))
  seg = np.ones((3, t), bool)
  seg[1, :40], seg[2, :200] = False, False
  mask = jnp.asarray(np.tril(np.ones((t, t), bool))[None] & seg[:, None, :])
  chunked = transformer._attention(q, k, v, mask, cfg, causal=True)
  whole = transformer._attention(q, k, v, mask, cfg)
  # Padded query rows attend to nothing: uniform weights in both forms, not compared.
  real = seg[:, :, None]
  # float32 sums of up to 300 terms of size O(1) in another order: ~1e-6 apart.
  np.testing.assert_allclose(np.where(real, chunked, 0), np.where(real, whole, 0), atol=2e-6)
  np.testing.assert_allclose(np.where(real, whole, 0),
                             np.where(real, _naive_attention(q, k, v, mask, 2), 0), atol=2e-6)
  loss = lambda fn: lambda q, k, v: jnp.sum(jnp.where(real, fn(q, k, v), 0.0) ** 2)
  g_chunked = jax.grad(loss(lambda *a: transformer._attention(*a, mask, cfg, causal=True)),
                       argnums=(0, 1, 2))(q, k, v)
  g_whole = jax.grad(loss(lambda *a: transformer._attention(*a, mask, cfg)),
                     argnums=(0, 1, 2))(q, k, v)
  for a, b in zip(g_chunked, g_whole):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=2e-5, rtol=1e-5)


def test_sampler_keeps_the_frozen_layers_output_of_every_fed_token():
  """keep_layer=1: per prompt, the residual stream after layer 1 of the prompt's tokens and of
  every response token but the last, as the bottom layer's full forward computes it (float32
  rounding of the cached, left-padded forward: the 1e-5 of the cache test above); the tokens and
  log-probs are those of sampling without it. Shared prompts and a long one (its own prefill
  group) take the grouped-prefill path, distinct prompts of one bucket the single prefill."""
  low, low_cfg = transformer.first_layers(PARAMS, CFG, 1)
  s = sampler.Sampler(CFG, eos_ids=[3])
  for prompts in ([[5, 6, 7]] * 2 + [[8, 9]] + [list(range(10, 60))], [[5, 6, 7], [8, 9]]):
    plain = s.sample(PARAMS, prompts, jax.random.PRNGKey(1), max_new_tokens=8, temperature=1.0)
    kept = s.sample(PARAMS, prompts, jax.random.PRNGKey(1), max_new_tokens=8, temperature=1.0,
                    keep_layer=1)
    assert plain.hidden is None and kept.tokens == plain.tokens
    for a, b in zip(kept.logprobs, plain.logprobs):
      np.testing.assert_allclose(a, b, atol=1e-5)
    for prompt, toks, hidden in zip(prompts, kept.tokens, kept.hidden):
      seq = jnp.asarray([prompt + toks[:-1]], jnp.int32)
      assert hidden.shape == (len(prompt) + len(toks) - 1, CFG.d_model)
      want = transformer.hidden_states(low, seq, jnp.ones_like(seq), low_cfg)[0]
      np.testing.assert_allclose(hidden, np.asarray(want), atol=1e-5)
  with pytest.raises(ValueError, match="keep_layer=2"):
    s.sample(PARAMS, [[5, 6]], jax.random.PRNGKey(1), max_new_tokens=4, keep_layer=2)


def test_forward_from_the_frozen_layers_output_is_the_full_forward():
  """LoRA on the top layer: scoring from the bottom layer's output (left-padded rows, the base
  log-probs too) gives the numbers of the forward over both layers. Its padding columns and
  each row's last column are zeroed, as `rollout.batching.frozen_hidden_batch` leaves them:
  no scored position reads them. The same layer computations in two compiled programs: 1e-6
  allows for a reordered float32 sum of log-probs of size ~5 (bit for bit on this CPU). The
  output is refused without adapters below the top or at another shape."""
  from proxmo_jax.models import lora as lora_lib  # pylint: disable=import-outside-toplevel
  lcfg = lora_lib.LoraConfig(rank=2, alpha=4.0, targets="q,v,down", layers=1)
  adapters = jax.tree_util.tree_map(lambda x: x + 0.1,
                                    lora_lib.init_lora(CFG, lcfg, jax.random.PRNGKey(2)))
  toks = jnp.array([[0, 0, 5, 6, 7, 8, 9], [1, 2, 3, 4, 5, 6, 7]], jnp.int32)
  mask = jnp.array([[0, 0, 1, 1, 1, 1, 1], [1] * 7], jnp.int32)
  idx = jnp.array([[4, 5, 6], [4, 5, 0]], jnp.int32)
  low, low_cfg = transformer.first_layers(PARAMS, CFG, 1)
  below = transformer.hidden_states(low, toks, mask, low_cfg)
  below = below * (mask[:, :, None] > 0)
  below = below.at[:, -1].set(0.0)  # the last token's state reaches no scored position
  kw = dict(lora=adapters, lora_scale=lcfg.scale, score_index=idx, with_reference=True)
  full = logprobs.token_logprobs(PARAMS, toks, mask, CFG, **kw)
  started = logprobs.token_logprobs(PARAMS, toks, mask, CFG, frozen_hidden=below, **kw)
  for a, b in zip(full, started):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=1e-6)
  with pytest.raises(ValueError, match="needs LoRA adapters on the top"):
    transformer.hidden_states(PARAMS, toks, mask, CFG, frozen_hidden=below)
  with pytest.raises(ValueError, match="frozen_hidden of shape"):
    transformer.hidden_states(PARAMS, toks, mask, CFG, lora=adapters, frozen_hidden=below[:, 1:])
