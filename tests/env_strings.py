"""Deterministic text in the shape of what a policy reads and writes in ALFWorld and WebShop:
observations, admissible-action lists, paper-style prompts, tagged responses, search queries,
product pages, plus unicode and whitespace variants (for tokenizer parity tests)."""

from __future__ import annotations

import random

RECEPTACLES = ["cabinet", "countertop", "drawer", "fridge", "microwave", "sinkbasin", "shelf",
               "desk", "dresser", "garbagecan", "stoveburner", "coffeemachine", "sidetable",
               "bed", "sofa", "armchair", "safe", "toilet", "bathtubbasin", "towelholder"]
OBJECTS = ["apple", "mug", "egg", "potato", "tomato", "lettuce", "bread", "knife", "spatula",
           "book", "cd", "cellphone", "keychain", "pencil", "pen", "creditcard", "desklamp",
           "alarmclock", "soapbar", "spraybottle", "toiletpaper", "cloth", "candle", "vase",
           "remotecontrol", "watch", "laptop", "pillow", "newspaper", "statue"]
VERBS = ["put a {o} in {r}", "put some {o} on {r}", "heat some {o} and put it in {r}",
         "cool some {o} and put it in {r}", "clean some {o} and put it in {r}",
         "examine the {o} with the desklamp", "find two {o} and put them in {r}"]
WORDS = ["women's", "running", "shoes", "lightweight", "breathable", "mesh", "sneakers",
         "organic", "green", "tea", "bags", "gluten", "free", "long", "lasting", "shampoo",
         "wireless", "bluetooth", "headphones", "noise", "cancelling", "usb-c", "charger",
         "men's", "slim", "fit", "cotton", "t-shirt", "navy", "blue", "x-large", "pack",
         "oz", "fl", "vegan", "sugar", "non-gmo", "easy", "clean", "stainless", "steel"]
UNICODE = ["naïve café", "Crème brûlée à la carte", "Zürich – Genève", "日本語のテキスト",
           "中文商品描述：无线耳机", "한국어 문장입니다", "Привет, мир!", "مرحبا بالعالم",
           "emoji 🙂🚀 and 👩‍👩‍👧", "½ cup, ¼ tsp, ² and ³, ① ② ③", "ｆｕｌｌ ｗｉｄｔｈ ９ ８",
           "math: ∑ x² ≤ ∞ ± √2", "quotes “smart” ‘single’ «guillemets»", "tab\tseparated\tvalues",
           "zero\u200bwidth", "nbsp\u00a0space 1", "ideographic\u3000space", "Ωmega µ° ©®™",
           "e\u0301 combining", "Ελληνικά 42", "हिन्दी पाठ", "ไทย ๑๒๓", "x\r\ny\r\n"]


def _obj(rng):
  return f"{rng.choice(OBJECTS)} {rng.randint(1, 12)}"


def _rec(rng):
  return f"{rng.choice(RECEPTACLES)} {rng.randint(1, 20)}"


def alfworld_observation(rng: random.Random) -> str:
  seen = ", ".join(f"a {_rec(rng)}" for _ in range(rng.randint(3, 14)))
  task = rng.choice(VERBS).format(o=rng.choice(OBJECTS), r=rng.choice(RECEPTACLES))
  return rng.choice([
      f"-= Welcome to TextWorld, ALFRED! =-\n\nYou are in the middle of a room. Looking quickly "
      f"around you, you see {seen}.\n\nYour task is to: {task}.",
      f"You arrive at {_rec(rng)}. On the {_rec(rng)}, you see a {_obj(rng)}, and a {_obj(rng)}.",
      f"You open the {_rec(rng)}. The {_rec(rng)} is open. In it, you see nothing.",
      f"You pick up the {_obj(rng)} from the {_rec(rng)}.", "Nothing happens.",
      f"You heat the {_obj(rng)} using the microwave 1.",
      f"The {_rec(rng)} is closed."])


def alfworld_action(rng: random.Random) -> str:
  return rng.choice([f"go to {_rec(rng)}", f"take {_obj(rng)} from {_rec(rng)}",
                     f"put {_obj(rng)} in/on {_rec(rng)}", f"open {_rec(rng)}",
                     f"close {_rec(rng)}", f"heat {_obj(rng)} with microwave 1",
                     f"cool {_obj(rng)} with fridge 1", f"clean {_obj(rng)} with sinkbasin 1",
                     f"use desklamp {rng.randint(1, 3)}", f"examine {_obj(rng)}", "look",
                     "inventory"])


