"""Every experiment config loads, validates, and bad fields are named."""

import importlib
import os

import pytest

from proxmo_jax.training import config_validation

from configs import common

ENVS = ("alfworld", "webshop")


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("estimator", list(common.ESTIMATORS))
@pytest.mark.parametrize("variant", ["", "tiny"])
def test_configs_validate(env, estimator, variant):
  name = f"{env}_{estimator}"
  c = importlib.import_module(f"configs.{env}").get_config(
      ",".join(x for x in (estimator, variant) if x))
  if not variant:
    with pytest.raises(config_validation.ConfigError, match="tokenizer.path"):
      config_validation.validate(c)  # full scale needs the HF checkpoint's tokenizer
    c.tokenizer.path = "/checkpoints/Qwen2.5-1.5B-Instruct"
  config_validation.validate(c)
  assert c.algorithm.variant == estimator
  assert c.algorithm.estimator == common.ESTIMATORS[estimator]["estimator"]
  if variant == "tiny":
    assert c.model.preset == "tiny" and c.tokenizer.kind == "sentencepiece"
  else:  # the paper's recipe
    alf = name.startswith("alfworld")
    assert c.optim.learning_rate == 1e-6 and c.ppo.micro_batch == (32 if alf else 8)
    assert c.ppo.mini_batch == (256 if alf else 64) and c.env.max_steps == (50 if alf else 15)
    assert c.rollout.max_prompt_tokens == (2048 if alf else 4096)
    assert c.eval.before_train == (not alf)
    assert c.algorithm.psc_alpha == 4.0 and c.algorithm.psc_target_range == 0.05


@pytest.mark.parametrize("field,value,match", [
    ("algorithm.estimator", "ppo", "algorithm.estimator"),
    ("algorithm.p_mode", "rate", "algorithm.p_mode"),
    ("model.preset", "gpt", "model.preset"),
    ("ppo.micro_batch", 48, "ppo.micro_batch"),
    ("rollout.top_p", 0.0, "rollout.top_p"),
    ("sft.expert_noise", 1.0, "sft.expert_noise"),
    ("sft.expert_noise", -0.1, "sft.expert_noise"),
    ("sft.expert_labels", "teacher", "sft.expert_labels"),
    ("sft.stop_after", -1, "sft.stop_after"),
    ("sft.stop_after", 5, "sft.stop_after"),          # no checkpoint_every: it could not go on
    ("eval.batch", -1, "eval.batch"),
    ("ppo.frozen_hidden", "cached", "ppo.frozen_hidden"),
    ("ppo.frozen_hidden", "rollout", "needs LoRA on the top N layers"),  # no LoRA in tiny
])
def test_bad_fields_are_named(field, value, match):
  c = importlib.import_module("configs.alfworld").get_config("proxmo,tiny")
  section, key = field.split(".")
  c[section][key] = value
  with pytest.raises(config_validation.ConfigError, match=match):
    config_validation.validate(c)


def test_frozen_hidden_from_the_rollout_needs_top_layer_lora_in_float32():
  c = importlib.import_module("configs.alfworld").get_config("proxmo,tiny")
  c.model.lora.rank, c.model.lora.layers, c.ppo.frozen_hidden = 8, 2, "rollout"
  config_validation.validate(c)
  c.model.dtype = "bfloat16"
  with pytest.raises(config_validation.ConfigError, match="float32"):
    config_validation.validate(c)
  c.model.dtype, c.model.lora.layers = "float32", 0
  with pytest.raises(config_validation.ConfigError, match="model.lora.layers=N"):
    config_validation.validate(c)


def test_unknown_config_argument_is_named():
  with pytest.raises(ValueError, match="huge"):
    importlib.import_module("configs.alfworld").get_config("proxmo,huge")


def test_config_argument_sets_fields_and_estimator_names_mean_one_thing():
  c = importlib.import_module("configs.alfworld").get_config("gigpo_std,tiny,seed=3,env.group_size=2")
  assert (c.seed, c.env.group_size, c.model.preset) == (3, 2, "tiny")
  assert (c.algorithm.estimator, c.algorithm.gigpo_mode) == ("gigpo", "mean_std_norm")
  for env in ENVS:
    g = importlib.import_module(f"configs.{env}").get_config("gigpo")
    assert g.algorithm.gigpo_mode == "mean_norm"  # the registry default, everywhere


