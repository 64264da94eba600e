"""Corridor benchmark: speed, expert and random success, and how often observations repeat.

    .venv/bin/python experiments/bench_corridor.py [--fidelity] (--help lists the knobs)

Prints, for the default knobs (environments/corridor/spec.py) unless overridden:
  * env steps/s and resets/s in one process (random-admissible policy, paraphrase 0.5);
  * the expert's success over the train and held-out tasks;
  * a random-admissible policy's success per difficulty band, sampled and exact (values.py),
    and the exact success of an epsilon-expert (expert with prob. 1 - eps, else random);
  * per paraphrase rate 0 / 0.5 / 1, over groups of `group_size` random episodes of one task
    and seed: the exact-match rate (share of step observations whose text occurs at another
    step of the group: GiGPO's non-singleton step groups), the mean TF-IDF cosine of
    same-state and of different-state pairs (fit on the batch, as the reference), and the
    share of the soft baseline's weight (softmax(cos / 0.1) within the group, diagonal
    included) that lands on other visits of the same state;
  * with --fidelity: per paraphrase rate 0 / 1, the Pearson correlation of each estimator's
    step term and total advantage with the exact A_t(s, a) (values.py, gamma 0.95) on batches
    of epsilon-expert episodes (one group per task), mean over --iterations batches.
"""

from __future__ import annotations

import argparse
import collections
import random
import time

import ml_collections
import numpy as np

from environments.corridor import spec as corridor_spec
from environments.corridor import tasks as corridor_tasks
from environments.corridor import values
from environments.corridor.env import CorridorEnv
from environments.corridor.world import World
from proxmo_jax.proximity import tfidf


def random_episode(env, task, seed, rng):
  res = env.reset(task, seed)
  obs, states = [res.observation], [res.info["state_id"]]
  while True:
    res = env.step(rng.choice(res.admissible_actions))
    if res.done:
      return obs, states, res.won
    obs.append(res.observation)
    states.append(res.info["state_id"])


def speed(tasks, horizon, rate, lexical, seconds=2.0):
  env = CorridorEnv(horizon=horizon, paraphrase_rate=rate, paraphrase_lexical=lexical, salt=0)
  rng = random.Random(0)
  steps = resets = 0
  t0 = time.perf_counter()
  while time.perf_counter() - t0 < seconds:
    for k in range(64):
      res = env.reset(tasks[(resets + k) % len(tasks)], resets + k)
      while not res.done:
        res = env.step(rng.choice(res.admissible_actions))
        steps += 1
    resets += 64
  elapsed = time.perf_counter() - t0
  env2 = CorridorEnv(horizon=horizon, paraphrase_rate=rate, paraphrase_lexical=lexical, salt=0)
  t1 = time.perf_counter()
  n_reset = 0
  while time.perf_counter() - t1 < seconds / 2:
    for k in range(256):
      env2.reset(tasks[(n_reset + k) % len(tasks)], n_reset + k)
    n_reset += 256
  return steps / elapsed, resets / elapsed, n_reset / (time.perf_counter() - t1)


def repetition(tasks, horizon, rate, lexical, group_size, seed=0):
  """(exact-match rate, same-state cos, different-state cos, same-state soft weight)."""
  rng = random.Random(seed)
  envs = [CorridorEnv(horizon=horizon, paraphrase_rate=rate, paraphrase_lexical=lexical, salt=i)
          for i in range(group_size)]
  texts, states, groups = [], [], []
  for g, task in enumerate(tasks):
    for env in envs:
      obs, sts, _ = random_episode(env, task, seed, rng)
      texts += obs
      states += sts
      groups += [g] * len(obs)
  x = tfidf.fit_transform(texts).features.astype(np.float64)
  states, groups = np.asarray(states), np.asarray(groups)
  matched, same_cos, diff_cos, soft_same = 0, [], [], []
  for g in range(len(tasks)):
    idx = np.flatnonzero(groups == g)
    counts = collections.Counter(texts[i] for i in idx)
    matched += sum(counts[texts[i]] > 1 for i in idx)
    cos = x[idx] @ x[idx].T
    same = states[idx][:, None] == states[idx][None, :]
    off = ~np.eye(len(idx), dtype=bool)
    same_cos += list(cos[same & off])
    diff_cos += list(cos[~same])
    w = np.exp((cos - cos.max(axis=1, keepdims=True)) / 0.1)
    w /= w.sum(axis=1, keepdims=True)
    soft_same += list((w * (same & off)).sum(axis=1))
  mean = lambda v: float(np.mean(v)) if v else float("nan")
  return matched / len(texts), mean(same_cos), mean(diff_cos), mean(soft_same)


