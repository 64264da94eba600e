"""Benchmark: the plain and the fast ALFWorld engine side by side (resets and steps per second).

    python experiments/bench_envs.py [--data_dir data/alfworld_bench] [--room kitchen]
        [--games 1] [--group 4] [--episodes 2] [--steps 10] [--expert_prob 0.5]
        [--latency_games 2] [--engines plain,fast]

Without flags it generates a small default set the first time (4 kitchen games: heat and cool
tasks in FloorPlans 7 and 8, about 10 s) into data/alfworld_bench. Then, for each engine
(`AlfworldEnv(engine="plain")`, TextWorld's stack, and `engine="fast"`, the default), in this
process and with the same workload:

* reset of a new game: median over `latency_games` games of `AlfworldEnv.reset` of a game this
  process has not loaded (plain: a load translates the PDDL problem twice, once more for the
  planner, and the first reset reuses it; fast: one translation, once per process and game);
* reset of a loaded game: median of a reset of the same game after a few steps (plain:
  re-translation; fast: back to the snapshot of the initial state);
* steps/s with 1 and 2 worker processes (`EnvPool`) on a group-rollout workload: `games` games x
  `group` environments each, `episodes` episodes of `steps` steps; every environment plays,
  with its own seeded RNG, the game's expert walkthrough step with probability `expert_prob`
  and else a random admissible command (done environments stop). Steps/s counts env steps over
  the wall time of the pool's step calls (resets excluded: they are measured above).

The last row is the ratio fast/plain (for resets, plain time / fast time). The run also checks
that both engines produced the same trajectories (every observation, reward, done, won and
admissible list), which they must.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import random
import statistics
import time

from environments.alfworld import data, fast_engine
from environments.alfworld import env as env_lib
from proxmo_jax.rollout.env_pool import EnvPool

DEFAULT_DATA_DIR = "data/alfworld_bench"
DEFAULT_TASKS = ("pick_heat_then_place_in_recep", "pick_cool_then_place_in_recep")


def default_games(data_dir: str) -> None:
  """Generates the default kitchen games (heat and cool tasks: kitchens only) if missing."""
  print(f"generating the default benchmark games into {data_dir} (once) ...", flush=True)
  data.generate_split(data_dir, "train", per_task=2, task_types=DEFAULT_TASKS, progress=False)


def pick_games(data_dir: str, room: str, n: int) -> list:
  tasks = [t for t in data.load_tasks("train", data_dir)
           if data.room_type(t.task_id) == room.lower()]
  if len(tasks) < n:
    raise SystemExit(f"only {len(tasks)} {room} games under {data_dir}; generate more with "
                     f"`python experiments/generate_alfworld.py --root {data_dir}` or pass "
                     "--games with a smaller number.")
  return tasks[:n]


def walkthrough(task) -> list[str]:
  with open(task.payload) as f:
    return list(json.load(f).get("walkthrough") or [])


def reset_latency(engine: str, tasks, warm_steps: int = 3) -> tuple[float, float]:
  """(median s of a reset that loads a new game, of a reset of the loaded game)."""
  fast_engine.process_cache().clear()
  new, again = [], []
  for task in tasks:
    env = env_lib.AlfworldEnv(engine=engine)
    t0 = time.perf_counter()
    res = env.reset(task, 0)
    new.append(time.perf_counter() - t0)
    for cmd in res.admissible_actions[:warm_steps]:
      env.step(cmd)
    t0 = time.perf_counter()
    env.reset(task, 1)
    again.append(time.perf_counter() - t0)
    env.close()
  fast_engine.process_cache().clear()
  return statistics.median(new), statistics.median(again)


def throughput(engine: str, tasks, group: int, workers: int, episodes: int, steps: int,
               expert_prob: float, seed: int = 0) -> tuple[float, str]:
  """(env steps per second over the pool's step calls, digest of every result)."""
  envs = [task for task in tasks for _ in range(group)]  # group members are adjacent
  walks = {task.task_id: walkthrough(task) for task in tasks}
  digest = hashlib.sha256()
  n, busy = 0, 0.0
  factory = functools.partial(env_lib.AlfworldEnv, engine=engine)
  with EnvPool(factory, num_envs=len(envs), num_workers=workers) as pool:
    for episode in range(episodes):
      results = pool.reset([(task, episode) for task in envs])
      rngs = [random.Random(f"{seed}|{episode}|{k}") for k in range(len(envs))]
      for t in range(steps):
        actions = {}
        for k, res in enumerate(results):
          if res.done:
            continue
          walk = walks[envs[k].task_id]
          if t < len(walk) and rngs[k].random() < expert_prob:
            actions[k] = walk[t]
          else:
            actions[k] = rngs[k].choice(res.admissible_actions or ["look"])
        if not actions:
          break
        t0 = time.perf_counter()
        out = pool.step(actions)
        busy += time.perf_counter() - t0
        n += len(actions)
        for k in sorted(out):
          results[k] = out[k]
          r = out[k]
          digest.update(repr((k, r.observation, r.reward, r.done, r.won,
                              r.admissible_actions)).encode())
  return n / busy, digest.hexdigest()


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--data_dir", default=DEFAULT_DATA_DIR)
  parser.add_argument("--room", default="kitchen", help="kitchen, livingroom, bedroom or bathroom")
  parser.add_argument("--games", type=int, default=1, help="games of the rollout workload")
  parser.add_argument("--group", type=int, default=4, help="environments per game")
  parser.add_argument("--episodes", type=int, default=2)
  parser.add_argument("--steps", type=int, default=10)
  parser.add_argument("--latency_games", type=int, default=2, help="games the resets are timed on")
  parser.add_argument("--expert_prob", type=float, default=0.5)
  parser.add_argument("--engines", default="plain,fast")
  args = parser.parse_args()
  engines = args.engines.split(",")
  if args.data_dir == DEFAULT_DATA_DIR and not os.path.isdir(os.path.join(args.data_dir, "train")):
    default_games(args.data_dir)
  timed = pick_games(args.data_dir, args.room, max(args.games, args.latency_games))
  tasks = timed[:args.games]
  print(f"{args.room}: resets timed on {args.latency_games} games; rollouts on {len(tasks)} "
        f"games x {args.group} envs, {args.episodes} episodes x "
        f"{args.steps} steps, p(expert action) = {args.expert_prob}", flush=True)
  rows, digests = {}, set()
  for engine in engines:
    new, again = reset_latency(engine, timed[:args.latency_games])
    one, d1 = throughput(engine, tasks, args.group, 1, args.episodes, args.steps,
                         args.expert_prob)
    two, d2 = throughput(engine, tasks, args.group, 2, args.episodes, args.steps,
                         args.expert_prob)
    rows[engine] = (new, again, one, two)
    digests |= {d1, d2}
    print(f"  {engine}: done", flush=True)
  print("\n| engine | reset new game s | reset loaded game s | steps/s 1 worker | "
        "steps/s 2 workers | 2w / 1w |")
  print("|---|---|---|---|---|---|")
  for engine, (new, again, one, two) in rows.items():
    print(f"| {engine} | {new:.3g} | {again:.3g} | {one:.1f} | {two:.1f} | {two / one:.2f}x |")
  if "plain" in rows and "fast" in rows:
    p, f = rows["plain"], rows["fast"]
    print(f"| fast/plain | {p[0] / f[0]:.1f}x faster | {p[1] / f[1]:.0f}x faster | "
          f"{f[2] / p[2]:.1f}x | {f[3] / p[3]:.1f}x | |")
  same = "yes" if len(digests) == 1 else "NO: the engines disagree"
  print(f"\nidentical trajectories across engines and worker counts: {same}")
  if len(digests) != 1:
    raise SystemExit(1)


if __name__ == "__main__":
  main()
