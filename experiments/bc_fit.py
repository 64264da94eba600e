"""How closely a behaviour-cloned policy follows the expert, teacher-forced, step by step.

    python experiments/bc_fit.py \
        --config=configs/alfworld.py:proxmo,smollm2,env.prompt=compact,env.max_steps=30,env.history_length=6 \
        --params=runs/smollm2_alfworld_dart/sft [--tasks 40] [--steps 160] [--out fit.json]

The expert's clean demonstrations (walkthroughs, oracle plans: `behavior_cloning.expert_steps`)
of `--tasks` training and `--tasks` held-out tasks (every k-th of each split, so every task type
is represented) give (prompt, command) steps; `--steps` of each split are drawn at random
(seed 0). For each step the policy scores the expert's response (the agent's format around the
command, e.g. `<think></think><action>take pencil 1 from sidetable 1</action>` and the
end-of-turn token) given the prompt:

    command NLL = - sum_{t in command tokens} log p(y_t | prompt, y_<t)
    greedy      = argmax p(. | prompt, y_<t) == y_t at every response token t

`greedy` is whether greedy decoding would write the expert's whole response. Both are reported
per split and per command verb (its first word: go, take, open, search, click, ...). An episode
succeeds only when most of its steps are right, so this shows which steps a clone gets wrong,
and whether it fits its training tasks better than held-out ones (memorised) or fits neither
(under-fitted), in minutes instead of the hour a 102-game ALFWorld evaluation takes here.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import random
import re
import sys
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from configs import common
from proxmo_jax import buckets, host_memory
from proxmo_jax.models import transformer
from proxmo_jax.training import behavior_cloning, train

LENGTH_BUCKETS = (128, 256, 384, 512, 640, 768, 1024, 1536, 2048, 4096, 8192)


def command_token_positions(token_texts, command: str) -> list[int]:
  """Indices of the response tokens that spell `command`: those whose characters overlap its
  last occurrence in the concatenated token texts (all tokens when it does not occur)."""
  text = "".join(token_texts)
  start = text.rfind(command)
  if not command or start < 0:
    return list(range(len(token_texts)))
  end, out, pos = start + len(command), [], 0
  for i, t in enumerate(token_texts):
    if pos < end and pos + len(t) > start:
      out.append(i)
    pos += len(t)
  return out


def verb(command: str) -> str:
  """The command's first word (`take pencil 1 from ...` -> take, `click[buy now]` -> click)."""
  m = re.match(r"\s*([A-Za-z_]+)", command)
  return m.group(1).lower() if m else "?"


@functools.lru_cache(maxsize=None)
def _response_logprobs_fn(cfg):
  @jax.jit
  def fn(params, ids, attn, positions):
    """ids, attn i32[B, L]; positions i32[B, R] -> log-probs f32[B, R, V] at those positions."""
    h = transformer.hidden_states(params, ids, attn, cfg)
    logits = transformer.lm_head(params, jnp.take_along_axis(h, positions[..., None], axis=1), cfg)
    return jax.nn.log_softmax(logits, axis=-1)
  return fn


