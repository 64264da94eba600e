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

KV cache: {"k", "v": tuples of L arrays [B, KV, S_max, hd], "mask": i32[B, S_max]}, one array
per layer (a decode step then reads each in place, `forward_with_cache`); a forward with `cache`
and `cache_index` writes its T new keys at slots cache_index .. cache_index + T - 1 and attends
over all filled slots.

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
  """An empty cache: "k", "v" tuples of L arrays f32[B, KV, S, hd] (one per layer, head-major:
  the layout both attention products read without a transposed copy) and "mask" i32[B, S],
  1 on written real slots. One array per layer, not an [L, ...] stack: see
  `forward_with_cache`."""
  shape = (batch, cfg.n_kv_heads, length, cfg.hd)
  zeros = lambda: tuple(jnp.zeros(shape, cfg.compute_dtype) for _ in range(cfg.n_layers))
  return {"k": zeros(), "v": zeros(), "mask": jnp.zeros((batch, length), jnp.int32)}


def map_cache(fn, cache: dict) -> dict:
  """A new cache: `fn` applied to every layer's keys and values [B, KV, S, hd] and to the mask
  [B, S], so a function of the leading row axis (e.g. a gather of rows: `lambda a: a[rows]`)."""
  return {"k": tuple(fn(a) for a in cache["k"]), "v": tuple(fn(a) for a in cache["v"]),
          "mask": fn(cache["mask"])}


def unstack_layers(layers: dict) -> tuple:
  """Stacked layer params {name: [L, ...]} -> a tuple of L dicts {name: [...]} (a copy of the
  weights inside a jitted program)."""
  n = jax.tree_util.tree_leaves(layers)[0].shape[0]
  return tuple(jax.tree_util.tree_map(lambda a, i=i: a[i], layers) for i in range(n))


