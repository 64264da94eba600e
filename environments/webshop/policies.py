"""Scripted WebShop policies: the oracle (expert for behaviour cloning) and a random baseline.

Oracle: search the instruction, page forward to the target, click it, choose the goal's option
values, buy. It reaches score 1.0 whenever the target is among the top 50 hits, because the
goal's attributes are the target's, the options are clicked and the price cap lies above the
target's hidden price.

Random: on the search page it searches the instruction (a random query would find nothing
useful); on every other page it clicks a uniformly random clickable.
"""

from __future__ import annotations

import random
from typing import Mapping

import numpy as np

from environments.webshop.catalog import Catalog
from environments.webshop.engine import PRODUCT_WINDOW, WebShopEngine
from environments.webshop.goals import Goal
from environments.webshop.reward import MATCH_THRESHOLD, token_set_ratio


def _option_clicks(catalog: Catalog, goal: Goal) -> list[str]:
  values = [v for vs in catalog.product(goal.asin).options.values() for v in vs]
  wanted = goal.goal_options.values() if isinstance(goal.goal_options, Mapping) else \
      goal.goal_options
  clicks = []
  for w in wanted:
    if w in values:
      clicks.append(w)
    else:  # human goals name options loosely: take the closest listed value, if close enough
      best = max(values, key=lambda v: token_set_ratio(v, w), default=None)
      if best is not None and token_set_ratio(best, w) > MATCH_THRESHOLD:
        clicks.append(best)
  return [f"click[{c}]" for c in dict.fromkeys(clicks)]


def oracle_plan(catalog: Catalog, goal: Goal) -> list[str]:
  """The oracle's action sequence for `goal`, from the search page."""
  query = goal.instruction_text.lower()
  hits = catalog.search.search(query)
  plan = [f"search[{query}]"]
  if goal.asin not in hits:  # not retrievable: buy the top hit, as a user would
    return plan + ([f"click[{hits[0].lower()}]", "click[buy now]"] if hits else [])
  rank = hits.index(goal.asin)
  plan += ["click[next >]"] * (rank // PRODUCT_WINDOW)
  plan.append(f"click[{goal.asin.lower()}]")
  return plan + _option_clicks(catalog, goal) + ["click[buy now]"]


def random_action(available: dict, instruction: str, rng: random.Random) -> str:
  if available["has_search_bar"]:
    return f"search[{instruction.lower()}]"
  choices = [c for c in available["clickables"] if c != "search"]
  return f"click[{rng.choice(choices)}]" if choices else "click[back to search]"


def run_policy(catalog: Catalog, indices, policy: str, max_steps: int = 15,
               seed: int = 0) -> np.ndarray:
  """[len(indices)] purchase scores of "oracle" or "random" on those goals (0 without a
  purchase within max_steps)."""
  if policy not in ("oracle", "random"):
    raise ValueError(f"unknown policy {policy!r}; use 'oracle' or 'random'")
  eng = WebShopEngine(catalog, seed)
  rng = random.Random(seed)
  scores = []
  for i in indices:
    goal = catalog.goals[i]
    eng.reset(i)
    plan = oracle_plan(catalog, goal) if policy == "oracle" else None
    score, done = 0.0, False
    for t in range(max_steps):
      if plan is not None and t >= len(plan):
        break
      action = plan[t] if plan is not None else random_action(
          eng.available_actions(), goal.instruction_text, rng)
      _, score, done, _ = eng.step(action)
      if done:
        break
    scores.append(score if done else 0.0)
  return np.array(scores)
