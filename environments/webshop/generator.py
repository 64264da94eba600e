"""An offline WebShop catalog generator in the official file schema, deterministic by seed.

The original catalog (scraped Amazon products) is a multi-gigabyte download. This generator
writes the same three files, in the same schema, from a product taxonomy:

  items_shuffle_{n}.json   list of raw product records (asin, name, category, query,
                           product_category, full_description, small_description, pricing,
                           images, customization_options, and the keys the loader drops)
  items_ins_v2_{n}.json    asin -> {attributes, instruction, instruction_attributes}; products
                           without "instruction" are distractors (searchable, never a goal)
  items_human_ins.json     asin -> list of human-style instruction records

Products are drawn per type (five coarse categories as in the paper: fashion, makeup,
electronics, furniture, food): a brand, title modifiers and a head noun, 3-5 attributes from
the type's attribute pool (some repeated in the title and bullets, as real listings do), 0-2
option groups with 2-5 values, a price or a price range, bullet points and a description. Goal
instructions name 1-3 of the product's attributes and its type, in the templates' phrasing.
Many products of one type share attributes and options, so the search and the reward have the
same kind of near-miss distractors as the original.
"""

from __future__ import annotations

import json
import os
import random
import string
from typing import Optional

# (category, type key): breadcrumb, queries, head nouns, title modifiers, attribute pool,
# option pools, price range (dollars), description nouns.
TAXONOMY = {
    ("fashion", "running shoes"): dict(
        crumbs="Clothing, Shoes & Jewelry › Men › Shoes › Athletic › Running",
        queries=["men's running shoes", "running shoes"],
        nouns=["Running Shoes", "Athletic Sneakers", "Road Running Shoe"],
        mods=["Breathable", "Lightweight", "Cushioned", "Mesh", "Trail", "Knit"],
        attrs=["non slip", "rubber sole", "arch support", "lace up", "memory foam",
               "machine washable", "wide toe box", "shock absorbing"],
        options={"size": ["7", "7.5", "8", "8.5", "9", "9.5", "10", "11", "12"],
                 "color": ["black/white", "navy blue", "grey", "red", "white", "olive green"]},
        price=(25, 120)),
    ("fashion", "dresses"): dict(
        crumbs="Clothing, Shoes & Jewelry › Women › Clothing › Dresses › Casual",
        queries=["women's dresses", "summer dress"],
        nouns=["Maxi Dress", "Midi Dress", "Sundress", "Wrap Dress"],
        mods=["Floral", "Boho", "Sleeveless", "V Neck", "Ruffle", "Tiered"],
        attrs=["machine wash", "hand wash", "elastic waist", "polyester spandex", "short sleeve",
               "loose fit", "button closure", "with pockets"],
        options={"size": ["small", "medium", "large", "x-large", "xx-large"],
                 "color": ["black", "floral blue", "pink", "wine red", "apricot", "green"]},
        price=(18, 60)),
    ("fashion", "hoodies"): dict(
        crumbs="Clothing, Shoes & Jewelry › Men › Clothing › Fashion Hoodies & Sweatshirts",
        queries=["men's hoodies", "pullover hoodie"],
        nouns=["Hoodie", "Pullover Hoodie", "Zip Up Hoodie", "Sweatshirt"],
        mods=["Fleece", "Heavyweight", "Athletic", "Oversized", "Thermal", "Cotton"],
        attrs=["machine wash", "long sleeve", "cotton blend", "drawstring closure",
               "kangaroo pocket", "regular fit", "soft material", "zipper closure"],
        options={"size": ["small", "medium", "large", "x-large", "xx-large"],
                 "color": ["charcoal heather", "black", "navy", "burgundy", "forest green"]},
        price=(20, 65)),
    ("fashion", "jeans"): dict(
        crumbs="Clothing, Shoes & Jewelry › Women › Clothing › Jeans",
        queries=["women's jeans", "high waisted jeans"],
        nouns=["Skinny Jeans", "Straight Leg Jeans", "Bootcut Jeans", "Mom Jeans"],
        mods=["High Waisted", "Stretch", "Ripped", "Classic", "Butt Lifting", "Vintage"],
        attrs=["high waist", "machine wash", "button closure", "stretch fabric", "slim fit",
               "tummy control", "cotton spandex", "five pocket"],
        options={"size": ["2", "4", "6", "8", "10", "12", "14"],
                 "color": ["light wash", "dark blue", "black", "stonewash", "grey"]},
        price=(22, 70)),
    ("fashion", "sunglasses"): dict(
        crumbs="Clothing, Shoes & Jewelry › Men › Accessories › Sunglasses & Eyewear",
        queries=["polarized sunglasses", "sunglasses for men"],
        nouns=["Sunglasses", "Aviator Sunglasses", "Sport Sunglasses", "Square Sunglasses"],
        mods=["Polarized", "Retro", "Oversized", "Wraparound", "Classic", "Rimless"],
        attrs=["uv protection", "polarized lenses", "metal frame", "lightweight frame",
               "scratch resistant", "glare reduction", "case included", "spring hinges"],
        options={"color": ["gold frame green lens", "black frame grey lens", "silver mirror",
                           "tortoise brown", "blue mirror"]},
        price=(12, 90)),
    ("makeup", "lipstick"): dict(
        crumbs="Beauty & Personal Care › Makeup › Lips › Lipstick",
        queries=["lipstick", "matte lipstick"],
        nouns=["Lipstick", "Liquid Lipstick", "Lip Stain", "Lip Color"],
        mods=["Matte", "Velvet", "Satin", "Creamy", "Long Wear", "Nude"],
        attrs=["long lasting", "cruelty free", "paraben free", "highly pigmented",
               "waterproof", "vitamin e", "easy apply", "transfer proof"],
        options={"color": ["ruby red", "berry", "nude pink", "mauve", "coral", "plum",
                           "brick red"],
                 "size": ["0.12 ounce", "0.17 fl oz (pack of 2)"]},
        price=(6, 32)),
    ("makeup", "foundation"): dict(
        crumbs="Beauty & Personal Care › Makeup › Face › Foundation",
        queries=["foundation", "liquid foundation"],
        nouns=["Foundation", "Liquid Foundation", "Cushion Foundation", "Tinted Moisturizer"],
        mods=["Full Coverage", "Dewy", "Oil Free", "Lightweight", "Hydrating", "Matte"],
        attrs=["oil free", "long lasting", "sensitive skin", "spf 30", "fragrance free",
               "non comedogenic", "natural finish", "dermatologist tested"],
        options={"color": ["ivory", "porcelain", "natural beige", "warm sand", "honey",
                           "espresso"],
                 "size": ["1 fl oz", "1.7 fl oz"]},
        price=(8, 48)),
    ("makeup", "eyeshadow"): dict(
        crumbs="Beauty & Personal Care › Makeup › Eyes › Eyeshadow",
        queries=["eyeshadow palette", "eye shadow"],
        nouns=["Eyeshadow Palette", "Eye Shadow", "Shimmer Palette", "Glitter Eyeshadow"],
        mods=["Nude", "Smoky", "Shimmer", "Matte", "Pressed", "Rainbow"],
        attrs=["highly pigmented", "long lasting", "cruelty free", "blendable", "easy apply",
               "travel size", "waterproof", "talc free"],
        options={"color": ["warm nude", "rose gold", "smoky black", "rainbow", "bronze"]},
        price=(7, 45)),
    ("makeup", "nail polish"): dict(
        crumbs="Beauty & Personal Care › Foot, Hand & Nail Care › Nail Art & Polish",
        queries=["nail polish", "gel nail polish"],
        nouns=["Nail Polish", "Gel Polish", "Nail Lacquer", "Nail Polish Set"],
        mods=["Quick Dry", "Glossy", "Gel", "Chip Resistant", "Glitter", "Pastel"],
        attrs=["long lasting", "quick dry", "non toxic", "high gloss", "easy apply",
               "uv led", "cruelty free", "chip resistant"],
        options={"color": ["classic red", "baby pink", "nude", "navy", "mint", "lilac"],
                 "size": ["0.5 fl oz", "6 count"]},
        price=(4, 30)),
    ("makeup", "makeup brushes"): dict(
        crumbs="Beauty & Personal Care › Tools & Accessories › Makeup Brushes & Tools",
        queries=["makeup brushes", "makeup brush set"],
        nouns=["Makeup Brush Set", "Kabuki Brush", "Foundation Brush", "Blending Brush"],
        mods=["Professional", "Synthetic", "Soft", "Vegan", "Travel", "Premium"],
        attrs=["synthetic hair", "cruelty free", "easy clean", "soft bristles",
               "travel case", "wooden handle", "high quality", "dense bristles"],
        options={"size": ["5 piece", "10 piece", "16 piece"],
                 "color": ["black gold", "rose gold", "white"]},
        price=(6, 40)),
    ("electronics", "headphones"): dict(
        crumbs="Electronics › Headphones, Earbuds & Accessories › Headphones › Over-Ear",
        queries=["wireless headphones", "bluetooth headphones"],
        nouns=["Headphones", "Over Ear Headphones", "Headset", "Earbuds"],
        mods=["Wireless", "Bluetooth", "Noise Cancelling", "Foldable", "Gaming", "Hi-Fi"],
        attrs=["noise cancelling", "bluetooth 5.0", "long battery life", "built in mic",
               "fast charging", "hands free", "high fidelity", "carrying case"],
        options={"color": ["black", "white", "rose gold", "midnight blue", "silver"]},
        price=(15, 180)),
    ("electronics", "phone cases"): dict(
        crumbs="Cell Phones & Accessories › Cases, Holsters & Sleeves › Basic Cases",
        queries=["iphone case", "phone case"],
        nouns=["Phone Case", "Clear Case", "Wallet Case", "Rugged Case"],
        mods=["Shockproof", "Slim", "Clear", "Magnetic", "Leather", "Glitter"],
        attrs=["shock absorbing", "wireless charging", "raised edges", "card holder",
               "anti scratch", "kickstand", "military grade", "slim fit"],
        options={"color": ["clear", "black", "purple", "sierra blue", "pink"],
                 "size": ["iphone 13", "iphone 14", "iphone 14 pro max", "galaxy s22"]},
        price=(7, 35)),
    ("electronics", "usb cables"): dict(
        crumbs="Electronics › Computers & Accessories › Cables & Accessories › USB Cables",
        queries=["usb c cable", "charging cable"],
        nouns=["USB C Cable", "Charging Cable", "Charger Cord", "Lightning Cable"],
        mods=["Braided", "Fast", "Nylon", "Long", "Right Angle", "Durable"],
        attrs=["fast charging", "nylon braided", "data sync", "usb c", "tangle free",
               "high speed", "aluminum connector", "durable design"],
        options={"size": ["3 ft", "6 ft", "10 ft"],
                 "color": ["black", "grey", "white", "red"],
                 "style": ["1 pack", "2 pack", "3 pack"]},
        price=(5, 25)),
    ("electronics", "security cameras"): dict(
        crumbs="Electronics › Camera & Photo › Video Surveillance › Surveillance Cameras",
        queries=["security camera", "wifi camera"],
        nouns=["Security Camera", "Indoor Camera", "Outdoor Camera", "Doorbell Camera"],
        mods=["Wireless", "1080p", "Solar", "Pan Tilt", "Smart", "4K"],
        attrs=["night vision", "motion detection", "two way audio", "easy install",
               "cloud storage", "weather resistant", "high definition", "wifi connectivity"],
        options={"size": ["1 camera", "2 cameras", "4 cameras"]},
        price=(25, 160)),
    ("electronics", "power banks"): dict(
        crumbs="Cell Phones & Accessories › Accessories › Chargers & Power Adapters › Power Banks",
        queries=["power bank", "portable charger"],
        nouns=["Power Bank", "Portable Charger", "Battery Pack", "Charger"],
        mods=["Portable", "Slim", "Solar", "Magnetic", "Compact", "High Capacity"],
        attrs=["fast charging", "usb c", "led display", "dual output", "compact size",
               "high capacity", "wireless charging", "travel friendly"],
        options={"size": ["10000mah", "20000mah", "26800mah"],
                 "color": ["black", "white", "blue"]},
        price=(14, 70)),
    ("furniture", "office chairs"): dict(
        crumbs="Home & Kitchen › Furniture › Home Office Furniture › Home Office Chairs",
        queries=["office chair", "desk chair"],
        nouns=["Office Chair", "Desk Chair", "Task Chair", "Gaming Chair"],
        mods=["Ergonomic", "Mesh", "High Back", "Swivel", "Executive", "Mid Back"],
        attrs=["lumbar support", "height adjustable", "easy assembly", "heavy duty",
               "breathable mesh", "padded armrests", "high back", "360 swivel"],
        options={"color": ["black", "grey", "white", "blue"]},
        price=(45, 260)),
    ("furniture", "bookcases"): dict(
        crumbs="Home & Kitchen › Furniture › Living Room Furniture › Bookcases",
        queries=["bookshelf", "bookcase"],
        nouns=["Bookshelf", "Bookcase", "Ladder Shelf", "Storage Shelf"],
        mods=["5 Tier", "Industrial", "Wooden", "Corner", "Open", "Rustic"],
        attrs=["easy assembly", "engineered wood", "metal frame", "space saving",
               "storage space", "living room", "sturdy construction", "wall anchor"],
        options={"color": ["rustic brown", "black", "white", "walnut"],
                 "size": ["3 tier", "4 tier", "5 tier"]},
        price=(35, 220)),
    ("furniture", "bed frames"): dict(
        crumbs="Home & Kitchen › Furniture › Bedroom Furniture › Beds, Frames & Bases",
        queries=["bed frame", "platform bed"],
        nouns=["Bed Frame", "Platform Bed", "Upholstered Bed", "Metal Bed Frame"],
        mods=["Queen", "Low Profile", "Upholstered", "Heavy Duty", "Wooden", "Modern"],
        attrs=["easy assembly", "no box spring needed", "storage space", "noise free",
               "heavy duty", "wood slat support", "solid wood", "metal frame"],
        options={"size": ["twin", "full", "queen", "king"],
                 "color": ["black", "grey", "beige", "walnut"]},
        price=(90, 480)),
    ("furniture", "coffee tables"): dict(
        crumbs="Home & Kitchen › Furniture › Living Room Furniture › Tables › Coffee Tables",
        queries=["coffee table", "living room table"],
        nouns=["Coffee Table", "Lift Top Coffee Table", "Round Coffee Table", "Side Table"],
        mods=["Modern", "Farmhouse", "Glass", "Mid Century", "Rustic", "Lift Top"],
        attrs=["storage space", "easy assembly", "solid wood", "living room",
               "tempered glass", "metal legs", "engineered wood", "hidden compartment"],
        options={"color": ["rustic oak", "black", "white", "espresso"]},
        price=(60, 300)),
    ("furniture", "bar stools"): dict(
        crumbs="Home & Kitchen › Furniture › Game & Recreation Room Furniture › Home Bar "
               "Furniture › Barstools",
        queries=["bar stools", "counter height stools"],
        nouns=["Bar Stools", "Counter Stool", "Swivel Bar Stool", "Kitchen Stool"],
        mods=["Set of 2", "Adjustable", "Swivel", "Upholstered", "Backless", "Industrial"],
        attrs=["height adjustable", "easy assembly", "faux leather", "footrest",
               "metal frame", "dining room", "non slip", "wood finish"],
        options={"color": ["black", "grey", "brown", "white"],
                 "size": ["24 inch", "26 inch", "30 inch"]},
        price=(50, 260)),
    ("food", "coffee"): dict(
        crumbs="Grocery & Gourmet Food › Beverages › Coffee, Tea & Cocoa › Coffee › Ground",
        queries=["ground coffee", "coffee beans"],
        nouns=["Ground Coffee", "Whole Bean Coffee", "Coffee Pods", "Cold Brew Coffee"],
        mods=["Medium Roast", "Dark Roast", "Organic", "Colombian", "Espresso", "Decaf"],
        attrs=["fair trade", "usda organic", "single origin", "non gmo", "low acid",
               "gluten free", "kosher certified", "freshly roasted"],
        options={"flavor name": ["breakfast blend", "french roast", "hazelnut", "vanilla"],
                 "size": ["12 ounce (pack of 1)", "12 ounce (pack of 2)", "2 pound"]},
        price=(8, 40)),
    ("food", "snacks"): dict(
        crumbs="Grocery & Gourmet Food › Snack Foods › Chips & Crisps",
        queries=["healthy snacks", "snack chips"],
        nouns=["Chips", "Veggie Crisps", "Protein Puffs", "Snack Mix"],
        mods=["Baked", "Kettle Cooked", "Crunchy", "Keto", "Plant Based", "Crispy"],
        attrs=["gluten free", "non gmo", "high protein", "low carb", "keto friendly",
               "dairy free", "individually wrapped", "sugar free"],
        options={"flavor name": ["sea salt", "bbq", "sour cream & onion", "jalapeno",
                                 "cheddar"],
                 "size": ["1 ounce (pack of 24)", "5 ounce (pack of 4)"]},
        price=(5, 35)),
    ("food", "tea"): dict(
        crumbs="Grocery & Gourmet Food › Beverages › Coffee, Tea & Cocoa › Tea › Herbal",
        queries=["herbal tea", "green tea bags"],
        nouns=["Green Tea", "Herbal Tea", "Matcha Powder", "Chamomile Tea"],
        mods=["Organic", "Loose Leaf", "Caffeine Free", "Detox", "Premium", "Japanese"],
        attrs=["usda organic", "caffeine free", "non gmo", "gluten free", "kosher certified",
               "individually wrapped", "natural ingredients", "sugar free"],
        options={"flavor name": ["peppermint", "lemon ginger", "chamomile", "jasmine"],
                 "size": ["20 count (pack of 1)", "20 count (pack of 6)", "100 count"]},
        price=(5, 30)),
    ("food", "protein bars"): dict(
        crumbs="Grocery & Gourmet Food › Snack Foods › Bars › Protein Bars",
        queries=["protein bars", "keto bars"],
        nouns=["Protein Bars", "Energy Bars", "Granola Bars", "Meal Replacement Bars"],
        mods=["Chocolate", "Low Sugar", "Vegan", "Keto", "High Fiber", "Crunchy"],
        attrs=["high protein", "low sugar", "gluten free", "plant based", "keto friendly",
               "non gmo", "individually wrapped", "dairy free"],
        options={"flavor name": ["chocolate peanut butter", "cookie dough", "birthday cake",
                                 "salted caramel"],
                 "size": ["12 count", "24 count"]},
        price=(12, 45)),
    ("food", "olive oil"): dict(
        crumbs="Grocery & Gourmet Food › Pantry Staples › Cooking Oils › Olive Oils",
        queries=["olive oil", "extra virgin olive oil"],
        nouns=["Extra Virgin Olive Oil", "Olive Oil", "Cooking Oil", "Avocado Oil"],
        mods=["Cold Pressed", "Organic", "Italian", "Greek", "Unfiltered", "Spanish"],
        attrs=["cold pressed", "usda organic", "non gmo", "glass bottle", "single origin",
               "first harvest", "kosher certified", "gluten free"],
        options={"size": ["16.9 fl oz (pack of 1)", "33.8 fl oz", "1 gallon"]},
        price=(9, 55)),
}

