"""The WebShop text-mode state machine (docs/environments.md#pages-and-actions).

Pages: search -> results (10 per page, "< Prev" from page 2, "Next >" always) -> item (option
groups, Description / Features / Reviews sub-pages, Buy Now) -> done. Observations are the
original's "simple" text mode, the page's text nodes joined by " [SEP] ":

  search   WebShop [SEP] Instruction: [SEP] I [SEP] Search
  results  Instruction: [SEP] I [SEP] Back to Search [SEP] Page p (Total results: n) [SEP]
           (< Prev [SEP]) Next > [SEP] ASIN [SEP] Title [SEP] Price ...
  item     Instruction: [SEP] I [SEP] Back to Search [SEP] < Prev [SEP] name [SEP] v1 [SEP] ...
           [SEP] Title [SEP] Price: P [SEP] Rating: N.A. [SEP] Description [SEP] Features
           [SEP] Reviews [SEP] Buy Now
  sub-page Instruction: [SEP] I [SEP] Back to Search [SEP] < Prev [SEP] <content>

Actions: `re.match(r"(.+)\\[(.+)\\]", action)`; the name is case-sensitive ("search" or
"click"), the argument is lowercased. `search[q]` is accepted on any page; `click[x]` only if x
is a clickable of the current page (and not "search"). Anything else is a silent no-op: the
page is re-rendered, reward 0, not done, no penalty. The episode ends at "buy now".
"""

from __future__ import annotations

import dataclasses
import enum
import json
import random
import re
from typing import Optional

from environments.webshop.catalog import Catalog
from environments.webshop.reward import RewardBreakdown, purchase_reward

PRODUCT_WINDOW = 10
SEP = " [SEP] "
_ACTION = re.compile(r"(.+)\[(.+)\]")


class Page(enum.Enum):
  SEARCH = "search"
  RESULTS = "results"
  ITEM = "item"
  DESCRIPTION = "description"
  FEATURES = "features"
  REVIEWS = "reviews"
  DONE = "done"


_SUB_PAGES = {"description": Page.DESCRIPTION, "features": Page.FEATURES,
              "reviews": Page.REVIEWS}


def parse_action(action: str) -> Optional[tuple[str, str]]:
  """(name, lowercased argument) of "name[arg]", or None (the original's regex)."""
  m = _ACTION.match(action)
  if m is None:
    return None
  return m.group(1), m.group(2).lower()


@dataclasses.dataclass
class Session:
  goal_index: int
  page: Page = Page.SEARCH
  keywords: list = dataclasses.field(default_factory=list)
  page_number: int = 1
  asin: Optional[str] = None
  asins: set = dataclasses.field(default_factory=set)
  options: dict = dataclasses.field(default_factory=dict)
  results: list = dataclasses.field(default_factory=list)   # asins of the current search
  done: bool = False
  reward: Optional[RewardBreakdown] = None


