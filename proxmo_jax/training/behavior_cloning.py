"""Behaviour cloning on expert walkthroughs: a warm start so a small model has non-zero success.

`expert_steps(tasks, agent, env_factory)` replays each task's expert walkthrough
(`env.expert_plan()`: ALFWorld's walkthrough stored with the game, WebShop's oracle plan) and
yields, for every step, the prompt text the policy would see and the expert command.
`encode_pairs` turns them into token ids the way the policy sees them: the prompt through the
model's chat template, the target response `agent.expert_response(command)` (the paper's
`<think></think><action>{command}</action>`, valid under the projection).
`train_bc` minimises the cross-entropy of the response tokens given the prompt.
"""

from __future__ import annotations

import functools
import random
import time
from typing import Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from environments.interface import Task, task_context
from proxmo_jax.models import logprobs as logprobs_lib
from proxmo_jax.models.config import ModelConfig
from proxmo_jax import buckets
from proxmo_jax.training import checkpointing

_MAX_DEMO_STEPS = 10_000
LABELS = ("taken", "expert")  # what a demonstration step records (expert_steps)


def expert_steps(tasks: Sequence[Task], agent, env_factory, noise: float = 0.0,
                 seed: int = 0, labels: str = "taken",
                 horizon: int = 0) -> list[tuple[str, str]]:
  """(prompt text, demonstrated command) for every step of every task's demonstration.

  noise = 0: the expert's walkthrough (`env.expert_plan()`). noise > 0: a noisy demonstrator
  (needs `env.expert_action()`, the expert's command from any state): at each step, with
  probability `noise` a command drawn uniformly from the admissible ones (the expert's own
  included), else the expert's; the episode runs on from wherever that leads, to its end
  (or `horizon`).
  What each step records (`labels`):
    "taken": the command taken, so behaviour cloning converges to this demonstrator, whose
      per-step agreement with the expert is 1 - noise + noise / (number of admissible
      commands): a start with room for RL that does not hinge on stopping BC at the right step.
    "expert": the expert's command from the state, whatever was taken there (DART, Laskey et
      al. 2017): the detours only put the demonstration in states off the expert's path, and
      the clone learns the expert's way back from them (a start as strong as the expert allows,
      for a clone that otherwise meets only the expert's own states).
  An expert that has no command from a state (`expert_action()` is None) ends that
  demonstration there; `horizon` > 0 ends a noisy demonstration after that many steps (the
  policy's episode limit), since a detour can undo the expert's progress more than once.
  """
  if not 0.0 <= noise < 1.0:
    raise ValueError(f"expert noise {noise!r}: use a probability in [0, 1).")
  if labels not in LABELS:
    raise ValueError(f"demonstration labels {labels!r}: use one of {LABELS}.")
  rng = random.Random(seed)
  env = env_factory()
  out = []
  try:
    for task in tasks:
      first = env.reset(task, 0)
      plan = iter(env.expert_plan()) if noise == 0.0 else None
      cur, history = first, []
      limit = horizon if horizon > 0 and plan is None else _MAX_DEMO_STEPS
      for _ in range(limit):
        if plan is not None:
          cmd = label = next(plan, None)
          if cmd is None:
            break
        else:
          cmd = label = env.expert_action()
          if cmd is None:  # the expert has no command from here
            break
          if rng.random() < noise and cur.admissible_actions:
            cmd = rng.choice(list(cur.admissible_actions))
        prompt = agent.build_prompt(task_context(first), history, cur.observation,
                                    cur.admissible_actions)
        out.append((prompt, label if labels == "expert" else cmd))
        history.append((cur.observation, cmd))
        cur = env.step(cmd)
        if cur.done:
          break
      else:  # a demonstration cut at the horizon ends like a policy's episode
        if limit == _MAX_DEMO_STEPS:
          raise RuntimeError(f"the demonstration of task {task.task_id!r} ran "
                             f"{_MAX_DEMO_STEPS} steps without ending; the environment must "
                             "end (or truncate) its episodes.")
  finally:
    env.close()
  return out


def encode_pairs(pairs, policy, agent):
  """-> list of (prompt ids, response ids), as `policy` encodes prompts in a rollout (chat
  template, last max_prompt_tokens tokens kept) and `agent` writes expert responses."""
  return [(policy.prompt_ids(prompt), policy.response_ids(agent.expert_response(cmd)))
          for prompt, cmd in pairs]


def _pad(examples, length):
  ids = np.zeros((len(examples), length), np.int32)
  attn = np.zeros_like(ids)
  resp = np.zeros(ids.shape, np.float32)
  for i, (p, r) in enumerate(examples):
    seq = (p + r)[-length:]
    n_r = min(len(r), length)
    ids[i, :len(seq)] = seq
    attn[i, :len(seq)] = 1
    resp[i, len(seq) - n_r:len(seq)] = 1.0
  return jnp.asarray(ids), jnp.asarray(attn), jnp.asarray(resp)


