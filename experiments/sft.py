"""Behaviour-cloning warm start on the environment's expert (ALFWorld walkthroughs, WebShop
oracle plans, ...).

    python experiments/sft.py --config=configs/alfworld.py:proxmo,tiny --workdir=runs/tiny
Writes <workdir>/sft/params.npz (and the tokenizer, if trained) for train.py --init_params.
"""

from absl import app, flags
from ml_collections import config_flags

from proxmo_jax.training import train

_CONFIG = config_flags.DEFINE_config_file("config", None, "config file (path[:arg]).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "run directory.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  print("params written to", train.behavior_clone(_CONFIG.value, _WORKDIR.value))


if __name__ == "__main__":
  app.run(main)