def test_unknown_environment_is_named():
  c = importlib.import_module("configs.alfworld").get_config("proxmo,tiny")
  c.env.name = "minecraft"
  with pytest.raises(config_validation.ConfigError, match="minecraft"):
    config_validation.validate(c)


@pytest.mark.parametrize("field,value,named", [
    ("task_types", "pick_and_place_simple, cook_dinner", "cook_dinner"),
    ("room_types", "bathroom, garage", "garage"),
])
def test_unknown_alfworld_selection_is_named(tmp_path, field, value, named):
  from environments import registry
  c = importlib.import_module("configs.alfworld").get_config("proxmo,tiny")
  c.env.data_dir = str(tmp_path)
  c.env[field] = value
  with pytest.raises(config_validation.ConfigError, match=rf"env.{field}.*{named}"):
    registry.make(c.env)


def test_room_type_of_generated_and_official_game_directories():
  from environments.alfworld import data
  assert data.room_type("data/gen/train/pick_and_place_simple/trial_gen_FloorPlan412_7") == \
      "bathroom"
  assert data.room_type("data/gen/train/pick_and_place_simple/trial_gen_FloorPlan7_3") == \
      "kitchen"
  assert data.room_type("json_2.1.1/train/pick_and_place_simple-AlarmClock-None-Desk-307/"
                        "trial_T20190907_072303_146844") == "bedroom"
  assert data.room_type("json_2.1.1/valid_seen/look_at_obj_in_light-Book-None-DeskLamp-"
                        "219/trial_T2019") == "livingroom"
  assert data.room_type("somewhere/else") is None


@pytest.mark.parametrize("env", ENVS + ("corridor",))
def test_smollm2_size_is_the_pretrained_model_with_the_paper_prompt(env):
  """A pretrained model must be told the response format: the smollm2 size uses the paper's
  prompt (the compact prompt of the tiny size carries no instruction), LoRA and the model's
  own tokenizer; the corridor's tiny size clones the noisy demonstrator and evaluates at the
  rollout temperature."""
  c = importlib.import_module(f"configs.{env}").get_config("proxmo,smollm2")
  assert c.env.prompt == "paper" and c.model.init == "smollm2-135m"
  assert c.tokenizer.kind == "model" and c.model.lora.rank > 0
  assert c.sft.expert_noise == 0.0
  if env == "corridor":
    tiny = importlib.import_module("configs.corridor").get_config("proxmo,tiny")
    assert tiny.env.prompt == "compact" and 0 < tiny.sft.expert_noise < 1
    assert tiny.eval.temperature == tiny.rollout.temperature == 1.0
    config_validation.validate(tiny)


def test_smollm2_webshop_response_budget_holds_every_expert_response():
  """Behaviour cloning teaches the expert's responses; a rollout budget that cuts them before
  </action> makes the cloned policy's searches invalid. Every expert response of the demo
  catalog's tasks, in SmolLM2 tokens plus the end-of-turn token, fits the smollm2 budget."""
  from configs import webshop
  from environments import registry as env_registry
  from proxmo_jax.models.gguf_import import smollm2_path
  from proxmo_jax.tokenizers import from_gguf
  from proxmo_jax.training import behavior_cloning
  c = webshop.get_config("proxmo,smollm2,env.data_dir=data/webshop_demo")
  spec = env_registry.make(c.env)
  tok = from_gguf(smollm2_path())
  pairs = behavior_cloning.expert_steps(spec.train_tasks[:100] + spec.eval_tasks[:100],
                                        spec.agent, spec.env_factory)
  lengths = [len(tok.encode(spec.agent.expert_response(cmd))) + 1 for _, cmd in pairs]
  assert max(lengths) <= c.rollout.max_response_tokens, max(lengths)
  assert max(lengths) > 48, max(lengths)    # the budget of 48 used before cut them


def test_load_reads_a_config_file_with_its_argument_and_names_a_bad_path():
  root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  c = common.load(os.path.join(root, "configs/webshop.py") + ":proxmo,smollm2,env.prompt=compact")
  assert c.env.prompt == "compact" and c.model.init == "smollm2-135m"
  with pytest.raises(ValueError, match="is not a Python file"):
    common.load("configs/webshop.txt")
