"""WebShop: loader, goals, reward (every component and edge case), search, pages, wrapper."""

import json
import math
import random

import numpy as np
import pytest

from environments.interface import Task, task_context
from environments.webshop import catalog as catalog_lib
from environments.webshop import data, generator, goals, policies, products, reward
from environments.webshop.engine import Page, WebShopEngine, parse_action
from environments.webshop.env import WebShopEnv, format_observation
from environments.webshop.prompts import WebShopAgent, build_prompt
from environments.webshop.search import Analyzer, SearchEngine

# ------------------------------------------------------------------------------ fixtures


def raw_item(asin, name, *, query="lipstick", category="makeup", pricing="$10.00",
             crumbs="Beauty › Makeup › Lips › Lipstick", description="a creamy lipstick",
             bullets=("long lasting color",), options=None):
  return {"asin": asin, "name": name, "category": category, "query": query,
          "product_category": crumbs, "full_description": description,
          "small_description": list(bullets), "pricing": pricing, "images": ["x.jpg"],
          "customization_options": options, "brand": "dropped"}


OFFICIAL_ITEMS = [
    raw_item("B000000001", "Acme Matte Lipstick", options={
        "Color": [{"value": "Ruby Red", "image": None}, {"value": "Black/White", "image": None}],
        "Size": [{"value": " 0.12 Ounce ", "image": None}]}),
    raw_item("B000000002", "Zeta Lip Gloss", pricing="$5.00 - $7.00"),
    raw_item("B000000003", "Desk Chair", query="office chair", category="furniture",
             crumbs="Home › Furniture › Chairs", pricing="", description="",
             bullets=("lumbar support", "")),
    raw_item("B000000001", "duplicate asin, skipped"),
    raw_item("nan", "skipped"),
    raw_item("B0000000001", "asin longer than 10, skipped"),
]
OFFICIAL_ATTRS = {
    "B000000001": {"attributes": ["long lasting", "cruelty free"],
                   "instruction": "i need a long lasting lipstick",
                   "instruction_attributes": ["long lasting"]},
    "B000000002": {"attributes": ["glossy finish"]},
}
OFFICIAL_HUMAN = {
    "B000000003": [{"asin": "B000000003", "instruction": "I want a desk chair.",
                    "instruction_attributes": ["lumbar support"], "instruction_options": [],
                    "attributes": [], "options": {}, "assignment_id": "a", "worker_id": "w"},
                   {"asin": "B000000003", "instruction": "no attributes: skipped",
                    "instruction_attributes": [], "instruction_options": []}],
}


@pytest.fixture(scope="module")
def official_dir(tmp_path_factory):
  d = tmp_path_factory.mktemp("webshop_official")
  for name, obj in [(data.SMALL[0], OFFICIAL_ITEMS), (data.SMALL[1], OFFICIAL_ATTRS),
                    (data.HUMAN, OFFICIAL_HUMAN)]:
    (d / name).write_text(json.dumps(obj))
  return str(d)


@pytest.fixture(scope="module")
def generated():
  items, attrs, human = generator.generate_catalog(1000, seed=0)
  return catalog_lib.build_catalog(items, attrs, human, seed=42)


def make_product(**kw):
  base = dict(asin="B0TEST0001", title="Acme Lipstick", category="makeup", query="lipstick",
              product_category="Beauty › Makeup › Lips › Lipstick",
              description="a creamy formula", bullet_points=["smooth texture"], pricing=[10.0],
              price_text="$10.0", options={}, attributes=["long lasting", "cruelty free"])
  base.update(kw)
  return products.Product(**base)


def make_goal(**kw):
  base = dict(asin="B0TEST0001", category="makeup", query="lipstick", name="Acme Lipstick",
              product_category="Beauty › Makeup › Lips › Lipstick",
              instruction_text="i need lipstick", attributes=["long lasting"], price_upper=20.0,
              goal_options={})
  base.update(kw)
  return goals.Goal(**base)


# ------------------------------------------------------------------------------ loading


