"""On 8 fake CPU devices the trainer's advantages (proximity kernel split over the mesh's data
axis with `jax.shard_map`) equal the single-device ones."""

import numpy as np
import pytest

from configs import alfworld
from environments.interface import Task
from proxmo_jax import parallel
from proxmo_jax.advantages import compute_advantages
from proxmo_jax.proximity import soft_baseline, tfidf_features
from proxmo_jax.rollout.batching import build_update_batch
from proxmo_jax.rollout.records import Episode, StepRecord
from proxmo_jax.training import trainer

ROOMS = ("you see a mug and a cabinet", "you see a fridge", "the drawer is open",
         "you are in the middle of a room", "nothing happens")


def _episodes(num_groups, group_size, seed=0):
  rng = np.random.default_rng(seed)
  eps = []
  for g in range(num_groups):
    task = Task("alfworld", f"t{g}", "pick_and_place_simple")
    for _ in range(group_size):
      steps = []
      for t in range(int(rng.integers(1, 6))):
        obs = ROOMS[int(rng.integers(len(ROOMS)))] + f" {int(rng.integers(3))}"
        steps.append(StepRecord([1, 2, 3], [4, 5], obs, "look", bool(rng.random() > 0.1), 0.0))
      won = bool(rng.random() < 0.4)
      steps[-1].reward = 10.0 * won
      eps.append(Episode(g, task, steps, won=won))
  return eps


@pytest.mark.parametrize("estimator", ["proxmo", "proxmo_no_modulation"])
def test_trainer_advantages_sharded_over_data_axis_equal_single_device(estimator, monkeypatch):
  c = alfworld.get_config(f"{estimator},tiny")
  mesh = parallel.make_mesh(dict(c.mesh))
  assert mesh.shape["data"] == 8  # tests/conftest.py: 8 fake CPU devices
  calls = []
  original = soft_baseline.sharded_soft_baselines
  monkeypatch.setattr(soft_baseline, "sharded_soft_baselines",
                      lambda *a, **k: calls.append(1) or original(*a, **k))
  # 5 groups: not a multiple of the 8 devices, so empty blocks pad the last shards.
  batch, _ = build_update_batch(_episodes(5, 4), tfidf_features, row_multiple=8,
                                num_groups=5)
  sharded = compute_advantages(estimator, batch, trainer.advantage_config(c, mesh))
  single = compute_advantages(estimator, batch, trainer.advantage_config(c, None))
  assert calls, "the sharded kernel was not used"
  # Same per-block arithmetic; only the order of float32 sums over a group's C <= 32 slots may
  # differ: |error| <= C * max|G| * 2^-23 ~ 32 * 10 * 1.2e-7 < 4e-5.
  for field in ("episode", "step", "total"):
    np.testing.assert_allclose(np.asarray(getattr(sharded, field)),
                               np.asarray(getattr(single, field)), rtol=0, atol=4e-5)
  assert np.abs(np.asarray(single.step)).max() > 0.1  # the step term is not trivially zero
