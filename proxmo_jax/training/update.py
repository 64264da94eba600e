"""The PPO update: one optimizer step per mini-batch of step samples, micro-batch accumulation.

A mini-batch holds M step samples (`ppo_mini_batch`) and N response tokens. The loss is its
token-mean: every term is aggregated as sum(x * mask) / N over the whole mini-batch, as the
reference does over each GPU's share of a mini-batch (its per-GPU mini-batch is one
micro-batch: mini / micro = 1 in both of the paper's scripts; FSDP then averages the GPUs'
gradients, so over several devices the reference weighs each share equally, this code by its
tokens). Memory splits the mini-batch into micro-batches of `micro_batch` rows; each
contributes the gradient of its own tokens' sums divided by the mini-batch's N, so

    grad = sum over micro-batches of grad(sum over its tokens of x) / N

is the gradient of the mini-batch's token-mean whatever rows share a micro-batch, and the
metrics are the same shares summed (`ratio_max` their max, `tokens` = N). Then one clipped
AdamW step is taken. If the loss or the gradient norm is not finite, the step is skipped:
params and optimizer state are kept, `state.skipped` grows, and the metrics say so.

Padding. `rollout.batching.build_update_batch` left-pads every prompt to the batch's longest
(P columns) and adds padding rows (no tokens, A = 0) to fill the last mini-batch; the
reference pads with copies of real samples instead (docs/method.md, trap 8). A padding row
adds no token, so it changes neither N nor the step. Computing over padding columns is exact
but wasted: step samples of a multi-turn batch differ in length (a WebShop search page against
a results page), and the longest sets P. So `split_minibatch` sorts a mini-batch's rows by
length, longest first, takes `micro_batch` rows at a time and drops the leading columns that
are padding in all of them, keeping a width that is a multiple of 64 (few distinct shapes, so
few compiles). Positions come from the attention mask, so a row's numbers do not depend on its
padding; since the loss is the mini-batch's token-mean, neither does the grouping. Micro-batches
of padding rows only are left out.

    logprob_fn(params, input_ids, attention_mask, **kw) -> (logp f32[B, L], entropy f32[B, L])

is the policy (e.g. `functools.partial(models.token_logprobs, cfg=..., temperature=...)`); it is
called with `score_index=` when the mini-batch has one and with `lora=` under LoRA.

Response-only scoring: a mini-batch may carry `score_index` i32[M, R] (`logprobs.response_index`:
the columns of each row's response tokens). The policy then runs its LM head on those R
positions only and the loss is computed on [M, R] gathers of old/ref log-probs and the mask; the
loss is the same sum over the same tokens.

Frozen layers from the rollout: under LoRA on the top N < L layers, a mini-batch may carry
`frozen_hidden` f32[M, L, D], the residual stream after the L - N layers below the adapters as
the sampler computed it (`rollout.batching.frozen_hidden_batch`); the policy's forward then
starts there and runs the top N layers only (the base layers never change, so these are the
update's own inputs up to float32 rounding). It stays a host array, sliced per micro-batch.

LoRA: with `base` given, `state.params` is the adapter tree and the policy is
`logprob_fn(base, ..., lora=state.params)`; the gradient, the optimizer state and the update are
the adapters' only, and `base` is read, never donated or copied. The reference policy is then
`base` itself, so a mini-batch may leave out `ref_logp`: the policy call returns the base
log-probs as well (`with_reference=True`, from the layers below the adapters that both share),
and the KL term uses them, with no gradient (they do not depend on the adapters).
"""

from __future__ import annotations

import functools
from typing import Callable, Optional

import jax
import jax.numpy as jnp
import numpy as np
import optax

from proxmo_jax import buckets
from proxmo_jax.models import logprobs as logprobs_lib
from proxmo_jax.training import losses
from proxmo_jax.training.train_state import TrainState

MINIBATCH_KEYS = ("input_ids", "attention_mask", "response_mask", "old_logp", "advantages")
OPTIONAL_KEYS = ("ref_logp", "score_index", "frozen_hidden")


