"""Corridor as a registered environment: config checks and `make(env_config) -> EnvSpec`.

Config fields (config.env; a missing field takes its DEFAULTS value,
docs/environments.md#corridor):

  difficulty         center of the per-instance difficulty d in [0, 1]
  difficulty_spread  width of the range d is drawn from, in [0, 1] (0: every instance at the
                     center; 1: d ~ U[0, 1], success rates of one policy from near 0 to near 1)
  paraphrase_rate    probability in [0, 1] that an observation is paraphrased (0: the text is a
                     function of the state; 1: the same state almost never reads the same)
  paraphrase_lexical in a paraphrased observation, the probability in [0, 1] of each lexical
                     change (a sentence's wording, one filler sentence); the rest of a
                     paraphrase (list and sentence order, punctuation) leaves the TF-IDF vector
                     alone, so this sets how near two renderings of one state stay
  horizon            steps after which the env truncates an episode; the expert of the hardest
                     instance in range must fit, and config.env.max_steps must not be lower
  num_train_tasks, num_eval_tasks, task_seed   the two disjoint instance sets
  prompt ("compact" | "paper"), history_length, choose_admissible   the agent
"""

from __future__ import annotations

import functools
import numbers

from environments.interface import ConfigError, EnvSpec, EvalTable, Task

DEFAULTS = {
    "difficulty": 0.5,
    "difficulty_spread": 1.0,
    "paraphrase_rate": 0.0,
    "paraphrase_lexical": 0.2,
    "horizon": 15,
    "num_train_tasks": 512,
    "num_eval_tasks": 128,
    "task_seed": 0,
    "prompt": "compact",
    "history_length": 0,   # the observation states the whole (Markov) state
    "choose_admissible": False,
}

# Success per difficulty band, then over all held-out instances (the headline).
EVAL_TABLE = EvalTable(families=(("easy", "easy"), ("medium", "medium"), ("hard", "hard")),
                       success_column="All", headline="All")


def field(env_config, name: str):
  value = env_config.get(name, None) if hasattr(env_config, "get") else None
  return DEFAULTS[name] if value is None else value


def _unit(env_config, name: str) -> float:
  v = field(env_config, name)
  if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 <= float(v) <= 1.0:
    raise ConfigError(f"config.env.{name}={v!r}: use a number in [0, 1] "
                      f"(default {DEFAULTS[name]}).")
  return float(v)


def _count(env_config, name: str, minimum: int) -> int:
  v = field(env_config, name)
  if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
    raise ConfigError(f"config.env.{name}={v!r}: use an integer >= {minimum} "
                      f"(default {DEFAULTS[name]}).")
  return int(v)


def validate(env_config) -> None:
  from environments.corridor import tasks  # pylint: disable=import-outside-toplevel
  center = _unit(env_config, "difficulty")
  spread = _unit(env_config, "difficulty_spread")
  _unit(env_config, "paraphrase_rate")
  _unit(env_config, "paraphrase_lexical")
  horizon = _count(env_config, "horizon", 1)
  _count(env_config, "num_train_tasks", 1)
  _count(env_config, "num_eval_tasks", 1)
  _count(env_config, "task_seed", 0)
  _count(env_config, "history_length", 0)
  need = tasks.expert_length(tasks.difficulty_range(center, spread)[1])
  if horizon < need:
    raise ConfigError(
        f"config.env.horizon={horizon}: the expert needs {need} steps on the hardest instances "
        f"of difficulty={center}, difficulty_spread={spread}; raise horizon to >= {need} or "
        "lower difficulty / difficulty_spread.")
  max_steps = env_config.get("max_steps", None) if hasattr(env_config, "get") else None
  if max_steps is not None and max_steps < horizon:
    raise ConfigError(
        f"config.env.max_steps={max_steps} is below config.env.horizon={horizon}: the rollout "
        "would cut episodes that the env (and its exact values) run to the horizon; set "
        f"max_steps >= {horizon} or lower horizon.")
  if field(env_config, "prompt") not in ("compact", "paper"):
    raise ConfigError(f"config.env.prompt={field(env_config, 'prompt')!r}: use 'compact' or "
                      "'paper'.")
  if not isinstance(field(env_config, "choose_admissible"), bool):
    raise ConfigError(f"config.env.choose_admissible={field(env_config, 'choose_admissible')!r}"
                      ": use True or False.")


def to_task(inst, split: str, index: int) -> Task:
  return Task(env_name="corridor", task_id=f"corridor-{split}-{index:05d}",
              task_type=inst.band, payload=inst)


def make(env_config) -> EnvSpec:
  """Draws the two instance sets and builds the agent and env factory."""
  from environments.corridor import tasks  # pylint: disable=import-outside-toplevel
  from environments.corridor.agent import CorridorAgent  # pylint: disable=import-outside-toplevel
  from environments.corridor.env import CorridorEnv  # pylint: disable=import-outside-toplevel
  validate(env_config)
  f = functools.partial(field, env_config)
  train, held_out = tasks.splits(f("num_train_tasks"), f("num_eval_tasks"), f("task_seed"),
                                 float(f("difficulty")), float(f("difficulty_spread")))
  factory = functools.partial(CorridorEnv, horizon=f("horizon"),
                              paraphrase_rate=float(f("paraphrase_rate")),
                              paraphrase_lexical=float(f("paraphrase_lexical")))
  agent = CorridorAgent(compact=f("prompt") == "compact", history_length=f("history_length"),
                        choose_admissible=f("choose_admissible"))
  return EnvSpec(name="corridor",
                 train_tasks=[to_task(i, "train", k) for k, i in enumerate(train)],
                 eval_tasks=[to_task(i, "eval", k) for k, i in enumerate(held_out)],
                 env_factory=factory, agent=agent, eval_table=EVAL_TABLE, in_process=True)
