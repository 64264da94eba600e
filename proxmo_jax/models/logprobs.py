"""Log-probabilities and entropies of tokens under the policy, for the PPO update.

For a row of tokens x_0 .. x_{L-1} and logits z_t = f(x_{<=t}) / temperature:

    logp[t]    = log softmax(z_{t-1})[x_t]          (t >= 1; logp[0] = 0)
    entropy[t] = -sum_v p_{t-1}(v) log p_{t-1}(v)   (the distribution that produced x_t)

so both are aligned with the token they score and can be masked with the response mask.

Only the response tokens are ever read, so the LM head ([D] x [D, V] per position, about a fifth
of a forward at V = 49152, D = 576) and the log-softmax need not run over the prompt. A
`score_index` i32[B, R] lists, per row, the columns t >= 1 of the tokens to score (R bucketed;
padding entries are 0, which is never a scored column); `indexed_logprobs` gathers the hidden
states at t - 1 and applies the head there only, giving f32[B, R]. `token_logprobs(...,
score_index=...)` scatters them back into the f32[B, L] layout (zeros elsewhere). Both are exact
rewrites of the full computation: the same hidden states, the same head, per position.

`with_reference=True` (LoRA): the base model's log-probs of the same tokens come back as a third
output, computed from the residual stream of the layers below the adapters, which the base and
the adapted model share (`transformer.hidden_states(with_base=True)`). With adapters on the top N
of L layers, the reference log-probs of PPO's KL term then cost N layers and a head inside the
update instead of a separate L-layer pass over the batch; they are the base model's exactly.

The sampler's own log-probs (`SampleOutput.logprobs`) are log softmax(z / T) of each drawn token
under the sampling params, i.e. `token_logprobs` at the response columns: when the rollout params
are the params being updated (on-policy: `old_logp` of PPO), `sampled_logprobs` places them in
the update layout and the recompute can be skipped (float32; see its docstring).
"""

from __future__ import annotations

from typing import Optional, Sequence

import chex
import jax
import jax.numpy as jnp
import numpy as np

from proxmo_jax.models import transformer
from proxmo_jax.models.config import ModelConfig


def _log_softmax_stats(z, targets):
  """z f32[..., V], targets i32[...] -> (log p(target), entropy) f32[...]."""
  logz = jax.nn.log_softmax(z, axis=-1)
  lp = jnp.take_along_axis(logz, targets[..., None], axis=-1)[..., 0]
  ent = -jnp.sum(jnp.exp(logz) * logz, axis=-1)
  return lp, ent


def logprobs_from_logits(logits, tokens, temperature=1.0):
  """logits f32[B, L, V] (position t predicts t+1), tokens i32[B, L] -> (logp, entropy) f32[B, L]."""
  z = logits[:, :-1].astype(jnp.float32) / temperature
  lp, ent = _log_softmax_stats(z, tokens[:, 1:])
  pad = jnp.zeros_like(lp[:, :1])
  return jnp.concatenate([pad, lp], axis=1), jnp.concatenate([pad, ent], axis=1)


def indexed_logprobs(params, input_ids, attention_mask, score_index, cfg: ModelConfig,
                     temperature=1.0, *, lora: Optional[dict] = None, lora_scale: float = 1.0,
                     with_reference: bool = False, frozen_hidden=None):
  """Log-probs and entropies of the tokens at `score_index` only.

  Args:
    params: model params; input_ids, attention_mask: i32[B, L].
    score_index: i32[B, R], columns in [1, L) of the tokens to score; 0 marks padding.
    cfg, temperature: as `token_logprobs`; lora, lora_scale: optional adapters (transformer).
    with_reference: also the base model's log-probs (needs `lora`; module docstring).
    frozen_hidden: optional f32[B, L, D], the output of the layers below the adapters (e.g. the
      sampler's, `transformer.hidden_states`); the forward starts there.

  Returns:
    (logp, entropy) f32[B, R]: logp[b, j] = log softmax(z_{s-1} / T)[x_s] with s = score_index[b, j];
    0 where score_index is 0. With `with_reference`, (logp, entropy, base logp).
  """
  chex.assert_rank([input_ids, attention_mask, score_index], 2)
  chex.assert_equal_shape_prefix([input_ids, score_index], 1)
  if with_reference and lora is None:
    raise ValueError("with_reference=True needs LoRA adapters: without them the policy is the "
                     "params being trained and its reference is a separate copy.")
  streams = transformer.hidden_states(params, input_ids, attention_mask, cfg, lora=lora,
                                      lora_scale=lora_scale, with_base=with_reference,
                                      frozen_hidden=frozen_hidden)
  valid = score_index > 0
  src = jnp.maximum(score_index - 1, 0)
  targets = jnp.take_along_axis(input_ids, score_index, axis=1)

  def score(x):
    h = jnp.take_along_axis(x, src[..., None], axis=1)                    # [B, R, D]
    z = transformer.lm_head(params, h, cfg) / temperature                 # [B, R, V]
    lp, ent = _log_softmax_stats(z, targets)
    return jnp.where(valid, lp, 0.0), jnp.where(valid, ent, 0.0)

  if not with_reference:
    return score(streams)
  lp, ent = score(streams[0])
  return lp, ent, score(streams[1])[0]


