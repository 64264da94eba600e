"""Benchmark: PPO update step (forward + backward + AdamW) and scoring, JAX vs HF transformers.

    python experiments/bench_update.py [--model smollm2-135m] [--batch 8] [--prompt_len 192]
        [--response_len 64] [--threads 1,2] [--repeats 2] [--lora_rank 8] [--lora_top 8]
        [--layers 0] [--ragged 0.15 --micro 2] [--malloc keep|default] [--warmup 1]

One HF `LlamaForCausalLM` with random weights at the model's shapes is imported into the JAX
param tree, so both sides hold the same weights and see the same batch: B rows of P prompt and R
response tokens (the `rollout.batching` layout, responses in the last R columns). Every thread
count runs in its own subprocess confined to n CPUs (os.sched_setaffinity; XLA sizes its
thread pool from the affinity mask, and torch.set_num_threads(n)). XLA's own one-thread flags
(--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1) do not confine it: a
2048 x 576 x 1536 matmul took 15.3 ms under them, 15.1 ms without and 31.0 ms under
`taskset -c 0`, so they are not used. Variants run one at a time
(memory), HF and JAX alternating; each is warmed up first (one full untimed step, which for JAX
includes compiling) and then timed `repeats` times (median). Tokens/s count all B * (P + R)
tokens, padding included.

--ragged f gives the rows prompts of uniformly random length in [f P, P] (the first row P),
left-padded to P, as a multi-turn update batch is (WebShop's step samples from the BC start:
408 tokens on average, the longest 805); --micro m splits the JAX mini-batch into micro-batches
of m rows (0: one). The JAX rows then run as the trainer did before, m consecutive rows over all
P + R columns, and the `_trim` rows as it does now: rows sorted by length and each micro-batch's
padding columns dropped (`update.split_minibatch`).

JAX rows:
  full      update_step as before: logits at every position (the old path)
  response  update_step with score_index: LM head + log-softmax on the R response positions
  lora      the same with LoRA adapters on q,k,v,o,gate,up,down (rank r): base frozen, the
            backward computes no weight gradient of the base
  lora_top  LoRA on the top N layers only (--lora_top N, `model.lora.layers`): the backward
            stops at layer L - N
  lora_top_ref  the same with the KL reference's log-probs computed inside the update (what the
            trainer does under `model.lora.layers`); compare with lora_top + jax response score,
            the separate reference pass it replaces
  response_trim, lora_top_ref_trim  response and lora_top_ref with sorted, trimmed
            micro-batches (with --ragged; the others then keep every column)
  lora_top_frozen, lora_top_frozen_trim  lora_top_ref(_trim) started from the output of the
            L - N layers below the adapters, kept by the rollout (ppo.frozen_hidden="rollout";
            here computed once before timing, as the sampler hands it over): the update runs
            the top N layers only
HF rows:
  full      model(ids).logits, log_softmax, the same PPO loss, backward, AdamW (its default path)
  keep      the same with logits_to_keep = R + 1 (HF's own response-only head)

--malloc keep (the default) runs each worker, both sides, with `proxmo_jax.host_memory.
keep_freed_memory()`, as the experiment scripts run; `default` with glibc's malloc settings,
under which every JAX step faults its buffers' pages in again.

Scoring (old / reference log-probs): forward only, JAX full vs response-only, HF full vs keep.

XLA_FLAGS in the environment reach the JAX side of every run (e.g. to try XLA CPU options;
--xla_cpu_experimental_xnn_graph_fusion_mode=XNN_GRAPH_FUSION_MODE_GREEDY gave no reproducible
gain here: 4.6-5.3 s vs 4.6 s for a 4-layer update in alternating runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def confine_to_cpus(n: int):
  """A subprocess preexec_fn that pins the child to the first n CPUs this process may use."""
  cpus = sorted(os.sched_getaffinity(0))
  if n > len(cpus):
    raise SystemExit(f"--threads {n}: only {len(cpus)} CPUs are available here.")
  return lambda: os.sched_setaffinity(0, cpus[:n])


def smollm2_config(layers: int = 0):
  """SmolLM2-135M shapes (the config preset when present)."""
  from proxmo_jax.models import config as model_config
  try:
    cfg = model_config.get_preset("smollm2-135m")
  except ValueError:
    cfg = model_config.ModelConfig(vocab_size=49152, d_model=576, n_layers=30, n_heads=9,
                                   n_kv_heads=3, d_ff=1536, head_dim=64, rope_theta=100_000.0,
                                   rms_eps=1e-5, qkv_bias=False, tie_embeddings=True,
                                   max_seq_len=8192)
  return cfg.replace(n_layers=layers) if layers else cfg


def hf_llama(cfg, seed=0):
  """(torch LlamaForCausalLM with random weights, the same weights as JAX params)."""
  import torch
  import transformers
  from proxmo_jax.models import hf_import
  hf_cfg = transformers.LlamaConfig(
      vocab_size=cfg.vocab_size, hidden_size=cfg.d_model, intermediate_size=cfg.d_ff,
      num_hidden_layers=cfg.n_layers, num_attention_heads=cfg.n_heads,
      num_key_value_heads=cfg.n_kv_heads, head_dim=cfg.hd, rope_theta=cfg.rope_theta,
      rms_norm_eps=cfg.rms_eps, tie_word_embeddings=cfg.tie_embeddings,
      max_position_embeddings=cfg.max_seq_len, attention_bias=cfg.qkv_bias)
  torch.manual_seed(seed)
  model = transformers.LlamaForCausalLM(hf_cfg)
  with tempfile.TemporaryDirectory() as d:
    model.save_pretrained(d, safe_serialization=True)
    cfg_j, params = hf_import.load_hf_checkpoint(d)
  return model, cfg_j.replace(max_seq_len=cfg.max_seq_len), params


def _time(fn):
  t0 = time.perf_counter()
  fn()
  return time.perf_counter() - t0


def time_alternating(fns: dict, repeats: int, on_warmup=None) -> dict:
  """{name: [seconds of each timed call]}: every fn called once untimed first (JAX compiles
  there; `on_warmup(name, seconds)` is told how long it took), then `repeats` rounds that call
  each in turn (A B A B ...), so that load from other jobs falls on every side alike. Each
  call's result is waited for (`jax.block_until_ready`; other results pass through)."""
  import jax  # pylint: disable=import-outside-toplevel  (this module starts JAX late: worker)
  for name, fn in fns.items():
    seconds = _time(lambda fn=fn: jax.block_until_ready(fn()))
    if on_warmup:
      on_warmup(name, seconds)
  times = {name: [] for name in fns}
  for _ in range(repeats):
    for name, fn in fns.items():
      times[name].append(_time(lambda fn=fn: jax.block_until_ready(fn())))
  return times