FIDELITY_ESTIMATORS = (("grpo", {}), ("gigpo", {"gigpo_mode": "mean_norm"}), ("proxmo", {}),
                       ("proxmo_no_modulation", {}), ("proxmo_no_soft", {}))


def fidelity(tasks, horizon, rate, lexical, group_size, epsilon, iterations, seed=0):
  """{estimator: (corr of the step term, corr of the total)} with the exact advantages."""
  # JAX only when asked for.  pylint: disable-next=import-outside-toplevel
  from proxmo_jax.advantages import Trajectory, build_trajectory_batch, compute_advantages
  rng = np.random.default_rng(seed)
  cache = []
  for t in tasks:
    world = World(t.payload)
    cache.append((t, world, values.exact_values(world, horizon, "epsilon_expert", epsilon)))
  envs = [CorridorEnv(horizon=horizon, paraphrase_rate=rate, paraphrase_lexical=lexical, salt=i)
          for i in range(group_size)]
  corr = collections.defaultdict(list)
  for it in range(iterations):
    trajs, exact = [], []
    for g, (task, world, ex) in enumerate(cache):
      for env in envs:
        res = env.reset(task, it)
        obs, rewards = [], []
        while not res.done:
          s, t = res.info["state_id"], res.info["step"]
          n = len(world.actions[s])
          a = int(rng.choice(n, p=ex.pi[s, :n]))
          obs.append(res.observation)
          exact.append(ex.advantage[t, s, a])
          res = env.step(world.actions[s][a])
          rewards.append(res.reward)
        trajs.append(Trajectory(g, obs, rewards))
    batch, _ = build_trajectory_batch(trajs, featurizer=tfidf.tfidf_features)
    exact = np.asarray(exact)
    for name, opts in FIDELITY_ESTIMATORS:
      adv = compute_advantages(name, batch, **opts)
      for part in ("step", "total"):
        est = np.asarray(getattr(adv, part))[:len(exact)]
        ok = est.std() > 0
        corr[(name, part)].append(float(np.corrcoef(est, exact)[0, 1]) if ok else 0.0)
  return {name: (np.mean(corr[(name, "step")]), np.mean(corr[(name, "total")]))
          for name, _ in FIDELITY_ESTIMATORS}


