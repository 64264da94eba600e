"""The shared base of every experiment config (ml_collections), with the paper's recipe.

Full-scale defaults follow spec/estimators.md section 7 (the reference ProxMO run scripts);
`apply_variant(config, "tiny")` shrinks everything to what trains on a 2-core CPU.
"""

from __future__ import annotations

import ml_collections


def base_config(env: str, estimator: str) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0                          # PRNG seed of sampling, task order and init
  c.iterations = 150                  # rollout -> advantage -> update iterations (epochs)

  c.env = ml_collections.ConfigDict()
  c.env.name = env                    # "alfworld" or "webshop"
  c.env.data_dir = "data/alfworld_gen" if env == "alfworld" else "data/webshop_gen"
  c.env.train_split = "train"         # task split for rollouts
  c.env.eval_split = "test"           # held-out split (unseen scenes for generated ALFWorld)
  c.env.max_steps = 50 if env == "alfworld" else 15   # turns per episode
  c.env.history_length = 2            # past (observation, action) records in the prompt
  c.env.group_size = 8                # n trajectories per task and seed (one group)
  c.env.groups_per_batch = 16         # G task groups per rollout batch
  c.env.num_workers = 8               # env worker processes
  c.env.prompt = "paper"              # "paper" prompt or "compact" (small models)
  c.env.choose_admissible = False     # valid only if the action is an admissible command
  c.env.generate_per_task = 40        # ALFWorld: games per task type generated if data_dir is empty
  c.env.task_types = ""               # ALFWorld: comma-separated task types to use ("" = all six)
  c.env.room_types = ""               # ALFWorld: kitchen, livingroom, bedroom, bathroom ("" = all)
  if env == "webshop":
    c.env.use_small = True            # the 1000-product catalog files (the paper's setting)
    c.env.human_goals = False         # synthetic goals (the paper's wrapper default)
    c.env.goal_seed = 42              # fixes the goal order, hence the index splits
    c.env.test_size = 500             # test = goals [0, test_size), train = the rest
    c.env.num_products = 1000         # size of the catalog generated if data_dir is empty

  c.model = ml_collections.ConfigDict()
  c.model.preset = "qwen2.5-1.5b"     # models/config.py PRESETS
  c.model.init = ""                   # "" random, "hf:<dir>" HF checkpoint, "params:<dir>"
  c.model.dtype = "bfloat16"          # compute dtype
  c.model.remat = True                # rematerialise layers in the backward pass

  c.tokenizer = ml_collections.ConfigDict()
  c.tokenizer.kind = "hf"             # "hf" (tokenizer.json) or "sentencepiece"
  c.tokenizer.path = ""               # file / directory; sentencepiece: trained if missing
  c.tokenizer.vocab_size = 2048       # sentencepiece training size

  c.rollout = ml_collections.ConfigDict()
  c.rollout.temperature = 1.0         # training rollouts (vLLM defaults of the reference)
  c.rollout.top_p = 1.0
  c.rollout.top_k = 0                 # 0 = off
  c.rollout.max_prompt_tokens = 2048 if env == "alfworld" else 4096
  c.rollout.max_response_tokens = 512

  c.algorithm = ml_collections.ConfigDict()
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
  c.ppo.mini_batch = 256 if env == "alfworld" else 64   # step samples per optimizer step
  c.ppo.micro_batch = 32 if env == "alfworld" else 8    # per accumulation step
  c.ppo.epochs = 1

  c.mesh = ml_collections.ConfigDict({"data": -1, "fsdp": 1, "tensor": 1})

  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every = 5              # iterations between checkpoints
  c.checkpoint.keep = 3

  c.eval = ml_collections.ConfigDict()
  c.eval.every = 5                    # iterations between evaluations (0 = never)
  c.eval.temperature = 0.4            # sampled, as the reference's validation
  c.eval.num_tasks = 128
  c.eval.before_train = env == "webshop"   # the reference validates before training on WebShop

  c.sft = ml_collections.ConfigDict()
  c.sft.steps = 2000                  # behaviour-cloning steps on expert walkthroughs
  c.sft.learning_rate = 1e-4
  c.sft.batch_size = 32
  c.sft.num_games = 0                 # 0 = all training games
  return c


def apply_variant(c: ml_collections.ConfigDict, variant: str) -> ml_collections.ConfigDict:
  """"" (full scale) or "tiny"/"cpu": the settings that train on a 2-core CPU."""
  if variant in ("", "full"):
    return c
  if variant not in ("tiny", "cpu"):
    raise ValueError(f"unknown config variant {variant!r}; use '' (full scale) or 'tiny'.")
  c.iterations = 4
  c.env.data_dir = "data/alfworld_demo" if c.env.name == "alfworld" else "data/webshop_demo"
  c.env.max_steps = 12 if c.env.name == "alfworld" else 10
  c.env.group_size = 4
  c.env.groups_per_batch = 4
  c.env.num_workers = 2
  c.env.prompt = "compact"
  c.env.generate_per_task = 4
  c.model.preset = "tiny"
  c.model.dtype = "float32"
  c.model.remat = False
  c.tokenizer.kind = "sentencepiece"
  c.tokenizer.path = ""               # trained into the workdir from expert walkthroughs
  # WebShop pages and search queries are longer than ALFWorld's observations and commands.
  c.rollout.max_prompt_tokens = 256 if c.env.name == "alfworld" else 512
  c.rollout.max_response_tokens = 24 if c.env.name == "alfworld" else 64
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
