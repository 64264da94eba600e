"""Corridor: seeded instances, dynamics, expert, paraphrase, exact values, config checks."""

import collections
import math
import pickle
import random

import ml_collections
import numpy as np
import pytest

from environments import registry
from environments.corridor import render, spec as corridor_spec, tasks, values
from environments.corridor.env import CorridorEnv
from environments.corridor.world import World
from environments.interface import ConfigError, EnvSpec, WIN_REWARD, task_context
from proxmo_jax.rollout.loop import SerialVectorEnv, run_rollout


def config(**fields):
  return ml_collections.ConfigDict(
      {"name": "corridor", "num_train_tasks": 64, "num_eval_tasks": 32, **fields})


@pytest.fixture(scope="module")
def corridor() -> EnvSpec:
  return registry.make(config())


def random_episode(env, task, seed, rng, rewards=None):
  """[(state_id, observation, command)] and the final result of one random-admissible episode;
  each step's reward is appended to `rewards` when given."""
  res = env.reset(task, seed)
  steps = []
  while not res.done:
    cmd = rng.choice(res.admissible_actions)
    steps.append((res.info["state_id"], res.observation, cmd))
    res = env.step(cmd)
    if rewards is not None:
      rewards.append(res.reward)
  return steps, res


# ------------------------------------------------------------------------ registry and tasks


def test_make_builds_the_spec(corridor):
  assert corridor.name == "corridor" and corridor.in_process
  assert len(corridor.train_tasks) == 64 and len(corridor.eval_tasks) == 32
  assert corridor.eval_table.columns() == ["easy", "medium", "hard", "All"]
  assert corridor.eval_table.headline == "All"
  for t in corridor.train_tasks + corridor.eval_tasks:
    assert t.env_name == "corridor" and t.task_type == t.payload.band in tasks.BANDS
  assert {t.task_type for t in corridor.eval_tasks} == set(tasks.BANDS)
  pickle.loads(pickle.dumps((corridor.env_factory, corridor.train_tasks, corridor.agent)))
  assert isinstance(corridor.env_factory(), CorridorEnv)


def test_instances_are_deterministic_and_the_splits_disjoint(corridor):
  again = registry.make(config())
  assert [t.payload for t in again.train_tasks] == [t.payload for t in corridor.train_tasks]
  assert [t.payload for t in again.eval_tasks] == [t.payload for t in corridor.eval_tasks]
  other = registry.make(config(task_seed=1))
  assert [t.payload for t in other.eval_tasks] != [t.payload for t in corridor.eval_tasks]
  train = {t.payload.layout() for t in corridor.train_tasks}
  held_out = {t.payload.layout() for t in corridor.eval_tasks}
  assert len(train) == 64 and len(held_out) == 32 and not train & held_out
  # The held-out set does not depend on how many training instances are drawn.
  more = registry.make(config(num_train_tasks=128))
  assert [t.payload for t in more.eval_tasks] == [t.payload for t in corridor.eval_tasks]


def test_difficulty_map_and_range():
  assert [tasks.num_halls(d) for d in (0, 0.2, 0.5, 1)] == [2, 3, 4, 5]
  assert [tasks.num_doors(d) for d in (0, 0.5, 1)] == [2, 3, 4]
  assert [tasks.band_of(d) for d in (0, 0.34, 0.7, 1.0)] == ["easy", "medium", "hard", "hard"]
  assert tasks.difficulty_range(0.3, 0.0) == (0.3, 0.3)
  assert tasks.difficulty_range(0.5, 1.0) == (0.0, 1.0)
  fixed = tasks.generate(20, 0, "train", 0.3, 0.0)
  assert {i.difficulty for i in fixed} == {0.3}
  inst = tasks.make_instance(0.8, 5)
  assert len(inst.doors) == tasks.num_halls(0.8) and sum(inst.hidden) == tasks.num_hidden(0.8)
  assert all(len(set(d)) == len(d) == tasks.num_doors(0.8) for d in inst.doors)
  assert 0 <= inst.key_room < len(inst.doors) - 1


# ------------------------------------------------------------------------- dynamics, expert


def test_expert_wins_every_instance(corridor):
  env = corridor.env_factory()
  for t in corridor.train_tasks + corridor.eval_tasks:
    first = env.reset(t, 3)
    plan = env.expert_plan()
    assert len(plan) == tasks.expert_length(t.payload.difficulty) <= env.horizon
    res = first
    for k, cmd in enumerate(plan):
      assert cmd in res.admissible_actions
      res = env.step(cmd)
      assert res.done == (k == len(plan) - 1)
    assert res.won and res.reward == WIN_REWARD
    assert task_context(first) == first.info["task"] == render.task_text(t.payload)