def _fix(directory: str) -> str:
  return (f"delete {directory} to start behaviour cloning afresh, or resume with the config "
          "that wrote it (model, LoRA, steps).")


def _save_state(ckpt, step: int, tree, rng, losses, run: dict, seconds: float = 0.0) -> None:
  """Saves the resumable state through the project's orbax `Checkpointer` (atomic): the
  trained params or adapters and the optimizer state as arrays; the batch sampler's state,
  the losses, the run's settings and its seconds so far as its JSON host state."""
  ckpt.save(step, tree, {"rng": rng.bit_generator.state, "losses": losses, "run": run,
                         "seconds": seconds})


def _load_state(ckpt, like, rng, run: dict):
  """-> (step, tree shaped like `like`, losses, seconds so far) from `ckpt`, or None when it
  holds no state; a state that does not fit this run, or none readable, is an error naming
  the fix. A state saved before the seconds were kept counts 0 of them."""
  if not ckpt.steps():
    return None
  try:
    restored = ckpt.restore_latest(like)
  except checkpointing.CheckpointMismatch as e:
    raise RuntimeError(f"behaviour-cloning state in {ckpt.directory} does not fit this run "
                       f"({e}); {_fix(ckpt.directory)}") from e
  if restored is None:
    raise RuntimeError(f"no readable behaviour-cloning state in {ckpt.directory}; "
                       f"{_fix(ckpt.directory)}")
  step, tree, host = restored
  if host.get("run") != run:
    raise RuntimeError(f"behaviour-cloning state in {ckpt.directory} was written by a run with "
                       f"{host.get('run')}, this run has {run}; {_fix(ckpt.directory)}")
  rng.bit_generator.state = host["rng"]
  return step, tree, list(host["losses"]), float(host.get("seconds", 0.0))


