"""Evaluate a policy on held-out tasks and print the environment's table.

    python experiments/evaluate.py --config=configs/alfworld.py:proxmo,tiny --workdir=runs/tiny
        [--params=runs/tiny/sft] [--temperature=0.4] [--num_tasks=128] [--split=both]
    python experiments/evaluate.py --config=configs/alfworld.py:proxmo,smollm2 \
        --workdir=runs/smollm2_zero_shot --zero_shot       # the pretrained model as it is

Uses the latest checkpoint of --workdir unless --params names a params.npz directory (a LoRA
run's checkpoint holds adapters, merged here into config.model.init's weights); writes
<workdir>/eval_table.{md,csv} and eval_metrics.json (invalid-action rate, lengths, partial
score, episodes and wall seconds per row: the sum of its chunks' run times, whichever
session ran them), rewritten after each split.
`--dump=N` also writes eval_samples.jsonl: the first N steps of each split's episodes (task,
observation, the decoded response, the projected action, validity, reward), to read what the
policy answers, e.g. why a zero-shot model's actions are invalid.
`--split=both` adds a row for the same number of training tasks, so the gap between the two
rows shows how much of the policy's success is memorised. No optimizer is built.

Every finished chunk of episodes is kept under <workdir>/eval_episodes/ (`eval_store`): run
the same command again after a stop and the evaluation resumes at the chunk it was in, with
the episodes the uninterrupted run would have had. Another policy or other settings in the
same workdir are refused (evaluate into another --workdir); --noresume evaluates from scratch
without reading or writing chunks.
"""

import json
import os

import jax
from absl import app, flags
from ml_collections import config_flags

from proxmo_jax import host_memory, parallel
from proxmo_jax.parallel import multihost
from proxmo_jax.models import lora as lora_lib
from proxmo_jax.training import checkpointing, eval_store, eval_table, train
from proxmo_jax.training import metrics as metrics_lib
from proxmo_jax.training import trainer as trainer_lib

_CONFIG = config_flags.DEFINE_config_file("config", None, "config file (path[:arg]).",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "run directory.")
_PARAMS = flags.DEFINE_string("params", "", "params.npz directory instead of the checkpoint.")
_TEMP = flags.DEFINE_float("temperature", None, "sampling temperature (0 = greedy).")
_NUM = flags.DEFINE_integer("num_tasks", None, "number of tasks evaluated per split.")
_ZERO = flags.DEFINE_bool("zero_shot", False, "evaluate config.model.init as it is (e.g. "
                          "smollm2-135m), without a checkpoint.")
_SPLIT = flags.DEFINE_enum("split", "eval", ["eval", "train", "both"],
                           "held-out tasks (config.env.eval_split), the training tasks, or both.")
_DUMP = flags.DEFINE_integer("dump", 0, "write the first N steps of each split's episodes "
                             "(response text, action, validity) to eval_samples.jsonl.")
_RESUME = flags.DEFINE_bool("resume", True, "keep finished chunks under <workdir>/eval_episodes "
                            "and resume from them.")
flags.mark_flags_as_required(["config", "workdir"])


def restore_policy_params(config, exp):
  """The checkpoint's policy: its params, or (LoRA runs, whose checkpoints hold the adapters)
  the base params of config.model.init with the adapters merged in."""
  directory = os.path.join(_WORKDIR.value, "checkpoints")
  lora_cfg = trainer_lib.lora_config(config)
  if lora_cfg is None:
    return checkpointing.restore_params(directory, exp.policy.params)
  like = lora_lib.init_lora(exp.policy.model_cfg, lora_cfg, jax.random.PRNGKey(0))
  adapters = checkpointing.restore_params(directory, like)
  return lora_lib.merge(exp.policy.params, adapters, lora_cfg)


def sample_steps(episodes, decode, limit: int, split: str) -> list[dict]:
  """The first `limit` steps of `episodes`, in episode order, as JSON-ready records."""
  out = []
  for e in episodes:
    for t, s in enumerate(e.steps):
      if len(out) >= limit:
        return out
      out.append({"split": split, "task": e.task.task_id, "task_type": e.task.task_type,
                  "turn": t, "observation": s.observation, "response": decode(s.response_ids),
                  "action": s.action, "valid": s.valid, "reward": s.reward})
  return out


def main(argv):
  del argv
  host_memory.keep_freed_memory()  # before JAX runs: XLA's buffers are reused, not faulted in
  parallel.initialize()
  exp = train.build(_CONFIG.value, _WORKDIR.value, init_params_dir=_PARAMS.value or None)
  name = os.path.basename(os.path.normpath(_WORKDIR.value))
  rows, stats, samples = {}, {}, []

  def write():
    """Tables, metrics and samples of the splits evaluated so far: a long evaluation that is
    stopped keeps its finished splits."""
    if not multihost.is_primary():
      return
    print(eval_table.write_tables(rows, _WORKDIR.value, "eval_table"))
    with open(os.path.join(_WORKDIR.value, "eval_metrics.json"), "w") as f:
      json.dump(stats, f, indent=1)
    if samples:
      with open(os.path.join(_WORKDIR.value, "eval_samples.jsonl"), "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in samples)

  try:
    if not _PARAMS.value and not _ZERO.value:
      exp.policy.params = restore_policy_params(_CONFIG.value, exp)
    splits = ["eval", "train"] if _SPLIT.value == "both" else [_SPLIT.value]
    store = eval_store.EvalStore(os.path.join(_WORKDIR.value, "eval_episodes")) \
        if _RESUME.value else None
    for split in splits:
      label = name if _SPLIT.value != "both" else (
          f"{name} (held-out)" if split == "eval" else f"{name} (training tasks)")
      chunk_seconds = []

      def progress(done, total, seconds, stored, split=split, chunk_seconds=chunk_seconds):
        chunk_seconds.append(seconds)
        if multihost.is_primary():
          print(f"[{split}] {done}/{total} episodes, chunk {seconds:.0f} s"
                f"{' (stored)' if stored else ''}", flush=True)
      episodes, rows[label] = exp.evaluator.evaluate(
          num_tasks=_NUM.value, temperature=_TEMP.value, split=split, store=store,
          progress=progress)
      seconds = sum(chunk_seconds)  # the chunks' own run times, stored ones included
      stats[label] = metrics_lib.rollout_metrics(
          episodes, exp.spec.score_key, task_types=sorted(
              {t.task_type for t in exp.evaluator.split_tasks(split)}),
          sum_fn=multihost.sum_over_processes if multihost.count() > 1 else None)
      stats[label]["episodes"] = int(multihost.sum_over_processes([len(episodes)])[0])
      stats[label]["seconds"] = round(seconds, 1)
      samples += sample_steps(episodes, exp.policy.tokenizer.decode, _DUMP.value, split)
      write()
  finally:
    exp.close()
  if multihost.is_primary():
    for label, m in stats.items():  # invalid-action rate, lengths, truncation, partial score
      print(f"{label}: " + ", ".join(f"{k} {v:.3f}" for k, v in m.items()
                                     if not k.startswith("task/") and k != "episodes"))


if __name__ == "__main__":
  app.run(main)
