"""WebShop goals (docs/environments.md#webshop-goals-and-splits): synthetic and human instructions, price caps,
weights, the seeded shuffle and the index splits.

price_upper: PRICE_RANGE = [10, 20, ..., 990]; C = the first 4 entries strictly above the
target's hidden price. With |C| >= 2, two of C are drawn without replacement and the larger is
the cap (text ", and price lower than {cap:.2f} dollars"); otherwise the cap is 1e6 and there is
no price text. One draw per goal product (synthetic) or per human instruction, in order.

Synthetic goal: one per element of the Cartesian product of the option values over the option
names in sorted order; instruction = instruction + " with " + ", and ".join("name: value")
(empty without options) + price text; goal_options is a dict; weight = mean over the goal's
attributes of 1 / (occurrences of the attribute over all goals).

Human goal: instruction.strip(".") + price text, goal_options = the record's list of option
values, weight 1; records without instruction_attributes are skipped.

Reproducing the original's goal sets needs the same Python `random` call order: seed -> hidden
prices in product order -> one `sample` per goal product -> reseed -> shuffle.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import random
from typing import Sequence, Union

from environments.webshop.products import Product

PRICE_RANGE = [10.0 * i for i in range(1, 100)]
NO_PRICE_CAP = 1000000


@dataclasses.dataclass
class Goal:
  asin: str
  category: str
  query: str
  name: str                 # the target's title
  product_category: str
  instruction_text: str
  attributes: list[str]
  price_upper: float
  goal_options: Union[dict, list]  # dict name -> value (synthetic), list of values (human)
  weight: float = 1.0


def price_cap(price: float, rng: random.Random) -> tuple[float, str]:
  """(price_upper, price text) for a target whose hidden price is `price`."""
  candidates = [p for p in PRICE_RANGE if p > price][:4]
  if len(candidates) >= 2:
    _, upper = sorted(rng.sample(candidates, 2))
    return upper, f", and price lower than {upper:.2f} dollars"
  return NO_PRICE_CAP, ""


def _base(p: Product) -> dict:
  return dict(asin=p.asin, category=p.category, query=p.query, name=p.title,
              product_category=p.product_category)


def synthetic_goals(products: Sequence[Product], prices: dict[str, float],
                    rng: random.Random) -> list[Goal]:
  goals, counts = [], collections.Counter()
  for p in products:
    if p.instruction_text is None:
      continue
    attributes = list(p.instruction_attributes or [])
    if not attributes:
      raise ValueError(f"product {p.asin} has an instruction but no instruction_attributes; "
                       "every goal needs at least one attribute (items_ins_v2 schema)")
    if p.asin in prices:
      upper, price_text = price_cap(prices[p.asin], rng)
    else:
      upper, price_text = NO_PRICE_CAP, ""
    names = sorted(p.options)
    for combo in itertools.product(*(p.options[n] for n in names)):
      options = dict(zip(names, combo))
      option_text = ", and ".join(f"{k}: {v}" for k, v in options.items())
      option_text = " with " + option_text if option_text else ""
      goals.append(Goal(**_base(p), instruction_text=f"{p.instruction_text}{option_text}"
                        f"{price_text}", attributes=attributes, price_upper=upper,
                        goal_options=options))
      counts.update(attributes)
  for g in goals:
    g.weight = sum(1.0 / counts[a] for a in g.attributes) / len(g.attributes)
  return goals


def human_goals(products: Sequence[Product], prices: dict[str, float],
                rng: random.Random) -> list[Goal]:
  goals = []
  for p in products:
    for record in p.human_instructions or []:
      attributes = list(record.get("instruction_attributes") or [])
      if not attributes:
        continue
      if p.asin in prices:
        upper, price_text = price_cap(prices[p.asin], rng)
      else:
        upper, price_text = NO_PRICE_CAP, ""
      goals.append(Goal(**_base(p), instruction_text=str(record["instruction"]).strip(".")
                        + price_text, attributes=attributes, price_upper=upper,
                        goal_options=list(record.get("instruction_options") or []), weight=1.0))
  return goals


def shuffled(goals: list[Goal], seed: int) -> list[Goal]:
  """The original's `random.seed(seed); random.shuffle(goals)` (a copy)."""
  goals = list(goals)
  random.Random(seed).shuffle(goals)
  return goals


def split_indices(num_goals: int, split: str, test_size: int = 500) -> range:
  """Goal indices of a split, fixed by position in the shuffled list: test = [0, test_size),
  train = [test_size, n) (the ProxMO / verl-agent convention), all = everything."""
  if split == "test":
    return range(min(test_size, num_goals))
  if split == "train":
    return range(min(test_size, num_goals), num_goals)
  if split == "all":
    return range(num_goals)
  raise ValueError(f"unknown WebShop split {split!r}; use 'train', 'test' or 'all'")
