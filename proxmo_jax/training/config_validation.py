"""Checks an experiment config before anything expensive starts; errors name the field."""

from __future__ import annotations

from environments import registry as env_registry
from proxmo_jax.advantages import config as adv_config
from proxmo_jax.advantages import registry
from proxmo_jax.errors import ConfigError
from proxmo_jax.models import config as model_config


def _require(cond, field, msg):
  if not cond:
    raise ConfigError(f"config.{field}: {msg}")


def validate(c) -> None:
  env_registry.validate(c.env)  # the name, then the environment's own fields
  _require(c.algorithm.estimator in registry.names(), "algorithm.estimator",
           f"{c.algorithm.estimator!r} unknown; choose one of {registry.names()}.")
  _require(c.algorithm.p_mode in adv_config.P_MODES, "algorithm.p_mode",
           f"{c.algorithm.p_mode!r}; allowed {adv_config.P_MODES}.")
  _require(c.algorithm.stats in adv_config.STATS, "algorithm.stats",
           f"{c.algorithm.stats!r}; allowed {adv_config.STATS}.")
  _require(c.algorithm.gigpo_mode in adv_config.GIGPO_MODES, "algorithm.gigpo_mode",
           f"{c.algorithm.gigpo_mode!r}; allowed {adv_config.GIGPO_MODES}.")
  _require(c.algorithm.features in ("tfidf", "hashed"), "algorithm.features",
           f"{c.algorithm.features!r}; use 'tfidf' or 'hashed'.")
  _require(c.model.preset in model_config.PRESETS, "model.preset",
           f"{c.model.preset!r}; choose one of {sorted(model_config.PRESETS)}.")
  _require(c.tokenizer.kind in ("hf", "sentencepiece"), "tokenizer.kind",
           f"{c.tokenizer.kind!r}; use 'hf' or 'sentencepiece'.")
  _require(c.tokenizer.kind != "hf" or c.tokenizer.path, "tokenizer.path",
           "an HF tokenizer needs the checkpoint directory holding tokenizer.json.")
  _require(c.env.group_size >= 1 and c.env.groups_per_batch >= 1, "env.group_size",
           "group_size and groups_per_batch must be >= 1.")
  _require(c.env.max_steps >= 1, "env.max_steps", "must be >= 1.")
  _require(c.ppo.mini_batch % c.ppo.micro_batch == 0, "ppo.micro_batch",
           f"mini_batch={c.ppo.mini_batch} must be a multiple of micro_batch="
           f"{c.ppo.micro_batch}.")
  _require(c.rollout.temperature >= 0, "rollout.temperature", "must be >= 0.")
  _require(0 < c.rollout.top_p <= 1, "rollout.top_p", "must lie in (0, 1].")
  _require(c.optim.learning_rate > 0, "optim.learning_rate", "must be > 0.")
  for axis, size in c.mesh.items():
    _require(axis in ("data", "fsdp", "tensor"), f"mesh.{axis}",
             "mesh axes are data, fsdp and tensor.")
    _require(size == -1 or size >= 1, f"mesh.{axis}", f"size {size}; use -1 or >= 1.")
