"""Benchmark: the sampler's per-step token draw against the `jax.random` / `jnp` forms it replaces.

    python experiments/bench_draw.py [--rows 16,32] [--vocab 49152] [--temperature 0.4]

Every decode step draws one token per row from [rows, vocab] logits (`sampler._draw`). Timed
here, one jitted program each on the same logits and key, in this process:

  sampled: `jax.random.categorical` over logits / T plus log softmax of the drawn token (the
           draw as it was) against `sampler._draw` at T (the same tokens: Gumbel-max with
           `sampler.first_argmax`);
  greedy:  `jnp.argmax` plus log softmax of it against `sampler._draw` at T = 0.

Prints the median of `--repeats` calls of each, called in turn after one untimed call, the
ratio baseline / ours, and whether both sides drew the same tokens.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from proxmo_jax.models import sampler


def _logprob(z, tok):
  return jnp.take_along_axis(jax.nn.log_softmax(z, axis=-1), tok[:, None], axis=-1)[:, 0]


@jax.jit
def categorical_draw(rng, logits, temperature):
  z = logits / temperature
  tok = jax.random.categorical(rng, z, axis=-1).astype(jnp.int32)
  return tok, _logprob(z, tok)


@jax.jit
def argmax_draw(logits):
  tok = jnp.argmax(logits, axis=-1).astype(jnp.int32)
  return tok, _logprob(logits, tok)


ours = jax.jit(sampler._draw, static_argnums=3)  # pylint: disable=protected-access


def _time_alternating(fns, repeats):
  """Median seconds of each fn, called in turn (A B A B ...) after one untimed call each."""
  for fn in fns:
    jax.block_until_ready(fn())
  times = [[] for _ in fns]
  for _ in range(repeats):
    for fn, ts in zip(fns, times):
      t0 = time.perf_counter()
      jax.block_until_ready(fn())
      ts.append(time.perf_counter() - t0)
  return [statistics.median(ts) for ts in times]


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--rows", default="16,32")
  parser.add_argument("--vocab", type=int, default=49152)
  parser.add_argument("--temperature", type=float, default=0.4)
  parser.add_argument("--repeats", type=int, default=50)
  args = parser.parse_args()
  t = jnp.float32(args.temperature)
  print(f"jax {jax.__version__} ({jax.devices()[0].platform}); vocab {args.vocab}, T "
        f"{args.temperature}; median ms of {args.repeats} calls; other jobs may share the CPU")
  print("| rows | draw | baseline ms | ours ms | baseline / ours | same tokens |")
  print("|---|---|---|---|---|---|")
  for rows in (int(r) for r in args.rows.split(",")):
    logits = jax.random.normal(jax.random.PRNGKey(0), (rows, args.vocab)) * 3.0
    key = jax.random.PRNGKey(1)
    cases = {
        "sampled (jax.random.categorical)": (
            lambda: categorical_draw(key, logits, t),
            lambda: ours(key, logits, t, 0, jnp.float32(1.0))),
        "greedy (jnp.argmax)": (
            lambda: argmax_draw(logits),
            lambda: ours(key, logits, jnp.float32(0.0), 0, jnp.float32(1.0))),
    }
    for name, (base, mine) in cases.items():
      same = bool(np.array_equal(base()[0], mine()[0]))
      tb, tm = _time_alternating((base, mine), args.repeats)
      print(f"| {rows} | {name} | {tb * 1e3:.2f} | {tm * 1e3:.2f} | {tb / tm:.2f}x | {same} |",
            flush=True)


if __name__ == "__main__":
  main()
