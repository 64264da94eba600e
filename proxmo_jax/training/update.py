"""The PPO update: one optimizer step per mini-batch of step samples, micro-batch accumulation.

A mini-batch holds M step samples (`ppo_mini_batch`); it is split into k = M / micro equal
micro-batches whose token-mean losses are averaged (loss / k each, as the reference divides by
the accumulation count), then one clipped AdamW step is taken. If the loss or the gradient norm
is not finite, the step is skipped: params and optimizer state are kept, `state.skipped` grows,
and the metrics say so.

Padding rows (response_mask all zero, `rollout.batching.build_update_batch`) fill the last
mini-batch up to M. The reference pads with copies of real samples instead (docs/method.md,
trap 8), so each of its micro-batches holds data. Here a micro-batch of padding rows only has no
tokens and no gradient, and it is left out of the count: with k' micro-batches holding response
tokens,

    grad = (1 / k') * sum over those micro-batches of grad(token-mean loss of the micro-batch)

and the metrics are their mean over the same k' micro-batches (`ratio_max` their max). Without
padding k' = k. Dividing by k instead would shrink the last mini-batch's step by k' / k and bias
every metric towards 0.

    logprob_fn(params, input_ids, attention_mask, **kw) -> (logp f32[B, L], entropy f32[B, L])

is the policy (e.g. `functools.partial(models.token_logprobs, cfg=..., temperature=...)`); it is
called with `score_index=` when the mini-batch has one and with `lora=` under LoRA.

Response-only scoring: a mini-batch may carry `score_index` i32[M, R] (`logprobs.response_index`:
the columns of each row's response tokens). The policy then runs its LM head on those R
positions only and the loss is computed on [M, R] gathers of old/ref log-probs and the mask; the
token-mean loss is the same sum over the same tokens.

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

from proxmo_jax.models import logprobs as logprobs_lib
from proxmo_jax.training import losses
from proxmo_jax.training.train_state import TrainState

MINIBATCH_KEYS = ("input_ids", "attention_mask", "response_mask", "old_logp", "advantages")
OPTIONAL_KEYS = ("ref_logp", "score_index")


def _micro_loss(params, mb, base, logprob_fn, loss_cfg):
  kw = {}
  if base is not None:
    kw["lora"] = params
    params = base
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
    return losses.actor_loss(logp, ent, old, ref, mb["advantages"], mask, loss_cfg)
  logp, ent = logprob_fn(params, mb["input_ids"], mb["attention_mask"], **kw)
  return losses.actor_loss(logp, ent, mb["old_logp"], mb["ref_logp"], mb["advantages"],
                           mb["response_mask"], loss_cfg)


def _check_minibatch_keys(batch: dict, base) -> None:
  missing = [k for k in MINIBATCH_KEYS if k not in batch]
  if missing:
    raise ValueError(f"update batch without {missing}; build it with "
                     "rollout.batching.build_update_batch and the trainer's log-prob pass.")
  if "ref_logp" not in batch and (base is None or "score_index" not in batch):
    raise ValueError("update batch without ref_logp: the reference log-probs can come from the "
                     "update's own forward only under LoRA (base given) with a score_index; "
                     "otherwise compute them first (Trainer.score with the reference params).")


@functools.partial(jax.jit, static_argnames=("tx", "logprob_fn", "loss_cfg", "micro_batches"),
                   donate_argnums=(0,))
def update_step(state: TrainState, minibatch: dict, base: Optional[dict] = None, *,
                tx: optax.GradientTransformation, logprob_fn: Callable,
                loss_cfg: losses.LossConfig, micro_batches: int = 1):
  """One optimizer step on a mini-batch (dict of MINIBATCH_KEYS [+ OPTIONAL_KEYS], leading dim M).

  `base`: the frozen base params when `state.params` is a LoRA adapter tree (else None).
  """
  k = micro_batches
  micro = jax.tree_util.tree_map(lambda x: x.reshape((k, x.shape[0] // k) + x.shape[1:]),
                                 minibatch)
  grad_fn = jax.value_and_grad(_micro_loss, has_aux=True)

  if k == 1:  # no accumulation buffer: the gradient of the only micro-batch is the gradient
    (loss, metrics), grads = grad_fn(state.params, minibatch, base, logprob_fn, loss_cfg)
  else:
    # w_i = 1 / k' for the k' micro-batches with response tokens, 0 for padding-only ones.
    resp = micro["response_mask"]
    has_tokens = jnp.any(resp > 0, axis=tuple(range(1, resp.ndim)))
    weights = has_tokens.astype(jnp.float32) / jnp.maximum(jnp.sum(has_tokens), 1)

    def body(acc, xs):
      mb, w = xs
      (loss, metrics), grads = grad_fn(state.params, mb, base, logprob_fn, loss_cfg)
      acc_g, acc_l = acc
      acc_g = jax.tree_util.tree_map(lambda a, g: a + g * w, acc_g, grads)
      return (acc_g, acc_l + loss * w), metrics

    zeros = jax.tree_util.tree_map(jnp.zeros_like, state.params)
    (grads, loss), metrics = jax.lax.scan(body, (zeros, jnp.float32(0.0)), (micro, weights))
    metrics = {name: (jnp.max(jnp.where(has_tokens, v, -jnp.inf)) if name == "ratio_max"
                      else jnp.sum(v * weights)) for name, v in metrics.items()}
  gnorm = optax.global_norm(grads)
  ok = jnp.isfinite(loss) & jnp.isfinite(gnorm)
  updates, new_opt = tx.update(grads, state.opt_state, state.params)
  new_params = optax.apply_updates(state.params, updates)
  keep = lambda new, old: jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, old)
  state = state.replace(params=keep(new_params, state.params),
                        opt_state=keep(new_opt, state.opt_state),
                        step=state.step + ok.astype(jnp.int32),
                        skipped=state.skipped + (~ok).astype(jnp.int32))
  metrics = dict(metrics)
  metrics.update(loss=loss, grad_norm=gnorm, skipped=(~ok).astype(jnp.float32))
  return state, metrics


def ppo_epoch(state: TrainState, batch: dict, *, mini_batch: int, micro_batch: int, tx,
              logprob_fn, loss_cfg, shard_fn=None,
              base: Optional[dict] = None) -> tuple[TrainState, dict]:
  """Sequential updates over the mini-batches of `batch` (no shuffle, one epoch).

  Args:
    batch: dict of MINIBATCH_KEYS (and optionally `ref_logp`, `score_index`; without
      `ref_logp` the base model's log-probs are computed in the update, LoRA only) with leading
      dim B, a multiple of `mini_batch`.
    mini_batch: step samples per optimizer step; micro_batch: per accumulation step.
    shard_fn: optional fn placing a mini-batch on the mesh (e.g. `jax.device_put` with the
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
  all_metrics = []
  for start in range(0, b, mini_batch):
    mb = {k: batch[k][start:start + mini_batch] for k in keys}
    if float(jnp.sum(mb["response_mask"])) == 0:
      continue  # only padding rows
    if shard_fn is not None:
      mb = shard_fn(mb)
    state, metrics = update_step(state, mb, base, tx=tx, logprob_fn=logprob_fn,
                                 loss_cfg=loss_cfg, micro_batches=mini_batch // micro_batch)
    all_metrics.append(metrics)
  if not all_metrics:
    return state, {}
  host = jax.device_get(all_metrics)
  return state, {k: float((np.max if k == "ratio_max" else np.mean)([m[k] for m in host]))
                 for k in host[0]}
