"""Benchmark: the sampler's per-step token draw against the draw it replaced, alone and in a decode.

    python experiments/bench_draw.py [--rows 16,32] [--temperature 0.4] [--repeats 50]
    python experiments/bench_draw.py --decode --rows 32 --new_tokens 48 --repeats 6

Every decode step draws one token per row from [rows, vocab] logits (`sampler._draw`). The
baseline is the draw as it was up to commit 40bc188 (`draw_as_before` below):
`jax.random.categorical` over the filtered logits / T, or `jnp.argmax` at T = 0, then the
log-softmax of every logit and a gather. Ours draws the same tokens (the Gumbel-max definition
of `categorical`, with `sampler.first_argmax` for `jnp.argmax`), reduces the rows in blocks of
`sampler.ROW_BLOCK` and computes one log-prob per row.

Without `--decode`: both draws, jitted alone, on the same [rows, 49152] logits and key, sampled
at `--temperature` and greedy, top-p passed as a traced 1.0 as the sampler passes it. With
`--decode`: the whole decode program (`sampler.decode_tokens`, SmolLM2-135M's shapes, random
weights, one prefill of 16-token prompts shared by both) compiled once with each draw, which is
where the draw runs: `new_tokens` steps of `rows` rows, EOS disabled.

Each side runs `--repeats` times, the two in turn (A B A B), after one untimed call each;
prints the medians, the ratio baseline / ours, and whether both drew the same tokens.
"""

from __future__ import annotations

import argparse
import functools
import statistics

import jax
import jax.numpy as jnp
import numpy as np

from proxmo_jax.models import sampler, transformer

import bench_update  # experiments/ is on sys.path when this file runs as a script


def draw_as_before(rng, logits, temperature, top_k, top_p):
  """`sampler._draw` up to commit 40bc188: (token i32[B], logprob f32[B])."""

  def sample(_):
    scaled = logits / jnp.maximum(temperature, 1e-6)
    tok = jax.random.categorical(rng, sampler.filter_logits(scaled, top_k, top_p), axis=-1)
    return tok.astype(jnp.int32), jax.nn.log_softmax(scaled, axis=-1)

  def greedy(_):
    return jnp.argmax(logits, axis=-1).astype(jnp.int32), jax.nn.log_softmax(logits, axis=-1)

  tok, logz = jax.lax.cond(temperature > 0, sample, greedy, None)
  return tok, jnp.take_along_axis(logz, tok[:, None], axis=-1)[:, 0]


DRAWS = {"baseline": draw_as_before, "ours": sampler._draw}  # pylint: disable=protected-access


def _decode_calls(cfg, params, rows, new_tokens):
  """{draw name: temperature -> decode output}, each program compiled once (the temperature is
  traced, so one program serves every temperature)."""
  ids = jnp.asarray(np.random.default_rng(0).integers(3, cfg.vocab_size, (rows, 16)), jnp.int32)
  last, cache, next_pos = sampler.prefill_prompts(params, ids, jnp.ones_like(ids), None, cfg=cfg,
                                                  max_new_tokens=new_tokens)[:3]
  eos = jnp.asarray([-1], jnp.int32)
  calls = {}
  for name, draw in DRAWS.items():
    # The draw is looked up as `sampler._draw` when the program traces: each program is traced
    # (by its first call, here) with that module attribute set to its draw.
    program = bench_update.fresh_decode_program()
    # With trace=True, the jaxpr of the program's (first, cached) trace: a program compiled
    # with its own options cannot be traced inside another jit (`jax.make_jaxpr`).
    call = (lambda temperature, trace=False, program=program: (
        program.trace if trace else program)(
            params, cache, last, next_pos, jax.random.PRNGKey(0), jnp.float32(temperature),
            jnp.float32(1.0), eos, cfg=cfg, max_new_tokens=new_tokens))
    bench_update.traced_with(lambda: call(0.0), [(sampler, "_draw", draw)])
    # The baseline program holds jnp.argmax's primitive, ours none: each has its own draw.
    if ("argmax" in str(call(0.0, trace=True).jaxpr)) != (name == "baseline"):
      raise RuntimeError(f"the {name} decode program was not traced with its own draw")
    calls[name] = call
  return calls


def _draw_calls(rows, vocab):
  """{draw name: temperature -> (tokens, log-probs)} on one set of logits."""
  logits = jax.random.normal(jax.random.PRNGKey(0), (rows, vocab)) * 3.0
  key = jax.random.PRNGKey(1)
  calls = {}
  for name, draw in DRAWS.items():
    jitted = jax.jit(draw, static_argnums=3)
    calls[name] = (lambda temperature, jitted=jitted: jitted(
        key, logits, jnp.float32(temperature), 0, jnp.float32(1.0)))
  return calls


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rows", default="16,32")
  parser.add_argument("--vocab", type=int, default=49152, help="without --decode")
  parser.add_argument("--temperature", type=float, default=0.4)
  parser.add_argument("--repeats", type=int, default=50)
  parser.add_argument("--decode", action="store_true",
                      help="time the decode program (SmolLM2 shapes) with each draw")
  parser.add_argument("--new_tokens", type=int, default=48, help="decode steps with --decode")
  args = parser.parse_args()
  unit, scale = ("s", 1.0) if args.decode else ("ms", 1e3)
  what = (f"decode of {args.new_tokens} steps at SmolLM2-135M's shapes" if args.decode
          else f"one draw from [rows, {args.vocab}] logits")
  print(f"jax {jax.__version__} ({jax.devices()[0].platform}); {what}; median {unit} of "
        f"{args.repeats} calls each, in turn; other jobs may share the CPU")
  print(f"| rows | T | baseline {unit} | ours {unit} | baseline / ours | same tokens |")
  print("|---|---|---|---|---|---|")
  if args.decode:
    cfg = bench_update.smollm2_config()
    params = transformer.init_params(cfg, jax.random.PRNGKey(0))
  for rows in (int(r) for r in args.rows.split(",")):
    calls = (_decode_calls(cfg, params, rows, args.new_tokens) if args.decode
             else _draw_calls(rows, args.vocab))
    for temperature in (args.temperature, 0.0):
      base, ours = (functools.partial(calls[name], temperature) for name in ("baseline", "ours"))
      same = bool(np.array_equal(base()[0], ours()[0]))
      times = bench_update.time_alternating({"baseline": base, "ours": ours}, args.repeats)
      tb, tm = (statistics.median(times[name]) for name in ("baseline", "ours"))
      print(f"| {rows} | {temperature:g} | {tb * scale:.3f} | {tm * scale:.3f} | {tb / tm:.2f}x "
            f"| {same} |", flush=True)


if __name__ == "__main__":
  main()