def test_pricing_is_parsed_as_the_original():
  assert products.parse_pricing("$12.99") == ([12.99], "$12.99")
  assert products.parse_pricing("$15") == ([15.0], "$15.0")
  assert products.parse_pricing("$12.99 - $15.99") == ([12.99, 15.99], "$12.99 to $15.99")
  assert products.parse_pricing("$1,234.50") == ([1234.5], "$1234.5")
  assert products.parse_pricing("") == ([100.0], "$100.0")
  assert products.parse_pricing(None) == ([100.0], "$100.0")
  with pytest.raises(ValueError, match="unparseable pricing"):
    products.parse_pricing("twelve dollars")


def test_loader_reads_the_official_schema(official_dir):
  cat = data.load_catalog(official_dir)
  assert [p.asin for p in cat.products] == ["B000000001", "B000000002", "B000000003"]
  p1, p2, p3 = cat.products
  assert p1.options == {"color": ["ruby red", "black | white"], "size": ["0.12 ounce"]}
  assert p1.attributes == ["long lasting", "cruelty free"]
  assert p2.attributes == ["glossy finish"] and p2.price_text == "$5.0 to $7.0"
  assert 5.0 <= cat.prices["B000000002"] <= 7.0
  assert p3.attributes == ["DUMMY_ATTR"] and p3.price_text == "$100.0"
  assert p3.bullet_points == ["lumbar support", ""]
  # Synthetic goals: only B000000001 has an instruction; 2 colours x 1 size.
  assert len(cat.goals) == 2 and {g.asin for g in cat.goals} == {"B000000001"}
  texts = sorted(g.instruction_text for g in cat.goals)
  assert texts[0].startswith("i need a long lasting lipstick with color: black | white, and "
                             "size: 0.12 ounce, and price lower than ")
  assert all(g.price_upper in (20.0, 30.0, 40.0) for g in cat.goals)
  # Human goals: one record (the one without attributes is skipped), options a list.
  human = data.load_catalog(official_dir, human_goals=True)
  assert len(human.goals) == 1
  g = human.goals[0]
  assert g.instruction_text.startswith("I want a desk chair, and price lower than ")
  assert g.goal_options == [] and g.weight == 1.0


def test_loader_errors_name_the_file_and_the_fix(tmp_path):
  with pytest.raises(data.WebShopDataError, match="not found.*env.data_dir"):
    data.read_files(str(tmp_path))
  (tmp_path / data.SMALL[0]).write_text("[{broken")
  (tmp_path / data.SMALL[1]).write_text("{}")
  with pytest.raises(data.WebShopDataError, match="not valid JSON"):
    data.read_files(str(tmp_path))
  (tmp_path / data.SMALL[0]).write_text('{"asin": "x"}')
  with pytest.raises(data.WebShopDataError, match="must hold a JSON list"):
    data.read_files(str(tmp_path))
  (tmp_path / data.SMALL[0]).write_text('[{"name": "no asin"}]')
  with pytest.raises(data.WebShopDataError, match=r"lacks the field\(s\) \['asin'\]"):
    data.load_catalog(str(tmp_path))
  (tmp_path / data.SMALL[0]).write_text('[{"asin": "B1", "name": "n"}]')
  with pytest.raises(data.WebShopDataError, match="human goals need"):
    data.read_files(str(tmp_path), human_goals=True)
  with pytest.raises(data.WebShopDataError, match="no synthetic"):
    data.load_catalog(str(tmp_path))


def test_goals_follow_the_original_random_call_order(official_dir):
  """Reference: seed -> hidden prices -> one sample per goal product -> reseed -> shuffle,
  with the module-level `random` exactly as the original."""
  items, attrs, human = data.read_files(official_dir)
  prods = products.load_products(items, attrs, human)
  random.seed(7)
  prices = {p.asin: p.pricing[0] if len(p.pricing) == 1 else random.uniform(*p.pricing[:2])
            for p in prods}
  cands = [x for x in goals.PRICE_RANGE if x > prices["B000000001"]][:4]
  _, upper = sorted(random.sample(cands, 2))
  order = list(range(2))
  random.seed(7)
  random.shuffle(order)
  cat = catalog_lib.build_catalog(items, attrs, human, seed=7)
  assert cat.prices == prices
  assert all(g.price_upper == upper for g in cat.goals)
  unshuffled = ["black | white", "ruby red"][::-1]  # option values in product order
  assert [cat.goals[i].goal_options["color"] for i in range(2)] == \
      [unshuffled[j] for j in order]


