"""Benchmark: the sampler's decode over per-layer weights and cache against the layer scan it
replaced, or its CPU compile options against XLA's defaults.

    python experiments/bench_decode.py [--rows 16] [--prompt_len 512] [--new_tokens 64]
        [--repeats 3] [--threads 1,2] [--layers 0] [--baseline scan|xla_defaults]

Up to commit 3335122 a decode step ran the layers as a `jax.lax.scan` over the stacked weights
[L, ...] and the stacked cache [L, B, KV, S, hd], attended over the old cache and the new key
apart, and wrote all layers' new keys after the scan (`forward_as_before` below, that commit's
`transformer.forward_with_cache`). On a CPU, XLA copies every layer's weight and cache slice
out of the stacks before its products, on every step. Ours (the sampler's decode as it is)
splits the weights into per-layer arrays once per call, keeps the cache per layer, and runs
the layers unrolled, each writing its new key first and then attending over the written cache.
Both are compiled with the options the sampler uses on this backend (`sampler.decode_program`).

`--baseline xla_defaults`: the same traced program, ours, compiled with XLA's default options
(`sampler.decode_tokens`) against the sampler's CPU options (`sampler.decode_tokens_cpu`,
`sampler.CPU_DECODE_OPTIONS`).

Both decode programs trace the sampler's decode function, once with each forward (the
baseline with the stacked cache and no weight split); one prefill of `--prompt_len` random
tokens in `--rows` rows, random weights at SmolLM2-135M's shapes (`--layers` fewer for a smoke
run), `--new_tokens` steps with EOS disabled, sampled at `--temperature` and greedy. Each
thread count runs in its own process confined to that many CPUs. Each side runs `--repeats`
times, the two in turn (A B A B), after one untimed call each; prints the medians, the ratio
baseline / ours, whether both drew the same tokens, and each program's first call (trace,
compile and run) less one timed call: more than the compile alone (docs/performance.md).
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np

from proxmo_jax.models import sampler, transformer

import bench_update  # experiments/ is on sys.path when this file runs as a script


def _cached_attention(q, k_new, v_new, k_cache, v_cache, old_mask, new_mask, cfg):
  """Commit 3335122's attention of T new queries over a read-only cache and the T new keys."""
  b, t, _, hd = q.shape
  kv = cfg.n_kv_heads
  groups = q.shape[2] // kv
  qs = transformer._stack_query_groups(q, kv)  # pylint: disable=protected-access
  k_new, v_new = k_new.transpose(0, 2, 1, 3), v_new.transpose(0, 2, 1, 3)
  scale = 1.0 / jnp.sqrt(jnp.float32(hd))
  neg = jnp.finfo(jnp.float32).min
  s_old = jnp.einsum("bkqd,bksd->bkqs", qs, k_cache).astype(jnp.float32) * scale
  s_new = jnp.einsum("bkqd,bksd->bkqs", qs, k_new).astype(jnp.float32) * scale
  s_old = jnp.where(old_mask[:, None, None, :], s_old, neg)
  s_new = jnp.where(new_mask[:, None, None], s_new.reshape(b, kv, groups, t, t),
                    neg).reshape(b, kv, groups * t, t)
  probs = jax.nn.softmax(jnp.concatenate([s_old, s_new], axis=-1), axis=-1)
  p_old, p_new = probs[..., :k_cache.shape[2]], probs[..., k_cache.shape[2]:]
  out = (jnp.einsum("bkqs,bksd->bkqd", p_old, v_cache) +
         jnp.einsum("bkqs,bksd->bkqd", p_new, v_new))
  return transformer._unstack_query_groups(out, t)  # pylint: disable=protected-access


def forward_as_before(params, tokens, segment_mask, positions, cache, cache_index, cfg,
                      last_only=False, keep_layer=None):
  """Commit 3335122's `forward_with_cache` for a decode step (cache_index traced, no
  keep_layer): the layer scan over stacked weights and a stacked cache {"k", "v":
  [L, B, KV, S, hd], "mask"}."""
  del last_only, keep_layer
  t = tokens.shape[1]
  s = cache["k"].shape[3]
  old_mask = (cache["mask"] > 0) & (jnp.arange(s)[None, :] < cache_index)
  new_mask = jnp.tril(jnp.ones((t, t), bool))[None] & (segment_mask > 0)[:, None, :]
  x = params["embed"].astype(cfg.compute_dtype)[tokens]

  def body(x, inputs):
    p, k_cache, v_cache = inputs
    q, k, v = transformer._qkv(cfg, p, x, positions)  # pylint: disable=protected-access
    att = _cached_attention(q, k, v, k_cache, v_cache, old_mask, new_mask, cfg)
    head_major = lambda a: a.transpose(0, 2, 1, 3)
    return (transformer._finish_block(cfg, p, x, att),  # pylint: disable=protected-access
            (head_major(k), head_major(v)))

  x, (k_all, v_all) = jax.lax.scan(body, x, (params["layers"], cache["k"], cache["v"]))
  new_cache = {
      "k": jax.lax.dynamic_update_slice(cache["k"], k_all, (0, 0, 0, cache_index, 0)),
      "v": jax.lax.dynamic_update_slice(cache["v"], v_all, (0, 0, 0, cache_index, 0)),
      "mask": jax.lax.dynamic_update_slice(cache["mask"], segment_mask.astype(jnp.int32),
                                           (0, cache_index)),
  }
  return transformer.lm_head(params, x, cfg), new_cache


