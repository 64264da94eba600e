"""Decoder-only transformer (Qwen2 / Llama family) as pure functions over a param pytree.

    x_0   = embed[tokens]
    x'    = x + Attn(RMSNorm(x))          grouped-query attention, rotary embeddings,
    x_l+1 = x' + SwiGLU(RMSNorm(x'))      SwiGLU(h) = W_down (silu(W_gate h) * W_up h)
    logits = RMSNorm(x_L) @ W_head        (W_head = embed^T when tied)

RMSNorm(x) = x / sqrt(mean(x^2) + eps) * g. Rotary embeddings use the "rotate half" layout of
the HF Qwen2/Llama code: for a head vector split into halves (a, b) and angle
theta_i = pos * base^(-2i/hd): (a cos - b sin, b cos + a sin).

Params (layers stacked on a leading L axis, scanned with `jax.lax.scan`):

    embed: [V, D]     final_norm: [D]     lm_head: [D, V] (untied only)
    layers: attn_norm [L, D], wq [L, D, H*hd], wk/wv [L, D, KV*hd], bq/bk/bv (if qkv_bias),
            wo [L, H*hd, D], mlp_norm [L, D], w_gate/w_up [L, D, F], w_down [L, F, D]

`logical_axes(cfg)` names each param dimension ("vocab", "embed", "heads", "kv", "mlp",
"layers") for the sharding rules of `proxmo_jax.parallel`.

Attention masks: `segment_mask` i32[B, S] is 1 on real tokens and 0 on padding (left-padded
prompts); a query attends to keys at or before it that are real. Positions are the running count
of real tokens, so a left-padded row gets the same positions as its unpadded version.

KV cache: {"k", "v": [L, B, KV, S_max, hd], "mask": i32[B, S_max]}; a forward with `cache` and
`cache_index` writes its T new keys at slots cache_index .. cache_index + T - 1 and attends over
all filled slots.

LoRA (`proxmo_jax.models.lora`): an adapter tree {name: {"a": [N, d_in, r], "b": [N, r, d_out]}}
for some of wq, wk, wv, wo, w_gate, w_up, w_down adds s (h A) B to the projection h W
(s = alpha / r), i.e. the forward of W + s A B without forming it, in the top N layers (N = L:
all). With `lora=None` (or B = 0) the forward is the base model's, bit for bit.

Frozen layers: under LoRA on the top N layers the L - N layers below are the base's in both
the sampler and the update. `forward_with_cache(keep_layer=L - N)` also returns their output
(the residual stream after layer L - N), and `hidden_states(frozen_hidden=...)` starts from it
and runs the top N layers only.

Scoring only some positions: `hidden_states` stops before the LM head and `lm_head` applies it
to any [B, T, D] slice, so log-probs of R response tokens cost an [R, D] x [D, V] head per row
instead of [T, D] x [D, V] (`proxmo_jax.models.logprobs`).
"""

from __future__ import annotations

from typing import Optional

import jax
import jax.numpy as jnp

from proxmo_jax.models.config import ModelConfig


def logical_axes(cfg: ModelConfig) -> dict:
  """Logical axis names of every param, the same tree structure as `init_params`."""
  layers = {
      "attn_norm": ("layers", "embed_norm"),
      "wq": ("layers", "embed", "heads"),
      "wk": ("layers", "embed", "kv"),
      "wv": ("layers", "embed", "kv"),
      "wo": ("layers", "heads", "embed"),
      "mlp_norm": ("layers", "embed_norm"),
      "w_gate": ("layers", "embed", "mlp"),
      "w_up": ("layers", "embed", "mlp"),
      "w_down": ("layers", "mlp", "embed"),
  }
  if cfg.qkv_bias:
    layers.update(bq=("layers", "heads"), bk=("layers", "kv"), bv=("layers", "kv"))
  axes = {"embed": ("vocab", "embed"), "final_norm": ("embed_norm",), "layers": layers}
  if not cfg.tie_embeddings:
    axes["lm_head"] = ("embed", "vocab")
  return axes