def test_steps_follow_the_rules():
  inst = tasks.Instance(seed=1, difficulty=0.5, doors=(("red", "blue"), ("green", "white")),
                        exits=(1, 0), hidden=(True, False), key_room=0, keys=("grey", "black"),
                        key=1)
  task = corridor_spec.to_task(inst, "train", 0)
  env = CorridorEnv(horizon=8, salt=0)
  res = env.reset(task, 0)
  assert "too dim" in res.observation and "blue" not in res.observation.split("sign")[1]
  assert sorted(res.admissible_actions) == ["enter blue door", "enter red door", "read sign",
                                            "take black key", "take grey key"]
  res = env.step("Read  sign.")  # normalised
  assert "A sign says: enter the blue door." in res.observation
  assert "read sign" not in res.admissible_actions
  before = res.info["state_id"]
  res = env.step("dance")
  assert res.info == {"state_id": before, "step": 2, "admissible": False} and not res.done
  res = env.step("take grey key")  # the wrong key: no going back
  assert "You hold the grey key." in res.observation
  assert not any(a.startswith("take") for a in res.admissible_actions)
  res = env.step("enter red door")  # wrong door: back to the first hall, sign unread again
  assert res.observation.startswith("You are in the first hall.") and "too dim" in res.observation
  env.step("read sign")
  res = env.step("enter blue door")
  assert res.observation.startswith("You are in the second hall.")
  res = env.step("enter green door")  # the exit, but the key does not fit
  assert res.done and not res.won and res.reward == 0.0 and "stuck" in res.observation
  with pytest.raises(RuntimeError, match="reset"):
    env.step("enter green door")


def test_horizon_truncates():
  inst = tasks.make_instance(0.0, 2)
  env = CorridorEnv(horizon=3, salt=0)
  res = env.reset(corridor_spec.to_task(inst, "train", 0), 0)
  for k in range(3):
    res = env.step("wait")
  assert res.done and not res.won and res.info["truncated"] and res.admissible_actions == []


# ------------------------------------------------------------------------------ paraphrase


def texts_by_state(tasks_, rate, group_size=8, seed=0):
  """{(task id, state): [texts]} over one group of random episodes per task."""
  rng = random.Random(seed)
  out = collections.defaultdict(list)
  envs = [CorridorEnv(horizon=15, paraphrase_rate=rate, salt=i) for i in range(group_size)]
  for t in tasks_:
    for env in envs:
      for state, obs, _ in random_episode(env, t, 7, rng)[0]:
        out[(t.task_id, state)].append(obs)
  return out


def test_paraphrase_zero_is_a_function_of_the_state(corridor):
  by_state = texts_by_state(corridor.train_tasks[:16], 0.0)
  assert all(len(set(v)) == 1 for v in by_state.values())
  # ... and a one-to-one one: two states of an instance never read the same.
  per_task = collections.defaultdict(list)
  for (task_id, _), v in by_state.items():
    per_task[task_id].append(v[0])
  assert all(len(set(v)) == len(v) for v in per_task.values())


def test_paraphrase_one_almost_never_repeats_and_keeps_the_information(corridor):
  by_state = texts_by_state(corridor.train_tasks[:16], 1.0)
  visits = sum(len(v) for v in by_state.values())
  repeats = sum(len(v) - len(set(v)) for v in by_state.values())
  assert visits > 500 and repeats / visits < 0.05
  world_of = {t.task_id: World(t.payload) for t in corridor.train_tasks[:16]}
  colours = set(tasks.COLOURS)
  for (task_id, state), texts in by_state.items():
    canonical = render.canonical(world_of[task_id], state)
    words = lambda s: collections.Counter(w for w in s.replace(",", " ").replace(".", " ")
                                          .replace("!", " ").replace(":", " ").split()
                                          if w in colours)
    assert all(words(t) == words(canonical) for t in texts)
  assert not any(c in f.lower() for f in render.FILLERS for c in
                 tuple(tasks.COLOURS) + ("door", "key", "sign"))