def test_price_cap_rule():
  rng = random.Random(0)
  caps = {goals.price_cap(15.0, rng)[0] for _ in range(200)}
  assert caps == {30.0, 40.0, 50.0}  # two of [20, 30, 40, 50], the larger
  assert goals.price_cap(985.0, rng) == (goals.NO_PRICE_CAP, "")
  assert goals.price_cap(975.0, rng)[1] == ", and price lower than 990.00 dollars"


def test_synthetic_goals_expand_options_in_sorted_name_order_and_weigh_attributes():
  p = make_product(options={"size": ["s", "m"], "color": ["red", "blue", "green"]},
                   instruction_text="i need a shirt", instruction_attributes=["soft", "warm"])
  q = make_product(asin="B0TEST0002", instruction_text="i need socks",
                   instruction_attributes=["warm"])
  gs = goals.synthetic_goals([p, q], {p.asin: 10.0, q.asin: 10.0}, random.Random(0))
  assert len(gs) == 7
  assert gs[0].instruction_text.startswith("i need a shirt with color: red, and size: s, and "
                                           "price lower than")
  assert list(gs[0].goal_options) == ["color", "size"]
  # cnt[soft] = 6, cnt[warm] = 7: the shirt goals weigh (1/6 + 1/7) / 2, the socks 1/7.
  assert gs[0].weight == pytest.approx((1 / 6 + 1 / 7) / 2)
  assert gs[-1].weight == pytest.approx(1 / 7) and gs[-1].goal_options == {}
  assert gs[-1].instruction_text.startswith("i need socks, and price lower than")


def test_splits_are_fixed_index_ranges():
  assert goals.split_indices(600, "test") == range(500)
  assert goals.split_indices(600, "train") == range(500, 600)
  assert goals.split_indices(300, "train") == range(300, 300)
  with pytest.raises(ValueError, match="unknown WebShop split"):
    goals.split_indices(10, "dev")


# ------------------------------------------------------------------------------ reward


def test_fuzzy_matching_is_thefuzz_token_set_ratio():
  tsr = reward.token_set_ratio
  assert tsr("essential oil", "essential oils") == 96
  assert tsr("powder snow", "cool powder snow") == 100
  assert tsr("12 ounce (pack of 1)", "12 ounce (pack of 2)") == 94
  assert tsr("large", "x-large") == 100
  assert tsr("", "x") == 0 and tsr("\u00e9", "e") == 0  # Latin-1 code points are dropped
  assert tsr(("color", "navy"), "navy") == 100          # str() of a tuple
  assert tsr(("size", "large"), "x-large") == 83        # not a match (> 85 needed)


def test_colour_normalisation_is_a_substring_search_in_list_order():
  assert reward.normalize_color("dark blue") == "blue"
  assert reward.normalize_color("washed denim") == "ash"
  assert reward.normalize_color("size 9") == "size 9"
  assert reward.normalize_color(("color", "navy")) == "navy"
  assert reward.normalize_color(("color", "navy blue")) == ("color", "navy blue")


def test_perfect_purchase_scores_one():
  p = make_product(options={"color": ["ruby red", "berry"], "size": ["0.12 ounce"]})
  g = make_goal(goal_options={"color": "ruby red", "size": "0.12 ounce"})
  r = reward.purchase_reward(p, g, 10.0, {"color": "ruby red", "size": "0.12 ounce"})
  assert (r.score, r.r_type, r.n_att, r.n_opt, r.r_price) == (1.0, 1.0, 1, 2, 1.0)


def test_partial_matches_follow_the_formula():
  # 3 attributes, 2 options: 2 + 1 + price = 4 of 6.
  p = make_product(attributes=["long lasting", "cruelty free"])
  g = make_goal(attributes=["long lasting", "cruelty free", "paraben free"],
                goal_options={"color": "berry", "size": "0.12 ounce"})
  r = reward.purchase_reward(p, g, 10.0, {"color": "berry", "size": "0.17 fl oz"})
  assert (r.n_att, r.n_opt, r.r_price) == (2, 1, 1.0)
  assert r.score == pytest.approx(4 / 6)
  # The original's unit test values: 4 of 7, and half of it with r_type 0.5.
  g7 = make_goal(attributes=["long lasting", "cruelty free", "paraben free"],
                 goal_options={"color": "berry", "size": "0.12 ounce", "style": "tube"})
  assert reward.purchase_reward(p, g7, 10.0, {"color": "berry"}).score == pytest.approx(4 / 7)
  weak = make_product(title="Zeta Lipstick Holder", query="holder", product_category="Home")
  g7b = make_goal(name="Acme Lipstick Tube Case Mirror", attributes=g7.attributes,
                  goal_options=g7.goal_options)
  r = reward.purchase_reward(weak, g7b, 10.0, {"color": "berry"})
  assert r.r_type == 0.5 and r.score == pytest.approx(2 / 7)