def init_params(cfg: ModelConfig, rng: jax.Array) -> dict:
  """Random init: normal(0, 0.02) matrices, unit norms, zero biases."""
  d, l, hd = cfg.d_model, cfg.n_layers, cfg.hd
  dt = jnp.dtype(cfg.param_dtype)
  shapes = {
      "wq": (l, d, cfg.n_heads * hd), "wk": (l, d, cfg.n_kv_heads * hd),
      "wv": (l, d, cfg.n_kv_heads * hd), "wo": (l, cfg.n_heads * hd, d),
      "w_gate": (l, d, cfg.d_ff), "w_up": (l, d, cfg.d_ff), "w_down": (l, cfg.d_ff, d),
  }
  keys = jax.random.split(rng, len(shapes) + 2)
  normal = lambda k, s: (0.02 * jax.random.normal(k, s, jnp.float32)).astype(dt)
  layers = {name: normal(k, s) for k, (name, s) in zip(keys[2:], shapes.items())}
  layers["attn_norm"] = jnp.ones((l, d), dt)
  layers["mlp_norm"] = jnp.ones((l, d), dt)
  if cfg.qkv_bias:
    layers["bq"] = jnp.zeros((l, cfg.n_heads * hd), dt)
    layers["bk"] = jnp.zeros((l, cfg.n_kv_heads * hd), dt)
    layers["bv"] = jnp.zeros((l, cfg.n_kv_heads * hd), dt)
  params = {"embed": normal(keys[0], (cfg.vocab_size, d)), "final_norm": jnp.ones((d,), dt),
            "layers": layers}
  if not cfg.tie_embeddings:
    params["lm_head"] = normal(keys[1], (d, cfg.vocab_size))
  return params


def rms_norm(x, g, eps):
  xf = x.astype(jnp.float32)
  y = xf * jax.lax.rsqrt(jnp.mean(xf * xf, axis=-1, keepdims=True) + eps)
  return (y * g.astype(jnp.float32)).astype(x.dtype)


