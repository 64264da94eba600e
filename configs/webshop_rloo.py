"""WebShop with rloo: the paper's recipe at full scale, or the CPU variant.

Launch (full scale, accelerators):
    python experiments/train.py --config=configs/webshop_rloo.py --workdir=runs/webshop_rloo
On a 2-core CPU (tiny model, generated catalog):
    python experiments/train.py --config=configs/webshop_rloo.py:tiny --workdir=runs/tiny_webshop_rloo
Override any field: --config.env.group_size=4 --config.algorithm.p_mode=paper
"""

from configs import common


def get_config(variant: str = ""):
  config = common.base_config("webshop", "rloo")
  return common.apply_variant(config, variant)
