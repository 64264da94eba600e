"""WebShop with grpo: the paper's recipe at full scale, or the CPU variant.

Launch (full scale, accelerators):
    python experiments/train.py --config=configs/webshop_grpo.py --workdir=runs/webshop_grpo
On a 2-core CPU (tiny model, generated catalog):
    python experiments/train.py --config=configs/webshop_grpo.py:tiny --workdir=runs/tiny_webshop_grpo
Override any field: --config.env.group_size=4 --config.algorithm.p_mode=paper
"""

from configs import common


def get_config(variant: str = ""):
  config = common.base_config("webshop", "grpo")
  return common.apply_variant(config, variant)