def rotary(x, positions, theta):
  """x: [B, T, N, hd]; positions: i32[B, T]."""
  hd = x.shape[-1]
  inv = 1.0 / (theta ** (jnp.arange(0, hd, 2, dtype=jnp.float32) / hd))
  ang = positions.astype(jnp.float32)[..., None] * inv  # [B, T, hd/2]
  cos, sin = jnp.cos(ang)[:, :, None, :], jnp.sin(ang)[:, :, None, :]
  xf = x.astype(jnp.float32)
  a, b = xf[..., : hd // 2], xf[..., hd // 2:]
  return jnp.concatenate([a * cos - b * sin, b * cos + a * sin], axis=-1).astype(x.dtype)


def positions_from_mask(segment_mask):
  """i32[B, T]: number of real tokens before each position (0-based), 0 on padding."""
  return jnp.maximum(jnp.cumsum(segment_mask, axis=-1) - 1, 0).astype(jnp.int32)


def _stack_query_groups(q, kv: int):
  """[B, T, H, hd] -> [B, KV, G*T, hd]: the G = H / KV query heads of each KV head stacked."""
  b, t, h, hd = q.shape
  return q.reshape(b, t, kv, h // kv, hd).transpose(0, 2, 3, 1, 4).reshape(b, kv, -1, hd)


def _unstack_query_groups(out, t: int):
  """[B, KV, G*T, hd] -> [B, T, H*hd], the inverse of `_stack_query_groups` on the outputs."""
  b, kv, _, hd = out.shape
  return out.reshape(b, kv, -1, t, hd).transpose(0, 3, 1, 2, 4).reshape(b, t, -1)


def _attention_block(q, k, v, mask, cfg):
  """q: [B, T, H, hd]; k, v: [B, S, KV, hd]; mask: bool[B, T, S] -> [B, T, H*hd].

  The G = H / KV query heads of each KV head are stacked into one [G*T, hd] operand per
  (row, KV head), so both products are plain batched matmuls [B*KV] x [G*T, hd] x [hd, S] with
  the batch axes leading: XLA's CPU dot ran the original "btkgd,bskd->bkgts" layout about
  twice as slowly (a 16 x 512 prefill at SmolLM2 shapes: 11.3 s -> 8.8 s, identical logits).
  """
  b, t, h, hd = q.shape
  kv = cfg.n_kv_heads
  groups = h // kv
  qs = _stack_query_groups(q, kv)
  ks, vs = k.transpose(0, 2, 1, 3), v.transpose(0, 2, 1, 3)              # [B, KV, S, hd]
  scores = jnp.einsum("bkqd,bksd->bkqs", qs, ks).astype(jnp.float32) / jnp.sqrt(
      jnp.float32(hd))
  scores = jnp.where(mask[:, None, None], scores.reshape(b, kv, groups, t, -1),
                     jnp.finfo(jnp.float32).min)
  probs = jax.nn.softmax(scores, axis=-1).astype(v.dtype).reshape(b, kv, groups * t, -1)
  return _unstack_query_groups(jnp.einsum("bkqs,bksd->bkqd", probs, vs), t)


ATTENTION_CHUNKS = 8        # causal attention runs in at most this many query chunks ...
MIN_ATTENTION_CHUNK = 128   # ... of at least this many queries


def _attention(q, k, v, mask, cfg, causal: bool = False):
  """q: [B, T, H, hd]; k, v: [B, S, KV, hd]; mask: bool[B, T, S] -> [B, T, H*hd].

  `causal`: the mask is causal over aligned positions (S = T, mask[b, i, j] false for j > i).
  The queries then run in n chunks [s, e), each over the keys [0, e) only: the products of the
  masked upper triangle are skipped, (n - 1) / 2n of them (7/16 at n = 8). The masked scores
  that remain are exp(-inf) = 0 in both forms, so only the summation order changes.
  """
  t = q.shape[1]
  if not causal or t < 2 * MIN_ATTENTION_CHUNK:
    return _attention_block(q, k, v, mask, cfg)
  chunk = max(MIN_ATTENTION_CHUNK, -(-t // ATTENTION_CHUNKS))
  return jnp.concatenate([
      _attention_block(q[:, s:s + chunk], k[:, :s + chunk], v[:, :s + chunk],
                       mask[:, s:s + chunk, :s + chunk], cfg)
      for s in range(0, t, chunk)], axis=1)


def _dense(h, p, lo, name, dt, scale):
  """h @ W (+ scale (h @ A) @ B when `lo` holds an adapter for `name`); h: [..., d_in].

  The products run on h flattened to [N, d_in]: the weight gradient contracts N, which XLA's CPU
  dot takes as a transposed 2-D operand, where a [B, T, d_in] operand contracted over (B, T) got
  a transposed copy of the activation first (the update's backward was 25-35 % slower).
  """
  lead = h.shape[:-1]
  h = h.reshape(-1, h.shape[-1])
  y = h @ p[name].astype(dt)
  if lo is not None and name in lo:
    a, b = lo[name]["a"].astype(dt), lo[name]["b"].astype(dt)
    y = y + scale * ((h @ a) @ b)
  return y.reshape(*lead, y.shape[-1])


def _qkv(cfg, p, x, positions, lo=None, scale=1.0):
  """Pre-norm q/k/v projections with rotary embeddings: [B,T,H,hd], [B,T,KV,hd] x 2."""
  dt = cfg.compute_dtype
  b, t, _ = x.shape
  h = rms_norm(x, p["attn_norm"], cfg.rms_eps)
  q, k, v = (_dense(h, p, lo, "wq", dt, scale), _dense(h, p, lo, "wk", dt, scale),
             _dense(h, p, lo, "wv", dt, scale))
  if cfg.qkv_bias:
    q, k, v = q + p["bq"].astype(dt), k + p["bk"].astype(dt), v + p["bv"].astype(dt)
  q = rotary(q.reshape(b, t, cfg.n_heads, cfg.hd), positions, cfg.rope_theta)
  k = rotary(k.reshape(b, t, cfg.n_kv_heads, cfg.hd), positions, cfg.rope_theta)
  return q, k, v.reshape(b, t, cfg.n_kv_heads, cfg.hd)


def _finish_block(cfg, p, x, attn_out, lo=None, scale=1.0):
  """Residual attention output, then the pre-norm SwiGLU MLP with its residual."""
  dt = cfg.compute_dtype
  x = x + _dense(attn_out, p, lo, "wo", dt, scale)
  h = rms_norm(x, p["mlp_norm"], cfg.rms_eps)
  mlp = jax.nn.silu(_dense(h, p, lo, "w_gate", dt, scale)) * _dense(h, p, lo, "w_up", dt, scale)
  return x + _dense(mlp, p, lo, "w_down", dt, scale)


def lm_head(params: dict, x, cfg: ModelConfig):
  """Final RMSNorm and the LM head: x [B, T, D] (any T positions) -> logits f32[B, T, V]."""
  return _head(params, x, cfg)


def _head(params, x, cfg):
  x = rms_norm(x, params["final_norm"], cfg.rms_eps)
  w = params["embed"].T if cfg.tie_embeddings else params["lm_head"]
  # On [N, D] rows, as in _dense: the tied embedding's gradient contracts N without a copy.
  logits = jnp.einsum("nd,dv->nv", x.reshape(-1, x.shape[-1]), w.astype(cfg.compute_dtype),
                      preferred_element_type=jnp.float32).reshape(*x.shape[:-1], -1)
  if cfg.valid_vocab is not None and cfg.valid_vocab < cfg.vocab_size:
    logits = jnp.where(jnp.arange(cfg.vocab_size) < cfg.valid_vocab, logits, -1e9)
  return logits


def hidden_states(params: dict, tokens, segment_mask, cfg: ModelConfig, positions=None, *,
                  lora: Optional[dict] = None, lora_scale: float = 1.0,
                  with_base: bool = False, frozen_hidden=None):
  """The residual stream after the last layer (before the final norm): f32[B, T, D].

  Args:
    tokens: i32[B, T]; segment_mask: i32[B, T] (1 real, 0 padding).
    positions: i32[B, T] (default from the mask).
    lora: optional adapter tree (see module docstring); lora_scale: alpha / r (static).
    with_base: also return the base model's residual stream (no adapters), computed from the
      layers below the adapted ones, which both share: (adapted, base). With adapters on the
      top N layers that costs N more layers, not a second forward.
    frozen_hidden: optional f32[B, T, D], the residual stream after the L - N layers below the
      adapters (e.g. kept by the sampler, `forward_with_cache(keep_layer=L - N)`); the forward
      then starts there and runs the top N layers only. Needs adapters on N < L layers.
  """
  if positions is None:
    positions = positions_from_mask(segment_mask)
  t = tokens.shape[1]
  causal = jnp.tril(jnp.ones((t, t), bool))
  mask = causal[None] & (segment_mask[:, None, :] > 0)

  def body(x, inputs):
    p, lo = inputs
    q, k, v = _qkv(cfg, p, x, positions, lo, lora_scale)
    return (_finish_block(cfg, p, x, _attention(q, k, v, mask, cfg, causal=True), lo,
                          lora_scale), None)

  if cfg.remat:
    body = jax.checkpoint(body)
  # Adapters stacked on N < L layers cover the top N; the layers below are scanned without them.
  first = 0 if lora is None else cfg.n_layers - jax.tree_util.tree_leaves(lora)[0].shape[0]
  if frozen_hidden is not None and not first:
    raise ValueError("frozen_hidden is the output of the layers below the adapters; it needs "
                     "LoRA adapters on the top N < L layers (model.lora.layers).")
  if first:
    above = jax.tree_util.tree_map(lambda w: w[first:], params["layers"])
    if frozen_hidden is None:
      below = jax.tree_util.tree_map(lambda w: w[:first], params["layers"])
      x, _ = jax.lax.scan(body, params["embed"].astype(cfg.compute_dtype)[tokens],
                          (below, None))
    else:
      want = (*tokens.shape, cfg.d_model)
      if frozen_hidden.shape != want:
        raise ValueError(f"frozen_hidden of shape {frozen_hidden.shape}; expected {want} "
                         "(the tokens' [B, T] and the model width).")
      x = frozen_hidden.astype(cfg.compute_dtype)
  else:
    above = params["layers"]
    x = params["embed"].astype(cfg.compute_dtype)[tokens]
  adapted, _ = jax.lax.scan(body, x, (above, lora))
  if not with_base:
    return adapted
  base, _ = jax.lax.scan(body, x, (above, None))
  return adapted, base


def first_layers(params: dict, cfg: ModelConfig, k: int) -> tuple[dict, ModelConfig]:
  """The model made of the first k of the L layers: (params, cfg). Its `hidden_states` is the
  full model's residual stream after layer k, what `forward_with_cache(keep_layer=k)` keeps and
  `hidden_states(frozen_hidden=...)` starts from."""
  if not 0 < k <= cfg.n_layers:
    raise ValueError(f"first_layers: k={k} is not between 1 and n_layers={cfg.n_layers}.")
  return (dict(params, layers=jax.tree_util.tree_map(lambda w: w[:k], params["layers"])),
          cfg.replace(n_layers=k))


def forward(params: dict, tokens, segment_mask, cfg: ModelConfig, positions=None, *,
            lora: Optional[dict] = None, lora_scale: float = 1.0, frozen_hidden=None):
  """Full-sequence forward (training / scoring).

  Args:
    tokens: i32[B, T]; segment_mask: i32[B, T] (1 real, 0 padding).
    positions: i32[B, T] (default from the mask).
    lora: optional adapter tree; lora_scale: alpha / r (static).
    frozen_hidden: optional f32[B, T, D], the output of the layers below the adapters
      (`hidden_states`).

  Returns:
    logits f32[B, T, V].
  """
  x = hidden_states(params, tokens, segment_mask, cfg, positions, lora=lora,
                    lora_scale=lora_scale, frozen_hidden=frozen_hidden)
  return _head(params, x, cfg)


def init_cache(cfg: ModelConfig, batch: int, length: int) -> dict:
  """Keys and values f32[L, B, KV, S, hd] (head-major: the layout both attention products read
  without a transposed copy), and the mask i32[B, S] of written real slots."""
  shape = (cfg.n_layers, batch, cfg.n_kv_heads, length, cfg.hd)
  return {"k": jnp.zeros(shape, cfg.compute_dtype), "v": jnp.zeros(shape, cfg.compute_dtype),
          "mask": jnp.zeros((batch, length), jnp.int32)}


def _cached_attention(q, k_new, v_new, k_cache, v_cache, old_mask, new_mask, cfg):
  """Attention of T new queries over the cache (read-only) and the T new keys.

  q: [B, T, H, hd]; k_new, v_new: [B, T, KV, hd]; k_cache, v_cache: [B, KV, S, hd];
  old_mask: bool[B, S] usable cache slots; new_mask: bool[B, T, T] (causal & real).
  The softmax runs over the concatenated scores, so the cache is never copied or rewritten.
  Queries are stacked per KV head as in `_attention_block`, and the head-major cache is read in
  place: a decode step with the [B, S, KV, hd] cache and the per-group layout spent about two
  thirds of its time here (16 rows, 544 slots, SmolLM2 shapes).
  """
  b, t, h, hd = q.shape
  kv = cfg.n_kv_heads
  groups = h // kv
  qs = _stack_query_groups(q, kv)
  k_new, v_new = k_new.transpose(0, 2, 1, 3), v_new.transpose(0, 2, 1, 3)  # [B, KV, T, hd]
  scale = 1.0 / jnp.sqrt(jnp.float32(hd))
  neg = jnp.finfo(jnp.float32).min
  s_old = jnp.einsum("bkqd,bksd->bkqs", qs, k_cache).astype(jnp.float32) * scale
  s_new = jnp.einsum("bkqd,bksd->bkqs", qs, k_new).astype(jnp.float32) * scale
  s_old = jnp.where(old_mask[:, None, None, :], s_old, neg)
  s_new = jnp.where(new_mask[:, None, None], s_new.reshape(b, kv, groups, t, t),
                    neg).reshape(b, kv, groups * t, t)
  probs = jax.nn.softmax(jnp.concatenate([s_old, s_new], axis=-1), axis=-1)
  p_old, p_new = probs[..., :k_cache.shape[2]], probs[..., k_cache.shape[2]:]
  out = (jnp.einsum("bkqs,bksd->bkqd", p_old.astype(v_cache.dtype), v_cache) +
         jnp.einsum("bkqs,bksd->bkqd", p_new.astype(v_new.dtype), v_new))
  return _unstack_query_groups(out, t)


def forward_with_cache(params: dict, tokens, segment_mask, positions, cache: dict, cache_index,
                       cfg: ModelConfig, last_only: bool = False,
                       keep_layer: Optional[int] = None):
  """Forward of T new tokens that attend to the cache; returns (logits f32[B,T,V], cache).

  Args:
    tokens: i32[B, T] new tokens; segment_mask: i32[B, T]; positions: i32[B, T].
    cache: from `init_cache` (or a previous call); cache_index: int32 scalar, first free slot
      (the Python int 0 marks a prefill into an empty cache, which skips the cache scores).
    last_only: compute logits for the last position only (prefill before sampling), f32[B,1,V].
    keep_layer: static k in [1, L): also return the residual stream after the first k layers,
      f32[B, T, D], as a third output (carried through the layer scan, each layer's
      computation unchanged). Under LoRA on the top L - k layers that is the input
      of the adapted layers, which the update can start from (`hidden_states(frozen_hidden=)`).

  The layers read the cache without modifying it; the new keys and values of all layers are
  written into slots cache_index .. cache_index + T - 1 once, after the layer scan, so a decode
  step moves O(T) cache entries rather than copying the cache.
  """
  b, t = tokens.shape
  s = cache["k"].shape[3]
  old_mask = (cache["mask"] > 0) & (jnp.arange(s)[None, :] < cache_index)
  seg = segment_mask > 0
  new_mask = jnp.tril(jnp.ones((t, t), bool))[None] & seg[:, None, :]
  x = params["embed"].astype(cfg.compute_dtype)[tokens]

  # A prefill into an empty cache (cache_index the literal 0) has no cache slot to attend to:
  # plain causal attention over the new tokens, without the all-masked cache scores.
  empty_cache = isinstance(cache_index, int) and cache_index == 0

  def body(x, inputs):
    p, k_cache, v_cache = inputs
    q, k, v = _qkv(cfg, p, x, positions)
    if empty_cache:
      att = _attention(q, k, v, new_mask, cfg, causal=True)
    else:
      att = _cached_attention(q, k, v, k_cache, v_cache, old_mask, new_mask, cfg)
    head_major = lambda a: a.transpose(0, 2, 1, 3).astype(k_cache.dtype)  # [B, KV, T, hd]
    return _finish_block(cfg, p, x, att), (head_major(k), head_major(v))

  if keep_layer is None:
    x, (k_all, v_all) = jax.lax.scan(body, x, (params["layers"], cache["k"], cache["v"]))
  else:
    if not 0 < keep_layer < cfg.n_layers:
      raise ValueError(f"keep_layer={keep_layer}: use a layer count in [1, {cfg.n_layers}).")

    def keeping(carry, inputs):  # the same scan, carrying the output of layer keep_layer - 1
      x, kept = carry
      layer, rest = inputs
      x, kv = body(x, rest)
      return (x, jnp.where(layer == keep_layer - 1, x, kept)), kv

    # One scan over the whole cache: two scans over its slices copied the cache every decode
    # step (a 16-row, 576-slot generate took 1.18x as long).
    (x, kept), (k_all, v_all) = jax.lax.scan(
        keeping, (x, jnp.zeros_like(x)),
        (jnp.arange(cfg.n_layers), (params["layers"], cache["k"], cache["v"])))
  new_cache = {
      "k": jax.lax.dynamic_update_slice(cache["k"], k_all, (0, 0, 0, cache_index, 0)),
      "v": jax.lax.dynamic_update_slice(cache["v"], v_all, (0, 0, 0, cache_index, 0)),
      "mask": jax.lax.dynamic_update_slice(cache["mask"], segment_mask.astype(jnp.int32),
                                           (0, cache_index)),
  }
  logits = _head(params, x[:, -1:] if last_only else x, cfg)
  if keep_layer is None:
    return logits, new_cache
  return logits, new_cache, kept


def param_count(params) -> int:
  return int(sum(x.size for x in jax.tree_util.tree_leaves(params)))
