"""WebShop: the paper's recipe at full scale, or the 2-core CPU size; any estimator.

Launch (full scale, accelerators):
    python experiments/train.py --config=configs/webshop.py:proxmo --workdir=runs/webshop \
        --config.model.init=hf:/ckpt/Qwen2.5-1.5B-Instruct --config.tokenizer.kind=model
On a 2-core CPU (tiny model, generated catalog):
    python experiments/train.py --config=configs/webshop.py:proxmo,tiny --workdir=runs/ws_tiny
"""

from configs import common


def get_config(arg: str = ""):
  estimator, size, overrides = common.parse_arg(arg)
  c = common.base_config("webshop", estimator)
  c.env.data_dir = "data/webshop_gen"
  c.env.max_steps = 15
  c.env.use_small = True              # the 1000-product catalog files (the paper's setting)
  c.env.human_goals = False           # synthetic goals (the paper's wrapper default)
  c.env.goal_seed = 42                # fixes the goal order, hence the index splits
  c.env.test_size = 500               # test = goals [0, test_size), train = the rest
  c.env.num_products = 1000           # size of the catalog generated if data_dir is empty
  c.rollout.max_prompt_tokens = 4096
  c.ppo.mini_batch = 64
  c.ppo.micro_batch = 8
  c.eval.before_train = True          # the reference validates before training on WebShop
  if size in ("tiny", "cpu"):
    common.apply_tiny(c)
    c.env.data_dir = "data/webshop_demo"
    c.env.max_steps = 10
    # Pages and search queries are longer than ALFWorld's observations and commands.
    c.rollout.max_prompt_tokens = 512
    c.rollout.max_response_tokens = 64
  if size == "smollm2":
    common.apply_smollm2(c)
    c.rollout.max_prompt_tokens = 1024
    # The expert's search responses (the instruction as the query, inside the tags) reach 61
    # SmolLM2 tokens on the generated catalog (a 48-token budget cut 43 % of them before
    # </action>, so the behaviour-cloned policy repeated an invalid search); see
    # tests/test_configs.py.
    c.rollout.max_response_tokens = 96
  return common.finish(c, estimator, overrides)