def main():
  p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  for name, default in corridor_spec.DEFAULTS.items():
    if isinstance(default, (int, float)) and not isinstance(default, bool):
      p.add_argument(f"--{name}", type=type(default), default=default)
  p.add_argument("--group_size", type=int, default=8)
  p.add_argument("--groups", type=int, default=16, help="groups per paraphrase rate")
  p.add_argument("--episodes", type=int, default=20, help="random episodes per task")
  p.add_argument("--epsilon", type=float, default=0.5,
                 help="exploration of the epsilon-expert policy (a stand-in for a BC start)")
  p.add_argument("--fidelity", action="store_true",
                 help="also measure estimator fidelity (imports JAX; about a minute)")
  p.add_argument("--iterations", type=int, default=5, help="fidelity batches per rate")
  a = p.parse_args()
  cfg = ml_collections.ConfigDict({k: getattr(a, k, v) for k, v in corridor_spec.DEFAULTS.items()})
  cfg.name = "corridor"
  spec = corridor_spec.make(cfg)
  everything = spec.train_tasks + spec.eval_tasks
  print(f"corridor: difficulty={a.difficulty} spread={a.difficulty_spread} horizon={a.horizon} "
        f"train={len(spec.train_tasks)} eval={len(spec.eval_tasks)} seed={a.task_seed}")

  steps_s, episodes_s, resets_s = speed(everything, a.horizon, 0.5, a.paraphrase_lexical)
  print(f"speed (paraphrase 0.5, one process): {steps_s:,.0f} steps/s, {episodes_s:,.0f} "
        f"random episodes/s, {resets_s:,.0f} resets/s")

  env = CorridorEnv(horizon=a.horizon, salt=0)
  wins = 0
  for t in everything:
    env.reset(t, 0)
    for cmd in env.expert_plan():
      res = env.step(cmd)
    wins += res.won
  print(f"expert: {wins}/{len(everything)} won ({100.0 * wins / len(everything):.1f} %)")

  rng = random.Random(1)
  by_band = collections.defaultdict(lambda: [0, 0, [], []])
  for t in spec.eval_tasks:
    row = by_band[t.task_type]
    for e in range(a.episodes):
      row[0] += random_episode(env, t, e, rng)[2]
      row[1] += 1
    world = World(t.payload)
    row[2].append(values.success_probability(world, a.horizon, "uniform"))
    row[3].append(values.success_probability(world, a.horizon, "epsilon_expert", a.epsilon))
  print(f"random-admissible success on the held-out tasks ({a.episodes} episodes each):")
  print(f"| band | tasks | sampled % | exact % | exact min..max % | eps-expert({a.epsilon}) "
        "exact % | eps-expert min..max % |")
  print("|---|---|---|---|---|---|---|")
  rows = [(band, by_band[band]) for band in corridor_tasks.BANDS if band in by_band]
  rows.append(("all", [sum((r[k] for _, r in rows), 0 if k < 2 else []) for k in range(4)]))
  for band, (w, n, ex, ee) in rows:
    print(f"| {band} | {len(ex)} | {100 * w / n:.1f} | {100 * np.mean(ex):.1f} | "
          f"{100 * min(ex):.1f}..{100 * max(ex):.1f} | {100 * np.mean(ee):.1f} | "
          f"{100 * min(ee):.1f}..{100 * max(ee):.1f} |")

  print(f"observation repetition, {a.groups} groups x {a.group_size} random episodes:")
  print("| paraphrase | exact-match rate | cos same state | cos other state | "
        "soft weight on same state |")
  print("|---|---|---|---|---|")
  for rate in (0.0, 0.5, 1.0):
    m, sc, dc, sw = repetition(spec.train_tasks[:a.groups], a.horizon, rate,
                              a.paraphrase_lexical, a.group_size)
    print(f"| {rate} | {m:.3f} | {sc:.3f} | {dc:.3f} | {sw:.3f} |")

  if a.fidelity:
    print(f"fidelity: corr(estimate, exact A_t(s, a)), {a.groups} groups x {a.group_size} "
          f"eps-expert({a.epsilon}) episodes, mean of {a.iterations} batches:")
    results = {rate: fidelity(spec.train_tasks[:a.groups], a.horizon, rate, a.paraphrase_lexical,
                              a.group_size, a.epsilon, a.iterations) for rate in (0.0, 1.0)}
    print("| estimator | step term, paraphrase 0 | step term, paraphrase 1 | total, paraphrase 0 "
          "| total, paraphrase 1 |")
    print("|---|---|---|---|---|")
    for name, _ in FIDELITY_ESTIMATORS:
      (s0, t0), (s1, t1) = results[0.0][name], results[1.0][name]
      print(f"| {name} | {s0:.3f} | {s1:.3f} | {t0:.3f} | {t1:.3f} |")


if __name__ == "__main__":
  main()
