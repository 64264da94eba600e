"""Benchmark: prefill and decode tokens/s of the JAX sampler vs HF `transformers` generate.

    python experiments/bench_sampler.py [--presets tiny,small] [--batches 32,128]
        [--prompt_len 128] [--new_tokens 32] [--threads 2] [--group 1]
    python experiments/bench_sampler.py --model smollm2-135m --batches 8 --threads 1,2

Both prefill forwards compute the logits of the last position only (as `generate` does).
Both run in this process on the CPU with the same model shapes (an HF Qwen2 model is built from
the preset, or with `--model smollm2-135m` an HF Llama at SmolLM2-135M's shapes; its random
weights are imported into the JAX param tree) and the same batch: greedy decoding of
`new_tokens` tokens after `prompt_len` prompt tokens, EOS disabled so every row generates the
full length. `--temperature T` (> 0) samples instead, as a training rollout does: both sides at
temperature T with no top-k or top-p filter (HF's `generate` gets `do_sample=True, top_k=0,
top_p=1.0`, since its default keeps the top 50). Prefill tokens/s = batch * prompt_len / time
of the prompt forward; decode tokens/s = batch * new_tokens / (generate time - prefill time).
Ratios are JAX / HF.

`--keep_layer k` also times the JAX sampler keeping the residual stream after k layers of
every fed token on the host (`Sampler.sample(keep_layer=k)`, what ppo.frozen_hidden="rollout"
asks of a training rollout: k = L - N under LoRA on the top N layers) and prints its generate
time against the plain one's.

`--group n`: every n consecutive rows share one prompt (a rollout group's first turn); the JAX
sampler prefills each distinct prompt once, HF's generate prefills every row. Each thread
count (`--threads 1,2`) runs in its own subprocess confined to n CPUs (os.sched_setaffinity, as
in bench_update.py: XLA's one-thread flags do not confine it) with torch.set_num_threads(n);
XLA_FLAGS from the environment reach every run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

import jax
import numpy as np

from proxmo_jax.models import config as model_config, hf_import, sampler, transformer

import bench_update  # experiments/ is on sys.path when this file runs as a script


def _model(preset):
  """(torch model, JAX config, JAX params) with the same random weights."""
  import torch
  import transformers
  if preset == "smollm2-135m":
    model, cfg_j, params = bench_update.hf_llama(bench_update.smollm2_config())
    return model.eval(), cfg_j, params
  cfg = model_config.get_preset(preset)
  hf_cfg = transformers.Qwen2Config(
      vocab_size=cfg.vocab_size, hidden_size=cfg.d_model, intermediate_size=cfg.d_ff,
      num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads,
      num_key_value_heads=cfg.n_kv_heads, rope_theta=cfg.rope_theta,
      tie_word_embeddings=cfg.tie_embeddings, max_position_embeddings=4096)
  torch.manual_seed(0)
  model = transformers.Qwen2ForCausalLM(hf_cfg).eval()
  with tempfile.TemporaryDirectory() as d:
    model.save_pretrained(d, safe_serialization=True)
    cfg_j, params = hf_import.load_hf_checkpoint(d)
  return model, cfg_j, params


def bench(preset, batch, prompt_len, new_tokens, repeats, group=1, keep_layer=0,
          temperature=0.0):
  import torch
  model, cfg_j, params = _model(preset)
  distinct = np.random.default_rng(0).integers(3, cfg_j.vocab_size,
                                               size=(-(-batch // group), prompt_len))
  ids = np.repeat(distinct, group, axis=0)[:batch]
  # JAX: rows sharing a prompt are prefilled once (the prefill timed over the distinct prompts)
  rows_j = len(distinct) if group > 1 else batch
  s = sampler.Sampler(cfg_j, eos_ids=[], batch_buckets=sorted({rows_j, batch}),
                      prompt_buckets=(prompt_len,))
  prompts = ids.tolist()
  pid, pmask = s._pad_prompts(distinct.tolist() if group > 1 else prompts, rows_j)
  cache = transformer.init_cache(cfg_j, rows_j, prompt_len + new_tokens)
  prefill = jax.jit(lambda p, i, m, c: transformer.forward_with_cache(
      p, i, m, transformer.positions_from_mask(m), c, 0, cfg_j, last_only=True)[0])
  j_prefill = lambda: prefill(params, pid, pmask, cache).block_until_ready()
  j_generate = lambda: s.sample(params, prompts, jax.random.PRNGKey(0),
                                max_new_tokens=new_tokens, temperature=temperature)
  sampling = (dict(do_sample=True, temperature=temperature, top_k=0, top_p=1.0)
              if temperature > 0 else dict(do_sample=False))
  # HF
  x = torch.tensor(ids)
  mask = torch.ones_like(x)

  def h_prefill():
    with torch.no_grad():
      model(x, attention_mask=mask, logits_to_keep=1)

  def h_generate():
    with torch.no_grad():
      model.generate(x, attention_mask=mask, max_new_tokens=new_tokens,
                     min_new_tokens=new_tokens, eos_token_id=None, pad_token_id=0,
                     **sampling)

  fns = {"j_pre": j_prefill, "h_pre": h_prefill, "j_gen": j_generate, "h_gen": h_generate}
  if keep_layer:
    fns["j_keep"] = lambda: s.sample(params, prompts, jax.random.PRNGKey(0),
                                     max_new_tokens=new_tokens, temperature=temperature,
                                     keep_layer=keep_layer)
  times = bench_update.time_alternating(fns, repeats)
  j_pre, h_pre, j_gen, h_gen = (statistics.median(times[k]) for k in list(fns)[:4])
  pre = lambda t: batch * prompt_len / t
  dec = lambda g, p: batch * new_tokens / max(g - p, 1e-9)
  return dict(preset=preset, batch=batch, j_pre=pre(j_pre), h_pre=pre(h_pre),
              j_dec=dec(j_gen, j_pre), h_dec=dec(h_gen, h_pre), j_total=j_gen, h_total=h_gen,
              j_keep=statistics.median(times["j_keep"]) if keep_layer else None)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--presets", default="tiny,small")
  parser.add_argument("--batches", default="32,128")
  parser.add_argument("--prompt_len", type=int, default=128)
  parser.add_argument("--new_tokens", type=int, default=32)
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--threads", default=str(os.cpu_count() or 1),
                      help="comma list of thread counts, one subprocess each")
  parser.add_argument("--model", default="", help="smollm2-135m: HF Llama at SmolLM2 shapes "
                      "(replaces --presets)")
  parser.add_argument("--group", type=int, default=1, help="rows per shared prompt")
  parser.add_argument("--keep_layer", type=int, default=0,
                      help="k > 0: also time JAX generate keeping the states after k layers")
  parser.add_argument("--temperature", type=float, default=0.0,
                      help="0: greedy; T > 0: both sides sample at T, unfiltered")
  parser.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.model:
    args.presets = args.model
  threads = [int(t) for t in args.threads.split(",")]
  if not args._worker:
    for n in threads:
      cmd = [sys.executable, os.path.abspath(__file__), "--_worker", f"--threads={n}"] + [
          f"--{k}={v}" for k, v in vars(args).items()
          if k not in ("threads", "_worker", "model")]
      subprocess.run(cmd, check=True, preexec_fn=bench_update.confine_to_cpus(n))
    return
  import torch
  torch.set_num_threads(threads[0])
  print(f"jax {jax.__version__} ({jax.devices()[0].platform}), torch {torch.__version__} "
        f"with {torch.get_num_threads()} threads; prompt {args.prompt_len}, "
        f"{args.new_tokens} new tokens, "
        f"{f'sampled at T {args.temperature}' if args.temperature > 0 else 'greedy'}, "
        f"{args.group} row(s) per prompt; other jobs may "
        "share the CPU")
  print("| preset | batch | prefill tok/s jax | hf | ratio | decode tok/s jax | hf | ratio | "
        "generate s jax | hf | ratio |")
  print("|---" * 11 + "|")
  for preset in args.presets.split(","):
    for batch in (int(b) for b in args.batches.split(",")):
      r = bench(preset, batch, args.prompt_len, args.new_tokens, args.repeats, args.group,
                args.keep_layer, args.temperature)
      print(f"| {preset} | {batch} | {r['j_pre']:.0f} | {r['h_pre']:.0f} | "
            f"{r['j_pre'] / r['h_pre']:.2f}x | {r['j_dec']:.0f} | {r['h_dec']:.0f} | "
            f"{r['j_dec'] / r['h_dec']:.2f}x | {r['j_total']:.2f} | {r['h_total']:.2f} | "
            f"{r['h_total'] / r['j_total']:.2f}x |", flush=True)
      if r["j_keep"]:
        print(f"  {preset}, batch {batch}: JAX generate keeping the states after "
              f"{args.keep_layer} layers {r['j_keep']:.2f} s against {r['j_total']:.2f} s: "
              f"{r['j_keep'] / r['j_total']:.3f}x the time", flush=True)


if __name__ == "__main__":
  main()
