"""Checks an experiment config before anything expensive starts; errors name the field."""

from __future__ import annotations

from environments import registry as env_registry
from proxmo_jax.advantages import config as adv_config
from proxmo_jax.advantages import registry
from proxmo_jax import policy as policy_lib
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
  _require(c.tokenizer.kind in ("hf", "sentencepiece", "model"), "tokenizer.kind",
           f"{c.tokenizer.kind!r}; use 'hf', 'sentencepiece' or 'model' (the tokenizer of a "
           "pretrained config.model.init).")
  _require(c.tokenizer.kind != "model" or policy_lib.is_pretrained(c.model.init),
           "tokenizer.kind", f"'model' needs a pretrained config.model.init ('hf:<dir>', "
           f"'gguf:<file>' or 'smollm2-135m'), not {c.model.init!r}.")
  lora = c.model.get("lora", None)
  if lora is not None:
    _require(lora.rank >= 0, "model.lora.rank", f"{lora.rank}; use 0 (off) or a rank >= 1.")
    _require(lora.rank == 0 or lora.alpha > 0, "model.lora.alpha", "must be > 0.")
    _require(lora.get("layers", 0) >= 0, "model.lora.layers",
             f"{lora.get('layers', 0)}; use 0 (every layer) or N > 0 (the top N layers).")
    if lora.rank:
      from proxmo_jax.models import lora as lora_lib  # pylint: disable=import-outside-toplevel
      try:
        lora_lib.parse_targets(lora.targets)
      except ValueError as e:
        raise ConfigError(f"config.model.lora.targets: {e}") from e
  _require(c.eval.get("batch", 0) >= 0, "eval.batch",
           f"{c.eval.get('batch', 0)}; use 0 (the training batch) or the episodes to evaluate "
           "at once.")
  _require(c.ppo.get("old_logprobs", "recompute") in ("recompute", "sampled"),
           "ppo.old_logprobs", f"{c.ppo.get('old_logprobs')!r}; use 'recompute' or 'sampled'.")
  frozen = c.ppo.get("frozen_hidden", "recompute")
  _require(frozen in ("recompute", "rollout"), "ppo.frozen_hidden",
           f"{frozen!r}; use 'recompute' or 'rollout'.")
  if frozen == "rollout":
    _require(lora is not None and lora.rank > 0 and lora.get("layers", 0) > 0,
             "ppo.frozen_hidden", "'rollout' keeps the output of the layers below the adapters; "
             "it needs LoRA on the top N layers (model.lora.rank > 0, model.lora.layers=N).")
    _require(c.model.dtype == "float32", "ppo.frozen_hidden",
             f"'rollout' needs model.dtype='float32' (not {c.model.dtype!r}): the sampler's "
             "cached forward and the update's full one agree to float32 rounding only there.")
  rules = c.get("sharding_rules", None)
  for rule in rules or ():
    _require(len(rule) == 2, "sharding_rules", f"{rule!r}: each rule is (logical axis, mesh "
             "axis or axes or None).")
    axes = rule[1] if isinstance(rule[1], (list, tuple)) else [rule[1]]
    _require(all(a is None or a in ("data", "fsdp", "tensor") for a in axes),
             "sharding_rules", f"{rule!r}: mesh axes are data, fsdp and tensor.")
  _require(c.tokenizer.kind != "hf" or c.tokenizer.path, "tokenizer.path",
           "an HF tokenizer needs the checkpoint directory holding tokenizer.json.")
  _require(c.env.group_size >= 1 and c.env.groups_per_batch >= 1, "env.group_size",
           "group_size and groups_per_batch must be >= 1.")
  _require(c.env.max_steps >= 1, "env.max_steps", "must be >= 1.")
  _require(c.ppo.mini_batch % c.ppo.micro_batch == 0, "ppo.micro_batch",
           f"mini_batch={c.ppo.mini_batch} must be a multiple of micro_batch="
           f"{c.ppo.micro_batch}.")
  _require(c.sft.get("micro_batch", 0) >= 0, "sft.micro_batch",
           "examples per forward/backward; use 0 (the whole batch) or a positive count.")
  stop = c.sft.get("stop_after", 0)
  _require(stop == 0 or (0 < stop < c.sft.steps and c.sft.get("checkpoint_every", 0) > 0),
           "sft.stop_after", f"{stop!r}; use 0 (run all sft.steps={c.sft.steps}) or a step "
           "below sft.steps with sft.checkpoint_every > 0, so that the run can go on from it.")
  noise = c.sft.get("expert_noise", 0.0)
  _require(0.0 <= noise < 1.0, "sft.expert_noise",
           f"{noise!r}; use a probability in [0, 1) (0 = the expert's own walkthrough).")
  _require(c.sft.get("expert_labels", "taken") in ("taken", "expert"), "sft.expert_labels",
           f"{c.sft.get('expert_labels')!r}; use 'taken' (the command the noisy demonstrator "
           "took) or 'expert' (the expert's command from each state it reached).")
  _require(c.rollout.temperature >= 0, "rollout.temperature", "must be >= 0.")
  _require(0 < c.rollout.top_p <= 1, "rollout.top_p", "must lie in (0, 1].")
  _require(c.optim.learning_rate > 0, "optim.learning_rate", "must be > 0.")
  for axis, size in c.mesh.items():
    _require(axis in ("data", "fsdp", "tensor"), f"mesh.{axis}",
             "mesh axes are data, fsdp and tensor.")
    _require(size == -1 or size >= 1, f"mesh.{axis}", f"size {size}; use -1 or >= 1.")
