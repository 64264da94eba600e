"""Segment-aware discounted step returns and the invalid-action penalty (docs/method.md#scores-step-returns-and-the-invalid-action-penalty).

For a trajectory with step rewards r_0 .. r_{T-1}:

    G_t = r_t + gamma * G_{t+1},   G_T = 0.

Rows are trajectory-contiguous and time-ordered (see `batch.py`), so G is the linear recurrence
x_i = r_i + a_i * x_{i+1} with a_i = gamma where row i+1 continues row i's trajectory and 0 at
a trajectory end. It is solved with a reverse `jax.lax.associative_scan` over (a, b) pairs:
O(B) work and O(log B) depth, where the reference loops over each trajectory's steps
(quadratic in the batch size).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def discounted_returns(rewards, traj_ids, valid, gamma):
  """Discounted return-to-go of every step sample.

  Args:
    rewards: f32[B] env reward of each step.
    traj_ids: i32[B] trajectory of each row (rows of a trajectory contiguous, in time order).
    valid: bool[B] real rows.
    gamma: discount factor (python float or f32 scalar).

  Returns:
    f32[B] G_t; 0 on padding rows.
  """
  r = jnp.where(valid, rewards, 0.0).astype(jnp.float32)
  cont = jnp.concatenate([(traj_ids[1:] == traj_ids[:-1]) & valid[1:] & valid[:-1],
                          jnp.zeros((1,), bool)])
  a = jnp.where(cont, jnp.asarray(gamma, jnp.float32), 0.0)

  # Element i is the affine map x -> a_i * x + r_i applied to the return of row i+1.
  # Composing i's map after j's (j later in time): x -> a_i * (a_j * x + r_j) + r_i.
  def combine(later, earlier):
    a_l, b_l = later
    a_e, b_e = earlier
    return a_e * a_l, a_e * b_l + b_e

  _, g = jax.lax.associative_scan(combine, (a, r), reverse=True)
  return jnp.where(valid, g, 0.0)


def penalized(values, invalid_action, penalty):
  """values - penalty * invalid (episode scores or step returns; docs/method.md#scores-step-returns-and-the-invalid-action-penalty).

  The penalty is subtracted from the sample's own value only: it is not discounted into
  earlier steps.
  """
  return values - penalty * invalid_action.astype(values.dtype)