def _micro_loss(params, mb, base, denominator, logprob_fn, loss_cfg):
  kw = {}
  if base is not None:
    kw["lora"] = params
    params = base
  if "frozen_hidden" in mb:  # the layers below the adapters, as the rollout computed them
    kw["frozen_hidden"] = mb["frozen_hidden"]
  ref_inside = "ref_logp" not in mb  # the base model's log-probs from this forward (LoRA)
  if "score_index" in mb:
    idx = mb["score_index"]
    out = logprob_fn(params, mb["input_ids"], mb["attention_mask"], score_index=idx,
                     **kw, **({"with_reference": True} if ref_inside else {}))
    # The policy returns the [M, L] layout; read back its [M, R] entries (a gather, no compute).
    logp, ent = logprobs_lib.gather_columns(out[0], idx), logprobs_lib.gather_columns(out[1], idx)
    mask = logprobs_lib.gather_columns(mb["response_mask"], idx)
    old = logprobs_lib.gather_columns(mb["old_logp"], idx)
    ref = jax.lax.stop_gradient(logprobs_lib.gather_columns(
        out[2] if ref_inside else mb["ref_logp"], idx))
    return losses.actor_loss(logp, ent, old, ref, mb["advantages"], mask, loss_cfg, denominator)
  logp, ent = logprob_fn(params, mb["input_ids"], mb["attention_mask"], **kw)
  return losses.actor_loss(logp, ent, mb["old_logp"], mb["ref_logp"], mb["advantages"],
                           mb["response_mask"], loss_cfg, denominator)


def _check_minibatch_keys(batch: dict, base) -> None:
  missing = [k for k in MINIBATCH_KEYS if k not in batch]
  if missing:
    raise ValueError(f"update batch without {missing}; build it with "
                     "rollout.batching.build_update_batch and the trainer's log-prob pass.")
  if "ref_logp" not in batch and (base is None or "score_index" not in batch):
    raise ValueError("update batch without ref_logp: the reference log-probs can come from the "
                     "update's own forward only under LoRA (base given) with a score_index; "
                     "otherwise compute them first (Trainer.score with the reference params).")


@functools.partial(jax.jit, static_argnames=("logprob_fn", "loss_cfg"))
def micro_gradient(params, micro: dict, base, denominator, *, logprob_fn: Callable,
                   loss_cfg: losses.LossConfig):
  """(loss share, metric shares, gradient) of one micro-batch, its token sums / denominator."""
  (loss, metrics), grads = jax.value_and_grad(_micro_loss, has_aux=True)(
      params, micro, base, denominator, logprob_fn, loss_cfg)
  return loss, metrics, grads


@functools.partial(jax.jit, donate_argnums=(0,))
def _accumulate(total, part):
  """Adds a micro-batch's (loss, metrics, grads) to the running ones; `ratio_max` by max."""
  loss, metrics, grads = total
  p_loss, p_metrics, p_grads = part
  metrics = {k: jnp.maximum(v, p_metrics[k]) if k == "ratio_max" else v + p_metrics[k]
             for k, v in metrics.items()}
  return loss + p_loss, metrics, jax.tree_util.tree_map(jnp.add, grads, p_grads)


@functools.partial(jax.jit, static_argnames=("tx",), donate_argnums=(0,))
def _apply(state: TrainState, grads, loss, *, tx: optax.GradientTransformation):
  """The optimizer step, or none (state kept, `skipped` + 1) when loss or gradient norm is not
  finite. Returns (state, grad_norm, skipped)."""
  gnorm = optax.global_norm(grads)
  ok = jnp.isfinite(loss) & jnp.isfinite(gnorm)
  updates, new_opt = tx.update(grads, state.opt_state, state.params)
  new_params = optax.apply_updates(state.params, updates)
  keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, old)
  state = state.replace(params=keep(new_params, state.params),
                        opt_state=keep(new_opt, state.opt_state),
                        step=state.step + ok.astype(jnp.int32),
                        skipped=state.skipped + (~ok).astype(jnp.int32))
  return state, gnorm, (~ok).astype(jnp.float32)


