"""The text MDP's exact values and the fidelity benchmark's plumbing."""

import numpy as np

from proxmo_jax.analysis import fidelity, text_mdp


def test_exact_value_matches_monte_carlo():
  task = text_mdp.make_task(text_mdp.DIFFICULTIES["easy"], seed=3)
  q, v = task.exact_values()
  rng = np.random.default_rng(0)
  pi, p = task.policy(), task.transition()
  returns = []
  for _ in range(4000):
    _, _, rewards = task.rollout(rng, pi, p)
    returns.append(sum(r * task.gamma ** t for t, r in enumerate(rewards)))
  # Returns lie in [0, 10]: 4000 samples give a standard error below 10 / (2 sqrt(4000)) = 0.08.
  assert abs(np.mean(returns) - v[0, task.start]) < 4 * 0.08
  # Q from one-step look-aheads written out state by state (the rollout's rules: reward 10 on
  # entering the goal, which ends the episode), independently of the vectorised recursion.
  assert np.all(v[task.horizon] == 0.0)
  for t in range(task.horizon):
    for s in range(task.num_states):
      for a in range(4):
        want = 0.0
        for s2 in range(task.num_states):
          if p[s, a, s2] > 0.0:
            win = s2 == task.goal
            want += p[s, a, s2] * ((text_mdp.WIN if win else 0.0)
                                   + (0.0 if win else task.gamma * v[t + 1, s2]))
        assert abs(q[t, s, a] - want) < 1e-9
      assert abs(v[t, s] - float(np.dot(pi[s], q[t, s]))) < 1e-9


def test_observations_alias_and_share_words():
  task = text_mdp.make_task(text_mdp.DIFFICULTIES["hard"], seed=0)
  assert len(task.observations) == 25
  assert all(o.startswith("You are in the ") for o in task.observations)


def test_fidelity_rows_for_every_estimator():
  rows = fidelity.evaluate("easy", group_size=4, num_tasks=3, iterations=2)
  assert [r.estimator for r in rows] == [e[0] for e in fidelity.ESTIMATORS]
  for r in rows:
    assert -1.0 <= r.corr_mean <= 1.0 and 0.0 <= r.sign <= 1.0
  by = {r.estimator: r for r in rows}
  # Step-level estimators see the decision; episode-level ones only the outcome.
  assert by["gigpo (mean_norm)"].sign > by["grpo"].sign