def test_same_seed_and_salt_give_the_same_texts(corridor):
  task = corridor.train_tasks[5]
  runs = []
  for _ in range(2):
    env = CorridorEnv(horizon=15, paraphrase_rate=0.5, salt=3)
    runs.append(random_episode(env, task, 11, random.Random(4)))
  assert runs[0][0] == runs[1][0]
  env = CorridorEnv(horizon=15, paraphrase_rate=1.0, salt=4)
  other = random_episode(env, task, 11, random.Random(4))[0]
  assert [s for s, _, _ in other] == [s for s, _, _ in runs[0][0]]
  assert [o for _, o, _ in other] != [o for _, o, _ in runs[0][0]]


# ---------------------------------------------------------------------------- exact values


@pytest.mark.parametrize("policy,eps", [("uniform", 0.0), ("epsilon_expert", 0.3)])
def test_exact_values_satisfy_the_bellman_equations(corridor, policy, eps):
  gamma, horizon = 0.95, 15
  for t in corridor.eval_tasks[:8]:
    world = World(t.payload)
    ex = values.exact_values(world, horizon, policy, eps, gamma=gamma)
    assert np.all(ex.v[horizon] == 0.0)
    for s, acts in enumerate(world.actions):
      probs = ex.pi[s, :len(acts)]
      if acts:
        assert math.isclose(probs.sum(), 1.0) and np.all(np.isnan(ex.q[:, s, len(acts):]))
      for step in range(horizon):
        q = []
        for cmd in acts:  # from the edges, independently of the vectorised recursion
          e = world.edges[s][cmd]
          q.append(e.reward + (0.0 if e.done else gamma * ex.v[step + 1, e.next_state]))
        np.testing.assert_allclose(ex.q[step, s, :len(acts)], q, atol=1e-12)
        assert math.isclose(ex.v[step, s], float(np.dot(probs, q)), abs_tol=1e-12)
        np.testing.assert_allclose(ex.advantage[step, s, :len(acts)], np.array(q) - ex.v[step, s],
                                   atol=1e-12)
    assert values.success_probability(world, horizon, "epsilon_expert", 0.0) == 1.0


def test_exact_values_match_monte_carlo_episodes_of_the_env(corridor):
  """V_0 and Q_0 from episodes stepped through the env itself (its info['state_id'] too)."""
  gamma, horizon, n = 0.95, 15, 4000
  task = next(t for t in corridor.eval_tasks if t.task_type == "easy")
  world = World(task.payload)
  ex = values.exact_values(world, horizon, "uniform", gamma=gamma)
  env = CorridorEnv(horizon=horizon, salt=0)
  rng = random.Random(0)
  returns, by_first = [], collections.defaultdict(list)
  for k in range(n):
    rewards = []
    steps, last = random_episode(env, task, k, rng, rewards)
    assert len(rewards) == len(steps) and rewards[-1] == last.reward
    g = sum(r * gamma ** i for i, r in enumerate(rewards))  # the env's own rewards, every step
    returns.append(g)
    by_first[steps[0][2]].append(g)
    assert steps[0][0] == world.initial
  # Tolerance: 4 standard errors; the return lies in [0, 10], so its std is at most 5.
  tol = lambda m: 4 * 5.0 / math.sqrt(m)
  assert abs(np.mean(returns) - ex.v[0, world.initial]) < tol(n)
  for cmd, gs in by_first.items():
    assert abs(np.mean(gs) - ex.q_of(0, world.initial, cmd)) < tol(len(gs))
  # The same against values.sample_episode (the world, without the env).
  np_rng = np.random.default_rng(0)
  sampled = []
  for _ in range(n):
    _, _, rewards = values.sample_episode(world, ex.pi, horizon, np_rng)
    sampled.append(sum(r * gamma ** i for i, r in enumerate(rewards)))
  assert abs(np.mean(sampled) - ex.v[0, world.initial]) < tol(n)


def test_random_success_falls_with_the_band_when_the_spread_is_high():
  spec = registry.make(config(difficulty_spread=1.0, num_eval_tasks=96))
  by_band = collections.defaultdict(list)
  for t in spec.eval_tasks:
    by_band[t.task_type].append(values.success_probability(World(t.payload), 15, "uniform"))
  means = [np.mean(by_band[b]) for b in tasks.BANDS]
  assert means[0] > means[1] > means[2] and means[0] > 0.25 and means[2] < 0.02
  narrow = registry.make(config(difficulty=0.5, difficulty_spread=0.0, num_eval_tasks=16))
  assert {t.task_type for t in narrow.eval_tasks} == {"medium"}


