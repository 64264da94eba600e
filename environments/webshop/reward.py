"""The WebShop purchase reward (docs/environments.md#webshop-reward), every constant as in the original.

    score = r_type * (n_att + n_opt + r_price) / (|goal attributes| + |goal options| + 1)

  * tsr(a, b): thefuzz's token_set_ratio with its defaults: str() both, drop code points
    128-255, non-alphanumerics -> spaces, lowercase, strip; 0 if either is empty; else
    rapidfuzz's token_set_ratio, rounded to an int. A match is tsr > 85.
  * r_type: 1; 0.5 unless (same query or >= 2 shared product-category levels or
    title_score > 0.2); 0.1 if title_score < 0.1; 0 if title_score == 0 (later rules win).
    title_score = |set(Np) & set(Ng)| / len(Ng) over the title nouns of the purchased product
    (Np) and of the goal (Ng), 0.2 when Ng is empty.
  * n_att: goal attributes g with some product attribute p, tsr(p, g) > 85, or g a substring of
    the lowercased title, joined bullet points or description.
  * n_opt: goal options with some selected option value at tsr > 85, after colour
    normalisation (the first COLOR_SET word contained in a string; tuples compare whole).
    Dict goals contribute (name, value) tuples, so str() makes them "('color', 'navy')".
  * r_price: 1 if the hidden price <= price_upper.

Title nouns: the original tags titles with spaCy en_core_web_sm and keeps NOUN / PROPN tokens.
spaCy and its model are not dependencies here (the model is a download), so `title_nouns`
keeps the content words of the title: alphabetic tokens that are not function words, not
numbers and not common adjectives. On product titles, which are mostly capitalised noun
phrases that spaCy tags PROPN / NOUN, this keeps nearly the same set. It only matters when the
purchased product is not the target: buying the target gives title_score 1 either way.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Mapping, Optional, Union

from rapidfuzz import fuzz, utils

from environments.webshop.goals import Goal
from environments.webshop.products import Product

MATCH_THRESHOLD = 85

COLOR_SET = (
    "alabaster apricot aqua ash asphalt azure banana beige black blue blush bordeaux bronze "
    "brown burgundy camel camo caramel champagne charcoal cheetah chestnut chocolate christmas "
    "coffee cognac copper coral cranberry cream crystal dark denim eggplant elephant espresso "
    "fuchsia gold granite grape graphite grass gray green grey heather indigo ivory ivy khaki "
    "lavender lemon leopard light lilac lime magenta maroon mauve merlot midnight mint mocha "
    "multicolor mushroom mustard natural navy nude olive orange peach pewter pink plum purple "
    "rainbow red rose royal rust sand sapphire seashell silver skull slate steel stone "
    "stonewash sunflower tan taupe teal tiger turquoise violet walnut wheat white wine "
    "yellow").split()

_LATIN1 = {c: None for c in range(128, 256)}


def _process(x) -> str:
  return utils.default_process(str(x).translate(_LATIN1))


def token_set_ratio(a, b) -> int:
  """thefuzz.fuzz.token_set_ratio(a, b) with default arguments."""
  a, b = _process(a), _process(b)
  if not a or not b:
    return 0
  return int(round(fuzz.token_set_ratio(a, b, processor=None)))


def normalize_color(x):
  """The first COLOR_SET word `in` x (substring for str, element for tuple), else x."""
  for color in COLOR_SET:
    if color in x:
      return color
  return x


# --------------------------------------------------------------------------- title nouns

_FUNCTION_WORDS = frozenset("""
a an the and or nor but for with without of in on at by to from into onto over under up down out
off about above below between through during before after against among per via plus vs
this that these those it its it's he she they them their his her our your my we you i me us
is are was were be been being am do does did has have had can could will would shall should
may might must not no yes so than then too very all any both each few more most other some such
only own same just also as if while because until when where which who whom whose what why how
""".split())

# Frequent adjectives of product titles (spaCy tags these ADJ, so they are not title nouns).
_ADJECTIVES = frozenset("""
new best premium professional portable adjustable durable lightweight soft large small medium
extra big mini long short wide slim high low heavy light waterproof natural organic fresh
wireless compatible universal original classic modern vintage cute comfortable elegant casual
stylish breathable warm cool hot cold dry wet clean easy quick fast smart digital electric
automatic manual rechargeable reusable disposable stainless non slip sensitive gentle strong
deep full half double single multi multiple pure real perfect great good nice beautiful
pretty luxury fancy simple basic sturdy safe healthy delicious sweet spicy crispy creamy
unscented scented matte glossy shiny clear black white red blue green pink purple yellow orange
brown gray grey silver golden gold beige navy dark bright mens womens men's women's kids
unisex
""".split())

_TITLE_TOKEN = re.compile(r"[A-Za-z][A-Za-z']*")


def title_nouns(title: str) -> list[str]:
  """The content words of a product title, lowercased, with duplicates (see module doc)."""
  out = []
  for token in _TITLE_TOKEN.findall(title or ""):
    word = token.lower()
    if len(word) < 2 or word in _FUNCTION_WORDS or word in _ADJECTIVES:
      continue
    out.append(word)
  return out


# --------------------------------------------------------------------------- components


def title_score(product: Product, goal: Goal) -> float:
  goal_nouns = title_nouns(goal.name)
  if not goal_nouns:
    return 0.2
  return len(set(title_nouns(product.title)) & set(goal_nouns)) / len(goal_nouns)


def type_reward(product: Product, goal: Goal) -> float:
  query_match = product.query == goal.query
  p_cat = {x.strip() for x in product.product_category.split("\u203a")}
  g_cat = {x.strip() for x in goal.product_category.split("\u203a")}
  category_match = len(p_cat & g_cat) >= 2
  ts = title_score(product, goal)
  r_type = 1.0
  if not (query_match or category_match or ts > 0.2):
    r_type = 0.5
  if ts < 0.1:
    r_type = 0.1
  if ts == 0.0:
    r_type = 0.0
  return r_type


def attribute_matches(product: Product, goal: Goal) -> int:
  title = product.title.lower()
  bullets = " ".join(product.bullet_points).lower()
  description = product.description.lower()
  n = 0
  for g in goal.attributes:
    if any(token_set_ratio(p, g) > MATCH_THRESHOLD for p in product.attributes):
      n += 1
    elif g in title or g in bullets or g in description:
      n += 1
  return n


def goal_option_entries(goal_options: Union[Mapping, list]) -> list:
  if isinstance(goal_options, Mapping):
    return [normalize_color(item) for item in goal_options.items()]
  return [normalize_color(v) for v in goal_options]


def option_matches(selected: Mapping[str, str], goal_options: Union[Mapping, list]) -> int:
  purchased = [normalize_color(v) for v in selected.values()]
  return sum(any(token_set_ratio(p, g) > MATCH_THRESHOLD for p in purchased)
             for g in goal_option_entries(goal_options))


@dataclasses.dataclass
class RewardBreakdown:
  score: float
  r_type: float
  n_att: int
  n_opt: int
  r_price: float
  num_attributes: int
  num_options: int

  def as_dict(self) -> dict:
    return dataclasses.asdict(self)


def purchase_reward(product: Product, goal: Goal, price: float,
                    selected: Optional[Mapping[str, str]] = None) -> RewardBreakdown:
  """The score in [0, 1] of buying `product` at hidden `price` with `selected` options."""
  selected = selected or {}
  r_type = type_reward(product, goal)
  n_att = attribute_matches(product, goal)
  n_opt = option_matches(selected, goal.goal_options)
  r_price = 1.0 if price <= goal.price_upper else 0.0
  num_att, num_opt = len(goal.attributes), len(goal.goal_options)
  score = r_type * (n_att + n_opt + r_price) / (num_att + num_opt + 1)
  return RewardBreakdown(score=score, r_type=r_type, n_att=n_att, n_opt=n_opt, r_price=r_price,
                         num_attributes=num_att, num_options=num_opt)