def train_bc(params, examples, cfg: ModelConfig, *, steps: int, batch_size: int,
             learning_rate: float, seed: int = 0, log_every: int = 50, length_multiple: int = 64,
             lora_cfg=None, response_multiple: int = 32, checkpoint_dir: str = "",
             checkpoint_every: int = 0, micro_batch: int = 0, timing: Optional[dict] = None,
             stop_after: int = 0):
  """Adam on the response-token cross-entropy; returns (params, [losses]).

  Only the response tokens are scored: the LM head and log-softmax run on their positions
  (`logprobs.response_index`, R rounded up to `response_multiple`), not on the prompt's.
  With `lora_cfg` (a `models.lora.LoraConfig`) only LoRA adapters are trained (the optimizer
  holds their moments only) and the returned params are the base with the adapters merged in.
  With `checkpoint_dir` and `checkpoint_every` > 0 the state (trained params or adapters,
  optimizer moments, the batch sampler's state) is saved every `checkpoint_every` steps and a
  later call resumes from it: an interrupted run ends where the uninterrupted one would.
  `timing` (a dict), when given, gets "seconds": this call's wall time plus that of the calls
  whose saved state it resumed (up to their last save), and "resumed_at": the step it began at.
  `stop_after` k > 0 ends this call after step k of `steps` (the schedule is still the one of
  `steps`), its state saved there when checkpointing: the params of a run part way, to measure
  before deciding to go on; a later call without it resumes at step k.

  `micro_batch` m (0 = the whole batch) bounds activation memory: the batch's examples, sorted
  by length, go through the forward and backward m at a time, each group padded to its own
  length bucket (less padding than one batch-wide length), and their gradients of the summed
  token log-likelihood are added before one optimizer step on sum / (valid tokens of the
  batch): the same mean-token loss as the whole batch at once, up to float summation order.
  """
  from proxmo_jax.models import lora as lora_lib
  tx = optax.chain(optax.clip_by_global_norm(1.0),
                   optax.adamw(optax.warmup_cosine_decay_schedule(
                       0.0, learning_rate, min(50, steps // 10 + 1), steps,
                       learning_rate * 0.1), weight_decay=0.0))
  # The frozen base is an argument of the jitted functions, never a closed-over constant:
  # captured, its 135M floats would be folded into the program (minutes of compilation).
  if lora_cfg is not None:
    base = params
    trained = lora_lib.init_lora(cfg, lora_cfg, jax.random.PRNGKey(seed))
    lp_fn = lambda ad, base, ids, attn, idx: logprobs_lib.indexed_logprobs(
        base, ids, attn, idx, cfg, lora=ad, lora_scale=lora_cfg.scale)
  else:
    base, trained = None, params
    lp_fn = lambda p, _, ids, attn, idx: logprobs_lib.indexed_logprobs(p, ids, attn, idx, cfg)
  opt_state = tx.init(trained)

  def nll_sum(p, base, ids, attn, idx):
    lp, _ = lp_fn(p, base, ids, attn, idx)
    return -jnp.sum(lp * (idx > 0).astype(jnp.float32))

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def step(trained, opt_state, base, ids, attn, idx):
    def loss_fn(p):
      return nll_sum(p, base, ids, attn, idx) / jnp.maximum(jnp.sum(idx > 0), 1)
    loss, grads = jax.value_and_grad(loss_fn)(trained)
    updates, opt_state = tx.update(grads, opt_state, trained)
    return optax.apply_updates(trained, updates), opt_state, loss

  micro_grad = jax.jit(jax.value_and_grad(nll_sum))
  add = jax.jit(lambda a, b: jax.tree_util.tree_map(jnp.add, a, b), donate_argnums=(0,))

  @functools.partial(jax.jit, donate_argnums=(0, 1))
  def apply_sum(trained, opt_state, grad_sum, count):
    grads = jax.tree_util.tree_map(lambda g: g / count, grad_sum)
    updates, opt_state = tx.update(grads, opt_state, trained)
    return optax.apply_updates(trained, updates), opt_state

  def arrays(group):
    """ids, attention mask and response index of `group`, padded to its length bucket."""
    length = buckets.round_up(max(len(p) + len(r) for p, r in group), length_multiple)
    ids, attn, resp = _pad(group, length)
    return ids, attn, jnp.asarray(logprobs_lib.response_index(resp, response_multiple))

  def accumulated_step(trained, opt_state, batch):
    """One optimizer step over `batch`, micro_batch examples at a time (see the docstring)."""
    batch = sorted(batch, key=lambda pr: len(pr[0]) + len(pr[1]))
    grad_sum, nll, count = None, 0.0, 0
    for i in range(0, len(batch), micro_batch):
      group = batch[i:i + micro_batch]
      group += [([], [])] * (micro_batch - len(group))     # empty rows: one shape per length
      ids, attn, score = arrays(group)
      value, grads = micro_grad(trained, base, ids, attn, score)
      grad_sum = grads if grad_sum is None else add(grad_sum, grads)
      nll, count = nll + float(value), count + int(jnp.sum(score > 0))
    count = max(count, 1)
    trained, opt_state = apply_sum(trained, opt_state, grad_sum, jnp.float32(count))
    return trained, opt_state, nll / count

  rng = np.random.default_rng(seed)
  losses, t0, first, before = [], time.time(), 0, 0.0
  # What a resumed state must agree on besides the array shapes.
  run = {"steps": steps, "batch_size": batch_size, "learning_rate": learning_rate,
         "seed": seed, "examples": len(examples)}
  ckpt = None
  if checkpoint_dir and checkpoint_every:
    ckpt = checkpointing.Checkpointer(checkpoint_dir, keep=2, async_save=False)
    resumed = _load_state(ckpt, (trained, opt_state), rng, run)
    if resumed is not None:
      first, (trained, opt_state), losses, before = resumed
      print(f"[bc] resumed at step {first}/{steps} from {checkpoint_dir}", flush=True)
  end = min(steps, stop_after) if stop_after > 0 else steps
  if first > end:
    raise RuntimeError(f"behaviour-cloning state in {checkpoint_dir} is at step {first}, past "
                       f"stop_after={stop_after}; stop later, or {_fix(checkpoint_dir)}")
  try:
    for s in range(first, end):
      idx = rng.choice(len(examples), size=min(batch_size, len(examples)), replace=False)
      batch = [examples[i] for i in idx]
      if micro_batch and micro_batch < len(batch):
        trained, opt_state, loss = accumulated_step(trained, opt_state, batch)
      else:
        trained, opt_state, loss = step(trained, opt_state, base, *arrays(batch))
      losses.append(float(loss))
      if log_every and (s + 1) % log_every == 0:
        print(f"[bc {s + 1}/{steps}] loss={np.mean(losses[-log_every:]):.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
      if ckpt is not None and (s + 1) % checkpoint_every == 0 and s + 1 < steps:
        _save_state(ckpt, s + 1, (trained, opt_state), rng, losses, run,
                    before + time.time() - t0)
    if ckpt is not None and first < end < steps and end % checkpoint_every:
      _save_state(ckpt, end, (trained, opt_state), rng, losses, run, before + time.time() - t0)
  finally:
    if ckpt is not None:
      ckpt.close()
  if timing is not None:
    timing.update(seconds=before + time.time() - t0, resumed_at=first)
  if lora_cfg is not None:
    return lora_lib.merge(base, trained, lora_cfg), losses
  return trained, losses
