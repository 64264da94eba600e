"""WebShop sanity benchmark: oracle vs random policy, retrieval recall and search latency.

    python experiments/bench_webshop.py                      # generated 1000-product catalog
    python experiments/bench_webshop.py --data_dir DIR       # official files in DIR

Prints, over the test goals (indices [0, test_size) of the fixed goal order): the oracle's and a
random policy's success rate (score exactly 1.0) and mean score within 15 steps, the rank of
the target when the instruction is searched (recall@10 / @50), and the search latency per query.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from environments.webshop import catalog as catalog_lib
from environments.webshop import data, generator, policies


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--data_dir", default="", help="official files; empty = generate")
  parser.add_argument("--num_products", type=int, default=1000)
  parser.add_argument("--seed", type=int, default=0, help="catalog generator seed")
  parser.add_argument("--max_steps", type=int, default=15)
  parser.add_argument("--test_size", type=int, default=500)
  args = parser.parse_args()

  t0 = time.perf_counter()
  if args.data_dir:
    cat = data.load_catalog(args.data_dir)
  else:
    cat = catalog_lib.build_catalog(*generator.generate_catalog(args.num_products, args.seed))
  print(f"catalog: {len(cat.products)} products, {len(cat.goals)} goals, built with its search "
        f"index in {time.perf_counter() - t0:.2f} s")
  test = list(cat.split("test", args.test_size))

  queries = [cat.goals[i].instruction_text.lower() for i in test]
  cat.search.search(queries[0])  # warm
  lat, ranks = [], []
  for i, q in zip(test, queries):
    t = time.perf_counter()
    hits = cat.search.search(q)
    lat.append(1e3 * (time.perf_counter() - t))
    ranks.append(hits.index(cat.goals[i].asin) if cat.goals[i].asin in hits else 10**6)
  ranks = np.array(ranks)
  print(f"search latency per query over {len(lat)} instructions: mean {statistics.mean(lat):.3f}"
        f" ms, median {statistics.median(lat):.3f} ms, p95 {np.percentile(lat, 95):.3f} ms")
  print(f"target retrieval: recall@10 {np.mean(ranks < 10):.3f}, recall@50 "
        f"{np.mean(ranks < 50):.3f}")

  print(f"\n| policy (test goals: {len(test)}, <= {args.max_steps} steps) | success (score 1.0) "
        "| mean score |\n|---|---|---|")
  for name in ("oracle", "random"):
    s = policies.run_policy(cat, test, name, args.max_steps)
    print(f"| {name} | {100 * np.mean(s == 1.0):.1f} % | {s.mean():.3f} |")


if __name__ == "__main__":
  main()