# [M, L] (frozen_hidden [M, L, D]): their columns are trimmed together.
ROW_KEYS = ("input_ids", "attention_mask", "response_mask", "old_logp", "ref_logp",
            "frozen_hidden")
# Micro-batch widths are multiples of this: at most 1 + L / 64 shapes to compile per response
# width, and under 64 padding columns per micro-batch.
WIDTH_MULTIPLE = 64


def plan_micro_batches(attention_mask, scored, micro_batch: int) -> list[tuple[np.ndarray, int]]:
  """Host-side: [(rows, lo)] for rows sorted by their first real column (longest first),
  `micro_batch` at a time, each group's columns [lo, L) its longest row rounded up to a multiple
  of WIDTH_MULTIPLE (or all L). Groups without a `scored` row are left out.

  Args:
    attention_mask: [N, L], 1 on real tokens (numpy or a fully addressable jax array).
    scored: bool [N], the rows whose outputs are used (e.g. rows with response tokens).
    micro_batch: rows per group; N must be a multiple of it.
  """
  attn = np.asarray(attention_mask) > 0
  n, length = attn.shape
  if n % micro_batch:
    raise ValueError(f"{n} rows do not split into micro-batches of {micro_batch}.")
  real = attn.any(axis=1)
  first = np.where(real, np.argmax(attn, axis=1), length)
  order = np.argsort(first, kind="stable")  # longest first; rows without tokens last
  scored = np.asarray(scored, bool)
  plan = []
  for i in range(0, n, micro_batch):
    rows = order[i:i + micro_batch]
    if scored[rows].any():
      width = min(length, buckets.round_up(length - int(first[rows].min()), WIDTH_MULTIPLE))
      plan.append((rows, length - width))
  return plan


def take_columns(batch: dict, rows, lo: int) -> dict:
  """Rows `rows` of a batch, its [N, L] arrays (ROW_KEYS) from column `lo` on; `score_index`
  shifted by lo (its real entries point at response columns, all >= lo + 1; 0 is padding).
  Host (numpy) arrays are sliced on the host, so only the micro-batch's rows are copied to the
  device (the update's frozen_hidden: f32[N, L, D], 4 D bytes a token)."""
  take = jnp.asarray(rows)
  out = {}
  for k, v in batch.items():
    v = v[np.asarray(rows)] if isinstance(v, np.ndarray) else jnp.take(v, take, axis=0)
    if k in ROW_KEYS:
      v = v[:, lo:]
    elif k == "score_index":
      v = jnp.where(v > 0, v - lo, 0)
    out[k] = v
  return out


def split_minibatch(minibatch: dict, micro_batch: int = 0, trim: bool = True) -> list[dict]:
  """The micro-batches of a mini-batch (dict of MINIBATCH_KEYS [+ OPTIONAL_KEYS], leading dim
  M, a multiple of `micro_batch`; 0 = one micro-batch).

  trim=True (host-side, needs the arrays on this process): `plan_micro_batches` over the rows
  with response tokens, then `take_columns`. trim=False: consecutive rows, all columns, as
  given.
  """
  m = minibatch["advantages"].shape[0]
  micro_batch = micro_batch or m
  if m % micro_batch:
    raise ValueError(f"mini-batch of {m} rows does not split into micro-batches of "
                     f"{micro_batch}.")
  if not trim:
    return [{k: v[i:i + micro_batch] for k, v in minibatch.items()}
            for i in range(0, m, micro_batch)]
  scored = np.asarray(minibatch["response_mask"]).any(axis=1)
  return [take_columns(minibatch, rows, lo) for rows, lo in
          plan_micro_batches(minibatch["attention_mask"], scored, micro_batch)]