_SYLLABLES = ("lu mo ra ve ta ko ni sa el ar on is ze qu pi da no ri vo ka be mi".split())
_FEATURE_PHRASES = [
    "Designed for everyday use", "Backed by a 30 day money back guarantee",
    "Makes a great gift for family and friends", "Quality checked before shipping",
    "Customer satisfaction is our top priority", "Thoughtfully packaged"]
_INSTRUCTIONS = [
    "i need {a1} {noun}",
    "i am looking for {a1} {noun} that is {a2}",
    "i want to buy {a1} and {a2} {noun}",
    "find me {noun} that is {a1} and {a2}",
    "i would like {a1} {noun} that is {a2} and {a3}",
    "i need a {mod} {noun} that is {a1}",
    "looking for {noun} with {a1}",
    "i'm looking for {a1} {noun} for my {use}",
]
_USES = ["home", "office", "family", "daily routine", "travel", "partner"]


def _asin(rng: random.Random, used: set) -> str:
  while True:
    asin = "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))
    if asin not in used:
      used.add(asin)
      return asin


def _brand(rng: random.Random) -> str:
  return "".join(rng.sample(_SYLLABLES, rng.choice([2, 3]))).capitalize()


def _price(rng: random.Random, lo: float, hi: float, has_options: bool) -> str:
  a = round(rng.uniform(lo, hi), 2)
  if has_options and rng.random() < 0.25:
    return f"${a:.2f} - ${round(a * rng.uniform(1.1, 1.6), 2):.2f}"
  return f"${a:.2f}"


