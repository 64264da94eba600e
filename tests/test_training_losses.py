"""The actor loss against hand-computed numbers for each branch."""

import jax.numpy as jnp
import numpy as np

from proxmo_jax.training import losses


def test_ppo_branches():
  logp = jnp.log(jnp.array([[1.5, 0.5, 1.1, 5.0, 0.5, 5.0]]))  # old_logp = 0 -> ratios as given
  old = jnp.zeros((1, 6))
  adv = jnp.array([[2.0, 2.0, -1.0, -1.0, -1.0, 2.0]])
  loss, ratio, clipped, dual = losses.ppo_token_loss(logp, old, adv, 0.2, 3.0)
  # A>0, r=1.5: max(-3, -2.4) = -2.4 (clipped). A>0, r=0.5: max(-1, -1.6) = -1 (not clipped).
  # A<0, r=1.1: max(1.1, 1.1) = 1.1. A<0, r=5: max(5, 1.2) = 5 -> dual clip min(5, 3) = 3.
  # A<0, r=0.5: max(0.5, 0.8) = 0.8 (clipped; under the dual bound 3).
  # A>0, r=5: max(-10, -2.4) = -2.4 (clipped; no dual clip for A > 0).
  np.testing.assert_allclose(ratio[0], [1.5, 0.5, 1.1, 5.0, 0.5, 5.0], rtol=1e-6)
  np.testing.assert_allclose(loss[0], [-2.4, -1.0, 1.1, 3.0, 0.8, -2.4], atol=1e-6)
  np.testing.assert_array_equal(clipped[0], [1, 0, 0, 0, 1, 1])
  np.testing.assert_array_equal(dual[0], [0, 0, 0, 1, 0, 0])


def test_kl_and_token_mean_with_mask():
  logp = jnp.array([[np.log(0.5), np.log(0.2), 0.0]])
  ref = jnp.array([[np.log(0.25), np.log(0.2), 0.0]])
  kl = losses.low_var_kl(logp, ref)
  d = np.log(0.25) - np.log(0.5)
  np.testing.assert_allclose(kl[0], [np.exp(d) - d - 1, 0.0, 0.0], atol=1e-6)
  mask = jnp.array([[1.0, 1.0, 0.0]])
  assert abs(losses.token_mean(jnp.array([[1.0, 3.0, 100.0]]), mask) - 2.0) < 1e-6
  assert losses.token_mean(jnp.ones((1, 3)), jnp.zeros((1, 3))) == 0.0
  # The clamp at 10: d = +-20 gives exp(20) - 21 and exp(-20) + 19, both above 10.
  far = losses.low_var_kl(jnp.zeros((1, 3)), jnp.array([[20.0, -20.0, 1.0]]))
  np.testing.assert_allclose(far[0], [10.0, 10.0, np.exp(1.0) - 2.0], rtol=1e-6)


def test_actor_loss_combination():
  logp = jnp.log(jnp.array([[1.5, 0.5]]))
  ent = jnp.array([[2.0, 4.0]])
  old = jnp.zeros((1, 2))
  ref = logp
  mask = jnp.array([[1.0, 1.0]])
  cfg = losses.LossConfig()
  loss, m = losses.actor_loss(logp, ent, old, ref, jnp.array([2.0]), mask, cfg)
  # pg = mean(-2.4, -1.0) = -1.7; entropy 3 -> -0.003; KL 0.
  np.testing.assert_allclose(loss, -1.7 - 0.003, atol=1e-6)
  assert float(m["clip_frac"]) == 0.5 and float(m["kl"]) == 0.0
  # With a reference apart from the policy and the second token masked out: pg -2.4 (the
  # first token alone), entropy 2 -> -0.002, KL of d = 0.3: exp(0.3) - 1.3 = 0.0498588,
  # times kl_coef 0.01, added (the masked token's d = -0.2 must not count).
  ref = logp + jnp.array([[0.3, -0.2]])
  loss, m = losses.actor_loss(logp, ent, old, ref, jnp.array([2.0]), jnp.array([[1.0, 0.0]]), cfg)
  kl = np.exp(0.3) - 1.3
  np.testing.assert_allclose(loss, -2.4 - 0.002 + 0.01 * kl, atol=1e-6)
  np.testing.assert_allclose(float(m["kl"]), kl, rtol=1e-5)
  assert float(m["clip_frac"]) == 1.0
