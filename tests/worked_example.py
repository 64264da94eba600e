"""The worked example of docs/method.md#worked-example, as data shared by the tests."""

import numpy as np

from proxmo_jax.advantages import Trajectory

A0 = "You are in the middle of a kitchen. Your task is to: put an apple in the fridge."
ACT = "You arrive at countertop 1. On the countertop 1, you see an apple 1."
ACAB = "You arrive at cabinet 1. The cabinet 1 is closed."
APICK = "You pick up the apple 1 from the countertop 1."
B0 = "You are in the middle of a kitchen. Your task is to: heat a mug."
BNH = "Nothing happens."
BMW = "You arrive at microwave 1. The microwave 1 is closed."


def trajectories(scale=1.0, invalid_sample=None):
  """The six trajectories; `invalid_sample` is a flat row index flagged invalid."""
  raw = [("A", [A0, ACT, APICK], [0, 0, 1]), ("A", [A0, ACAB], [0, 0]), ("A", [A0, ACT], [0, 1]),
         ("B", [B0, BNH], [0, 0]), ("B", [B0, BNH, BMW], [0, 0, 0]), ("B", [B0, BMW], [0, 1])]
  out, row = [], 0
  for group, obs, rew in raw:
    inv = []
    for _ in obs:
      inv.append(row == invalid_sample)
      row += 1
    out.append(Trajectory(group, obs, [scale * r for r in rew], inv))
  return out


# Main table: columns of docs/method.md#worked-example (rows 0..13).
COLUMNS = ["G", "grpo", "rloo", "gigpo_std_step", "gigpo_std", "gigpo_mean_step", "gigpo_mean",
           "proxmo_episode", "soft_b", "proxmo_step", "proxmo"]
_MAIN = """
0.902500 0.585539 0.333333 0.532413 1.117952 0.285000 0.570714 0.285817 0.617598 0.284902 0.570719
0.950000 0.585539 0.333333 -0.707087 -0.121548 -0.025000 0.260714 0.285817 0.974663 -0.024663 0.261154
1.000000 0.585539 0.333333 0.000000 0.585539 0.000000 0.285714 0.285817 0.999432 0.000568 0.286385
0.000000 -1.463847 -0.833333 -1.153561 -2.617408 -0.617500 -1.331786 -0.704283 0.617598 -0.617598 -1.321882
0.000000 -1.463847 -0.833333 0.000000 -1.463847 0.000000 -0.714286 -0.704283 0.001032 -0.001032 -0.705315
0.950000 0.585539 0.333333 0.621148 1.206687 0.332500 0.618214 0.285817 0.617598 0.332402 0.618219
1.000000 0.585539 0.333333 0.707087 1.292626 0.025000 0.310714 0.285817 0.974663 0.025337 0.311154
0.000000 -0.585539 -0.333333 -0.577349 -1.162888 -0.316667 -0.602381 -0.285611 0.316673 -0.316673 -0.602285
0.000000 -0.585539 -0.333333 0.000000 -0.585539 0.000000 -0.285714 -0.285611 0.000044 -0.000044 -0.285656
0.000000 -0.585539 -0.333333 -0.577349 -1.162888 -0.316667 -0.602381 -0.285611 0.316673 -0.316673 -0.602285
0.000000 -0.585539 -0.333333 0.000000 -0.585539 0.000000 -0.285714 -0.285611 0.000044 -0.000044 -0.285656
0.000000 -0.585539 -0.333333 -0.707106 -1.292645 -0.500000 -0.785714 -0.285611 0.499940 -0.499940 -0.785552
0.950000 1.463847 0.833333 1.154698 2.618546 0.633333 1.347619 0.724288 0.316673 0.633327 1.357615
1.000000 1.463847 0.833333 0.707106 2.170953 0.500000 1.214286 0.724288 0.499940 0.500060 1.224348
"""
MAIN = {c: v for c, v in zip(COLUMNS, np.array([l.split() for l in _MAIN.strip().splitlines()],
                                                 np.float64).T)}
# GiGPO mean_norm episode part: s - mu.
MAIN["gigpo_mean_episode"] = np.array([2, 2, 2, -5, -5, 2, 2, -2, -2, -2, -2, -2, 5, 5]) / 7.0
# Per-trajectory GRPO (stats="trajectory").
MAIN["grpo_traj"] = np.array([0.577349] * 3 + [-1.154699] * 2 + [0.577349] * 2 +
                             [-0.577349] * 5 + [1.154699] * 2)

# Variant: rewards x10, sample 10 (B2, t=1) invalid.
VARIANT_COLUMNS = ["score", "G", "grpo", "episode_mean", "episode_psc", "proxmo_step", "proxmo"]
_VARIANT = """
10.000000 9.025000 0.585540 2.857143 2.857143 2.849016 5.706158
10.000000 9.500000 0.585540 2.857143 2.857143 -0.246634 2.610508
10.000000 10.000000 0.585540 2.857143 2.857143 0.005677 2.862820
0.000000 0.000000 -1.463850 -7.142857 -6.785714 -6.175984 -12.961699
0.000000 0.000000 -1.463850 -7.142857 -6.785714 -0.010322 -6.796036
10.000000 9.500000 0.585540 2.857143 2.857143 3.324016 6.181158
10.000000 10.000000 0.585540 2.857143 2.857143 0.253366 3.110508
0.000000 0.000000 -0.581433 -2.842857 -2.700714 -3.166733 -5.867448
0.000000 0.000000 -0.581433 -2.842857 -2.700714 0.049552 -2.651163
0.000000 0.000000 -0.581433 -2.842857 -2.700714 -3.166733 -5.867448
-0.100000 -0.100000 -0.601886 -2.942857 -2.795714 -0.050448 -2.846163
0.000000 0.000000 -0.581433 -2.842857 -2.700714 -4.999402 -7.700116
10.000000 9.500000 1.463809 7.157143 7.157143 6.333267 13.490409
10.000000 10.000000 1.463809 7.157143 7.157143 5.000598 12.157741
"""
VARIANT = {c: v for c, v in zip(VARIANT_COLUMNS, np.array(
    [l.split() for l in _VARIANT.strip().splitlines()], np.float64).T)}

IDF = np.array([1.916291, 1.762140, 1.762140, 1.916291, 1.916291, 3.014903, 2.321756, 2.321756,
                2.321756, 3.014903, 2.609438, 2.321756, 1.762140, 1.405465, 1.762140, 2.609438,
                1.762140, 2.321756, 2.609438, 1.762140, 2.609438, 3.014903, 2.321756, 2.609438,
                1.762140, 1.143101, 1.762140, 3.014903, 1.143101, 1.762140])
VOCAB = ("an apple are arrive at cabinet closed countertop fridge from happens heat in is kitchen "
         "microwave middle mug nothing of on pick put see task the to up you your").split()