def scatter_to_columns(values, score_index, length: int):
  """f32[B, R] at `score_index` -> f32[B, length], zeros elsewhere (padding entries dropped)."""
  rows = jnp.arange(values.shape[0])[:, None]
  vals = jnp.where(score_index > 0, values, 0.0)
  return jnp.zeros((values.shape[0], length), values.dtype).at[rows, score_index].add(vals)


def gather_columns(x, score_index):
  """x [B, L] -> [B, R] at `score_index`, zeros on padding entries."""
  return jnp.where(score_index > 0, jnp.take_along_axis(x, score_index, axis=1), 0)


def token_logprobs(params, input_ids, attention_mask, cfg: ModelConfig, temperature=1.0, *,
                   lora: Optional[dict] = None, lora_scale: float = 1.0, score_index=None,
                   with_reference: bool = False, frozen_hidden=None):
  """Log-probs and entropies of every token of `input_ids` (see module docstring).

  Args:
    params: model params; input_ids: i32[B, L]; attention_mask: i32[B, L] (1 real, 0 pad).
    cfg: model config; temperature: the rollout temperature (logits are divided by it).
    lora, lora_scale: optional LoRA adapters and their scale alpha / r.
    score_index: optional i32[B, R] (see `response_index`): only those tokens are scored (the
      LM head runs on R positions per row), the rest of the output is 0.
    with_reference: also the base model's log-probs (needs `lora` and `score_index`).
    frozen_hidden: optional f32[B, L, D], the output of the layers below the adapters (LoRA on
      the top N < L layers); the forward starts there (`transformer.hidden_states`).

  Returns:
    (logp f32[B, L], entropy f32[B, L]); multiply by the response mask to keep response tokens.
    With `with_reference`, (logp, entropy, base logp f32[B, L]).
  """
  if score_index is not None:
    out = indexed_logprobs(params, input_ids, attention_mask, score_index, cfg, temperature,
                           lora=lora, lora_scale=lora_scale, with_reference=with_reference,
                           frozen_hidden=frozen_hidden)
    length = input_ids.shape[1]
    return tuple(scatter_to_columns(x, score_index, length) for x in out)
  if with_reference:
    raise ValueError("with_reference=True needs a score_index (the update's response columns).")
  logits = transformer.forward(params, input_ids, attention_mask, cfg, lora=lora,
                               lora_scale=lora_scale, frozen_hidden=frozen_hidden)
  return logprobs_from_logits(logits, input_ids, temperature)


def response_logprobs(params, input_ids, attention_mask, response_mask, cfg: ModelConfig,
                      temperature=1.0):
  """`token_logprobs` masked to the response tokens (zeros elsewhere)."""
  lp, ent = token_logprobs(params, input_ids, attention_mask, cfg, temperature)
  return lp * response_mask, ent * response_mask


def response_index(response_mask, multiple: int = 32) -> np.ndarray:
  """Host-side: i32[B, R] columns of each row's response tokens, 0-padded to R = a multiple.

  Args:
    response_mask: [B, L] (numpy or jax), 1 on the tokens to score; column 0 is never one.
    multiple: R is the longest row's count rounded up to this (few distinct shapes, so few
      compiles); for the `rollout.batching` layout (responses in the last R columns) pass
      multiple = the response bucket to get R = L - P.
  """
  m = np.asarray(response_mask) > 0
  if m[:, 0].any():
    raise ValueError("response_index: column 0 is marked as a response token; a scored token "
                     "needs at least one token before it.")
  counts = m.sum(axis=1)
  r = max(multiple, -(-int(counts.max(initial=0)) // multiple) * multiple)
  out = np.zeros((m.shape[0], r), np.int32)
  for i in range(m.shape[0]):
    cols = np.nonzero(m[i])[0]
    out[i, :len(cols)] = cols
  return out


def sampled_logprobs(sample_logprobs: Sequence[Optional[Sequence[float]]], rows: int,
                     prompt_len: int, length: int) -> np.ndarray:
  """The sampler's log-probs in the update layout: f32[rows, length].

  Row i's response occupies columns prompt_len .. prompt_len + len - 1 (`rollout.batching`), so
  its j-th sampled log-prob goes to column prompt_len + j; the rest is 0. With the rollout params
  equal to the params being updated and the same temperature, this equals
  `token_logprobs(params, ...) * response_mask` up to float32 rounding (the sampler's
  cached, left-padded forward sums in another order): PPO's old log-probs without a second
  forward over the batch. Not in bfloat16 compute (cache and full forward round differently),
  not for greedy rollouts (the sampler reports T = 1 there), and not when the rollout params
  differ from the params at the start of the update (off-policy or asynchronous rollouts). PPO's
  old log-probs stay those of the sampling policy through all epochs, so any epoch count is fine.
  """
  out = np.zeros((rows, length), np.float32)
  for i, lps in enumerate(sample_logprobs):
    if lps is None:
      raise ValueError(f"sampled_logprobs: step sample {i} has no sampler log-probs.")
    if prompt_len + len(lps) > length:
      raise ValueError(f"sampled_logprobs: row {i} has {len(lps)} log-probs, more than the "
                       f"{length - prompt_len} response columns.")
    out[i, prompt_len:prompt_len + len(lps)] = lps
  return out