def test_no_options_and_price_above_cap():
  p = make_product()
  g = make_goal(attributes=["long lasting", "cruelty free"], goal_options={})
  assert reward.purchase_reward(p, g, 10.0, {"color": "red"}).score == 1.0  # 3 / 3
  r = reward.purchase_reward(p, g, 25.0)  # hidden price above the cap of 20
  assert r.r_price == 0.0 and r.score == pytest.approx(2 / 3)


def test_attribute_falls_back_to_substring_of_title_bullets_description():
  p = make_product(attributes=["DUMMY_ATTR"], title="Acme Stainless Steel Lipstick Case",
                   bullet_points=["Gift Box included"], description="refillable design")
  g = make_goal(attributes=["stainless steel", "gift box", "refillable", "vegan"],
                name="Acme Lipstick Case")
  r = reward.purchase_reward(p, g, 10.0)
  assert r.n_att == 3 and r.score == pytest.approx(4 / 5)


def test_type_reward_cascade():
  g = make_goal(name="Acme Lipstick Tube Case Mirror")  # title nouns: 5 words
  # Same product type by query: r_type 1 even with a title overlap of 1/5.
  assert reward.type_reward(make_product(title="Zeta Lipstick Holder"), g) == 1.0
  # Query and category differ, overlap 1/5 = 0.2 (not > 0.2): 0.5.
  other = dict(query="holder", product_category="Home › Storage")
  assert reward.type_reward(make_product(title="Zeta Lipstick Holder", **other), g) == 0.5
  # Two shared category levels count as a type match.
  assert reward.type_reward(make_product(title="Zeta Lipstick Holder", query="holder",
                                         product_category="Beauty › Makeup › Eyes"), g) == 1.0
  # Overlap below 0.1: 0.1 even with a query match; no overlap at all: 0.
  g11 = make_goal(name="Acme Lipstick Tube Case Mirror Box Kit Set Pouch Bag Wallet Clip")
  assert reward.type_reward(make_product(title="Zeta Lipstick"), g11) == 0.1
  wrong = make_product(title="Desk Chair", attributes=["long lasting"])
  assert reward.type_reward(wrong, g) == 0.0
  assert reward.purchase_reward(wrong, make_goal(), 10.0).score == 0.0
  # A goal title without nouns scores 0.2: r_type stays 1 with a query match.
  assert reward.title_score(make_product(), make_goal(name="the best of")) == 0.2


def test_option_matching_keeps_the_original_quirks():
  # A dict goal whose value is a colour word becomes that bare colour; "navy blue"
  # normalises to "blue" (earlier in COLOR_SET), so it does not match "navy".
  assert reward.option_matches({"color": "navy blue"}, {"color": "navy"}) == 0
  assert reward.option_matches({"color": "navy"}, {"color": "navy"}) == 1
  # Other dict entries stay (name, value) tuples: lenient subset matching.
  assert reward.option_matches({"size": "large"}, {"size": "large"}) == 1
  assert reward.option_matches({"size": "x-large"}, {"size": "large"}) == 0
  # One purchased value may match several goal entries; human goals are plain lists.
  assert reward.option_matches({"c": "red"}, ["red", "bright red"]) == 2
  assert reward.option_matches({"c": "red"}, ["dark red"]) == 0  # "dark" comes first
  assert reward.option_matches({"s": "9"}, ["size 9", "wide"]) == 1  # a token subset: 100


# ------------------------------------------------------------------------------ search


