"""The fast ALFWorld engine gives exactly the plain engine's steps, and caches what it should."""

import dataclasses
import random

import pytest

from environments.alfworld import engine, fast_engine, generator as G
from environments.alfworld import env as env_lib
from environments.interface import Task

# Small rooms keep the plain engine (the reference) quick: a bathroom clean task (takes, cleans,
# moves) and a bedroom look task (a lamp whose "use" toggles it through conditional effects; the
# grammar reads the `not_istoggled` facts that only a toggle back creates).
GAMES = [("pick_clean_then_place_in_recep", 404, 7), ("look_at_obj_in_light", 303, 7)]
INVALID = ["jump", "go to the moon", "take everything", ""]


@pytest.fixture(scope="module")
def games(tmp_path_factory):
  """[(Task, walkthrough)] for GAMES, each solved by the (patched) hand-coded expert."""
  root = str(tmp_path_factory.mktemp("alfworld_fast"))
  out = []
  for task_type, floorplan, seed in GAMES:
    game = G.build_game(floorplan, task_type, seed)
    directory = G.game_dir(root, floorplan, task_type, seed)
    path = G.write_game(game, directory)
    won, walkthrough = engine.run_expert(path)
    assert won, f"expert failed on {task_type} FloorPlan{floorplan}"
    G.write_game(game, directory, walkthrough=walkthrough, solvable=True)
    out.append((Task("alfworld", directory, task_type, payload=path), walkthrough))
  return out


def _fields(result):
  return dataclasses.asdict(result)


def _play(env, task, commands):
  """Every field of the reset result and of each step's result."""
  return [_fields(env.reset(task, seed=0))] + [_fields(env.step(cmd)) for cmd in commands]


def _random_episode(rng, task, walkthrough, length, env):
  """(commands, results) of one episode on `env`, the commands mixing an expert prefix, random
  admissible ones, invalid ones, earlier ones and padded ones."""
  results = [env.reset(task, seed=0)]
  cmds = []
  prefix = rng.randrange(len(walkthrough) + 1)
  for t in range(length):
    u, admissible = rng.random(), results[-1].admissible_actions
    if t < prefix:
      cmd = walkthrough[t]
    elif u < 0.15:
      cmd = rng.choice(INVALID)
    elif u < 0.25 and cmds:
      cmd = rng.choice(cmds)  # an earlier command: often valid again, sometimes not
    elif u < 0.3:
      cmd = "  " + rng.choice(admissible) + " "
    else:
      cmd = rng.choice(admissible)
    cmds.append(cmd)
    results.append(env.step(cmd))
  return cmds, [_fields(r) for r in results]


def test_expert_walkthroughs_match_the_plain_engine(games):
  plain, fast = env_lib.AlfworldEnv(engine="plain"), env_lib.AlfworldEnv()
  for task, walkthrough in games:
    toggles = [cmd for cmd in walkthrough if cmd.startswith("use ")] * 2
    assert toggles or task.task_type != "look_at_obj_in_light"
    episode = walkthrough + ["look", "inventory", "jump"] + toggles  # and on past the win
    expected = _play(plain, task, episode)
    assert expected[len(walkthrough)]["won"] and expected[len(walkthrough)]["reward"] == 10.0
    assert _play(fast, task, episode) == expected
    assert _play(fast, task, episode) == expected  # now every transition is cached
  plain.close()
  fast.close()


def test_random_sequences_match_the_plain_engine(games):
  """Random episodes on the plain engine and on a fast env; then two fast envs sharing the
  game step in turn through different episodes (the shared engine moves between their states,
  and the first one's transitions are all cached)."""
  rng = random.Random(0)
  plain = env_lib.AlfworldEnv(engine="plain")
  fast_a, fast_b = env_lib.AlfworldEnv(), env_lib.AlfworldEnv()
  for task, walkthrough in games:
    episodes = [_random_episode(rng, task, walkthrough, 14, plain) for _ in range(2)]
    for cmds, expected in episodes:
      assert _play(fast_a, task, cmds) == expected
    game = fast_engine.process_cache().get(task.payload)
    hits = game.stats["hits"]
    for cmds, expected in episodes:
      other = list(reversed(cmds))
      expected_b = _play(plain, task, other)
      got_a, got_b = [_fields(fast_a.reset(task, 0))], [_fields(fast_b.reset(task, 0))]
      for ca, cb in zip(cmds, other):
        got_a.append(_fields(fast_a.step(ca)))
        got_b.append(_fields(fast_b.step(cb)))
      assert got_a == expected and got_b == expected_b
    assert game.stats["hits"] > hits
  for env in (plain, fast_a, fast_b):
    env.close()


def test_games_load_once_per_process_and_reset_from_a_snapshot(games):
  task, walkthrough = games[0]
  cache = fast_engine.process_cache()
  env_a, env_b = env_lib.AlfworldEnv(), env_lib.AlfworldEnv()
  env_a.reset(task, 0)
  loads = cache.loads
  game = cache.get(task.payload)
  for seed in range(3):  # new episodes and a second env: no load, the same initial node
    first = env_b.reset(task, seed)
    assert env_b._node is game.root and first.observation.startswith("-= Welcome")
  assert cache.loads == loads
  # The same state reached twice is the same node: the key is exact and interned.
  for cmd in walkthrough:
    env_a.step(cmd)
  node = env_a._node
  env_a.reset(task, 1)
  for cmd in walkthrough:
    env_a.step(cmd)
  assert env_a._node is node and node.won
  env_a.close()
  env_b.close()


