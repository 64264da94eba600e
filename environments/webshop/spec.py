"""WebShop as a registered environment: config checks and `make(env_config) -> EnvSpec`.

Config fields (config.env): data_dir (official catalog files, or a folder a generated catalog
is written to), num_products (size of a generated catalog), use_small, human_goals, goal_seed,
test_size, train_split, eval_split, prompt, history_length, num_workers
(docs/environments.md#webshop).
"""

from __future__ import annotations

import functools

from environments.interface import ConfigError, EnvSpec, EvalTable

SCORE_KEY = "task_score"

# The paper's WebShop table: mean task score x 100 and success rate.
EVAL_TABLE = EvalTable(score_key=SCORE_KEY, score_column="Score", success_column="Succ.",
                       headline="Succ.")


def validate(env_config) -> None:
  e = env_config
  if e.get("choose_admissible", False):
    raise ConfigError(
        "config.env.choose_admissible=True: WebShop's search[...] takes free text, so "
        "choose-from-admissible mode does not apply; set it to False.")
  if e.prompt not in ("paper", "compact"):
    raise ConfigError(f"config.env.prompt={e.prompt!r}: use 'paper' or 'compact'.")
  for split in (e.train_split, e.eval_split):
    if split not in ("train", "test", "all"):
      raise ConfigError(f"config.env split {split!r}: WebShop's splits are 'train', 'test' "
                        "and 'all'.")


def make(env_config) -> EnvSpec:
  from environments.webshop import data as ws_data  # pylint: disable=import-outside-toplevel
  from environments.webshop.env import WebShopEnv  # pylint: disable=import-outside-toplevel
  from environments.webshop.prompts import WebShopAgent  # pylint: disable=import-outside-toplevel
  e = env_config
  ws_data.ensure_data(e.data_dir, e.num_products)
  kwargs = dict(use_small=e.use_small, human_goals=e.human_goals, seed=e.goal_seed,
                test_size=e.test_size)
  train = ws_data.load_tasks(e.data_dir, e.train_split, **kwargs)
  test = ws_data.load_tasks(e.data_dir, e.eval_split, **kwargs)
  factory = functools.partial(WebShopEnv, data_dir=e.data_dir, use_small=e.use_small,
                              human_goals=e.human_goals, goal_seed=e.goal_seed)
  agent = WebShopAgent(compact=e.prompt == "compact", history_length=e.history_length)
  return EnvSpec(name="webshop", train_tasks=train, eval_tasks=test, env_factory=factory,
                 agent=agent, eval_table=EVAL_TABLE)