class WebShopEngine:
  """One WebShop session over a shared `Catalog`.

  Args:
    catalog: products, goals, hidden prices and the search engine.
    seed: seeds the random picks of the unlisted "<r>" search token only.
  """

  def __init__(self, catalog: Catalog, seed: int = 0):
    self.catalog = catalog
    self._rng = random.Random(seed)
    self.session: Optional[Session] = None

  # ------------------------------------------------------------------------------ API

  def reset(self, goal_index: int) -> str:
    if not 0 <= goal_index < len(self.catalog.goals):
      raise IndexError(f"goal index {goal_index} out of range [0, {len(self.catalog.goals)})")
    self.session = Session(goal_index=goal_index)
    return self.observation()

  @property
  def goal(self):
    return self.catalog.goals[self.session.goal_index]

  def step(self, action: str) -> tuple[str, float, bool, dict]:
    """(observation, score, done, info); score is the purchase score at "buy now", else 0."""
    s = self._require_session()
    if s.done:
      return self.observation(), 0.0, True, {"noop": True}
    parsed = parse_action(action)
    noop = True
    if parsed is not None:
      name, arg = parsed
      if name == "search":
        self._search(arg)
        noop = False
      elif name == "click" and arg != "search" and arg in self.clickables():
        self._click(arg)
        noop = False
    info = {"noop": noop}
    score = 0.0
    if s.done:
      score = s.reward.score
      info["reward_details"] = s.reward.as_dict()
    return self.observation(), score, s.done, info

  def available_actions(self) -> dict:
    s = self._require_session()
    return {"has_search_bar": s.page == Page.SEARCH, "clickables": list(self.clickables())}

  # ------------------------------------------------------------------------------ transitions

  def _require_session(self) -> Session:
    if self.session is None:
      raise RuntimeError("WebShopEngine.step() before reset().")
    return self.session

  def _search(self, query: str):
    s = self.session
    s.keywords = query.split(" ")
    s.page_number, s.asin, s.options = 1, None, {}
    self._show_results()

  def _run_search(self) -> list[str]:
    """The hits of the stored keywords, including the original's unlisted special tokens."""
    kw, products = self.session.keywords, self.catalog.products
    if kw and kw[0] == "<r>":
      return [p.asin for p in self._rng.sample(products, min(50, len(products)))]
    if kw and kw[0] == "<c>" and len(kw) > 1:
      return [p.asin for p in products if p.category == kw[1]]
    if kw and kw[0] == "<q>" and len(kw) > 1:
      q = " ".join(kw[1:])
      return [p.asin for p in products if p.query == q]
    return self.catalog.search.search(" ".join(kw))

  def _show_results(self):
    s = self.session
    s.results = self._run_search()
    s.page, s.asin, s.options = Page.RESULTS, None, {}

  def _click(self, arg: str):
    s = self.session
    if arg == "back to search":
      s.page, s.keywords, s.page_number, s.asin, s.options = Page.SEARCH, [], 1, None, {}
      s.asins, s.results = set(), []
    elif s.page == Page.RESULTS:
      if arg == "next >":
        s.page_number += 1
        self._show_results()
      elif arg == "< prev":
        s.page_number -= 1
        self._show_results()
      else:  # a product of this page
        s.asin = arg.upper()
        s.asins.add(s.asin)
        s.page = Page.ITEM
    elif s.page == Page.ITEM:
      if arg == "< prev":
        self._show_results()
      elif arg in _SUB_PAGES:
        s.page = _SUB_PAGES[arg]
      elif arg == "buy now":
        self._buy()
      else:
        s.options[self._option_groups()[arg]] = arg
    elif arg == "< prev":  # a sub-page
      s.page = Page.ITEM

  def _option_groups(self) -> dict[str, str]:
    """value -> option name; a value listed in two groups belongs to the later one."""
    groups = {}
    for name, values in self.catalog.product(self.session.asin).options.items():
      for v in values:
        groups[v] = name
    return groups

  def _buy(self):
    s = self.session
    product = self.catalog.product(s.asin)
    s.reward = purchase_reward(product, self.goal, self.catalog.prices[s.asin], s.options)
    s.done, s.page = True, Page.DONE

  # ------------------------------------------------------------------------------ rendering

  def _page_asins(self) -> list[str]:
    s = self.session
    start = (s.page_number - 1) * PRODUCT_WINDOW
    return s.results[start:start + PRODUCT_WINDOW]

  def clickables(self) -> list[str]:
    """The current page's clickables, in the original's order, lowercase."""
    s = self._require_session()
    if s.page == Page.SEARCH:
      return ["search"]
    if s.page == Page.RESULTS:
      out = ["back to search"] + (["< prev"] if s.page_number > 1 else []) + ["next >"]
      out += [a.lower() for a in self._page_asins()]
    elif s.page == Page.ITEM:
      out = ["back to search", "< prev", "description", "features", "reviews", "buy now"]
      for values in self.catalog.product(s.asin).options.values():
        out += values
    elif s.page == Page.DONE:
      return []
    else:
      out = ["back to search", "< prev"]
    return list(dict.fromkeys(out))

  def observation(self) -> str:
    s = self._require_session()
    instruction = self.goal.instruction_text
    head = ["Instruction:", instruction, "Back to Search"]
    if s.page == Page.SEARCH:
      nodes = ["WebShop", "Instruction:", instruction, "Search"]
    elif s.page == Page.RESULTS:
      nodes = head + [f"Page {s.page_number} (Total results: {len(s.results)})"]
      nodes += (["< Prev"] if s.page_number > 1 else []) + ["Next >"]
      for asin in self._page_asins():
        p = self.catalog.product(asin)
        nodes += [asin, p.title, p.price_text]
    elif s.page == Page.DONE:
      return self._done_observation()
    else:
      p = self.catalog.product(s.asin)
      nodes = head + ["< Prev"]
      if s.page == Page.ITEM:
        for name, values in p.options.items():
          nodes += [name] + values
        nodes += [p.title, f"Price: {p.price_text}", "Rating: N.A.", "Description", "Features",
                  "Reviews", "Buy Now"]
      elif s.page == Page.DESCRIPTION:
        nodes.append(p.description)
      elif s.page == Page.FEATURES:
        nodes += [b.strip() if b else "" for b in p.bullet_points]
    # Empty titles / descriptions produce no text node (bullets always do).
    keep = [n for i, n in enumerate(nodes) if n != "" or (s.page == Page.FEATURES and i >= 4)]
    return SEP.join(x.strip() for x in keep)

  def _done_observation(self) -> str:
    s = self.session
    nodes = ["Thank you for shopping with us!", "Your code:", "None",
             "(Paste it in your MTurk interface.)", "Purchased", "asin", s.asin, "options",
             json.dumps(s.options), "attrs", "None", "category", "None", "query", "None",
             "product category", "None", "Target", "asin", "options", "attrs", "price upper",
             "instuction text", "category", "product category", "query", "Goal", "None",
             "Reward", "Your score (min 0.0, max 1.0)", str(s.reward.score), "Reward Details",
             "None"]
    return SEP.join(nodes)
