"""Train an agent with ProxMO or a baseline, then evaluate it on held-out tasks.

    python experiments/train.py --config=configs/alfworld.py:proxmo,tiny --workdir=runs/tiny \
        [--init_params=runs/tiny/sft]
    python experiments/train.py --config=configs/alfworld.py:proxmo --workdir=runs/full \
        --config.model.init=hf:/path/to/Qwen2.5-1.5B-Instruct --config.tokenizer.kind=model

Re-running with the same --workdir resumes from its latest checkpoint. Writes
<workdir>/metrics.jsonl, tb/, checkpoints/ and eval.{md,csv}.
"""

from absl import app, flags
from ml_collections import config_flags

from proxmo_jax import host_memory, parallel
from proxmo_jax.training import train

_CONFIG = config_flags.DEFINE_config_file("config", None, "config file (path[:arg]).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "run directory (checkpoints, metrics, tables).")
_INIT = flags.DEFINE_string("init_params", "", "params.npz directory to start from (e.g. SFT).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  parallel.initialize()
  train.train_and_evaluate(_CONFIG.value, _WORKDIR.value, _INIT.value or None)


if __name__ == "__main__":
  app.run(main)
