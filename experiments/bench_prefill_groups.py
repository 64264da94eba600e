"""Benchmark: sampling prompts of unequal lengths with grouped prefills vs one prefill per batch.

    python experiments/bench_prefill_groups.py [--demos runs/smollm2_alfworld_dart/bc_demos.json]
        [--batch 16] [--batches 3] [--new_tokens 16] [--repeats 2] [--threads 2] [--layers 0]
        [--keep_layer 22]

The prompts are real ones: behaviour-cloning demonstrations (`<workdir>/bc_demos.json`, written
by experiments/sft.py) through SmolLM2-135M-Instruct's chat template and tokenizer, `--batches`
batches of `--batch` prompts drawn with seed 0. The model has SmolLM2-135M's shapes and random
weights (`--layers n`: its first n layers, for a quick run). Both samplers run in this process,
alternating (A B A B), each batch compiled in a warm-up pass first:

  grouped  the sampler's default: prompts sorted by length and prefilled in groups, each at its
           own bucket of the ladder of powers of two and their 1.5 multiples
           (`sampler.prefill_groups`);
  one      every batch prefilled at its longest prompt's power-of-two bucket (the sampler
           before 2026-12-04: `group_overhead` huge, the power-of-two ladder).

`--keep_layer k` compares instead the grouped sampler as it is with the same sampler keeping the
residual stream after k layers of every token (`Sampler.sample(keep_layer=k)`, what a rollout
under `ppo.frozen_hidden=rollout` runs, host copies per prompt included):

  grouped  as above;
  keep     the same, with keep_layer=k.

Greedy decoding of `--new_tokens` tokens with EOS disabled, so both decode the same number of
steps. Prints each batch's real and padded prompt tokens, the median seconds per pass over the
batches and the ratio of the second to the first (one / grouped: how much longer one prefill
per batch takes; keep / grouped: what keeping the states costs). `--threads n` confines this
process to n CPUs.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics

import jax
import numpy as np

from proxmo_jax import buckets
from proxmo_jax.models import gguf_import, sampler, transformer
from proxmo_jax import tokenizers

import bench_update  # experiments/ is on sys.path when this file runs as a script



def _prompts(path: str, batch: int, batches: int) -> list[list[list[int]]]:
  if not os.path.exists(path):
    raise SystemExit(f"--demos {path}: no such file; experiments/sft.py writes "
                     "<workdir>/bc_demos.json (cpu_rl_queue.sh step 8: "
                     "runs/smollm2_alfworld_dart/bc_demos.json).")
  tok = tokenizers.from_gguf(gguf_import.smollm2_path())
  texts = [p for p, _ in json.load(open(path))["pairs"]]
  rng = random.Random(0)
  out = []
  for _ in range(batches):
    out.append([tok.encode(tok.apply_chat_template([{"role": "user", "content": t}],
                                                   add_generation_prompt=True))
                for t in rng.sample(texts, batch)])
  return out


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--demos", default="runs/smollm2_alfworld_dart/bc_demos.json")
  parser.add_argument("--batch", type=int, default=16)
  parser.add_argument("--batches", type=int, default=3)
  parser.add_argument("--new_tokens", type=int, default=16)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--threads", type=int, default=0, help="confine to n CPUs (0: all)")
  parser.add_argument("--layers", type=int, default=0, help="first n layers (0: all 30)")
  parser.add_argument("--keep_layer", type=int, default=0,
                      help="k > 0: compare the grouped sampler without and with keep_layer=k")
  args = parser.parse_args()
  if args.threads:
    bench_update.confine_to_cpus(args.threads)()
  cfg = bench_update.smollm2_config(args.layers)
  if args.keep_layer and not 0 < args.keep_layer < cfg.n_layers:
    raise SystemExit(f"--keep_layer {args.keep_layer}: give a layer count in [1, {cfg.n_layers})"
                     " (SmolLM2 with LoRA on the top 8 layers keeps layer 22).")
  params = transformer.init_params(cfg, jax.random.PRNGKey(0))
  batches = _prompts(args.demos, args.batch, args.batches)
  samplers = {"grouped": sampler.Sampler(cfg, eos_ids=[]),
              "one": sampler.Sampler(cfg, eos_ids=[], **sampler.ONE_PREFILL)}
  # name -> (sampler, extra arguments of sample()); the first is the baseline.
  runs = ({"grouped": (samplers["grouped"], {}),
           "keep": (samplers["grouped"], {"keep_layer": args.keep_layer})}
          if args.keep_layer else {name: (s, {}) for name, s in samplers.items()})
  for i, prompts in enumerate(batches):
    lengths = sorted(len(p) for p in prompts)
    grouped = sampler.prefill_groups(lengths, samplers["grouped"].batch_buckets,
                                     samplers["grouped"].prompt_buckets)
    padded = sum(buckets.from_ladder(b - a, samplers["grouped"].batch_buckets) *
                 buckets.from_ladder(lengths[b - 1], samplers["grouped"].prompt_buckets)
                 for a, b in grouped)
    one = buckets.from_ladder(len(lengths), samplers["one"].batch_buckets) * \
        buckets.from_ladder(lengths[-1], sampler.POWERS_OF_TWO)
    print(f"batch {i}: {len(lengths)} prompts of {lengths[0]}-{lengths[-1]} tokens "
          f"(mean {np.mean(lengths):.0f}), real {sum(lengths)} tokens; padded: grouped "
          f"{padded} in {len(grouped)} groups, one {one}", flush=True)

  def run(name):
    s, kwargs = runs[name]
    for prompts in batches:
      s.sample(params, prompts, jax.random.PRNGKey(0), max_new_tokens=args.new_tokens,
               temperature=0.0, **kwargs)

  times = bench_update.time_alternating(
      {name: functools.partial(run, name) for name in runs}, args.repeats,
      on_warmup=lambda name, t: print(f"warm-up {name}: {t:.1f} s", flush=True))
  med = {name: statistics.median(t) for name, t in times.items()}
  base, other = runs
  print(f"seconds per pass over {args.batches} batches (median of {args.repeats}): " + ", ".join(
      f"{name} {med[name]:.2f} (runs {[round(t, 2) for t in times[name]]})" for name in runs) +
        f"; {other} / {base} {med[other] / med[base]:.2f}x", flush=True)


if __name__ == "__main__":
  main()