def test_bm25_matches_the_lucene_formula_with_asin_tie_break():
  docs = ["red lipstick long lasting", "red red lipstick", "office chair red",
          "blue chair", "green tea"]
  prods = [make_product(asin=f"B{i}", title=t, description="", bullet_points=[])
           for i, t in zip([4, 3, 2, 1, 0], docs)]
  engine = SearchEngine(prods)
  an = Analyzer()
  toks = [an(t) for t in docs]
  avgdl = np.mean([len(t) for t in toks])
  query = "red red chairs"

  def lucene(doc):
    s = 0.0
    for term in an(query):  # a repeated query term counts again
      df = sum(term in t for t in toks)
      tf = doc.count(term)
      idf = math.log(1 + (len(toks) - df + 0.5) / (df + 0.5))
      s += idf * tf / (tf + 0.9 * (1 - 0.4 + 0.4 * len(doc) / avgdl)) if tf else 0.0
    return s

  np.testing.assert_allclose(engine.scores(query), [lucene(t) for t in toks], rtol=1e-5)
  hits = engine.search(query)
  assert "B0" not in hits and len(hits) == 4
  assert engine.search("zzz unknown") == [] and engine.search("the of") == []
  tie = SearchEngine([make_product(asin="B9", title="tea"), make_product(asin="B1", title="tea")])
  assert tie.search("tea") == ["B1", "B9"]


def test_analyzer_stems_and_drops_stopwords_and_possessives():
  assert Analyzer()("The Women's Running Shoes for 3.5 oz") == ["women", "run", "shoe", "3.5",
                                                                 "oz"]


def test_generated_goals_are_retrievable_by_their_instruction(generated):
  test = list(generated.split("test"))
  ranks = []
  for i in test:
    g = generated.goals[i]
    hits = generated.search.search(g.instruction_text.lower())
    ranks.append(hits.index(g.asin) if g.asin in hits else 99)
  ranks = np.array(ranks)
  assert np.mean(ranks < 50) >= 0.95
  assert np.mean(ranks < 10) >= 0.5


# ------------------------------------------------------------------------------ pages


def test_page_flow_observations_and_clickables(official_dir):
  cat = data.load_catalog(official_dir)
  eng = WebShopEngine(cat)
  goal_index = next(i for i, g in enumerate(cat.goals)
                    if g.goal_options["color"] == "ruby red")
  instr = cat.goals[goal_index].instruction_text
  assert eng.reset(goal_index) == f"WebShop [SEP] Instruction: [SEP] {instr} [SEP] Search"
  assert eng.available_actions() == {"has_search_bar": True, "clickables": ["search"]}
  # A no-op re-renders the page: unknown click, click[search], malformed, wrong name case.
  for bad in ["click[buy now]", "click[search]", "search[]", "Search[lipstick]", "buy"]:
    obs, r, done, info = eng.step(bad)
    assert info["noop"] and not done and r == 0.0 and eng.session.page == Page.SEARCH
  obs, _, _, info = eng.step("search[Lipstick]")
  assert not info["noop"]
  assert obs == (f"Instruction: [SEP] {instr} [SEP] Back to Search [SEP] Page 1 (Total results:"
                 " 2) [SEP] Next > [SEP] B000000001 [SEP] Acme Matte Lipstick [SEP] $10.0 [SEP] "
                 "B000000002 [SEP] Zeta Lip Gloss [SEP] $5.0 to $7.0")
  assert eng.available_actions()["clickables"] == ["back to search", "next >", "b000000001",
                                                   "b000000002"]
  obs, *_ = eng.step("click[next >]")  # always shown, even past the end
  assert "Page 2 (Total results: 2) [SEP] < Prev [SEP] Next >" in obs and obs.endswith("Next >")
  eng.step("click[< prev]")
  obs, *_ = eng.step("click[b000000001]")
  assert obs == (f"Instruction: [SEP] {instr} [SEP] Back to Search [SEP] < Prev [SEP] color "
                 "[SEP] ruby red [SEP] black | white [SEP] size [SEP] 0.12 ounce [SEP] Acme Matte "
                 "Lipstick [SEP] Price: $10.0 [SEP] Rating: N.A. [SEP] Description [SEP] Features"
                 " [SEP] Reviews [SEP] Buy Now")
  assert eng.available_actions()["clickables"] == [
      "back to search", "< prev", "description", "features", "reviews", "buy now", "ruby red",
      "black | white", "0.12 ounce"]
  eng.step("click[black | white]")
  eng.step("click[ruby red]")  # one value per option group
  assert eng.session.options == {"color": "ruby red"}
  obs, *_ = eng.step("click[description]")
  assert obs.endswith("< Prev [SEP] a creamy lipstick")
  eng.step("click[< prev]")  # back to the item, options kept
  assert eng.session.page == Page.ITEM and eng.session.options == {"color": "ruby red"}
  obs, *_ = eng.step("click[features]")
  assert obs.endswith("< Prev [SEP] long lasting color")
  eng.step("click[< prev]")
  eng.step("click[< prev]")  # item -> results: options reset
  assert eng.session.page == Page.RESULTS and eng.session.options == {}
  eng.step("click[b000000001]")
  eng.step("click[ruby red]")
  eng.step("click[0.12 ounce]")
  obs, score, done, info = eng.step("click[buy now]")
  assert done and score == 1.0 and info["reward_details"]["n_opt"] == 2
  assert obs.startswith("Thank you for shopping with us! [SEP] Your code: [SEP] None")
  assert ('[SEP] B000000001 [SEP] options [SEP] {"color": "ruby red", "size": "0.12 ounce"}'
          in obs) and "Your score (min 0.0, max 1.0) [SEP] 1.0 [SEP]" in obs
  assert eng.available_actions()["clickables"] == []


