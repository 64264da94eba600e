"""Evaluate a trained policy on held-out tasks and print the paper's table.

    python experiments/evaluate.py --config=configs/alfworld_proxmo.py:tiny --workdir=runs/tiny
        [--params=runs/tiny/sft] [--temperature=0.4] [--num_tasks=128] [--split=both]
Uses the latest checkpoint of --workdir unless --params names a params.npz directory; writes
<workdir>/eval_table.{md,csv}. `--split=both` adds a row for the same number of training games,
so the gap between the two rows shows how much of the policy's success is memorised games.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from proxmo_jax.training import eval_table, trainer as trainer_lib  # noqa: E402

_CONFIG = config_flags.DEFINE_config_file("config", None, "config file (path[:variant]).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "run directory.")
_PARAMS = flags.DEFINE_string("params", "", "params.npz directory instead of the checkpoint.")
_TEMP = flags.DEFINE_float("temperature", None, "sampling temperature (0 = greedy).")
_NUM = flags.DEFINE_integer("num_tasks", None, "number of tasks evaluated per split.")
_SPLIT = flags.DEFINE_enum("split", "eval", ["eval", "train", "both"],
                           "held-out tasks (config.env.eval_split), the training tasks, or both.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  t = trainer_lib.Trainer(_CONFIG.value, _WORKDIR.value, init_params_dir=_PARAMS.value or None,
                          restore=not _PARAMS.value)
  name = os.path.basename(os.path.normpath(_WORKDIR.value))
  rows = {}
  try:
    if _SPLIT.value in ("eval", "both"):
      _, rows[f"{name} (held-out)" if _SPLIT.value == "both" else name] = t.evaluate(
          num_tasks=_NUM.value, temperature=_TEMP.value)
    if _SPLIT.value in ("train", "both"):
      _, rows[f"{name} (training games)"] = t.evaluate(
          num_tasks=_NUM.value, temperature=_TEMP.value, split_tasks=t.train_tasks)
  finally:
    t.close()
  print(eval_table.write_tables(rows, _WORKDIR.value, "eval_table"))


if __name__ == "__main__":
  app.run(main)