# -------------------------------------------------------------------------- agent and config


def test_agent_prompt_and_protocol(corridor):
  env = corridor.env_factory()
  first = env.reset(corridor.train_tasks[0], 0)
  agent = corridor.agent
  assert agent.history_length == 0 and not agent.choose_admissible
  agent = registry.make(config(history_length=2, num_train_tasks=1, num_eval_tasks=1)).agent
  history = [("obs one", "read sign"), ("obs two", "take red key"), ("obs three", "enter x door")]
  prompt = agent.build_prompt(task_context(first), history, first.observation,
                              first.admissible_actions)
  assert "obs one" not in prompt and "obs two\n> take red key\nobs three" in prompt
  assert prompt.index("Task: ") < prompt.index("Actions: ") < prompt.index(first.observation)
  assert prompt.endswith(first.observation + "\n")
  assert " | ".join(first.admissible_actions) in prompt
  cmd = first.admissible_actions[0]
  assert agent.project(agent.expert_response(cmd), first.admissible_actions) == (cmd, True)


@pytest.mark.parametrize("field,value", [
    ("difficulty", 1.5), ("difficulty_spread", -0.1), ("paraphrase_rate", "high"),
    ("paraphrase_lexical", 2), ("horizon", 0), ("num_train_tasks", 0), ("num_eval_tasks", 2.5),
    ("task_seed", -1), ("history_length", -1), ("prompt", "fancy"), ("choose_admissible", 1),
    ("difficulty_spread", True)])
def test_validate_rejects_bad_knobs(field, value):
  with pytest.raises(ConfigError, match=f"config.env.{field}"):
    registry.validate(config(**{field: value}))


def test_validate_checks_the_horizon_against_the_expert_and_max_steps():
  with pytest.raises(ConfigError, match="horizon=8.*11 steps"):
    registry.validate(config(horizon=8))
  registry.validate(config(horizon=8, difficulty=0.2, difficulty_spread=0.0))
  with pytest.raises(ConfigError, match="max_steps=10 is below config.env.horizon=15"):
    registry.validate(config(max_steps=10))
  registry.validate(config(max_steps=15))


def test_rollout_loop_runs_corridor_groups(corridor):
  """The library's rollout loop with a sampler that answers a random listed command."""
  rng = random.Random(0)
  encode = lambda text: [ord(ch) for ch in text]
  decode = lambda ids: "".join(chr(i) for i in ids)

  def sample_fn(prompts):
    out = []
    for ids in prompts:
      commands = decode(ids).rsplit("Actions: ", 1)[1].strip().split(" | ")
      out.append((encode(corridor.agent.expert_response(rng.choice(commands))), None))
    return out

  envs = SerialVectorEnv([corridor.env_factory() for _ in range(8)])
  groups = [(corridor.train_tasks[0], 0), (corridor.train_tasks[1], 1)]
  episodes, _ = run_rollout(envs, groups, group_size=4, sample_fn=sample_fn,
                            encode_prompt=encode, decode=decode, agent=corridor.agent,
                            max_steps=15)
  assert [e.group for e in episodes] == [0] * 4 + [1] * 4
  for e in episodes:
    assert e.steps and all(s.valid for s in e.steps) and 1 <= len(e.steps) <= 15
    assert e.won == (e.steps[-1].reward == WIN_REWARD)


# ------------------------------------------------------------------ noisy demonstrator (BC)


class _SpyEnv(CorridorEnv):
  """Records, per step, the expert's command, the command taken and the admissible count;
  per episode, whether it was won."""

  def __init__(self, log, **kw):
    super().__init__(**kw)
    self.log = log

  def reset(self, task, seed):
    self.log["episodes"].append(False)
    return super().reset(task, seed)

  def step(self, action):
    self.log["steps"].append((self.world.expert[self.state], action,
                              len(self.world.actions[self.state])))
    res = super().step(action)
    self.log["episodes"][-1] = res.won
    return res