def test_search_works_from_any_page_and_back_to_search_clears(official_dir):
  cat = data.load_catalog(official_dir)
  eng = WebShopEngine(cat)
  eng.reset(0)
  eng.step("search[chair]")
  obs, *_ = eng.step("click[b000000003]")
  assert eng.session.page == Page.ITEM
  obs, *_ = eng.step("click[features]")  # a blank bullet is an empty segment
  assert obs.endswith("< Prev [SEP] lumbar support [SEP] ")
  eng.step("click[< prev]")
  obs, *_ = eng.step("click[description]")  # an empty description is no node at all
  assert obs.endswith("Back to Search [SEP] < Prev")
  eng.step("search[lipstick]")  # search from a sub-page
  assert eng.session.page == Page.RESULTS and eng.session.keywords == ["lipstick"]
  eng.step("click[back to search]")
  assert eng.session.page == Page.SEARCH and eng.session.keywords == []


def test_action_regex_is_the_original():
  assert parse_action("search[Red Shoes]") == ("search", "red shoes")
  assert parse_action("click[a[b]]") == ("click[a", "b]")
  assert parse_action("click[x] trailing") == ("click", "x")
  assert parse_action("click[]") is None and parse_action("no brackets") is None


# ------------------------------------------------------------------------------ RL wrapper


def test_wrapper_formats_observations_and_rewards_only_perfect_purchases(official_dir):
  env = WebShopEnv(data_dir=official_dir, expert=True)
  cat = env.catalog
  i = next(i for i, g in enumerate(cat.goals) if g.goal_options["color"] == "ruby red")
  res = env.reset(Task("webshop", f"goal-{i}", "makeup", payload=i), seed=0)
  assert res.observation == "'Search'"
  assert res.admissible_actions == ["search[<your query>]", "click[search]"]
  assert task_context(res) == cat.goals[i].instruction_text
  plan = env.expert_plan()
  assert res.info["expert_action"] == plan[0]
  for action in plan:
    res = env.step(action)
  assert res.done and res.won and res.reward == 10.0 and res.info["task_score"] == 1.0
  # A partial purchase is logged, not rewarded.
  env.reset(Task("webshop", "g", "makeup", payload=i), seed=1)
  env.step("search[lipstick]")
  res = env.step("click[b000000001]")
  assert res.observation.startswith("'Back to Search' [SEP] '< Prev' [SEP] 'color' [SEP] 'ruby red'")
  res = env.step("click[buy now]")
  assert res.done and not res.won and res.reward == 0.0
  assert res.info["task_score"] == pytest.approx(2 / 4)  # attribute + price of 1 + 2 + 1
  with pytest.raises(ValueError, match="payload must be a goal index"):
    env.reset(Task("webshop", "g", "makeup", payload=99), seed=0)


def test_format_observation_keeps_the_parts_after_the_task():
  raw = "Instruction: [SEP] buy x [SEP] Back to Search [SEP] Page 1 (Total results: 0)"
  assert format_observation(raw, "buy x") == "'Back to Search' [SEP] 'Page 1 (Total results: 0)'"
  assert format_observation("Thank you [SEP] x", "buy x") == "Thank you [SEP] x"


