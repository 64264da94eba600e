"""A loaded WebShop catalog: products, hidden prices, goals in their fixed order, search index.

`build_catalog` follows the original's Python `random` call order with one private generator
(bit-identical goal sets and prices for the same data and seed): seed -> hidden prices in
product order -> one price-cap draw per goal product -> reseed -> shuffle the goals. The goal
order, hence the index splits, is fixed by `seed` alone: every worker that loads the same files
with the same seed sees the same goals at the same indices.
"""

from __future__ import annotations

import dataclasses
import random
from typing import Mapping, Optional, Sequence

from environments.webshop import goals as goals_lib
from environments.webshop.products import Product, hidden_prices, load_products
from environments.webshop.search import SearchEngine

DEFAULT_GOAL_SEED = 42


@dataclasses.dataclass
class Catalog:
  products: list[Product]
  prices: dict[str, float]                 # asin -> hidden true price
  goals: list[goals_lib.Goal]              # shuffled; splits are index ranges
  search: SearchEngine
  by_asin: dict[str, Product] = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    self.by_asin = {p.asin: p for p in self.products}

  def product(self, asin: str) -> Product:
    return self.by_asin[asin]

  def split(self, name: str, test_size: int = 500) -> range:
    return goals_lib.split_indices(len(self.goals), name, test_size)


def build_catalog(raw_items: Sequence[Mapping], attrs: Mapping[str, Mapping],
                  human: Optional[Mapping[str, list]] = None, human_goals: bool = False,
                  seed: int = DEFAULT_GOAL_SEED,
                  num_products: Optional[int] = None) -> Catalog:
  """Products -> Catalog with synthetic (default) or human goals."""
  products = load_products(raw_items, attrs, human, num_products)
  if not products:
    raise ValueError("the product file holds no loadable product (asin == 'nan' or longer "
                     "than 10 characters are skipped)")
  rng = random.Random(seed)
  prices = hidden_prices(products, rng)
  make = goals_lib.human_goals if human_goals else goals_lib.synthetic_goals
  goals = make(products, prices, rng)
  if not goals:
    kind = "human (items_human_ins)" if human_goals else "synthetic (items_ins_v2 'instruction')"
    raise ValueError(f"the catalog yields no {kind} goal; check the instruction file")
  return Catalog(products=products, prices=prices, goals=goals_lib.shuffled(goals, seed),
                 search=SearchEngine(products))
