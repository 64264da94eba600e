"""WebShop products: raw catalog records -> loaded products, exactly as the original loads them.

Raw record (official `items_shuffle*.json` schema, docs/environments.md#products):
  asin, name, category, query, product_category ("a › b › c"), full_description,
  small_description (list of str, or str), pricing ("$12.99", "$12.99 - $15.99" or empty),
  images (list), customization_options ({name: [{value, image}, ...] or None}).

Loading rules:
  * records with asin == "nan" or len(asin) > 10 are skipped, as is any later duplicate asin;
  * Title = name, Description = full_description, BulletPoints = the list (a str is wrapped);
  * query = query.lower().strip();
  * pricing: missing/empty -> [100.0] and Price "$100.0"; else split on "$", drop the first
    piece, keep digits and "." of each piece and parse floats; one value -> Price "$" + str(v),
    several -> the first two and Price "$A to $B";
  * options: {name.lower(): [value.strip().replace("/", " | ").lower(), ...]} for every
    non-null option, in the raw order;
  * Attributes = attrs[asin]["attributes"] or ["DUMMY_ATTR"]; instruction and
    instruction_attributes from attrs (synthetic goals); human instructions from the human file.

The hidden true price used by the reward is `pricing[0]`, or uniform(A, B) for a range, drawn
once per catalog in product order (`hidden_prices`).
"""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Any, Mapping, Optional, Sequence

_NOT_PRICE = re.compile(r"[^0-9.]")


@dataclasses.dataclass
class Product:
  """One loaded product (the fields the text environment and the reward read)."""
  asin: str
  title: str
  category: str
  query: str
  product_category: str
  description: str
  bullet_points: list[str]
  pricing: list[float]
  price_text: str                       # the "Price" string shown on pages
  options: dict[str, list[str]]         # lowercase name -> lowercase values, display order
  attributes: list[str]
  instruction_text: Optional[str] = None
  instruction_attributes: Optional[list[str]] = None
  human_instructions: Optional[list[dict]] = None


def parse_pricing(pricing: Any) -> tuple[list[float], str]:
  """The original's price parsing: (price values, the page's Price string)."""
  if not pricing:
    return [100.0], "$100.0"
  values = []
  for piece in str(pricing).split("$")[1:]:
    digits = _NOT_PRICE.sub("", piece)
    try:
      values.append(float(digits))
    except ValueError as e:
      raise ValueError(f"unparseable pricing {pricing!r}: piece {piece!r} has no number") from e
  if not values:
    raise ValueError(f"unparseable pricing {pricing!r}: expected '$12.99' or '$12.99 - $15.99'")
  if len(values) == 1:
    return values, f"${values[0]}"
  values = values[:2]
  return values, f"${values[0]} to ${values[1]}"


def _options(raw: Any, asin: str) -> dict[str, list[str]]:
  if not raw:
    return {}
  if not isinstance(raw, Mapping):
    raise ValueError(f"product {asin}: customization_options must be a dict of option name -> "
                     f"list of {{'value', 'image'}}, got {type(raw).__name__}")
  options = {}
  for name, values in raw.items():
    if values is None:
      continue
    options[str(name).lower()] = [
        str(v["value"] if isinstance(v, Mapping) else v).strip().replace("/", " | ").lower()
        for v in values]
  return options


def load_products(raw_items: Sequence[Mapping], attrs: Mapping[str, Mapping],
                  human: Optional[Mapping[str, list]] = None,
                  num_products: Optional[int] = None) -> list[Product]:
  """Loads raw records in file order (truncated to `num_products`), as the original does."""
  human = human or {}
  items = raw_items if num_products is None else raw_items[:num_products]
  seen, products = set(), []
  for i, item in enumerate(items):
    if not isinstance(item, Mapping):
      raise ValueError(f"product record {i} is a {type(item).__name__}, expected a JSON object")
    missing = [k for k in ("asin", "name") if k not in item]
    if missing:
      raise ValueError(f"product record {i} lacks the field(s) {missing}; every record needs "
                       "'asin' and 'name' (official items_shuffle schema)")
    asin = str(item["asin"])
    if asin == "nan" or len(asin) > 10 or asin in seen:
      continue
    seen.add(asin)
    bullets = item.get("small_description")
    bullets = list(bullets) if isinstance(bullets, list) else [bullets if bullets else ""]
    pricing, price_text = parse_pricing(item.get("pricing"))
    info = attrs.get(asin) or {}
    products.append(Product(
        asin=asin,
        title=str(item["name"] or ""),
        category=str(item.get("category") or ""),
        query=str(item.get("query") or "").lower().strip(),
        product_category=str(item.get("product_category") or ""),
        description=str(item.get("full_description") or ""),
        bullet_points=[str(b) for b in bullets],
        pricing=pricing,
        price_text=price_text,
        options=_options(item.get("customization_options"), asin),
        attributes=list(info.get("attributes") or ["DUMMY_ATTR"]),
        instruction_text=info.get("instruction"),
        instruction_attributes=info.get("instruction_attributes"),
        human_instructions=human.get(asin)))
  return products


def hidden_prices(products: Sequence[Product], rng: random.Random) -> dict[str, float]:
  """asin -> the true price the reward uses (a uniform draw inside a price range)."""
  prices = {}
  for p in products:
    prices[p.asin] = p.pricing[0] if len(p.pricing) == 1 else rng.uniform(*p.pricing[:2])
  return prices
