"""Batched autoregressive sampling with a KV cache, in fixed-shape buckets.

`Sampler.sample(params, prompts, rng, ...)` takes prompts as Python lists of token ids,
left-pads them into a (batch bucket, prompt bucket) array, and runs two jitted programs (timed
apart in `Sampler.seconds`, which the rollout reports as time/prefill and time/decode_tokens):

  prefill: a forward over the padded prompts writes the cache and gives the first logits;
  decode:  a `jax.lax.while_loop` samples one token per step for every row, feeding it back
           through `forward_with_cache`, until every row has produced an EOS or `max_new_tokens`;
           its steps run the layers unrolled over per-layer weights and cache, which a step reads
           in place (a layer scan copied each out of its stack on every step, on a CPU). On a
           CPU it compiles with its own XLA options (`CPU_DECODE_OPTIONS`, `decode_program`;
           `Sampler(cpu_decode_options=False)`, the config's `rollout.cpu_decode_options`, keeps
           XLA's defaults).

Sampling at each step: logits / temperature, optional top-k (static k) and top-p (nucleus)
filters, then a categorical draw; temperature 0 means greedy (argmax). Returned log-probs are
log softmax(logits / T) of the drawn token (T = 1 for greedy). The EOS token is kept in the
response. Stop strings are applied on the host after decoding: a response is cut after the first
token at which its decoded text contains a stop string.

Shared prompts: rows with the same prompt (the n members of a group at their first turn, or any
rows whose histories coincide) are prefilled once; the prefill runs over the distinct prompts
(their own batch bucket) and its cache and last logits are gathered into the rows, which then
draw and decode independently. Each row sees the same cache values it would have computed
itself (the prefill is per row; only float32 rounding of a different batch size may differ).

Frozen layers' output: with `keep_layer=k` the sampler also returns, per prompt, the residual
stream after k layers of every token it fed to the model (the prompt's from the prefill, the
response's from the decode steps; `SampleOutput.hidden`), for an update that starts at layer k
(ppo.frozen_hidden="rollout", LoRA on the top L - k layers).

Prefix reuse across turns is not done: a turn's prompt is rebuilt from a sliding window of the
last k (observation, action) pairs, preceded by text that changes every turn (ALFWorld: "you have
already taken t step(s)"; the compact form starts with the oldest kept action), and long prompts
are cut from the left, so turn t + 1's prompt does not extend turn t's sequence.

Prompts of unequal lengths are prefilled in groups: sorted by length, they are split into
contiguous groups (`prefill_groups`, the split that minimises the padded tokens), each padded
to its own prompt bucket, and the groups' caches are then laid side by side at the longest
width (`assemble_prefills`: a shorter group's free slots stay empty and masked) for one decode.
A batch padded to its longest prompt's bucket computed 2.4x its real tokens on ALFWorld's
6-turn prompts (16 rows of 411 tokens on average, up to 846), grouped 1.2x.

Bucketing keeps the number of compiled programs small: the batch is padded with dummy rows up
to the next batch bucket and the prompt length up to the next prompt bucket (powers of two
and their 1.5 multiples), and `max_new_tokens` is part of the compiled shape (keep it fixed
within a run).
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from typing import Callable, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from proxmo_jax import buckets
from proxmo_jax.models import transformer
from proxmo_jax.models.config import ModelConfig


def filter_logits(logits, top_k: int, top_p):
  """Masks logits outside the top-k (static k; 0 = off) and the top-p nucleus (p >= 1 = off)."""
  neg = jnp.finfo(logits.dtype).min
  if top_k > 0:
    kth = jax.lax.top_k(logits, top_k)[0][..., -1:]
    logits = jnp.where(logits < kth, neg, logits)

  def nucleus(logits):
    sorted_logits = jnp.sort(logits, axis=-1)[..., ::-1]
    probs = jax.nn.softmax(sorted_logits, axis=-1)
    cum = jnp.cumsum(probs, axis=-1)
    # Keep the smallest prefix whose mass reaches top_p (always at least the top token).
    keep_sorted = (cum - probs) < top_p
    cutoff = jnp.min(jnp.where(keep_sorted, sorted_logits, jnp.inf), axis=-1, keepdims=True)
    return jnp.where(logits < cutoff, neg, logits)

  # The sort only runs when a nucleus is asked for (top_p < 1).
  return jax.lax.cond(top_p < 1.0, nucleus, lambda x: x, logits)


def first_argmax(x):
  """argmax over the last axis, the first index on ties (as `jnp.argmax`, NaN included): i32[...].

  max_i x_i, then the least i with x_i equal to it (or NaN). The same result as `jnp.argmax`,
  whose variadic (value, index) reduction XLA's CPU backend runs several times slower: 3.8 ms
  against 1.0 ms for 32 x 49152 logits on two cores (scratch timing, 2026-12-06;
  docs/performance.md, "The token draw").
  """
  m = jnp.max(x, axis=-1, keepdims=True)
  n = x.shape[-1]
  hit = (x == m) | jnp.isnan(x)
  return jnp.min(jnp.where(hit, jnp.arange(n, dtype=jnp.int32), n), axis=-1)


def _logprob_of(z, tok):
  """log softmax(z)[tok] per row, without the [B, V] log-softmax: f32[B] from z f32[B, V]."""
  shifted = z - jnp.max(z, axis=-1, keepdims=True)
  picked = jnp.take_along_axis(shifted, tok[:, None], axis=-1)[:, 0]
  return picked - jnp.log(jnp.sum(jnp.exp(shifted), axis=-1))


ROW_BLOCK = 8  # rows of logits a draw reduces at a time (`_by_row_blocks`)


def _by_row_blocks(fn, *arrays):
  """fn over consecutive blocks of ROW_BLOCK rows (`jax.lax.map`), outputs joined back: fn maps
  [n, ...] arrays to [n] arrays, row by row. One call when B <= ROW_BLOCK or B is not a
  multiple of it.

  Why: a draw passes several times over its [B, 49152] logits (the max, the first index of it,
  the exponentials); at 32 rows (6.3 MB) they most likely no longer stay in this CPU's cache
  between passes, and the draw took 24 ms where 8-row blocks took 10.6 ms (scratch timing,
  2026-12-07; docs/performance.md, "The token draw").
  """
  b = arrays[0].shape[0]
  if b <= ROW_BLOCK or b % ROW_BLOCK:
    return fn(*arrays)
  blocks = tuple(a.reshape(b // ROW_BLOCK, ROW_BLOCK, *a.shape[1:]) for a in arrays)
  out = jax.lax.map(lambda xs: fn(*xs), blocks)
  return jax.tree.map(lambda o: o.reshape(b, *o.shape[2:]), out)


def _draw(rng, logits, temperature, top_k, top_p):
  """One token per row: (token i32[B], logprob f32[B]); greedy draws no random numbers.

  Sampled: the Gumbel-max draw argmax_i(z_i + g_i), g_i ~ Gumbel(0, 1) i.i.d., over the
  filtered z = logits / T, which is `jax.random.categorical(rng, z)` token for token (its
  definition, with `first_argmax` for its `jnp.argmax`; the noise is drawn for all rows at
  once, as `categorical` draws it); the log-prob is log softmax(logits / T) of the token,
  before the filters. Greedy: the first argmax, log softmax(logits) of it. Both reduce the rows
  in blocks (`_by_row_blocks`), which changes no row's result.
  """

  def sample(_):
    scaled = logits / jnp.maximum(temperature, 1e-6)
    gumbel = jax.random.gumbel(rng, scaled.shape, scaled.dtype)

    def block(z, g):
      tok = first_argmax(filter_logits(z, top_k, top_p) + g)
      return tok, _logprob_of(z, tok)

    return _by_row_blocks(block, scaled, gumbel)

  def greedy(_):

    def block(z):
      tok = first_argmax(z)
      return tok, _logprob_of(z, tok)

    return _by_row_blocks(block, logits)

  return jax.lax.cond(temperature > 0, sample, greedy, None)


@functools.partial(jax.jit, static_argnames=("cfg", "max_new_tokens", "keep_layer"))
def prefill_prompts(params, prompt_ids, prompt_mask, row_index=None, *, cfg: ModelConfig,
            max_new_tokens: int, keep_layer: Optional[int] = None):
  """The prompt half of sampling: a forward over the padded prompts that writes the cache.

  Args:
    prompt_ids: i32[U, P] left-padded; prompt_mask: i32[U, P].
    row_index: optional i32[B], the prompt of each sampled row (rows sharing a prompt share its
      prefill); None: one row per prompt (B = U).
    cfg, max_new_tokens: static; the cache holds P + max_new_tokens positions.
    keep_layer: static k, or None; see `transformer.forward_with_cache`.

  Returns:
    (last logits f32[B, V], cache of B rows, next position i32[B]); with `keep_layer`, also the
    residual stream after k layers of every prompt, f32[U, P, D] (one per prompt, not per row).
  """
  p = prompt_ids.shape[1]
  cache = transformer.init_cache(cfg, prompt_ids.shape[0], p + max_new_tokens)
  positions = transformer.positions_from_mask(prompt_mask)
  out = transformer.forward_with_cache(params, prompt_ids, prompt_mask, positions, cache, 0, cfg,
                                       last_only=True, keep_layer=keep_layer)
  logits, cache = out[:2]
  next_pos = jnp.sum(prompt_mask, axis=1).astype(jnp.int32)
  if row_index is not None:  # broadcast the shared prefills: [U, ...] -> [B, ...]
    logits, next_pos = logits[row_index], next_pos[row_index]
    cache = transformer.map_cache(lambda a: a[row_index], cache)
  if keep_layer is None:
    return logits[:, -1], cache, next_pos
  return logits[:, -1], cache, next_pos, out[2]


def _decode_tokens(params, cache, last_logits, next_pos, rng, temperature, top_p, eos_ids, *,
           cfg: ModelConfig, max_new_tokens: int, top_k: int = 0,
           keep_layer: Optional[int] = None):
  """The token half: draws from `last_logits`, then one token per step for every row through
  `forward_with_cache`, until every row has produced an EOS or `max_new_tokens`.

  Args:
    cache, last_logits f32[B, V], next_pos i32[B]: from `prefill_prompts`.
    rng: PRNG key; temperature, top_p: f32 scalars; eos_ids: i32[E] (pad with -1).
    keep_layer: static k, or None; see `transformer.forward_with_cache`.

  Returns:
    (tokens i32[B, N], logprobs f32[B, N], lengths i32[B]) with N = max_new_tokens; tokens past
    a row's length are 0 and their log-probs 0. With `keep_layer`, also f32[B, N, D]: at j the
    residual stream after k layers of token j, computed when it was fed back (so for every
    token but a row's last; the rest is 0 or belongs to tokens past the row's end).
  """
  n = max_new_tokens
  p = cache["mask"].shape[1] - n  # the prompt width the cache was built for
  b = last_logits.shape[0]
  rng, sub = jax.random.split(rng)
  tok, lp = _draw(sub, last_logits, temperature, top_k, top_p)
  done = jnp.isin(tok, eos_ids)
  out_tok = jnp.zeros((b, n), jnp.int32).at[:, 0].set(tok)
  out_lp = jnp.zeros((b, n), jnp.float32).at[:, 0].set(lp)
  lengths = jnp.ones((b,), jnp.int32)
  out_h = jnp.zeros((b, n, cfg.d_model) if keep_layer else (0,), cfg.compute_dtype)
  # Per-layer weights, split once for all steps (`transformer.forward_with_cache`): a copy of
  # the weights for this call.
  params = dict(params, layers=transformer.unstack_layers(params["layers"]))

  def cond(state):
    step, _, _, done, *_ = state
    return (step < n) & ~jnp.all(done)

  def body(state):
    step, cache, tok, done, out_tok, out_lp, lengths, rng, out_h = state
    pos = (next_pos + step - 1)[:, None]
    out = transformer.forward_with_cache(
        params, tok[:, None], jnp.ones((b, 1), jnp.int32), pos, cache, p + step - 1, cfg,
        keep_layer=keep_layer)
    logits, cache = out[:2]
    if keep_layer:
      out_h = jax.lax.dynamic_update_slice(out_h, out[2], (0, step - 1, 0))
    rng, sub = jax.random.split(rng)
    new_tok, new_lp = _draw(sub, logits[:, 0], temperature, top_k, top_p)
    new_tok = jnp.where(done, 0, new_tok)
    new_lp = jnp.where(done, 0.0, new_lp)
    out_tok = out_tok.at[:, step].set(new_tok)
    out_lp = out_lp.at[:, step].set(new_lp)
    lengths = lengths + (~done).astype(jnp.int32)
    done = done | jnp.isin(new_tok, eos_ids)
    return step + 1, cache, new_tok, done, out_tok, out_lp, lengths, rng, out_h

  state = (jnp.int32(1), cache, tok, done, out_tok, out_lp, lengths, rng, out_h)
  _, _, _, _, out_tok, out_lp, lengths, _, out_h = jax.lax.while_loop(cond, body, state)
  if keep_layer:
    return out_tok, out_lp, lengths, out_h
  return out_tok, out_lp, lengths


# XLA compile options for the decode program on a CPU: YNNPACK runs elementwise fusions,
# reductions and products that stand alone (the LM head), and XLA's own emitter the products
# fused with elementwise work (a layer's, matrix-vector shaped in a decode step). Measured at
# SmolLM2-135M's shapes on an AVX2-only EPYC (docs/performance.md, "The decode's compile
# options"): 1.05-1.31x the speed of XLA's defaults at 16 rows, 0.93-1.06x at 4, the same
# tokens drawn; without standalone products in YNNPACK, 4 rows decoded 2x slower. Set for this
# program alone: the prefill and the update ran no faster with them or other sets.
CPU_DECODE_OPTIONS = {"xla_cpu_experimental_ynn_fusion_type": ",".join(
    "LIBRARY_FUSION_TYPE_" + kind for kind in ("ELTWISE", "REDUCE", "INDIVIDUAL_DOT"))}
_DECODE_STATIC = ("cfg", "max_new_tokens", "top_k", "keep_layer")
decode_tokens = jax.jit(_decode_tokens, static_argnames=_DECODE_STATIC)  # XLA's defaults
decode_tokens_cpu = jax.jit(_decode_tokens, static_argnames=_DECODE_STATIC,
                            compiler_options=CPU_DECODE_OPTIONS)


@functools.lru_cache(maxsize=None)
def _cpu_options_accepted() -> bool:
  """Whether this jaxlib's XLA knows `CPU_DECODE_OPTIONS` (an experimental flag that a later
  release may rename): a one-op program is compiled with them, once per process."""
  try:
    jax.jit(lambda x: x + 1, compiler_options=CPU_DECODE_OPTIONS).lower(
        jnp.float32(0)).compile()
  except Exception as e:  # pylint: disable=broad-except  (XLA raises its own runtime error)
    warnings.warn(f"XLA rejected the CPU decode options {CPU_DECODE_OPTIONS} ({e}); the decode "
                  "compiles with XLA's defaults (correct, slower on a CPU).")
    return False
  return True


def decode_options(cpu_options: bool = True) -> Optional[dict]:
  """The compile options of the decode on the default backend: `CPU_DECODE_OPTIONS` on a CPU
  whose XLA accepts them, unless `cpu_options` is False (the config's
  `rollout.cpu_decode_options`); else None (XLA's defaults)."""
  if cpu_options and jax.default_backend() == "cpu" and _cpu_options_accepted():
    return CPU_DECODE_OPTIONS
  return None


def decode_program(cpu_options: bool = True):
  """The jitted decode for the default backend, compiled with `decode_options(cpu_options)`:
  `decode_tokens_cpu` or `decode_tokens`. Both take `decode_tokens`'s arguments and compute
  the same function. JAX refuses compile options on a jit traced inside another: to trace the
  decode inside your own jitted function, call `decode_tokens`."""
  return decode_tokens_cpu if decode_options(cpu_options) else decode_tokens


def generate(params, prompt_ids, prompt_mask, rng, temperature, top_p, eos_ids, row_index=None,
             *, cfg: ModelConfig, max_new_tokens: int, top_k: int = 0):
  """`prefill_prompts` then the decode (`decode_program()`; two jitted programs, so each can be
  timed); the decode's result."""
  last, cache, next_pos = prefill_prompts(params, prompt_ids, prompt_mask, row_index, cfg=cfg,
                                  max_new_tokens=max_new_tokens)
  return decode_program()(params, cache, last, next_pos, rng, temperature, top_p, eos_ids,
                          cfg=cfg, max_new_tokens=max_new_tokens, top_k=top_k)


def prefill_groups(lengths: Sequence[int], batch_buckets: Sequence[int],
                   prompt_buckets: Sequence[int], overhead: int = 64) -> list[tuple[int, int]]:
  """Splits prompts, sorted by length, into contiguous groups prefilled apart: [(start, end)].

  The split minimises  sum_g rows(g) * width(g) + overhead  over all contiguous splits, with
  rows(g) the batch bucket of the group's size, width(g) the prompt bucket of its longest
  prompt and `overhead` the tokens' worth of one more prefill (dynamic programming over the
  sorted lengths, O(n^2)): equal buckets stay one group, and a long tail gets its own.
  """
  n = len(lengths)
  if any(b < a for a, b in zip(lengths, lengths[1:])):
    raise ValueError("prefill_groups needs the lengths sorted ascending.")
  rows = [0] + [buckets.from_ladder(k, batch_buckets) for k in range(1, n + 1)]
  best, start = [0] + [None] * n, [0] * (n + 1)
  for j in range(1, n + 1):
    width = buckets.from_ladder(lengths[j - 1], prompt_buckets)
    for i in range(j):
      cost = best[i] + rows[j - i] * width + overhead
      if best[j] is None or cost < best[j]:
        best[j], start[j] = cost, i
  groups, j = [], n
  while j > 0:
    groups.append((start[j], j))
    j = start[j]
  return groups[::-1]


@functools.partial(jax.jit, static_argnames=("length",))
def assemble_prefills(parts, row_index, length: int):
  """One batch from several prefills: `parts` = [(last logits f32[n, V], cache, next position
  i32[n])], each cache of n rows (or more: dummy rows past n are dropped) and S_g <= length
  slots; returns them as `prefill_prompts` does, rows concatenated in order, then gathered by
  row_index i32[B], every cache padded at its end to `length` slots. A group's prompt stays in
  its first slots and decoding writes after the longest width, so the slots between are empty
  and masked: attention reads the same keys and positions as in a prefill at the full width.
  Jitted, so that XLA can fuse the padding, concatenation and gather rather than materialise
  each (eagerly, each is a copy of the cache: 3.3 GB for 64 rows of 1120 slots at SmolLM2's
  shapes)."""
  def pad(x, axis):
    widths = [(0, 0)] * x.ndim
    widths[axis] = (0, length - x.shape[axis])
    return jnp.pad(x, widths)

  last = jnp.concatenate([p[0] for p in parts])
  next_pos = jnp.concatenate([p[2] for p in parts])
  n_layers = len(parts[0][1]["k"])
  layer = lambda name, i: jnp.concatenate([pad(p[1][name][i][:len(p[0])], 2) for p in parts])
  cache = {name: tuple(layer(name, i) for i in range(n_layers)) for name in ("k", "v")}
  cache["mask"] = jnp.concatenate([pad(p[1]["mask"][:len(p[0])], 1) for p in parts])
  return (last[row_index], transformer.map_cache(lambda a: a[row_index], cache),
          next_pos[row_index])


# Prompt buckets. LADDER: powers of two and their 1.5 multiples (a padded prompt wastes < 1/3),
# for grouped prefills; POWERS_OF_TWO: the fewest compiled programs.
LADDER = (32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096)
POWERS_OF_TWO = (32, 64, 128, 256, 512, 1024, 2048, 4096)
ONE_PREFILL = {"prompt_buckets": POWERS_OF_TWO, "group_overhead": 10 ** 12}  # Sampler kwargs


@dataclasses.dataclass
class SampleOutput:
  """tokens, logprobs: one list per prompt. hidden (with `keep_layer` only): per prompt,
  f32[len(prompt) + len(response) - 1, D], the residual stream after `keep_layer` layers of
  every token that was fed to the model (the prompt's, then the response's but its last)."""
  tokens: list[list[int]]
  logprobs: list[list[float]]
  hidden: Optional[list[np.ndarray]] = None


class Sampler:
  """Host-side wrapper: padding to buckets, EOS / stop strings, shared-prompt prefill."""

  def __init__(self, cfg: ModelConfig, eos_ids: Sequence[int], pad_id: int = 0,
               batch_buckets: Sequence[int] = (1, 2, 4, 8, 16, 32, 64, 128, 256),
               prompt_buckets: Sequence[int] = LADDER,
               share_prompts: bool = True, group_overhead: int = 64,
               cpu_decode_options: bool = True):
    """group_overhead: the tokens' worth of one more prefill (`prefill_groups`); a huge value
    prefills every batch at its longest prompt's bucket (`ONE_PREFILL`: so with the
    power-of-two buckets, as before 2026-12-04, for the fewest compiled programs).
    cpu_decode_options: False compiles the decode with XLA's defaults on a CPU too
    (`decode_program`); the same tokens in the tests and benchmarks either way."""
    self.cfg = cfg
    self.cpu_decode_options = cpu_decode_options
    self.share_prompts = share_prompts
    self.group_overhead = group_overhead
    self.seconds = {"prefill": 0.0, "decode": 0.0}  # cumulative wall time of each program
    self.eos = jnp.asarray(list(eos_ids) or [-1], jnp.int32)
    self.pad_id = pad_id
    self.batch_buckets = tuple(batch_buckets)
    self.prompt_buckets = tuple(prompt_buckets)

  def _pad_prompts(self, prompts: Sequence[Sequence[int]], rows: int):
    width = buckets.from_ladder(max(len(p) for p in prompts), self.prompt_buckets)
    ids = np.full((rows, width), self.pad_id, np.int32)
    mask = np.zeros((rows, width), np.int32)
    for i, p in enumerate(prompts):
      if not p:
        raise ValueError(f"prompt {i} is empty; every prompt needs at least one token.")
      ids[i, width - len(p):] = p
      mask[i, width - len(p):] = 1
    mask[len(prompts):, -1] = 1  # dummy rows: one real token so their softmax stays finite
    return jnp.asarray(ids), jnp.asarray(mask)

  def sample(self, params, prompts: Sequence[Sequence[int]], rng, *, max_new_tokens: int,
             temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0,
             stop_strings: Sequence[str] = (), decode: Optional[Callable] = None,
             keep_layer: Optional[int] = None) -> SampleOutput:
    """Samples one response per prompt (see module docstring).

    Args:
      prompts: token-id lists; rng: PRNG key; max_new_tokens: N (static: keep it fixed).
      stop_strings: cut a response after the token where its text first contains one of these;
        needs `decode` (token ids -> text).
      keep_layer: also return the residual stream after this many layers for every token fed
        to the model (`SampleOutput.hidden`, host memory: 4 D bytes a token).

    Returns:
      SampleOutput(tokens, logprobs[, hidden]), one list per prompt.
    """
    keep_layer = keep_layer or None  # 0 keeps nothing, as None: one compiled program for both
    if not prompts:
      return SampleOutput([], [], [] if keep_layer else None)
    prefill_hidden = []  # with keep_layer: (device f32[n, P, D], its n prompts) per prefill
    rows = buckets.from_ladder(len(prompts), self.batch_buckets)
    if self.share_prompts:
      distinct = {}
      index = [distinct.setdefault(tuple(p), len(distinct)) for p in prompts]
      unique = [list(p) for p in distinct]
    else:
      unique, index = [list(p) for p in prompts], list(range(len(prompts)))
    order = sorted(range(len(unique)), key=lambda i: len(unique[i]))
    groups = prefill_groups([len(unique[i]) for i in order], self.batch_buckets,
                            self.prompt_buckets, self.group_overhead)
    t0 = time.perf_counter()
    if len(groups) == 1 and len(unique) == len(prompts):  # one prefill, rows as given
      ids, mask = self._pad_prompts(prompts, rows)
      out = prefill_prompts(params, ids, mask, None, cfg=self.cfg,
                            max_new_tokens=max_new_tokens, keep_layer=keep_layer)
      last, cache, next_pos = out[:3]
      if keep_layer:
        prefill_hidden.append((out[3], unique))
    else:  # shared prompts prefilled once, unequal lengths in groups
      parts = []
      for a, b in groups:
        members = [unique[i] for i in order[a:b]]
        ids, mask = self._pad_prompts(members,
                                      buckets.from_ladder(len(members), self.batch_buckets))
        out = prefill_prompts(params, ids, mask, None, cfg=self.cfg,
                              max_new_tokens=max_new_tokens, keep_layer=keep_layer)
        last, cache, next_pos = out[:3]
        if keep_layer:
          prefill_hidden.append((out[3], members))
        parts.append((last[:len(members)], cache, next_pos[:len(members)]))
      width = buckets.from_ladder(len(unique[order[-1]]), self.prompt_buckets)
      position = {u: k for k, u in enumerate(order)}  # a unique prompt's row in the groups
      row_index = jnp.asarray([position[u] for u in index] + [0] * (rows - len(prompts)),
                              jnp.int32)
      last, cache, next_pos = assemble_prefills(parts, row_index, width + max_new_tokens)
    jax.block_until_ready(last)
    t1 = time.perf_counter()
    program = decode_program(self.cpu_decode_options)
    out = program(params, cache, last, next_pos, rng, jnp.float32(temperature),
                  jnp.float32(top_p), self.eos, cfg=self.cfg, max_new_tokens=max_new_tokens,
                  top_k=top_k, keep_layer=keep_layer)
    toks, lps, lens = np.asarray(out[0]), np.asarray(out[1]), np.asarray(out[2])
    response_hidden = np.asarray(out[3]) if keep_layer else None
    prompt_hidden = {}  # unique prompt -> host f32[len, D]
    for hidden, members in prefill_hidden:
      self._keep_prompt_hidden(prompt_hidden, hidden, members)
    self.seconds["prefill"] += t1 - t0
    self.seconds["decode"] += time.perf_counter() - t1
    out_t, out_l, out_h = [], [], []
    for i in range(len(prompts)):
      t, l = toks[i, :lens[i]].tolist(), lps[i, :lens[i]].tolist()
      if stop_strings:
        if decode is None:
          raise ValueError("stop_strings need a decode function (token ids -> text).")
        t, l = _cut_at_stop(t, l, stop_strings, decode)
      out_t.append(t)
      out_l.append(l)
      if keep_layer:  # the prompt's tokens, then every response token but the last
        out_h.append(np.concatenate([prompt_hidden[tuple(prompts[i])],
                                     response_hidden[i, :len(t) - 1]]))
    return SampleOutput(out_t, out_l, out_h if keep_layer else None)

  @staticmethod
  def _keep_prompt_hidden(store: dict, hidden, members) -> None:
    """Host copies of a prefill's hidden states f32[n, P, D] (left-padded rows), by prompt."""
    hidden = np.asarray(hidden)
    width = hidden.shape[1]
    for row, prompt in enumerate(members):
      store[tuple(prompt)] = hidden[row, width - len(prompt):]



def _cut_at_stop(tokens, logprobs, stop_strings, decode):
  text = decode(tokens)
  if not any(s in text for s in stop_strings):
    return tokens, logprobs
  for n in range(1, len(tokens) + 1):
    if any(s in decode(tokens[:n]) for s in stop_strings):
      return tokens[:n], logprobs[:n]
  return tokens, logprobs