def _scans_over(jaxpr, shapes) -> bool:
  """Whether `jaxpr` or a jaxpr inside it has a `scan` with an operand of one of `shapes` (the
  stacked [L, ...] layer weights: a layer scan). Other scans, such as the token draw's over
  chunks of rows, do not count."""
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "scan" and any(
        tuple(getattr(v.aval, "shape", ())) in shapes for v in eqn.invars):
      return True
    for value in eqn.params.values():
      for sub in value if isinstance(value, (tuple, list)) else (value,):
        sub = getattr(sub, "jaxpr", sub)  # a ClosedJaxpr's jaxpr
        if hasattr(sub, "eqns") and _scans_over(sub, shapes):
          return True
  return False


def _run(threads, args):
  """One thread count, in this worker process (confined to that many CPUs before XLA
  started): prints one table row per temperature."""
  cfg = bench_update.smollm2_config(args.layers)
  params = transformer.init_params(cfg, jax.random.PRNGKey(0))
  ids = jnp.asarray(np.random.default_rng(0).integers(3, cfg.vocab_size,
                                                      (args.rows, args.prompt_len)), jnp.int32)
  last, cache, next_pos = sampler.prefill_prompts(params, ids, jnp.ones_like(ids), None, cfg=cfg,
                                                  max_new_tokens=args.new_tokens)[:3]
  stacked = {"k": jnp.stack(cache["k"]), "v": jnp.stack(cache["v"]), "mask": cache["mask"]}
  eos = jnp.asarray([-1], jnp.int32)

  def call(program, cache, temperature, trace=False):
    """The program's output; with `trace`, the jaxpr of its (first, cached) trace: a program
    compiled with its own options cannot be traced inside another jit (`jax.make_jaxpr`)."""
    return (program.trace if trace else program)(
        params, cache, last, next_pos, jax.random.PRNGKey(0), jnp.float32(temperature),
        jnp.float32(1.0), eos, cfg=cfg, max_new_tokens=args.new_tokens)

  ours = functools.partial(call, sampler.decode_program(), cache)
  if args.baseline == "xla_defaults":
    if not sampler.decode_options():
      raise SystemExit("the sampler compiles its decode with XLA's defaults on this backend "
                       "(not a CPU, or its XLA rejected the options): nothing to compare.")
    base = functools.partial(call, sampler.decode_tokens, cache)
    compile_base = bench_update.traced_with(lambda: base(0.0))
  else:
    # The baseline: the decode traced with the old forward and no weight split.
    base = functools.partial(call, bench_update.fresh_decode_program(), stacked)
    # The first call is the untimed one that traces and compiles; its time less a timed run
    # is printed (it holds more than the compile: docs/performance.md).
    compile_base = bench_update.traced_with(
        lambda: base(0.0), [(transformer, "forward_with_cache", forward_as_before),
                            (transformer, "unstack_layers", lambda layers: layers)])
  compile_ours = bench_update.traced_with(lambda: ours(0.0))
  # The scan baseline scans its layers, ours runs them unrolled: each has its own forward.
  stacked_weights = {tuple(w.shape) for w in jax.tree.leaves(params["layers"])}
  for name, fn, scans in (("baseline", base, args.baseline == "scan"), ("ours", ours, False)):
    if _scans_over(fn(0.0, trace=True).jaxpr.jaxpr, stacked_weights) != scans:
      raise RuntimeError(f"the {name} decode program was not traced with its own forward")
  for temperature in (args.temperature, 0.0):
    b, o = functools.partial(base, temperature), functools.partial(ours, temperature)
    same = bool(np.array_equal(b()[0], o()[0]))
    times = bench_update.time_alternating({"base": b, "ours": o}, args.repeats)
    tb, to = (statistics.median(times[name]) for name in ("base", "ours"))
    tokens = args.rows * args.new_tokens
    print(f"| {threads} | {args.rows} | {temperature:g} | {tb:.2f} ({tokens / tb:.0f}) | "
          f"{to:.2f} ({tokens / to:.0f}) | {tb / to:.2f}x | {same} | "
          f"{compile_base - tb:.1f} / {compile_ours - to:.1f} |", flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rows", type=int, default=16)
  parser.add_argument("--prompt_len", type=int, default=512)
  parser.add_argument("--new_tokens", type=int, default=64)
  parser.add_argument("--temperature", type=float, default=0.4)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--threads", default="1,2")
  parser.add_argument("--layers", type=int, default=0, help="fewer layers (0: all 30)")
  parser.add_argument("--baseline", choices=("scan", "xla_defaults"), default="scan",
                      help="scan: the layer scan of 3335122; xla_defaults: ours compiled with "
                      "XLA's default options")
  parser.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args._worker:  # pylint: disable=protected-access
    _run(int(args.threads), args)
    return
  print(f"jax {jax.__version__}; decode of {args.new_tokens} "
        f"steps after a {args.prompt_len}-token prompt, SmolLM2-135M's shapes"
        f"{f' with {args.layers} layers' if args.layers else ''}; median s (tokens/s) of "
        f"{args.repeats} calls each, in turn; other jobs may share the CPU")
  base, ours = (("layer scan (3335122)", "per-layer (ours)") if args.baseline == "scan" else
                ("XLA's defaults", "CPU options (ours)"))
  print(f"| threads | rows | T | {base} | {ours} | baseline / ours "
        "| same tokens | first call less a timed one, s, baseline / ours |")
  print("|---|---|---|---|---|---|---|---|", flush=True)
  for n in (int(t) for t in args.threads.split(",")):  # one process each: XLA sizes its pool
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", f"--threads={n}"] + [
        f"--{k}={v}" for k, v in vars(args).items() if k not in ("threads", "_worker")]
    subprocess.run(cmd, check=True, preexec_fn=bench_update.confine_to_cpus(n))


if __name__ == "__main__":
  main()
