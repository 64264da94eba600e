"""Benchmark: the full ProxMO advantage (returns + episode + step) in JAX vs dense NumPy.

    python experiments/bench_advantages.py [--sizes 16x8x10,16x8x50,64x8x50] [--repeats 20]

For each (groups x trajectories x steps) it builds a synthetic ALFWorld-like batch, fits the
reference TF-IDF features on the host (timed separately), and times in the same process:
  * jax:   `compute_advantages("proxmo", batch)` after compilation (median over repeats);
  * grpo:  `compute_advantages("grpo", batch)`, for the overhead of ProxMO over GRPO;
  * dense: `dense_numpy.proxmo_dense`, the dense B x B formulation of the reference.
Peak memory is the growth of the process's resident set while the call runs (sampled), and for
JAX also XLA's own count of the compiled program's temporaries + outputs. Ratios are dense / jax.
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time

import jax
import numpy as np

from proxmo_jax.advantages import (AdvantageConfig, build_trajectory_batch,
                                   compute_advantages, dense_numpy, registry, synthetic)
from proxmo_jax.proximity import tfidf


def _rss_bytes() -> int:
  with open("/proc/self/statm") as f:
    return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
  """Context manager: peak resident-set growth (bytes) over its body, sampled every ms."""

  def __enter__(self):
    self.base = _rss_bytes()
    self.peak = self.base
    self._stop = threading.Event()
    self._thread = threading.Thread(target=self._poll, daemon=True)
    self._thread.start()
    return self

  def _poll(self):
    while not self._stop.is_set():
      self.peak = max(self.peak, _rss_bytes())
      time.sleep(0.001)

  def __exit__(self, *exc):
    self._stop.set()
    self._thread.join()
    self.peak = max(self.peak, _rss_bytes())
    self.extra = self.peak - self.base


def _median_ms(fn, repeats):
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    fn()
    times.append((time.perf_counter() - t0) * 1e3)
  return statistics.median(times)


def run(sizes, repeats, dense_limit, pad_features=None):
  rows = []
  for g, n, t in sizes:
    trajs = synthetic.alfworld_like_trajectories(g, n, t, seed=0)
    t0 = time.perf_counter()
    featurizer = lambda x: tfidf.tfidf_features(x, pad_to=pad_features)
    batch, texts = build_trajectory_batch(trajs, featurizer=featurizer)
    build_ms = (time.perf_counter() - t0) * 1e3
    b = len(texts)
    cfg = AdvantageConfig()
    prox = lambda: compute_advantages("proxmo", batch, cfg).total.block_until_ready()
    grpo = lambda: compute_advantages("grpo", batch, cfg).total.block_until_ready()
    prox(), grpo()  # compile
    with PeakRSS() as mem_jax:
      prox()
    compiled = registry._jitted.lower(batch, "proxmo", cfg).compile()
    ma = compiled.memory_analysis()
    xla_mib = (ma.temp_size_in_bytes + ma.output_size_in_bytes) / 2 ** 20 if ma else float("nan")
    jax_ms = _median_ms(prox, repeats)
    grpo_ms = _median_ms(grpo, repeats)
    dense_ms = dense_mib = float("nan")
    if b <= dense_limit:
      args = (np.asarray(batch.group_ids)[:b], np.asarray(batch.traj_ids)[:b],
              np.asarray(batch.rewards)[:b], np.asarray(batch.invalid_action)[:b],
              np.asarray(batch.features)[:b])
      t0 = time.perf_counter()
      with PeakRSS() as mem_dense:
        out = dense_numpy.proxmo_dense(*args)
      first_ms = (time.perf_counter() - t0) * 1e3
      dense_mib = mem_dense.extra / 2 ** 20
      np.testing.assert_allclose(np.asarray(compute_advantages("proxmo", batch, cfg).total)[:b],
                                 out[2], atol=1e-3)  # same numbers (float32 both)
      # Repeat the slow baseline only while it stays within ~5 s in all.
      dense_ms = _median_ms(lambda: dense_numpy.proxmo_dense(*args),
                            max(1, min(repeats, int(5000 / first_ms))))
    rows.append(dict(shape=f"{g}x{n}x{t}", B=b, padded=batch.size, F=batch.features.shape[1],
                     featurize_ms=build_ms, jax_ms=jax_ms, grpo_ms=grpo_ms, dense_ms=dense_ms,
                     speedup=dense_ms / jax_ms, jax_rss_mib=mem_jax.extra / 2 ** 20,
                     jax_xla_mib=xla_mib, dense_rss_mib=dense_mib))
  return rows


def print_table(rows):
  head = ("| shape (GxnxT) | B | F | build+TF-IDF ms | ProxMO jax ms | GRPO jax ms | dense NumPy ms "
          "| dense/jax | jax peak RSS MiB | jax XLA temp+out MiB | dense peak RSS MiB |")
  print(head)
  print("|---" * (head.count("|") - 1) + "|")
  for r in rows:
    print(f"| {r['shape']} | {r['B']} | {r['F']} | {r['featurize_ms']:.0f} | {r['jax_ms']:.2f} | "
          f"{r['grpo_ms']:.2f} | {r['dense_ms']:.0f} | {r['speedup']:.1f}x | "
          f"{r['jax_rss_mib']:.0f} | {r['jax_xla_mib']:.0f} | {r['dense_rss_mib']:.0f} |")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--sizes", default="16x8x10,16x8x50,64x8x50")
  parser.add_argument("--repeats", type=int, default=20)
  parser.add_argument("--pad_features", type=int, default=None,
                      help="feature width (default: vocabulary bucket; 1024 = reference cap).")
  parser.add_argument("--dense_limit", type=int, default=25600,
                      help="skip the dense baseline above this many samples (it needs O(B^2)).")
  args = parser.parse_args()
  sizes = [tuple(int(v) for v in s.split("x")) for s in args.sizes.split(",")]
  print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {os.cpu_count()} cpu(s)")
  print_table(run(sizes, args.repeats, args.dense_limit, args.pad_features))


if __name__ == "__main__":
  main()
