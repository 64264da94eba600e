"""Behaviour-cloning warm start on the environment's expert (ALFWorld walkthroughs, WebShop
oracle plans, ...).

    python experiments/sft.py --config=configs/alfworld.py:proxmo,tiny --workdir=runs/tiny
    python experiments/sft.py --config=...,seed=1 --workdir=runs/more --init_params=runs/tiny/sft
Writes <workdir>/sft/params.npz (and the tokenizer, if trained) for train.py --init_params.
With `sft.stop_after=k` (and `sft.checkpoint_every`) it stops after step k with the params in
<workdir>/sft_step<k>/ (e.g. for experiments/bc_fit.py); the command without it goes on to the
end from there. `--demos_only` writes the expert's steps (<workdir>/bc_demos.json, which a run
with the same config and workdir reads back) and stops, e.g. to carry them to a lent GPU.
"""

from absl import app, flags
from ml_collections import config_flags

from proxmo_jax import host_memory
from proxmo_jax.training import train

_CONFIG = config_flags.DEFINE_config_file("config", None, "config file (path[:arg]).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "run directory.")
_INIT = flags.DEFINE_string("init_params", "", "params.npz directory to continue from (an earlier "
                            "behaviour cloning's sft/); give the config another seed.")
_DEMOS_ONLY = flags.DEFINE_bool("demos_only", False, "write <workdir>/bc_demos.json (the expert's "
                                 "steps) and stop, without training.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  if _DEMOS_ONLY.value:
    train.write_demonstrations(_CONFIG.value, _WORKDIR.value)
    return
  print("params written to", train.behavior_clone(_CONFIG.value, _WORKDIR.value,
                                                     init_params_dir=_INIT.value or None))


if __name__ == "__main__":
  app.run(main)
