"""Every estimator against the worked example of docs/method.md#worked-example (float32)."""

import jax.numpy as jnp
import numpy as np
import pytest

from proxmo_jax.advantages import (build_trajectory_batch, compute_advantages, estimators,
                                   AdvantageConfig)
from proxmo_jax.proximity import tfidf
from tests import worked_example as we

ATOL = 2e-6  # float32 against the float64 numbers of docs/method.md#worked-example.


def _batch(scale=1.0, invalid_sample=None, **kw):
  batch, texts = build_trajectory_batch(we.trajectories(scale, invalid_sample),
                                        featurizer=tfidf.tfidf_features, **kw)
  return batch, texts


def _real(x, n=14):
  return np.asarray(x)[:n]


def test_layout_and_padding():
  batch, texts = _batch()
  assert batch.size >= 14 and int(np.sum(batch.valid)) == 14
  np.testing.assert_array_equal(_real(batch.group_ids), [0] * 7 + [1] * 7)
  np.testing.assert_array_equal(_real(batch.step_ids), [0, 1, 2, 0, 1, 0, 1, 0, 1, 0, 1, 2, 0, 1])
  assert texts[12] == we.B0
  batch.validate()


def test_tfidf_vocabulary_and_idf():
  _, texts = _batch()
  res = tfidf.fit_transform(texts)
  assert tuple(res.vocabulary) == tuple(we.VOCAB)
  np.testing.assert_allclose(res.idf, we.IDF, atol=1e-6)


def test_step_returns():
  batch, _ = _batch()
  g = estimators.step_returns(batch, AdvantageConfig())
  np.testing.assert_allclose(_real(g), we.MAIN["G"], atol=ATOL)


@pytest.mark.parametrize("name,overrides,column", [
    ("grpo", {}, "grpo"),
    ("rloo", {}, "rloo"),
    ("gigpo", {"gigpo_mode": "mean_std_norm"}, "gigpo_std"),
    ("gigpo", {"gigpo_mode": "mean_norm"}, "gigpo_mean"),
    ("proxmo", {}, "proxmo"),
    ("grpo", {"stats": "trajectory"}, "grpo_traj"),
])
def test_total_advantage(name, overrides, column):
  batch, _ = _batch()
  adv = compute_advantages(name, batch, **overrides)
  np.testing.assert_allclose(_real(adv.total), we.MAIN[column], atol=ATOL)
  assert np.all(np.asarray(adv.total)[14:] == 0)


def test_components():
  batch, _ = _batch()
  std = compute_advantages("gigpo", batch, gigpo_mode="mean_std_norm")
  np.testing.assert_allclose(_real(std.step), we.MAIN["gigpo_std_step"], atol=ATOL)
  np.testing.assert_allclose(_real(std.episode), we.MAIN["grpo"], atol=ATOL)
  mean = compute_advantages("gigpo", batch, gigpo_mode="mean_norm")
  np.testing.assert_allclose(_real(mean.step), we.MAIN["gigpo_mean_step"], atol=ATOL)
  np.testing.assert_allclose(_real(mean.episode), we.MAIN["gigpo_mean_episode"], atol=ATOL)
  prox = compute_advantages("proxmo", batch)
  np.testing.assert_allclose(_real(prox.episode), we.MAIN["proxmo_episode"], atol=ATOL)
  np.testing.assert_allclose(_real(prox.step), we.MAIN["proxmo_step"], atol=ATOL)
  g = we.MAIN["G"]
  np.testing.assert_allclose(g - _real(prox.step), we.MAIN["soft_b"], atol=ATOL)


def test_grpo_dr_and_ablations():
  batch, _ = _batch()
  dr = compute_advantages("grpo_dr", batch)
  np.testing.assert_allclose(_real(dr.total), we.MAIN["gigpo_mean_episode"], atol=ATOL)
  no_mod = compute_advantages("proxmo_no_modulation", batch)
  np.testing.assert_allclose(_real(no_mod.total),
                             we.MAIN["gigpo_mean_episode"] + we.MAIN["proxmo_step"], atol=ATOL)
  no_soft = compute_advantages("proxmo_no_soft", batch)
  np.testing.assert_allclose(_real(no_soft.total),
                             we.MAIN["proxmo_episode"] + we.MAIN["gigpo_mean_step"], atol=ATOL)


def test_variant_reward10_with_invalid_sample():
  batch, _ = _batch(scale=10.0, invalid_sample=10)
  cfg = AdvantageConfig()
  np.testing.assert_allclose(_real(estimators.scores(batch, cfg)), we.VARIANT["score"], atol=1e-5)
  np.testing.assert_allclose(_real(estimators.step_returns(batch, cfg)), we.VARIANT["G"],
                             atol=1e-5)
  # Scores of ~10 in float32 carry ~1e-6 relative rounding: atol scaled by the value range.
  atol = ATOL * 10
  np.testing.assert_allclose(_real(compute_advantages("grpo", batch).total),
                             we.VARIANT["grpo"], atol=atol)
  np.testing.assert_allclose(_real(compute_advantages("grpo_dr", batch).total),
                             we.VARIANT["episode_mean"], atol=atol)
  prox = compute_advantages("proxmo", batch)
  np.testing.assert_allclose(_real(prox.episode), we.VARIANT["episode_psc"], atol=atol)
  np.testing.assert_allclose(_real(prox.step), we.VARIANT["proxmo_step"], atol=atol)
  np.testing.assert_allclose(_real(prox.total), we.VARIANT["proxmo"], atol=atol)


def test_psc_weights_table():
  """The PSC table of docs/method.md#episode-term-success-rate-aware-modulation (alpha=4, r=0.05 and alpha=5, beta=0.866)."""
  p = jnp.array([0.0, 0.1, 0.5, 0.9, 1.0])
  succ, fail = jnp.ones(5), jnp.zeros(5)
  cfg = AdvantageConfig()
  np.testing.assert_allclose(estimators.psc_weights(succ, p, cfg),
                             [1.05, 1.034274, 1.003380, 1.000005, 1.0], atol=2e-6)
  np.testing.assert_allclose(estimators.psc_weights(fail, p, cfg),
                             [1.0, 0.999995, 0.996620, 0.965726, 0.95], atol=2e-6)
  # The table's last columns use the function-level default beta = 0.866, i.e.
  # r = 0.866 * (sigmoid(1) - 1/2).
  r = 0.866 * (1.0 / (1.0 + np.exp(-1.0)) - 0.5)
  cfg5 = AdvantageConfig(psc_alpha=5.0, psc_target_range=r)
  np.testing.assert_allclose(estimators.psc_weights(succ, p, cfg5),
                             [1.200097, 1.124252, 1.006765, 1.000002, 1.0], atol=2e-6)
  np.testing.assert_allclose(estimators.psc_weights(fail, p, cfg5),
                             [1.0, 0.999998, 0.993235, 0.875748, 0.799903], atol=2e-6)