def test_prompt_and_projection():
  actions = ["search[<your query>]", "click[search]"]
  p0 = build_prompt("buy x", [], "'Search'", actions)
  assert "Your task is to: buy x." in p0 and "[\n'search[<your query>]',\n'click[search]',\n]" in p0
  p2 = build_prompt("buy x", [("'Search'", "search[x]"), ("'a'", "click[b1]"),
                              ("'b'", "click[< prev]")], "'c'", actions)
  assert "already taken 3 step(s)" in p2 and "[Observation 2: ''a'', Action 2: 'click[b1]']" in p2
  assert "You are now at step 4" in p2 and "Observation 1" not in p2
  huge = [("x" * 7000, "a")] * 2
  assert "already taken" not in build_prompt("buy x", huge, "'c'", actions)
  agent = WebShopAgent()
  assert agent.project("<think>ok</think><action>Search[Red Shoes]</action>", actions) == \
      ("search[red shoes]", True)
  action, valid = agent.project("I would click the first product please", actions)
  assert not valid and action == "the first product please"[-20:]


def test_oracle_succeeds_and_random_fails_on_generated_test_goals(generated):
  """The issue's must-show: oracle score 1.0 on >= 95 % of test goals; random far lower."""
  test = generated.split("test")
  oracle = policies.run_policy(generated, test, "oracle", max_steps=15)
  rand = policies.run_policy(generated, test, "random", max_steps=15, seed=0)
  assert np.mean(oracle == 1.0) >= 0.95
  assert np.mean(rand == 1.0) < 0.1 and rand.mean() < 0.5 * oracle.mean()


def test_generator_is_deterministic_by_seed():
  a = generator.generate_catalog(50, seed=3)
  b = generator.generate_catalog(50, seed=3)
  c = generator.generate_catalog(50, seed=4)
  assert a == b and a != c
  items, attrs, _ = a
  assert len({it["asin"] for it in items}) == 50 and all(len(it["asin"]) == 10 for it in items)
  assert {it["category"] for it in items} == {"fashion", "makeup", "electronics", "furniture",
                                              "food"}


def test_colour_normalisation_caps_some_exact_purchases_below_one():
  """The original's substring colour test maps "peppermint" to "mint" and "light wash" to
  "ash", while the goal keeps the (name, value) tuple: buying exactly the goal scores < 1."""
  p = make_product(options={"flavor name": ["peppermint"]})
  g = make_goal(goal_options={"flavor name": "peppermint"})
  r = reward.purchase_reward(p, g, 10.0, {"flavor name": "peppermint"})
  assert r.n_opt == 0 and r.score == pytest.approx(2 / 3)


def test_env_pool_runs_webshop_workers(official_dir):
  import functools
  from proxmo_jax.rollout.env_pool import EnvPool
  factory = functools.partial(WebShopEnv, data_dir=official_dir)
  task = Task("webshop", "goal-0", "makeup", payload=0)
  with EnvPool(factory, num_envs=2, num_workers=2, timeout=120) as pool:
    first = pool.reset([(task, 0), (task, 1)])
    assert [r.observation for r in first] == ["'Search'", "'Search'"]
    out = pool.step({0: "search[lipstick]", 1: "click[nothing]"})
    assert out[0].observation.startswith("'Back to Search' [SEP] 'Page 1 (Total results: 2)'")
    assert out[1].observation == "'Search'" and out[1].info["noop"]


def test_behaviour_cloning_pairs_follow_the_oracle(official_dir):
  import functools
  from proxmo_jax.training import behavior_cloning
  tasks = data.load_tasks(official_dir, "all")
  factory = functools.partial(WebShopEnv, data_dir=official_dir)
  pairs = behavior_cloning.expert_steps(tasks, WebShopAgent(compact=True), factory)
  goal = data.load_catalog(official_dir).goals[0]
  first_prompt, first_cmd = pairs[0]
  assert first_cmd == f"search[{goal.instruction_text.lower()}]"
  assert f"Task: {goal.instruction_text}" in first_prompt and "search[<your query>]" in first_prompt
  assert [c for _, c in pairs[:4]][1:] == ["click[b000000001]",
                                           f"click[{goal.goal_options['color']}]",
                                           "click[0.12 ounce]"]
  assert sum(c == "click[buy now]" for _, c in pairs) == len(tasks)