def _product(rng: random.Random, asin: str, key, spec: dict, instruction_rate: float):
  category, _ = key
  noun = rng.choice(spec["nouns"])
  mods = rng.sample(spec["mods"], rng.choice([1, 2]))
  attrs = rng.sample(spec["attrs"], rng.randint(3, 5))
  title_attrs = [a.title() for a in attrs[:rng.randint(0, 2)]]
  brand = _brand(rng)
  title = " ".join([brand] + mods + [noun])
  if title_attrs:
    title += ", " + ", ".join(title_attrs)
  option_names = list(spec["options"])
  chosen = rng.sample(option_names, rng.randint(0 if len(option_names) < 2 else 1,
                                                min(2, len(option_names))))
  options = {}
  for name in option_names:  # keep the taxonomy's display order
    if name in chosen:
      pool = spec["options"][name]
      k = rng.randint(2, min(5, len(pool)))
      values = sorted(rng.sample(pool, k), key=pool.index)
      options[name.title()] = [{"value": v.title() if name == "color" else v,
                                "image": f"images/{asin}/{i}.jpg"} for i, v in
                               enumerate(values)]
  bullets = [f"{a.upper() if i == 0 else a.capitalize()}: "
             f"{rng.choice(['this', 'our', 'the'])} {noun.lower()} is {a}" +
             rng.choice([".", " for lasting comfort.", " and built to last.",
                         " by design."]) for i, a in enumerate(attrs[1:])]
  bullets.append(rng.choice(_FEATURE_PHRASES) + ".")
  description = (f"{brand} {noun.lower()}: {mods[0].lower()} and {attrs[0]}. "
                 f"{rng.choice(_FEATURE_PHRASES)}. Ideal for {rng.choice(_USES)}.")
  raw = {
      "asin": asin, "name": title, "category": category,
      "query": rng.choice(spec["queries"]) + rng.choice(["", " ", "  "]),
      "product_category": spec["crumbs"], "full_description": description,
      "small_description": bullets, "pricing": _price(rng, *spec["price"], bool(options)),
      "images": [f"images/{asin}/main.jpg"],
      "customization_options": options or None,
      # Keys the loader drops, present as in the official files.
      "brand": brand, "product_information": {}, "list_price": "", "total_reviews": 0,
  }
  ins = {"attributes": attrs}
  if rng.random() < instruction_rate:
    k = rng.choice([1, 2, 2, 3])
    picked = rng.sample(attrs, k)
    template = rng.choice([t for t in _INSTRUCTIONS if t.count("{a") <= k])
    fill = {"a1": picked[0], "a2": picked[min(1, k - 1)], "a3": picked[min(2, k - 1)],
            "noun": noun.lower(), "mod": mods[0].lower(), "use": rng.choice(_USES)}
    used = [picked[i] for i in range(3) if "{a%d}" % (i + 1) in template]
    ins.update(instruction=template.format(**fill), instruction_attributes=used)
  return raw, ins