def test_noisy_demonstrator_is_the_epsilon_expert(corridor):
  """expert_steps(noise=eps) follows pi = (1 - eps) expert + eps uniform(admissible): its
  win frequency matches values.success_probability(..., "epsilon_expert", eps) and its
  agreement with the expert matches sum_t (1 - eps + eps / n_t), both within 4 binomial sigma."""
  from proxmo_jax.training import behavior_cloning
  eps, n_episodes = 0.3, 400
  task = next(t for t in corridor.train_tasks if t.payload.band == "medium")
  log = {"episodes": [], "steps": []}
  factory = lambda: _SpyEnv(log)
  pairs = behavior_cloning.expert_steps([task] * n_episodes, corridor.agent, factory,
                                        noise=eps, seed=0)
  assert len(pairs) == len(log["steps"]) and len(log["episodes"]) == n_episodes
  for (prompt, cmd), (_, taken, _) in zip(pairs, log["steps"]):
    assert cmd == taken and cmd in prompt.rsplit("Actions: ", 1)[1].split("\n")[0].split(" | ")
  p_win = values.success_probability(World(task.payload), 15, "epsilon_expert", eps)
  wins = sum(log["episodes"])
  assert 0.05 < p_win < 0.95
  assert abs(wins - n_episodes * p_win) <= 4 * math.sqrt(n_episodes * p_win * (1 - p_win))
  agree = sum(e == a for e, a, _ in log["steps"])
  p_agree = [1 - eps + eps / n for _, _, n in log["steps"]]
  var = sum(p * (1 - p) for p in p_agree)
  assert abs(agree - sum(p_agree)) <= 4 * math.sqrt(var)
  # Deterministic per seed; noise 0 is the expert's walkthrough.
  again = behavior_cloning.expert_steps([task] * n_episodes, corridor.agent,
                                        corridor.env_factory, noise=eps, seed=0)
  assert again == pairs
  clean = behavior_cloning.expert_steps([task], corridor.agent, corridor.env_factory)
  env = corridor.env_factory()
  env.reset(task, 0)
  assert [c for _, c in clean] == env.expert_plan()


def test_dart_labels_record_the_experts_command_at_every_state_reached(corridor):
  """labels="expert": the episode follows the noisy demonstrator (the same commands taken as
  with labels="taken", seed for seed), but each step records the expert's command from that
  state; horizon cuts every noisy demonstration at that many steps."""
  from proxmo_jax.training import behavior_cloning
  task = next(t for t in corridor.train_tasks if t.payload.band == "medium")
  logs = {name: {"episodes": [], "steps": []} for name in behavior_cloning.LABELS}
  pairs = {name: behavior_cloning.expert_steps(
      [task] * 40, corridor.agent, lambda log=logs[name]: _SpyEnv(log), noise=0.3, seed=0,
      labels=name) for name in behavior_cloning.LABELS}
  assert logs["taken"] == logs["expert"]  # the same episodes
  steps = logs["expert"]["steps"]
  assert [c for _, c in pairs["expert"]] == [e for e, _, _ in steps]
  assert [c for _, c in pairs["taken"]] == [a for _, a, _ in steps]
  assert [p for p, _ in pairs["expert"]] == [p for p, _ in pairs["taken"]]
  assert sum(e != a for e, a, _ in steps) > 0  # detours happened, and were relabelled
  lengths = []

  class Counting(CorridorEnv):
    def reset(self, task, seed):
      lengths.append(0)
      return super().reset(task, seed)

    def step(self, action):
      lengths[-1] += 1
      return super().step(action)

  short = behavior_cloning.expert_steps([task] * 40, corridor.agent, Counting, noise=0.3,
                                        seed=0, labels="expert", horizon=3)
  assert len(short) == sum(lengths) and max(lengths) == 3 and len(lengths) == 40
  with pytest.raises(ValueError, match="labels"):
    behavior_cloning.expert_steps([task], corridor.agent, corridor.env_factory, noise=0.3,
                                  labels="teacher")


def test_noisy_demonstrator_needs_an_expert_for_any_state(corridor):
  from environments.interface import TextEnv
  from proxmo_jax.training import behavior_cloning

  class WalkthroughOnly(TextEnv):
    def reset(self, task, seed):
      return corridor.env_factory().reset(task, seed)

    def step(self, action):
      raise AssertionError("not reached")

    def expert_plan(self):
      return ["read sign"]

  with pytest.raises(NotImplementedError, match="expert_noise=0"):
    behavior_cloning.expert_steps(corridor.train_tasks[:1], corridor.agent, WalkthroughOnly,
                                  noise=0.2)
  with pytest.raises(ValueError, match=r"\[0, 1\)"):
    behavior_cloning.expert_steps(corridor.train_tasks[:1], corridor.agent,
                                  corridor.env_factory, noise=1.0)
