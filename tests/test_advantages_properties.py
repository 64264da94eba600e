"""Property tests of the estimators, and agreement with an independent dense implementation."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from proxmo_jax.advantages import (AdvantageConfig, Trajectory, build_trajectory_batch,
                                   compute_advantages, names)
from proxmo_jax.advantages import dense_numpy
from proxmo_jax.proximity import tfidf
from tests import worked_example as we

ALL = names()
WORDS = ("fridge cabinet countertop drawer apple mug microwave sink you arrive at see the "
         "is closed open nothing happens on in 1 2 3").split()


def random_trajectories(seed, groups=3, n=4, max_len=5, win_prob=0.4, invalid_prob=0.1,
                        scale=10.0):
  rng = np.random.default_rng(seed)
  out = []
  for g in range(groups):
    for _ in range(n):
      length = int(rng.integers(1, max_len + 1))
      obs = [" ".join(rng.choice(WORDS, size=int(rng.integers(2, 7)))) for _ in range(length)]
      if rng.random() < 0.3 and length > 1:  # revisit an earlier state exactly
        obs[-1] = obs[0]
      won = rng.random() < win_prob
      rewards = [0.0] * (length - 1) + [scale if won else 0.0]
      invalid = list(rng.random(length) < invalid_prob)
      out.append(Trajectory(f"g{g}", obs, rewards, invalid))
  return out


def _adv(name, trajs, batch_size=None, **kw):
  batch, _ = build_trajectory_batch(trajs, featurizer=tfidf.tfidf_features,
                                    batch_size=batch_size)
  return batch, compute_advantages(name, batch, **kw)


@pytest.mark.parametrize("name", ALL)
def test_padding_rows_never_change_real_rows(name):
  trajs = random_trajectories(0)
  batch, adv = _adv(name, trajs)
  n = int(np.sum(batch.valid))
  padded, adv_p = _adv(name, trajs, batch_size=batch.size + 40)
  np.testing.assert_allclose(np.asarray(adv.total)[:n], np.asarray(adv_p.total)[:n], atol=1e-6)
  assert np.all(np.asarray(adv_p.total)[n:] == 0)
  # Garbage in the padding rows changes nothing either.
  rng = np.random.default_rng(1)
  junk = padded.replace(
      rewards=padded.rewards.at[n:].set(jnp.asarray(rng.normal(size=padded.size - n),
                                                    jnp.float32)),
      episode_scores=padded.episode_scores.at[n:].set(7.0),
      features=padded.features.at[n:].set(1.0))
  adv_j = compute_advantages(name, junk)
  np.testing.assert_allclose(np.asarray(adv_j.total)[:n], np.asarray(adv.total)[:n], atol=1e-6)


@pytest.mark.parametrize("name", ALL)
def test_trajectory_permutation_invariance(name):
  trajs = random_trajectories(2)
  batch, adv = _adv(name, trajs)
  perm = np.random.default_rng(3).permutation(len(trajs))
  batch_p, adv_p = _adv(name, [trajs[k] for k in perm])
  # Map each row back to (trajectory, step).
  def by_key(b, a, order):
    out = {}
    t, s = np.asarray(b.traj_ids), np.asarray(b.step_ids)
    for i in np.flatnonzero(np.asarray(b.valid)):
      out[(order[t[i]], s[i])] = float(a.total[i])
    return out
  ref = by_key(batch, adv, np.arange(len(trajs)))
  got = by_key(batch_p, adv_p, perm)
  assert ref.keys() == got.keys()
  np.testing.assert_allclose([got[k] for k in ref], [ref[k] for k in ref], atol=2e-6)


@pytest.mark.parametrize("name", ["gigpo", "proxmo", "proxmo_no_soft", "proxmo_no_modulation"])
def test_singleton_groups_give_zero_step_advantage(name):
  trajs = [Trajectory("solo", ["you see a fridge 1"], [10.0]),
           Trajectory("pair", ["open the drawer", "nothing happens"], [0.0, 0.0])]
  _, adv = _adv(name, trajs)
  # Every group holds one trajectory, and no step sample has a neighbour: the solo row is alone
  # in its step group, and the pair's two observations share no term (cosine 0, so ProxMO's
  # softmax puts e^10 / (e^10 + 1) on the row itself), and their returns are 0 anyway.
  np.testing.assert_allclose(np.asarray(adv.step)[:3], 0.0, atol=1e-7)
  # Reference singleton rule: mu := 0, sigma := 1, so the lone sample keeps its raw score 10;
  # with the success-rate modulation p = clip(mu, 0, 1) = 0, so a success gets w = 1 + r = 1.05.
  modulated = name in ("proxmo", "proxmo_no_soft")
  np.testing.assert_allclose(np.asarray(adv.episode)[:3], [10.5 if modulated else 10.0, 0, 0],
                             rtol=1e-6)
  _, adv_zero = _adv(name, trajs, singleton="zero")
  np.testing.assert_array_equal(np.asarray(adv_zero.total)[:3], 0.0)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("win", [0.0, 1.0])
def test_all_success_or_all_fail_groups(name, win):
  trajs = random_trajectories(4, groups=2, win_prob=win, invalid_prob=0.0)
  batch, adv = _adv(name, trajs)
  valid = np.asarray(batch.valid)
  # Identical scores inside each group: no episode signal.
  np.testing.assert_allclose(np.asarray(adv.episode)[valid], 0.0, atol=1e-6)
  if win == 0.0:  # every return is 0 as well: nothing at all
    np.testing.assert_allclose(np.asarray(adv.total)[valid], 0.0, atol=1e-6)


def test_zero_variance_group_with_std_normalisation():
  trajs = [Trajectory("g", ["a b c", "d e f"], [0.0, 0.0]) for _ in range(3)]
  for name in ("grpo", "gigpo"):
    _, adv = _adv(name, trajs, gigpo_mode="mean_std_norm")
    assert np.all(np.isfinite(np.asarray(adv.total)))
    np.testing.assert_array_equal(np.asarray(adv.total), 0.0)


def test_empty_vocabulary_gives_zero_soft_step():
  trajs = [Trajectory("g", ["a", "b"], [0.0, 10.0]), Trajectory("g", ["a"], [0.0])]
  batch, adv = _adv("proxmo", trajs)
  assert not np.any(np.asarray(batch.features))
  np.testing.assert_array_equal(np.asarray(adv.step), 0.0)


def test_rloo_is_leave_one_out_mean():
  trajs = random_trajectories(5, groups=2, invalid_prob=0.2)
  batch, adv = _adv("rloo", trajs)
  s = np.asarray(batch.episode_scores) - 0.1 * np.asarray(batch.invalid_action)
  g = np.asarray(batch.group_ids)
  for i in np.flatnonzero(np.asarray(batch.valid)):
    others = [j for j in np.flatnonzero(np.asarray(batch.valid)) if g[j] == g[i] and j != i]
    np.testing.assert_allclose(float(adv.total[i]), s[i] - s[others].mean(), atol=1e-5)


def test_paper_p_mode_uses_trajectory_success_fraction():
  # One success among 4 trajectories (one step each): p_paper = 0.25 while p_code = clip(2.5).
  trajs = [Trajectory("g", ["x y"], [10.0])] + [Trajectory("g", ["z w"], [0.0])] * 3
  _, code = _adv("proxmo", trajs)
  _, paper = _adv("proxmo", trajs, p_mode="paper")
  sig = lambda v: 1 / (1 + np.exp(-v))
  beta = 0.05 / (sig(1.0) - 0.5)
  w_succ = 1 + beta * (sig(0.75 ** 4) - 0.5)
  w_fail = 1 + beta * (sig(-(0.25 ** 4)) - 0.5)
  np.testing.assert_allclose(float(paper.episode[0]), 7.5 * w_succ, rtol=1e-6)
  np.testing.assert_allclose(float(paper.episode[1]), -2.5 * w_fail, rtol=1e-6)
  np.testing.assert_allclose(float(code.episode[1]), -2.5 * 0.95, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_proxmo_matches_dense_numpy_float64(seed):
  trajs = random_trajectories(seed + 10, groups=4, n=5, max_len=8)
  batch, adv = _adv("proxmo", trajs)
  n = int(np.sum(batch.valid))
  ep, st, tot = dense_numpy.proxmo_dense(
      np.asarray(batch.group_ids)[:n], np.asarray(batch.traj_ids)[:n],
      np.asarray(batch.rewards)[:n], np.asarray(batch.invalid_action)[:n],
      np.asarray(batch.features)[:n], dtype=np.float64)
  # float32 kernel vs float64: returns/scores are O(10), softmax weights exact to ~1e-7.
  np.testing.assert_allclose(np.asarray(adv.episode)[:n], ep, atol=2e-5)
  np.testing.assert_allclose(np.asarray(adv.step)[:n], st, atol=2e-5)
  np.testing.assert_allclose(np.asarray(adv.total)[:n], tot, atol=4e-5)


def test_bad_batches_are_reported():
  batch, _ = build_trajectory_batch(we.trajectories(), featurizer=tfidf.tfidf_features)
  with pytest.raises(ValueError, match="group_capacity"):
    compute_advantages("proxmo", batch.replace(group_capacity=4))
  with pytest.raises(ValueError, match="unknown advantage estimator"):
    compute_advantages("ppo", batch)
  with pytest.raises(ValueError, match="p_mode"):
    compute_advantages("proxmo", batch, p_mode="success")
  with pytest.raises(ValueError, match="contiguous"):
    swapped = batch.replace(traj_ids=batch.traj_ids.at[1].set(1))
    swapped.validate()
  with pytest.raises(ValueError, match="observations"):
    Trajectory("g", ["a", "b"], [0.0])


def test_no_retrace_within_a_bucket():
  """compute_advantages, the public path, compiles one program for batches of one bucket."""
  from proxmo_jax.advantages import registry
  sizes = dict(batch_size=64, num_groups=4, num_trajs=16, group_capacity=24)
  cfg = AdvantageConfig()
  before = registry._jitted._cache_size()  # pylint: disable=protected-access
  for seed in range(3):
    trajs = random_trajectories(30 + seed, groups=3, n=4, max_len=4)
    batch, _ = build_trajectory_batch(
        trajs, featurizer=lambda t: tfidf.tfidf_features(t, pad_to=128), **sizes)
    adv = compute_advantages("proxmo", batch, cfg)
    chex.assert_shape([adv.episode, adv.step, adv.total], (64,))
    chex.assert_type([adv.episode, adv.step, adv.total], jnp.float32)
    chex.assert_tree_all_finite(adv)
  assert registry._jitted._cache_size() - before <= 1  # pylint: disable=protected-access


def test_usable_inside_an_outer_jit():
  batch, _ = build_trajectory_batch(we.trajectories(), featurizer=tfidf.tfidf_features)
  outer = jax.jit(lambda b: compute_advantages("proxmo", b).total * 2.0)
  np.testing.assert_allclose(np.asarray(outer(batch))[:14], 2.0 * we.MAIN["proxmo"], atol=4e-6)
  with pytest.raises(ValueError, match="explicit group_capacity"):
    jax.jit(lambda b: compute_advantages("proxmo", b).total)(batch.replace(group_capacity=0))