def update_step(state: TrainState, minibatch: dict, base: Optional[dict] = None, *,
                tx: optax.GradientTransformation, logprob_fn: Callable,
                loss_cfg: losses.LossConfig, micro_batch: int = 0, trim: bool = True,
                shard_fn: Optional[Callable] = None) -> tuple[TrainState, dict]:
  """One optimizer step on a mini-batch, `micro_batch` rows at a time (`split_minibatch`).

  `base`: the frozen base params when `state.params` is a LoRA adapter tree (else None).
  `shard_fn`: places a micro-batch on the mesh. The state is donated. Returns the new state and
  the metrics (device scalars).
  """
  micros = split_minibatch(minibatch, micro_batch, trim)
  if not micros:  # AdamW would still apply weight decay to a zero gradient
    raise ValueError("update_step got a mini-batch without response tokens; ppo_epoch skips "
                     "those.")
  tokens = sum(jnp.sum(mb["response_mask"]) for mb in micros)
  denominator = jnp.maximum(jnp.asarray(tokens, jnp.float32), 1.0)
  total = None
  for mb in micros:
    if shard_fn is not None:
      mb = shard_fn(mb)
    part = micro_gradient(state.params, mb, base, denominator, logprob_fn=logprob_fn,
                          loss_cfg=loss_cfg)
    total = part if total is None else _accumulate(total, part)
  loss, metrics, grads = total
  state, gnorm, skipped = _apply(state, grads, loss, tx=tx)
  metrics = dict(metrics)
  metrics.update(loss=loss, grad_norm=gnorm, skipped=skipped)
  return state, metrics


def ppo_epoch(state: TrainState, batch: dict, *, mini_batch: int, micro_batch: int, tx,
              logprob_fn, loss_cfg, shard_fn=None,
              base: Optional[dict] = None) -> tuple[TrainState, dict]:
  """Sequential updates over the mini-batches of `batch` (no shuffle, one epoch).

  Args:
    batch: dict of MINIBATCH_KEYS (and optionally `ref_logp`, `score_index`; without
      `ref_logp` the base model's log-probs are computed in the update, LoRA only) with leading
      dim B, a multiple of `mini_batch`.
    mini_batch: step samples per optimizer step; micro_batch: rows per accumulation step
      (`split_minibatch`: sorted by length and trimmed when the batch is on this process).
    shard_fn: optional fn placing a micro-batch on the mesh (e.g. `jax.device_put` with the
      batch sharding).
    base: frozen base params when `state.params` is a LoRA adapter tree.

  Returns:
    (state, metrics as floats: their mean over the mini-batches, `ratio_max` the max).
  """
  _check_minibatch_keys(batch, base)
  b = batch["advantages"].shape[0]
  if b % mini_batch or mini_batch % micro_batch:
    raise ValueError(f"batch of {b} rows, mini_batch={mini_batch}, micro_batch={micro_batch}: "
                     "the batch must be a multiple of mini_batch and mini_batch of micro_batch "
                     "(pad the batch with build_update_batch(row_multiple=mini_batch)).")
  keys = MINIBATCH_KEYS + tuple(k for k in OPTIONAL_KEYS if k in batch)
  # Sorting and trimming read the masks on the host; a multi-process batch is a global array
  # whose rows live on other hosts too, so there the micro-batches are consecutive rows.
  trim = all(getattr(batch[k], "is_fully_addressable", True) for k in keys)
  all_metrics = []
  for start in range(0, b, mini_batch):
    mb = {k: batch[k][start:start + mini_batch] for k in keys}
    if float(jnp.sum(mb["response_mask"])) == 0:
      continue  # only padding rows
    state, metrics = update_step(state, mb, base, tx=tx, logprob_fn=logprob_fn,
                                 loss_cfg=loss_cfg, micro_batch=micro_batch, trim=trim,
                                 shard_fn=shard_fn)
    all_metrics.append(metrics)
  if not all_metrics:
    return state, {}
  host = jax.device_get(all_metrics)
  return state, {k: float((np.max if k == "ratio_max" else np.mean)([m[k] for m in host]))
                 for k in host[0]}