def fresh_decode_program():
  """A new jitted decode, compiled as the sampler's (`sampler.decode_options()`: on a CPU,
  `sampler.CPU_DECODE_OPTIONS`). `jax.jit` of the same function object reuses its first
  trace, so a benchmark that traces the decode with other module attributes swapped in
  (`traced_with`) needs its own wrapper function per variant."""
  import jax  # pylint: disable=import-outside-toplevel  (this module starts JAX late: worker)
  from proxmo_jax.models import sampler  # pylint: disable=import-outside-toplevel
  raw = sampler.decode_tokens.__wrapped__

  @functools.wraps(raw)
  def program(*args, **kwargs):
    return raw(*args, **kwargs)

  return jax.jit(program, static_argnames=("cfg", "max_new_tokens", "top_k", "keep_layer"),
                 compiler_options=sampler.decode_options())


def traced_with(call, patches=()):
  """Calls `call()` once, waiting for its result, with the module attributes in `patches`
  [(module, name, value)] swapped in and restored after: a jitted program first called here
  is traced and compiled with them. Returns the seconds the call took."""
  import jax  # pylint: disable=import-outside-toplevel
  saved = [(m, n, getattr(m, n)) for m, n, _ in patches]
  for m, n, v in patches:
    setattr(m, n, v)
  try:
    return _time(lambda: jax.block_until_ready(call()))
  finally:
    for m, n, v in saved:
      setattr(m, n, v)


