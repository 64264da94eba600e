"""Proximity-based soft baselines of ProxMO, computed group by group (docs/method.md#step-term-proximity-soft-baseline).

For the step samples i of one group, with l2-normalised anchor features x_i and step returns G_i:

    S_ij = <x_i, x_j>                      cosine similarity, i, j in the same group
    W_ij = exp(S_ij / tau) / sum_k exp(S_ik / tau)      (the diagonal j = i is included)
    b_i  = sum_j W_ij G_j,        A^S_i = G_i - b_i.

Exact duplicates share weight equally; a text-unique state with no close neighbour gets
W_ii ~ 1 and A^S ~ 0; an all-zero feature row gets uniform weights, so b = the group mean.

`soft_baselines` works on the group-blocked layout (`blocks.py`): per block a C x C similarity,
never the dense B x B matrix of the reference. Blocks are processed `chunk` groups at a time
(`jax.lax.map`), so the temporary memory is O(chunk * C * (C + F)) on top of the inputs.
`sharded_soft_baselines` runs the same per-block kernel under `jax.shard_map` with the groups
split over a mesh axis; it returns the same numbers.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from proxmo_jax.proximity import blocks as blocks_lib

_NEG = -1e30  # finite "minus infinity": fully masked rows stay NaN-free.


def normalize_rows(x, eps: float = 1e-8):
  """x / (||x||_2 + eps) per row (the reference re-normalises its float32 TF-IDF rows)."""
  return x / (jnp.linalg.norm(x, axis=-1, keepdims=True) + eps)


def block_baselines(x, g, mask, tau):
  """The kernel on blocks.

  Args:
    x: f32[K, C, F] l2-normalised features of K groups (zeros on empty slots).
    g: f32[K, C] step returns.
    mask: bool[K, C] occupied slots.
    tau: temperature.

  Returns:
    f32[K, C] baselines b (0 on empty slots).
  """
  s = jnp.einsum("kcf,kdf->kcd", x, x, precision=jax.lax.Precision.HIGHEST)
  logits = jnp.where(mask[:, None, :], s / tau, _NEG)
  w = jax.nn.softmax(logits, axis=-1)
  b = jnp.einsum("kcd,kd->kc", w, g, precision=jax.lax.Precision.HIGHEST)
  return jnp.where(mask, b, 0.0)


def _gather_blocks(features, returns, index):
  """Rows of `index` (i32[K, C], sentinel B = empty) -> (x f32[K,C,F], g f32[K,C], mask)."""
  b = features.shape[0]
  mask = index < b
  x = jnp.take(features, index, axis=0, mode="fill", fill_value=0.0)
  g = jnp.take(returns, index, axis=0, mode="fill", fill_value=0.0)
  return normalize_rows(x), g, mask


def soft_baselines(features, returns, group_ids, valid, *, num_groups: int, capacity: int,
                   tau: float = 0.1, chunk: int = 8):
  """Soft baseline b_i of every step sample, computed inside groups only.

  Args:
    features: f32[B, F] anchor features (any scale; rows are l2-normalised here).
    returns: f32[B] step returns G (already penalised).
    group_ids: i32[B]; valid: bool[B].
    num_groups, capacity: static block layout (see `blocks.group_blocks`).
    tau: softmax temperature (0.1 in the reference).
    chunk: groups per `lax.map` step; bounds the temporary memory.

  Returns:
    f32[B] baselines; 0 on padding rows.
  """
  index, slot, _ = blocks_lib.group_blocks(group_ids, valid, num_groups, capacity)
  returns = jnp.where(valid, returns, 0.0)

  def one_chunk(idx):
    x, g, mask = _gather_blocks(features, returns, idx)
    return block_baselines(x, g, mask, tau)

  blocked = jax.lax.map(lambda idx: one_chunk(idx[None])[0], index, batch_size=chunk)
  b = blocked[jnp.where(valid, group_ids, 0), jnp.minimum(slot, capacity - 1)]
  return jnp.where(valid, b, 0.0)


def sharded_soft_baselines(features, returns, group_ids, valid, *, mesh, axis: str,
                           num_groups: int, capacity: int, tau: float = 0.1, chunk: int = 8):
  """`soft_baselines` with the groups split over mesh axis `axis` via `jax.shard_map`.

  The block layout is built and the features gathered under `jit` (XLA partitions that
  gather); each device then runs `block_baselines` on its own groups, `chunk` at a time. The
  number of groups is padded up to a multiple of the axis size with empty blocks.

  Returns:
    f32[B] baselines, equal to `soft_baselines` up to float summation order.
  """
  n_dev = mesh.shape[axis]
  g_pad = -(-num_groups // n_dev) * n_dev
  index, slot, _ = blocks_lib.group_blocks(group_ids, valid, num_groups, capacity)
  b_rows = features.shape[0]
  index = jnp.concatenate(
      [index, jnp.full((g_pad - num_groups, capacity), b_rows, jnp.int32)], axis=0)
  returns = jnp.where(valid, returns, 0.0)
  x, g, mask = _gather_blocks(features, returns, index)
  spec = P(axis)
  x = jax.lax.with_sharding_constraint(x, jax.NamedSharding(mesh, spec))

  @functools.partial(jax.shard_map, mesh=mesh, in_specs=(spec, spec, spec), out_specs=spec)
  def per_device(x, g, mask):
    return jax.lax.map(lambda a: block_baselines(a[0][None], a[1][None], a[2][None], tau)[0],
                       (x, g, mask), batch_size=chunk)

  blocked = per_device(x, g, mask)
  b = blocked[jnp.where(valid, group_ids, 0), jnp.minimum(slot, capacity - 1)]
  return jnp.where(valid, b, 0.0)
