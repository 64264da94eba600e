"""The rollout and advantage metrics over several hosts equal the metrics of all their rows on one.

Two threads stand for two hosts; their `sum_fn` is an all-reduce over a barrier (what
`multihost.sum_over_processes` does across processes)."""

import threading
import types

import numpy as np
import pytest

from proxmo_jax.training import metrics


def _all_reduce_pair():
  """Two `sum_fn`s, one per simulated host: each call waits for the other host's call and
  returns the sum of both vectors."""
  barrier, slots = threading.Barrier(2), [None, None]

  def sum_fn_of(host):
    def sum_fn(values):
      slots[host] = np.asarray(values, np.float64)
      barrier.wait()
      total = slots[0] + slots[1]
      barrier.wait()  # both have read the slots before either writes its next vector
      return total
    return sum_fn
  return sum_fn_of(0), sum_fn_of(1)


def _on_two_hosts(fn, args_a, args_b):
  """fn(*args, sum_fn=...) on both simulated hosts at once: (host a's result, host b's)."""
  sum_a, sum_b = _all_reduce_pair()
  results = [None, None]

  def run(i, args, sum_fn):
    results[i] = fn(*args, sum_fn=sum_fn)
  threads = [threading.Thread(target=run, args=(0, args_a, sum_a), daemon=True),
             threading.Thread(target=run, args=(1, args_b, sum_b), daemon=True)]
  for t in threads:
    t.start()
  for t in threads:
    t.join(timeout=60)
  assert not any(t.is_alive() for t in threads), "a simulated host waits for a sum forever"
  return results


def _advantages(rng, rows):
  values = rng.normal(size=(3, rows)).astype(np.float32)
  values[:, ::3] = 0.0  # every third row has no advantage
  return types.SimpleNamespace(episode=values[0], step=values[1], total=values[2])


def test_advantage_metrics_over_two_hosts_are_those_of_all_rows():
  rng = np.random.default_rng(0)
  a, b = _advantages(rng, 7), _advantages(rng, 5)
  valid_a = np.asarray([1, 1, 1, 1, 1, 0, 0], bool)  # padding rows at the end
  valid_b = np.asarray([1, 1, 1, 0, 0], bool)
  both = types.SimpleNamespace(**{
      k: np.concatenate([getattr(a, k)[valid_a], getattr(b, k)[valid_b]])
      for k in ("episode", "step", "total")})
  one = metrics.advantage_metrics(both, np.ones(8, bool))
  got_a, got_b = _on_two_hosts(metrics.advantage_metrics, (a, valid_a), (b, valid_b))
  assert got_a == got_b
  # float64 sums of 8 float32 values in another order: agreement to a few float64 ulps.
  assert got_a == pytest.approx(one, rel=1e-12, abs=1e-15)
  # The one-host figures are numpy's population mean and std of the real rows.
  x = both.total.astype(np.float64)
  assert one["adv/total_mean"] == pytest.approx(x.mean(), rel=1e-12)
  assert one["adv/total_std"] == pytest.approx(x.std(), rel=1e-12)
  assert one["adv/total_nonzero"] == np.mean(np.abs(x) > 1e-6) == 5 / 8
  # A host whose rows are all padding takes part and adds nothing.
  got_a, got_b = _on_two_hosts(metrics.advantage_metrics, (a, valid_a),
                               (b, np.zeros(5, bool)))
  assert got_a == got_b == pytest.approx(
      metrics.advantage_metrics(a, valid_a), rel=1e-12, abs=1e-15)
  assert metrics.advantage_metrics(a, np.zeros(7, bool)) == {}


def _episode(task_type, won, lengths_valid, score=0.0, truncated=False):
  steps = [types.SimpleNamespace(valid=ok, response_ids=[0] * n) for n, ok in lengths_valid]
  return types.SimpleNamespace(task=types.SimpleNamespace(task_type=task_type), won=won,
                               length=len(steps), steps=steps, truncated=truncated,
                               info={"task_score": score})


def test_rollout_metrics_over_two_hosts_are_those_of_all_episodes():
  host_a = [_episode("red", True, [(3, True), (4, True)], 1.0),
            _episode("red", False, [(2, False), (5, True), (1, True)], 0.25, truncated=True)]
  host_b = [_episode("blue", True, [(6, True)], 0.5)]
  kinds = ["blue", "red"]
  one = metrics.rollout_metrics(host_a + host_b, "task_score", task_types=kinds)
  got_a, got_b = _on_two_hosts(metrics.rollout_metrics, (host_a, "task_score", kinds),
                               (host_b, "task_score", kinds))
  assert got_a == got_b == one
  assert one["success_rate"] == pytest.approx(2 / 3)
  assert one["invalid_rate"] == pytest.approx(1 / 6)
  assert one["truncated_rate"] == pytest.approx(1 / 3)
