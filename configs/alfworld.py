"""ALFWorld: the paper's recipe at full scale, or the 2-core CPU size; any estimator.

Launch (full scale, accelerators; Qwen2.5-1.5B-Instruct from a local HF checkpoint):
    python experiments/train.py --config=configs/alfworld.py:proxmo --workdir=runs/alfworld \
        --config.model.init=hf:/ckpt/Qwen2.5-1.5B-Instruct --config.tokenizer.kind=model
On a 2-core CPU (tiny model, generated games):
    python experiments/train.py --config=configs/alfworld.py:proxmo,tiny --workdir=runs/tiny
Any estimator of configs/common.py ESTIMATORS (grpo, rloo, gigpo, gigpo_std, proxmo, ...);
override fields in the argument (`:grpo,tiny,seed=3`) or with --config.env.group_size=4.
"""

from configs import common


def get_config(arg: str = ""):
  estimator, size, overrides = common.parse_arg(arg)
  c = common.base_config("alfworld", estimator)
  c.env.data_dir = "data/alfworld_gen"
  c.env.eval_split = "test"           # generated: ALFRED's unseen test scenes
  c.env.max_steps = 50
  c.env.generate_per_task = 40        # games per task type generated if data_dir is empty
  c.env.task_types = ""               # comma-separated task types to use ("" = all six)
  c.env.room_types = ""               # kitchen, livingroom, bedroom, bathroom ("" = all)
  if size in ("tiny", "cpu"):
    common.apply_tiny(c)
    c.env.data_dir = "data/alfworld_demo"
    c.env.max_steps = 12
    c.env.generate_per_task = 4
    c.rollout.max_prompt_tokens = 256
    c.rollout.max_response_tokens = 24
  if size == "smollm2":
    common.apply_smollm2(c)
    c.rollout.max_prompt_tokens = 1024
    c.rollout.max_response_tokens = 48
  return common.finish(c, estimator, overrides)
