"""WebShop with gigpo: the paper's recipe at full scale, or the CPU variant.

Launch (full scale, accelerators):
    python experiments/train.py --config=configs/webshop_gigpo.py --workdir=runs/webshop_gigpo
On a 2-core CPU (tiny model, generated catalog):
    python experiments/train.py --config=configs/webshop_gigpo.py:tiny --workdir=runs/tiny_webshop_gigpo
Override any field: --config.env.group_size=4 --config.algorithm.p_mode=paper
"""

from configs import common


def get_config(variant: str = ""):
  config = common.base_config("webshop", "gigpo")
  config.algorithm.gigpo_mode = "mean_std_norm"  # verl-agent GiGPO script
  config.algorithm.omega = 1.0
  return common.apply_variant(config, variant)