def score_steps(policy, agent, pairs, batch: int = 8) -> list[dict]:
  """Per (prompt, command) pair: {"verb", "command_nll", "response_nll", "greedy"} under
  `policy`, with prompts and responses encoded as behaviour cloning encodes them."""
  examples = behavior_cloning.encode_pairs(pairs, policy, agent)
  fn = _response_logprobs_fn(policy.model_cfg)
  r_max = max(len(r) for _, r in examples)
  r_pad = -(-r_max // 16) * 16
  out = [None] * len(examples)
  order = sorted(range(len(examples)), key=lambda i: sum(map(len, examples[i])))
  for s in range(0, len(order), batch):
    rows = order[s:s + batch]
    need = max(sum(map(len, examples[i])) for i in rows)
    length = buckets.from_ladder(need, LENGTH_BUCKETS)
    ids = np.zeros((batch, length), np.int32)
    attn = np.zeros_like(ids)
    positions = np.zeros((batch, r_pad), np.int32)
    for k, i in enumerate(rows):  # right-padded: causal attention never reads the padding
      p, r = examples[i]
      ids[k, :len(p) + len(r)] = p + r
      attn[k, :len(p) + len(r)] = 1
      positions[k, :len(r)] = np.arange(len(p) - 1, len(p) - 1 + len(r))  # predicts r[j]
    logp_all = np.asarray(fn(policy.params, jnp.asarray(ids), jnp.asarray(attn),
                             jnp.asarray(positions)))
    for k, i in enumerate(rows):
      r = np.asarray(examples[i][1])
      logp = logp_all[k, :len(r)]
      nll = -logp[np.arange(len(r)), r].astype(np.float64)
      command = pairs[i][1]
      span = command_token_positions([policy.tokenizer.decode([int(t)]) for t in r], command)
      out[i] = {"verb": verb(command), "command_nll": float(nll[span].sum()),
                "response_nll": float(nll.sum()), "greedy": bool((logp.argmax(-1) == r).all())}
  return out


def summarise(scores) -> dict:
  """{"steps", "greedy_pct", "command_nll", "by_verb": {verb: {...}}} of score_steps' rows."""
  def agg(rows):
    return {"steps": len(rows), "greedy_pct": 100.0 * float(np.mean([x["greedy"] for x in rows])),
            "command_nll": float(np.mean([x["command_nll"] for x in rows]))}
  by = collections.defaultdict(list)
  for x in scores:
    by[x["verb"]].append(x)
  return {**agg(scores), "by_verb": {v: agg(rows) for v, rows in
                                     sorted(by.items(), key=lambda kv: (-len(kv[1]), kv[0]))}}


def spread(tasks, n: int):
  """n tasks taken at an even stride (the splits are ordered by task type); all when n is 0."""
  return list(tasks[::max(1, len(tasks) // n)][:n]) if n else list(tasks)


def verb_cells(split_report: dict) -> str:
  """A split's by-verb summary as "verb greedy-right/steps (command NLL)", commonest first (the
  script's table and RESULTS.md's)."""
  return ", ".join(f"{v} {round(x['greedy_pct'] * x['steps'] / 100)}/{x['steps']} "
                   f"({x['command_nll']:.2f})" for v, x in split_report["by_verb"].items())


def main(argv=None):
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", required=True)
  parser.add_argument("--params", required=True,
                      help="params.npz directory (experiments/sft.py's sft/)")
  parser.add_argument("--tasks", type=int, default=40, help="tasks per split (0: all)")
  parser.add_argument("--steps", type=int, default=160, help="steps scored per split (0: all)")
  parser.add_argument("--out", default="", help="write the summary as JSON here")
  args = parser.parse_args(argv)
  c = common.load(args.config)
  c.env.num_workers = 0  # no rollouts: the expert runs in this process
  exp = train.build(c, tempfile.mkdtemp(prefix="bc_fit_"), args.params)
  spec, rng = exp.spec, random.Random(0)
  report = {"command": " ".join(["python", "experiments/bc_fit.py"] + list(
      sys.argv[1:] if argv is None else argv)), "config": args.config, "params": args.params}
  for split, tasks in (("train", spec.train_tasks), ("held-out", spec.eval_tasks)):
    chosen = spread(tasks, args.tasks)
    pairs = behavior_cloning.expert_steps(chosen, spec.agent, spec.env_factory)
    if args.steps and len(pairs) > args.steps:
      pairs = rng.sample(pairs, args.steps)
    report[split] = {"tasks": len(chosen), **summarise(score_steps(exp.policy, spec.agent, pairs))}
  print("| split | tasks | steps | greedy = expert (%) | command NLL (nats) | "
        "by verb: greedy / steps (NLL) |")
  print("|---|---|---|---|---|---|")
  for split in ("train", "held-out"):
    r = report[split]
    print(f"| {split} | {r['tasks']} | {r['steps']} | {r['greedy_pct']:.1f} | "
          f"{r['command_nll']:.2f} | {verb_cells(r)} |")
  if args.out:
    with open(args.out, "w") as f:
      json.dump(report, f, indent=1)


if __name__ == "__main__":
  main()