def alfworld_prompt(rng: random.Random) -> str:
  actions = "\n ".join(f"'{alfworld_action(rng)}'" for _ in range(rng.randint(3, 12)))
  t = rng.randint(0, 30)
  records = "\n".join(f"[Observation {t - 1 + i}: '{alfworld_observation(rng)}', Action "
                      f"{t - 1 + i}: '{alfworld_action(rng)}']" for i in range(2))
  head = ("You are an expert agent acting in the ALFRED household environment. Your task is to: "
          f"{rng.choice(VERBS).format(o=rng.choice(OBJECTS), r=rng.choice(RECEPTACLES))}\n"
          f"Prior to this step, you have already taken {t} step(s). Below are the most recent 2 "
          f"observations and the actions you took:\n{records}\n")
  return (f"{head if t else ''}Your current observation is: {alfworld_observation(rng)}\n"
          f"Your admissible actions in this situation are:\n [{actions}].\n\nNow it's your turn "
          "to take an action. First reason step by step about the situation inside <think> "
          "</think> tags. Then give exactly one admissible action for this step inside <action> "
          "</action> tags.")


def _asin(rng):
  return "B0" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8))


def _title(rng):
  return " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 9))).title()


def webshop_instruction(rng: random.Random) -> str:
  return (f"i need {rng.choice(['a', 'some', 'two'])} {' '.join(rng.sample(WORDS, 3))}, and "
          f"price lower than {rng.randint(10, 200)}.00 dollars")


def webshop_observation(rng: random.Random) -> str:
  kind = rng.randint(0, 2)
  if kind == 0:
    items = " [SEP] ".join(f"{_asin(rng)} [SEP] {_title(rng)} [SEP] ${rng.randint(2, 150)}."
                           f"{rng.randint(0, 99):02d}" for _ in range(rng.randint(1, 10)))
    return (f"Back to Search [SEP] Page {rng.randint(1, 5)} (Total results: 50) [SEP] Next > "
            f"[SEP] {items}")
  if kind == 1:
    return (f"Back to Search [SEP] < Prev [SEP] size [SEP] small [SEP] medium [SEP] x-large "
            f"[SEP] color [SEP] black | white [SEP] {_title(rng)} [SEP] Price: "
            f"${rng.randint(5, 90)}.99 to ${rng.randint(91, 300)}.00 [SEP] Rating: N.A. [SEP] "
            "Description [SEP] Features [SEP] Reviews [SEP] Buy Now")
  return f"WebShop [SEP] Instruction: [SEP] {webshop_instruction(rng)} [SEP] Search"


def webshop_action(rng: random.Random) -> str:
  return rng.choice([f"search[{' '.join(rng.sample(WORDS, rng.randint(2, 6)))}]",
                     f"click[{_asin(rng).lower()}]", "click[back to search]", "click[next >]",
                     "click[< prev]", "click[buy now]", f"click[{rng.choice(WORDS)}]"])


def webshop_prompt(rng: random.Random) -> str:
  actions = "\n".join(f"'{webshop_action(rng)}'," for _ in range(rng.randint(2, 10)))
  return ("You are an expert autonomous agent operating in the WebShop e-commerce environment.\n"
          f"Your task is to: {webshop_instruction(rng)}.\n"
          f"Your current observation is: {webshop_observation(rng)}.\n"
          f"Your admissible actions of the current situation are:\n[\n{actions}\n].\n\n"
          "Now it's your turn to take one action for the current step.")


def response(rng: random.Random) -> str:
  act = alfworld_action(rng) if rng.random() < 0.5 else webshop_action(rng)
  return (f"<think>I should look for the {rng.choice(OBJECTS)}; it is probably in the "
          f"{_rec(rng)}.</think>\n<action>{act}</action>")


def variant(rng: random.Random, text: str) -> str:
  """Unicode and whitespace variants of `text` (indented numbered lists included)."""
  k = rng.randint(0, 6)
  if k == 0:
    return text + " " + rng.choice(UNICODE)
  if k == 1:
    return rng.choice(UNICODE) + "\n" + text
  if k == 2:
    return "\n".join(f"  {i + 1}. {line}" for i, line in enumerate(text.split(", ")[:6]))
  if k == 3:
    return text.replace(" ", "  ", rng.randint(1, 3))
  if k == 4:
    return text.upper()
  if k == 5:
    return "\t" + text.replace(". ", ".\n\n")
  return text.lower()


def env_strings(n: int, seed: int = 0) -> list[str]:
  """`n` distinct environment-like strings."""
  rng = random.Random(seed)
  makers = [alfworld_observation, alfworld_action, alfworld_prompt, webshop_instruction,
            webshop_observation, webshop_action, webshop_prompt, response]
  out = list(UNICODE)
  seen = set(out)
  while len(out) < n:
    text = rng.choice(makers)(rng)
    if rng.random() < 0.3:
      text = variant(rng, text)
    if text not in seen:
      seen.add(text)
      out.append(text)
  return out[:n]


def env_prompts(n: int, seed: int = 0) -> list[str]:
  """`n` ALFWorld / WebShop paper-style prompts (the user turn of a policy step)."""
  rng = random.Random(seed)
  return [(alfworld_prompt if i % 2 == 0 else webshop_prompt)(rng) for i in range(n)]
