"""Exact values of a corridor instance under a fixed behaviour policy, by backward induction.

The dynamics are deterministic (world.py): command a in state s leads to s' = next(s, a) with
reward r(s, a) (10 on WIN, else 0) and ends the episode at WIN / STUCK. An episode is truncated
after H = horizon steps, so values depend on the step t:

    V_H(s) = 0,   V_t(terminal) = 0
    Q_t(s, a) = r(s, a) + gamma * [s' not terminal] * V_{t+1}(s')
    V_t(s)    = sum_a pi(a | s) Q_t(s, a),        A_t(s, a) = Q_t(s, a) - V_t(s)

with a ranging over the admissible commands of s in `world.actions[s]` order (Q is NaN past a
state's last command). With gamma = 1 and win_reward = 1, V_0(initial) is the policy's success
probability. Policies (rows of pi: f64[S, A_max], zero past the last command):

    uniform            pi(a | s) = 1 / |actions(s)|
    epsilon_expert     pi = (1 - eps) * onehot(expert(s)) + eps * uniform

`sample_episode` draws one episode of (state, action index, reward) for Monte-Carlo checks; a
StepResult's info["state_id"] and info["step"] index these arrays for episodes of the env.
"""

from __future__ import annotations

import dataclasses
from typing import Union

import numpy as np

from environments.corridor.world import WIN_REWARD, World


@dataclasses.dataclass
class ExactValues:
  """v: f64[H + 1, S]; q, a: f64[H, S, A_max] (NaN past a state's commands); pi: f64[S, A_max]."""
  v: np.ndarray
  q: np.ndarray
  pi: np.ndarray
  world: World

  @property
  def advantage(self) -> np.ndarray:
    return self.q - self.v[:-1, :, None]

  def q_of(self, t: int, state: int, command: str) -> float:
    return float(self.q[t, state, self.world.actions[state].index(command)])

  def advantage_of(self, t: int, state: int, command: str) -> float:
    """A_t(s, a) of the step taken at t (0-based) from `state` with `command`."""
    return self.q_of(t, state, command) - float(self.v[t, state])


def max_actions(world: World) -> int:
  return max(len(a) for a in world.actions)


def policy_matrix(world: World, policy: Union[str, np.ndarray] = "uniform",
                  epsilon: float = 0.1) -> np.ndarray:
  """f64[S, A_max] rows of the named behaviour policy (module docstring), or `policy` itself."""
  if isinstance(policy, np.ndarray):
    return policy
  pi = np.zeros((world.num_states, max_actions(world)))
  for s, acts in enumerate(world.actions):
    if not acts:
      continue
    uniform = np.full(len(acts), 1.0 / len(acts))
    if policy == "uniform":
      pi[s, :len(acts)] = uniform
    elif policy == "epsilon_expert":
      row = epsilon * uniform
      row[acts.index(world.expert[s])] += 1.0 - epsilon
      pi[s, :len(acts)] = row
    else:
      raise ValueError(f"policy={policy!r}: use 'uniform', 'epsilon_expert' or an f64[S, A] "
                       "array.")
  return pi


def transition_arrays(world: World, win_reward: float = WIN_REWARD):
  """(next i64[S, A], reward f64[S, A], continues f64[S, A], valid bool[S, A])."""
  s_n, a_n = world.num_states, max_actions(world)
  nxt = np.zeros((s_n, a_n), np.int64)
  rew = np.zeros((s_n, a_n))
  cont = np.zeros((s_n, a_n))
  valid = np.zeros((s_n, a_n), bool)
  for s, acts in enumerate(world.actions):
    for i, cmd in enumerate(acts):
      e = world.edges[s][cmd]
      nxt[s, i], valid[s, i] = e.next_state, True
      rew[s, i] = win_reward if e.reward > 0 else 0.0
      cont[s, i] = 0.0 if e.done else 1.0
  return nxt, rew, cont, valid


def exact_values(world: World, horizon: int, policy: Union[str, np.ndarray] = "uniform",
                 epsilon: float = 0.1, gamma: float = 0.95,
                 win_reward: float = WIN_REWARD) -> ExactValues:
  """Backward induction over (t, s) (module docstring)."""
  pi = policy_matrix(world, policy, epsilon)
  nxt, rew, cont, valid = transition_arrays(world, win_reward)
  v = np.zeros((horizon + 1, world.num_states))
  q = np.full((horizon, world.num_states, nxt.shape[1]), np.nan)
  for t in range(horizon - 1, -1, -1):
    qt = rew + gamma * cont * v[t + 1][nxt]
    v[t] = np.sum(np.where(valid, pi * qt, 0.0), axis=1)
    q[t] = np.where(valid, qt, np.nan)
  return ExactValues(v=v, q=q, pi=pi, world=world)


def success_probability(world: World, horizon: int, policy="uniform", epsilon=0.1) -> float:
  """P(win within `horizon` steps) under the policy, exactly."""
  return float(exact_values(world, horizon, policy, epsilon, gamma=1.0, win_reward=1.0)
               .v[0, world.initial])


def sample_episode(world: World, pi: np.ndarray, horizon: int, rng: np.random.Generator):
  """One episode from the reset state: (states, action indices, rewards), one entry per step."""
  s, states, acts, rewards = world.initial, [], [], []
  for _ in range(horizon):
    n = len(world.actions[s])
    a = int(rng.choice(n, p=pi[s, :n] / pi[s, :n].sum()))
    e = world.edges[s][world.actions[s][a]]
    states.append(s)
    acts.append(a)
    rewards.append(e.reward)
    s = e.next_state
    if e.done:
      break
  return states, acts, rewards