def worker(args):
  if args.malloc == "keep":  # before JAX and torch start their threads; both sides share it
    from proxmo_jax import host_memory
    host_memory.keep_freed_memory()
  import jax
  import jax.numpy as jnp
  import numpy as np
  import torch
  from proxmo_jax.models import logprobs, lora, transformer
  from proxmo_jax.training import losses, train_state, update
  torch.set_num_threads(args.threads)
  cfg = smollm2_config(args.layers)
  model, cfg, params = hf_llama(cfg)
  b, p, r = args.batch, args.prompt_len, args.response_len
  length = p + r
  rng = np.random.default_rng(0)
  ids_np = rng.integers(3, cfg.vocab_size, (b, length)).astype(np.int32)
  resp_np = np.zeros((b, length), np.float32)
  resp_np[:, p:] = 1.0
  adv_np = rng.normal(size=b).astype(np.float32)
  attn_np = np.ones((b, length), np.int32)
  if args.ragged:  # prompts of [f P, P] real tokens, left-padded; the first row sets P
    for i, n in enumerate(rng.integers(int(args.ragged * p), p + 1, b)):
      n = p if i == 0 else int(n)
      attn_np[i, :p - n] = 0
      ids_np[i, :p - n] = 0
  ids, attn = jnp.asarray(ids_np), jnp.asarray(attn_np)
  idx = jnp.asarray(logprobs.response_index(resp_np, multiple=r))
  lp_fn = functools.partial(logprobs.token_logprobs, cfg=cfg)
  score_full = jax.jit(lambda prm: lp_fn(prm, ids, attn)[0])
  score_resp = jax.jit(lambda prm: lp_fn(prm, ids, attn, score_index=idx)[0])
  old = score_resp(params) * resp_np
  batch = {"input_ids": ids, "attention_mask": attn, "response_mask": jnp.asarray(resp_np),
           "old_logp": old, "ref_logp": old, "advantages": jnp.asarray(adv_np)}
  loss_cfg = losses.LossConfig()
  tx = train_state.make_optimizer(train_state.OptimizerConfig(learning_rate=1e-6))
  lcfg = lora.LoraConfig(rank=args.lora_rank, alpha=2.0 * args.lora_rank, targets=args.lora_targets)
  lora_fn = functools.partial(logprobs.token_logprobs, cfg=cfg, lora_scale=lcfg.scale)
  top_adapters = lambda: lora.init_lora(cfg, dataclasses.replace(lcfg, layers=args.lora_top),
                                        jax.random.PRNGKey(1))
  full_params = lambda: jax.tree_util.tree_map(jnp.copy, params)
  no_ref = {k: v for k, v in dict(batch, score_index=idx).items() if k != "ref_logp"}
  below, below_cfg = transformer.first_layers(params, cfg, cfg.n_layers - args.lora_top)
  # host f32[B, L, D], as the trainer's
  frozen = lambda: np.asarray(transformer.hidden_states(below, ids, attn, below_cfg))
  with_frozen = lambda: dict(no_ref, frozen_hidden=frozen())
  variants = {  # name -> (fresh trainable tree, minibatch, base, policy, trim)
      "full": (full_params, batch, None, lp_fn, False),
      "response": (full_params, dict(batch, score_index=idx), None, lp_fn, False),
      "lora": (lambda: lora.init_lora(cfg, lcfg, jax.random.PRNGKey(1)),
               dict(batch, score_index=idx), params, lora_fn, False),
      "lora_top": (top_adapters, dict(batch, score_index=idx), params, lora_fn, False),
      "lora_top_ref": (top_adapters, no_ref, params, lora_fn, False),
      "response_trim": (full_params, dict(batch, score_index=idx), None, lp_fn, True),
      "lora_top_ref_trim": (top_adapters, no_ref, params, lora_fn, True),
      "lora_top_frozen": (top_adapters, with_frozen, params, lora_fn, False),
      "lora_top_frozen_trim": (top_adapters, with_frozen, params, lora_fn, True),
  }
  # torch: the same loss on the same batch
  x = torch.tensor(ids_np, dtype=torch.long)
  mask_t = torch.tensor(attn_np, dtype=torch.long)
  resp_t = torch.tensor(resp_np[:, 1:])
  old_t = torch.tensor(np.asarray(old)[:, 1:])
  adv_t = torch.tensor(adv_np)[:, None]
  opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.01)

  def torch_logp(keep):
    logits = model(x, attention_mask=mask_t, logits_to_keep=(r + 1) if keep else 0).logits
    logits = logits[:, :-1].float()
    tgt = x[:, 1:] if not keep else x[:, -r:]
    lz = torch.log_softmax(logits, -1)
    lp = lz.gather(-1, tgt[..., None])[..., 0]
    ent = -(lz.exp() * lz).sum(-1)
    if keep:  # pad back to [B, L-1]
      lp = torch.nn.functional.pad(lp, (length - 1 - r, 0))
      ent = torch.nn.functional.pad(ent, (length - 1 - r, 0))
    return lp, ent

  def torch_update(keep):
    opt.zero_grad(set_to_none=True)
    lp, ent = torch_logp(keep)
    ratio = torch.exp(lp - old_t)
    l1, l2 = -adv_t * ratio, -adv_t * torch.clamp(ratio, 0.8, 1.2)
    lc = torch.maximum(l1, l2)
    pg = torch.where(adv_t < 0, torch.minimum(lc, -adv_t * 3.0), lc)
    d = old_t - lp
    kl = torch.clamp(torch.exp(d) - d - 1, -10, 10)
    n = resp_t.sum()
    loss = ((pg * resp_t).sum() - 0.001 * (ent * resp_t).sum() + 0.01 * (kl * resp_t).sum()) / n
    loss.backward()
    opt.step()

  def torch_score(keep):
    with torch.no_grad():
      torch_logp(keep)

  def jax_update_runner(name):
    """(warm-up: build the state and compile ahead of time, timed run) for one variant."""
    slot = {}

    def warm():
      init, mb, base, fn, trim = variants[name]
      mb = mb() if callable(mb) else mb
      slot.update(state=train_state.create_train_state(init(), tx), mb=mb, base=base,
                  step=functools.partial(update.update_step, tx=tx, logprob_fn=fn,
                                         loss_cfg=loss_cfg, micro_batch=args.micro, trim=trim))

    def run():
      slot["state"], m = slot["step"](slot["state"], slot["mb"], slot["base"])
      jax.block_until_ready(m["loss"])

    def done():
      slot.clear()  # frees this variant's params and optimizer state before the next one
    return warm, run, done

  def torch_runner(fn, keep):
    return lambda: None, lambda: fn(keep), lambda: None

  def jax_score_runner(f):
    return lambda: f(params).block_until_ready(), lambda: f(params).block_until_ready(), \
        lambda: None

  # One variant at a time (memory: a full-param state with Adam moments is 1.6 GB here),
  # alternating sides so that load from other jobs falls on both.
  runs = {("hf", "full", "update"): torch_runner(torch_update, False),
          ("jax", "full", "update"): jax_update_runner("full"),
          ("hf", "keep", "update"): torch_runner(torch_update, True),
          ("jax", "response", "update"): jax_update_runner("response"),
          ("jax", "lora", "update"): jax_update_runner("lora"),
          ("jax", "lora_top", "update"): jax_update_runner("lora_top"),
          ("jax", "lora_top_ref", "update"): jax_update_runner("lora_top_ref"),
          ("jax", "response_trim", "update"): jax_update_runner("response_trim"),
          ("jax", "lora_top_ref_trim", "update"): jax_update_runner("lora_top_ref_trim"),
          ("jax", "lora_top_frozen", "update"): jax_update_runner("lora_top_frozen"),
          ("jax", "lora_top_frozen_trim", "update"): jax_update_runner("lora_top_frozen_trim"),
          ("hf", "full", "score"): torch_runner(torch_score, False),
          ("jax", "full", "score"): jax_score_runner(score_full),
          ("hf", "keep", "score"): torch_runner(torch_score, True),
          ("jax", "response", "score"): jax_score_runner(score_resp)}
  only = set(args.only.split(",")) if args.only else None
  runs = {k: v for k, v in runs.items() if only is None or f"{k[0]}:{k[1]}:{k[2]}" in only}
  compile_s, times = {}, {k: [] for k in runs}
  for key, (warm, run, done) in runs.items():
    # Warm-up: `--warmup` full untimed steps on both sides (for JAX the first compiles; a first
    # execution also pays for allocating and faulting in its buffers: 18 s against 13 s for the
    # 30-layer JAX update here, which a median of 2 repeats had half counted; with --malloc keep
    # the heap grows over the first 3-4 steps before no page faults are left).
    compile_s["/".join(key)] = _time(warm) + sum(_time(run) for _ in range(args.warmup))
    for _ in range(args.repeats):
      times[key].append(_time(run))
    done()
  out = {"threads": args.threads, "tokens": b * length, "warmup_s": compile_s,
         "median_s": {"/".join(k): statistics.median(v) for k, v in times.items()}}
  print("RESULT " + json.dumps(out), flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--model", default="smollm2-135m")
  parser.add_argument("--batch", type=int, default=8)
  parser.add_argument("--prompt_len", type=int, default=192)
  parser.add_argument("--response_len", type=int, default=64)
  parser.add_argument("--threads", default="1,2")
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--lora_rank", type=int, default=8)
  parser.add_argument("--lora_targets", default="q,k,v,o,gate,up,down")
  parser.add_argument("--lora_top", type=int, default=8, help="layers of the lora_top row")
  parser.add_argument("--layers", type=int, default=0, help="override the layer count (0: model's)")
  parser.add_argument("--only", default="", help="comma list of side:variant:kind to run")
  parser.add_argument("--ragged", type=float, default=0.0,
                      help="f > 0: prompt lengths uniform in [f P, P], left-padded")
  parser.add_argument("--micro", type=int, default=0, help="JAX micro-batch rows (0: one)")
  parser.add_argument("--malloc", choices=("keep", "default"), default="keep",
                      help="keep: freed memory stays in the worker process for reuse, on both "
                      "sides (proxmo_jax.host_memory, what the experiment scripts do); default: "
                      "glibc's malloc settings")
  parser.add_argument("--warmup", type=int, default=1, help="untimed steps before the timed ones")
  parser.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.model != "smollm2-135m":
    raise SystemExit("bench_update: only --model smollm2-135m is built here.")
  if args._worker:
    args.threads = int(args.threads)
    return worker(args)
  print(f"{args.model}{f' ({args.layers} layers)' if args.layers else ''}: batch {args.batch} x "
        f"({args.prompt_len} prompt + {args.response_len} response) tokens"
        f"{f', prompts of {args.ragged} P to P real tokens' if args.ragged else ''}"
        f"{f', JAX micro-batches of {args.micro} rows' if args.micro else ''}, LoRA rank "
        f"{args.lora_rank}, median of {args.repeats} after {args.warmup} untimed, malloc "
        f"{args.malloc}; other jobs may share the CPU")
  for n in (int(t) for t in args.threads.split(",")):
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker", "--threads", str(n)] + [
        f"--{k}={v}" for k, v in vars(args).items() if k not in ("threads", "_worker")]
    proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=confine_to_cpus(n))
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode or not line:
      print(proc.stdout[-2000:], proc.stderr[-4000:])
      raise SystemExit(f"worker with {n} threads failed")
    res = json.loads(line[0][len("RESULT "):])
    med, tok = res["median_s"], res["tokens"]
    tps = {k: tok / v for k, v in med.items()}
    print(f"\n{n} thread(s): tokens/s (warm-up s)")
    print(f"| kind | jax full | jax response | jax lora | jax lora top {args.lora_top} | hf full "
          f"| hf keep | jax response / hf full | jax response / hf keep | lora / jax response "
          f"| lora top / jax response |")
    print("|---" * 11 + "|")
    for kind in ("update", "score"):
      g = lambda side, v: tps.get(f"{side}/{v}/{kind}")
      cells = [g("jax", "full"), g("jax", "response"), g("jax", "lora"), g("jax", "lora_top"),
               g("hf", "full"), g("hf", "keep")]
      fmt = lambda v: "-" if v is None else f"{v:.1f}"
      ratio = lambda a, c: "-" if a is None or c is None else f"{a / c:.2f}x"
      print(f"| {kind} | " + " | ".join(fmt(c) for c in cells) + f" | {ratio(cells[1], cells[4])}"
            f" | {ratio(cells[1], cells[5])} | {ratio(cells[2], cells[1])} "
            f"| {ratio(cells[3], cells[1])} |", flush=True)
    top, top_ref, ref_pass = (med.get(k) for k in ("jax/lora_top/update", "jax/lora_top_ref/update",
                                                    "jax/response/score"))
    if top and top_ref and ref_pass:
      print(f"LoRA top {args.lora_top}: update {top:.2f} s + reference pass {ref_pass:.2f} s = "
            f"{top + ref_pass:.2f} s; reference inside the update {top_ref:.2f} s: "
            f"{(top + ref_pass) / top_ref:.2f}x")
    for plain, faster in (("response", "response_trim"), ("lora_top_ref", "lora_top_ref_trim"),
                          ("lora_top_ref", "lora_top_frozen"),
                          ("lora_top_ref_trim", "lora_top_frozen_trim")):
      a, t = med.get(f"jax/{plain}/update"), med.get(f"jax/{faster}/update")
      if a and t:
        print(f"{faster}: {t:.2f} s against {plain} {a:.2f} s on the same batch: {a / t:.2f}x")
    print("warm-up s:", {k: round(v, 1) for k, v in res["warmup_s"].items()})


if __name__ == "__main__":
  main()
