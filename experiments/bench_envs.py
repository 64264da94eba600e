"""Benchmark: ALFWorld env steps per second with 1 and 2 worker processes, and reset latency.

    python experiments/bench_envs.py [--data_dir data/alfworld_gen] [--steps 30] [--envs 4]

On generated kitchen and bedroom games: each environment resets to a game and takes `steps`
random admissible actions (seeded); throughput is env steps per wall-clock second over the pool,
measured with 1 and with 2 workers in the same process; reset latency is the median time of
`AlfworldEnv.reset` of a new game in this process (engine load + PDDL translation) and of the
same game again (a new episode).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from environments.alfworld import data, engine, scenes  # noqa: E402
from environments.alfworld import env as env_lib  # noqa: E402
from proxmo_jax.rollout.env_pool import EnvPool  # noqa: E402


def pick_games(data_dir, room, n):
  tasks = data.load_tasks("train", data_dir)
  out = []
  for t in tasks:
    fp = int(t.task_id.rsplit("FloorPlan", 1)[1].split("_")[0])
    if scenes.room_type(fp) == room:
      out.append(t)
  if len(out) < n:
    raise SystemExit(f"only {len(out)} {room} games under {data_dir}; generate more first.")
  return out[:n]


def throughput(tasks, workers, steps, seed=0):
  rng = random.Random(seed)
  with EnvPool(env_lib.AlfworldEnv, num_envs=len(tasks), num_workers=workers) as pool:
    pool.reset([(t, 0) for t in tasks])  # warm: engines loaded in each worker
    results = pool.reset([(t, 0) for t in tasks])
    t0 = time.perf_counter()
    n = 0
    for _ in range(steps):
      actions = {k: rng.choice(r.admissible_actions or ["look"]) for k, r in enumerate(results)}
      out = pool.step(actions)
      results = [out[k] for k in range(len(tasks))]
      n += len(actions)
    dt = time.perf_counter() - t0
  return n / dt


def reset_latency(tasks):
  """(median s of a reset that loads a new game, of a reset of the loaded game)."""
  env = env_lib.AlfworldEnv()
  new, again = [], []
  for t in tasks:
    t0 = time.perf_counter()
    env.reset(t, 0)
    new.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    env.reset(t, 1)
    again.append(time.perf_counter() - t0)
  env.close()
  return statistics.median(new), statistics.median(again)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", default="data/alfworld_gen")
  parser.add_argument("--steps", type=int, default=30)
  parser.add_argument("--envs", type=int, default=4)
  args = parser.parse_args()
  print("| room | envs | reset new game s | reset same game s | steps/s 1 worker | "
        "steps/s 2 workers | 2w / 1w |")
  print("|---|---|---|---|---|---|---|")
  for room in ("Kitchen", "Bedroom"):
    tasks = pick_games(args.data_dir, room, args.envs)
    new, again = reset_latency(tasks)
    one = throughput(tasks, 1, args.steps)
    two = throughput(tasks, 2, args.steps)
    print(f"| {room} | {len(tasks)} | {new:.2f} | {again:.2f} | {one:.1f} | {two:.1f} | "
          f"{two / one:.2f}x |", flush=True)


if __name__ == "__main__":
  main()