def test_state_key_is_exact_and_the_caches_are_bounded(games):
  task, walkthrough = games[1]
  game = fast_engine.FastGame(task.payload, max_entries=8)
  _, node = game.reset()
  steps, decoded = [], 0
  for cmd in walkthrough:
    misses = game.stats["misses"]
    feedback, node = game.step(node, cmd)
    steps.append((feedback, node.key))
    assert game.num_entries <= 8  # cleared when a step goes past the bound
    if game.stats["misses"] > misses:  # the engine ran: the key decodes to exactly its facts
      facts = {game._bit_fact[i] for i, b in enumerate(bin(node.key[1])[:1:-1]) if b == "1"}
      assert facts == set(game._state.facts)
      decoded += 1
  assert decoded > 0  # the check above ran (24 or 25 of 25 steps miss, by the process's history)
  assert node.won and game.stats["clears"] > 0
  # After clears the same walkthrough gives the same texts and states, and ends won.
  _, node = game.reset()
  for cmd, step in zip(walkthrough, steps):
    feedback, node = game.step(node, cmd)
    assert (feedback, node.key) == step
  assert node.won
  # An unknown command changes nothing and is not cached.
  entries = game.num_entries
  assert game.step(node, "dance") == (fast_engine.NOTHING_HAPPENS, node)
  assert game.num_entries == entries


def _expert_episode(env, task, seed):
  random.seed(seed)  # the hand-coded expert draws from the global RNG when it is stuck
  results = [env.reset(task, seed)]
  while not results[-1].done and len(results) < 60:
    results.append(env.step(results[-1].info["expert_action"] or "look"))
  return [_fields(r) for r in results]


def test_expert_env_resets_from_a_snapshot_like_the_plain_engine(games):
  """`expert=True` runs the TextWorld stack; its snapshot resets give what re-translation
  gives, expert actions included, and the expert wins every episode."""
  task, _ = games[0]
  snapshot, plain = env_lib.AlfworldEnv(expert=True), env_lib.AlfworldEnv(expert=True,
                                                                           engine="plain")
  for seed in range(2):  # the second episode starts from the restored snapshot
    episode = _expert_episode(snapshot, task, seed)
    assert episode == _expert_episode(plain, task, seed)
    assert episode[-1]["won"], f"expert episode {seed} not won"
  snapshot.close()
  plain.close()


def test_unknown_engine_is_a_named_error():
  with pytest.raises(ValueError, match="engine"):
    env_lib.AlfworldEnv(engine="turbo")


def test_game_cache_drops_least_recently_used_and_worn_out_games(games):
  (task_a, walk_a), (task_b, _) = games
  cache = fast_engine.GameCache(max_games=1, max_states=3)
  game_a = cache.get(task_a.payload)
  assert cache.get(task_a.payload) is game_a and cache.loads == 1
  cache.get(task_b.payload)  # evicts a; a game still held keeps working
  assert len(cache) == 1 and cache.loads == 2
  _, node = game_a.reset()
  for cmd in walk_a:
    _, node = game_a.step(node, cmd)
  assert node.won and game_a.worn_out  # more states than max_states: the next get reloads it
  assert cache.get(task_a.payload) is not game_a and cache.loads == 3
  with pytest.raises(ValueError, match="max_games"):
    fast_engine.GameCache(max_games=0)


def test_noisy_demonstrations_relabel_detours_with_the_live_expert(games):
  """The live expert (`expert=True`) answers from the states a random command led to: a DART
  demonstration (noise 0.3, labels="expert") records the expert's command of every state it
  reached, is the same again for the same seed (the expert's own random draws are seeded by
  the reset), and stops at the horizon. The fast engine has no live expert, and says so."""
  import functools
  from environments.alfworld.prompts import AlfworldAgent
  from proxmo_jax.training import behavior_cloning
  tasks = [t for t, _ in games] * 2
  agent = AlfworldAgent(compact=True)
  log = []

  class Spy(env_lib.AlfworldEnv):
    def __init__(self):
      super().__init__(expert=True)

    def reset(self, task, seed):
      log.append([])
      return super().reset(task, seed)

    def step(self, action):
      log[-1].append((self.expert_action(), action))
      return super().step(action)

  pairs = behavior_cloning.expert_steps(tasks, agent, Spy, noise=0.3, seed=0, labels="expert",
                                        horizon=12)
  steps = [s for episode in log for s in episode]
  assert [c for _, c in pairs] == [e for e, _ in steps]
  assert any(e != a for e, a in steps)  # detours, each recorded as the expert's command
  assert len(log) == 4 and max(len(episode) for episode in log) <= 12
  again = behavior_cloning.expert_steps(
      tasks, agent, functools.partial(env_lib.AlfworldEnv, expert=True), noise=0.3, seed=0,
      labels="expert", horizon=12)
  assert again == pairs
  with pytest.raises(NotImplementedError, match="expert=True"):
    env_lib.AlfworldEnv().expert_action()