def _human_record(rng: random.Random, raw: dict, ins: dict) -> dict:
  options = raw["customization_options"] or {}
  values = [rng.choice(vs)["value"].lower() for vs in options.values()]
  attrs = rng.sample(ins["attributes"], rng.choice([1, 2]))
  noun = raw["name"].split(",")[0].split(" ", 1)[-1].lower()
  text = f"I want {' and '.join(attrs)} {noun}"
  if values:
    text += " in " + ", ".join(values)
  return {"asin": raw["asin"], "instruction": text + ".", "instruction_attributes": attrs,
          "instruction_options": values, "attributes": ins["attributes"], "options": {},
          "assignment_id": f"gen-{raw['asin']}", "worker_id": "generator"}


def generate_catalog(num_products: int = 1000, seed: int = 0, instruction_rate: float = 0.6,
                     human_rate: float = 0.1) -> tuple[list, dict, dict]:
  """(raw product list, asin -> attribute/instruction record, asin -> human records)."""
  rng = random.Random(seed)
  keys = list(TAXONOMY)
  used, items, attrs, human = set(), [], {}, {}
  for i in range(num_products):
    key = keys[i % len(keys)] if i < len(keys) else rng.choice(keys)
    asin = _asin(rng, used)
    raw, ins = _product(rng, asin, key, TAXONOMY[key], instruction_rate)
    items.append(raw)
    attrs[asin] = ins
    if rng.random() < human_rate:
      human[asin] = [_human_record(rng, raw, ins) for _ in range(rng.choice([1, 2]))]
  rng.shuffle(items)  # the official list is shuffled too ("items_shuffle")
  return items, attrs, human


def file_names(num_products: int) -> dict[str, str]:
  return {"items": f"items_shuffle_{num_products}.json",
          "attrs": f"items_ins_v2_{num_products}.json", "human": "items_human_ins.json"}


def write_catalog(out_dir: str, num_products: int = 1000, seed: int = 0,
                  instruction_rate: float = 0.6) -> dict[str, str]:
  """Writes the three files into `out_dir`; returns their paths by role."""
  items, attrs, human = generate_catalog(num_products, seed, instruction_rate)
  os.makedirs(out_dir, exist_ok=True)
  paths = {}
  for role, name in file_names(num_products).items():
    paths[role] = os.path.join(out_dir, name)
    tmp = paths[role] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
      json.dump({"items": items, "attrs": attrs, "human": human}[role], f)
    os.replace(tmp, paths[role])
  return paths


def main(argv: Optional[list] = None) -> None:
  import argparse
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--out", default="data/webshop_gen")
  parser.add_argument("--num_products", type=int, default=1000)
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  print(write_catalog(args.out, args.num_products, args.seed))


if __name__ == "__main__":
  main()