def _attention_over_cache(q, k_cache, v_cache, allowed, cfg):
  """Attention of T new queries over a cache that already holds their keys and values.

  q: [B, T, H, hd]; k_cache, v_cache: [B, KV, S, hd]; allowed: bool[B, T, S] -> [B, T, H*hd].
  Queries are stacked per KV head as in `_attention_block`, and the head-major cache is read in
  place: a decode step with the [B, S, KV, hd] cache and the per-group layout spent about two
  thirds of its time in attention (16 rows, 544 slots, SmolLM2 shapes).
  """
  b, t, h, hd = q.shape
  kv = cfg.n_kv_heads
  qs = _stack_query_groups(q, kv)
  scores = jnp.einsum("bkqd,bksd->bkqs", qs, k_cache).astype(jnp.float32) / jnp.sqrt(
      jnp.float32(hd))
  scores = jnp.where(allowed[:, None, None], scores.reshape(b, kv, h // kv, t, -1),
                     jnp.finfo(jnp.float32).min)
  probs = jax.nn.softmax(scores, axis=-1).astype(v_cache.dtype).reshape(b, kv, -1,
                                                                         k_cache.shape[2])
  return _unstack_query_groups(jnp.einsum("bkqs,bksd->bkqd", probs, v_cache), t)


def forward_with_cache(params: dict, tokens, segment_mask, positions, cache: dict, cache_index,
                       cfg: ModelConfig, last_only: bool = False,
                       keep_layer: Optional[int] = None):
  """Forward of T new tokens that attend to the cache; returns (logits f32[B,T,V], cache).

  Args:
    params: with params["layers"] stacked ({name: [L, ...]}) or split (`unstack_layers`, a
      tuple of L dicts: what a decode loop should pass, see below).
    tokens: i32[B, T] new tokens; segment_mask: i32[B, T]; positions: i32[B, T].
    cache: from `init_cache` (or a previous call); cache_index: int32 scalar, first free slot
      (the Python int 0 marks a prefill into an empty cache).
    last_only: compute logits for the last position only (prefill before sampling), f32[B,1,V].
    keep_layer: static k in [1, L): also return the residual stream after the first k layers,
      f32[B, T, D], as a third output (each layer's computation unchanged). Under LoRA on the
      top L - k layers that is the input of the adapted layers, which the update can start
      from (`hidden_states(frozen_hidden=)`).

  Two ways, the same function of the inputs:
    prefill (cache_index the literal 0, stacked params): the layers run as a `jax.lax.scan`
      with plain causal attention over the new tokens, and their keys and values are written
      into each layer's cache after it;
    otherwise (decoding): the layers run unrolled; each writes its new keys and values into its
      cache at slots cache_index .. cache_index + T - 1 first and then attends over the written
      cache, so nothing reads the old cache after the write and XLA updates it in place. On a
      CPU a scan over stacked weights and an [L, ...] cache copies every layer's weights and
      cache slice out of the stacks before its products, on every step (a decode step is
      memory-bound: 1.31x faster without those copies, 16 rows of 576 slots at SmolLM2's
      shapes); and reading the cache after the layers (writing at the end) made XLA copy every
      layer's cache once per step. Stacked params are sliced per layer here, which a decode
      loop repeats every step: split them once before it (`unstack_layers`).
  """
  b, t = tokens.shape
  n_layers = len(cache["k"])
  if keep_layer is not None and not 0 < keep_layer < n_layers:
    raise ValueError(f"keep_layer={keep_layer}: use a layer count in [1, {n_layers}).")
  seg = segment_mask > 0
  x = params["embed"].astype(cfg.compute_dtype)[tokens]
  head_major = lambda a: a.transpose(0, 2, 1, 3).astype(cfg.compute_dtype)  # [B, KV, T, hd]
  write = lambda c, new: jax.lax.dynamic_update_slice(c, new, (0, 0, cache_index, 0))
  mask = jax.lax.dynamic_update_slice(cache["mask"], segment_mask.astype(jnp.int32),
                                      (0, cache_index))
  split = isinstance(params["layers"], (tuple, list))
  kept = None

  if isinstance(cache_index, int) and cache_index == 0 and not split:
    causal = jnp.tril(jnp.ones((t, t), bool))[None] & seg[:, None, :]

    def body(carry, inputs):
      x, kept = carry
      layer, p = inputs
      q, k, v = _qkv(cfg, p, x, positions)
      x = _finish_block(cfg, p, x, _attention(q, k, v, causal, cfg, causal=True))
      if keep_layer is not None:  # the output of layer keep_layer - 1
        kept = jnp.where(layer == keep_layer - 1, x, kept)
      return (x, kept), (head_major(k), head_major(v))

    init = (x, None if keep_layer is None else jnp.zeros_like(x))
    (x, kept), (k_all, v_all) = jax.lax.scan(body, init,
                                             (jnp.arange(n_layers), params["layers"]))
    k_out = tuple(write(c, k_all[i]) for i, c in enumerate(cache["k"]))
    v_out = tuple(write(c, v_all[i]) for i, c in enumerate(cache["v"]))
  else:
    s = mask.shape[1]
    # Slot j is visible to new token i when it is real and j <= cache_index + i: every written
    # slot before the new tokens, and the new ones causally.
    allowed = (mask[:, None, :] > 0) & (
        jnp.arange(s)[None, None, :] <= cache_index + jnp.arange(t)[None, :, None])
    k_out, v_out = [], []
    for i in range(n_layers):
      p = (params["layers"][i] if split
           else jax.tree_util.tree_map(lambda a, i=i: a[i], params["layers"]))
      q, k, v = _qkv(cfg, p, x, positions)
      k_cache, v_cache = write(cache["k"][i], head_major(k)), write(cache["v"][i], head_major(v))
      x = _finish_block(cfg, p, x, _attention_over_cache(q, k_cache, v_cache, allowed, cfg))
      k_out.append(k_cache)
      v_out.append(v_cache)
      if i == (keep_layer or 0) - 1:
        kept = x
    k_out, v_out = tuple(k_out), tuple(v_out)
  logits = _head(params, x[:, -1:] if last_only else x, cfg)
  new_cache = {"k": k_out, "v": v_out, "mask": mask}
  if keep_layer is None:
    return logits, new_cache
  return logits, new_cache, kept


def param_count(params) -> int:
  return int(sum(x.size for x in jax.tree_util.tree_leaves(params)))
