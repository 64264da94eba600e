"""Experiment entry points, in the style of flax examples/lm1b: the mains stay thin.

    rows = train_and_evaluate(config, workdir)            # RL from config.model.init / a start
    params_dir = behavior_clone(config, workdir)          # warm start on the env's expert
    exp = build(config, workdir); exp.evaluator.evaluate(split="train")   # evaluation only

`build` makes the pieces every job shares: the environment (found by name in the registry),
the mesh, the `Policy`, the rollout runner and the evaluator; `train_and_evaluate` adds the
`Trainer` (optimizer, reference policy, checkpoints) and the metric writer. On multi-host runs
the mains call `parallel.initialize()` first; the primary process then generates data and
trains the tokenizer before the others load them.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from typing import Optional

from environments import registry as env_registry
from proxmo_jax import parallel, policy as policy_lib
from proxmo_jax.models import transformer
from proxmo_jax.parallel import multihost
from proxmo_jax.rollout.runner import RolloutRunner
from proxmo_jax.training import (behavior_cloning, config_validation, eval_store, eval_table,
                                 evaluation, metrics as metrics_lib, run_environment,
                                 trainer as trainer_lib)


@dataclasses.dataclass
class Experiment:
  """The shared pieces of a job (see module docstring)."""
  config: object
  workdir: str
  spec: object
  mesh: object
  policy: policy_lib.Policy
  runner: RolloutRunner
  evaluator: evaluation.Evaluator

  def close(self):
    self.runner.close()


def param_shardings_fn(config, mesh):
  """params, model config -> NamedShardings by the config's logical-axis rules."""
  rules = trainer_lib.sharding_rules(config)

  def fn(params, model_cfg):
    return parallel.param_shardings(params, transformer.logical_axes(model_cfg), mesh, rules)
  return fn


def build(config, workdir: str, init_params_dir: Optional[str] = None) -> Experiment:
  """Environment, mesh, policy, runner and evaluator of `config`; writes config.json and appends
  to environment.jsonl (`run_environment`)."""
  config_validation.validate(config)
  os.makedirs(workdir, exist_ok=True)
  if multihost.is_primary():
    with open(os.path.join(workdir, "config.json"), "w") as f:
      f.write(config.to_json_best_effort(indent=2))
    run_environment.record(workdir)
  # The primary generates data and trains the tokenizer; the other hosts then load them.
  spec = multihost.primary_first(lambda: env_registry.make(config.env), "environment")
  tokenizer = multihost.primary_first(
      lambda: policy_lib.make_tokenizer(config, workdir, spec, pretrained_tokenizer=None)
      if not policy_lib.is_pretrained(config.model.init) or config.tokenizer.kind != "model"
      else None, "tokenizer")
  mesh = parallel.make_mesh(dict(config.mesh))
  policy = policy_lib.build_policy(config, workdir, spec, init_params_dir, tokenizer=tokenizer,
                                   shardings_fn=param_shardings_fn(config, mesh))
  # One pool serves training (its first group_size x groups_per_batch envs) and evaluation. An
  # eval.batch above the training batch makes it m training batches with m times the workers:
  # each worker owns a contiguous block of envs, so training's envs keep their workers.
  train_envs = config.env.group_size * config.env.groups_per_batch
  m = max(1, -(-config.eval.get("batch", 0) // train_envs))
  runner = RolloutRunner(spec, policy, num_envs=m * train_envs,
                         num_workers=m * config.env.num_workers, max_steps=config.env.max_steps)
  return Experiment(config, workdir, spec, mesh, policy, runner,
                    evaluation.Evaluator(config, spec, runner))


class Run:
  """An experiment with its trainer and metric writer; `train()` runs the RL loop."""

  def __init__(self, config, workdir: str, init_params_dir: Optional[str] = None,
               restore: bool = True):
    self.exp = build(config, workdir, init_params_dir)
    self.config, self.workdir = config, workdir
    self.trainer = trainer_lib.Trainer(config, workdir, self.exp.spec, self.exp.policy,
                                       self.exp.runner, self.exp.mesh, restore=restore)
    primary = multihost.is_primary()
    self.writer = metrics_lib.MetricWriter(workdir if primary else None, tensorboard=primary,
                                           console=primary)

  def evaluate(self, **kwargs):
    return self.exp.evaluator.evaluate(**kwargs)

  def write_eval(self, step: int, episodes):
    """The evaluation's metrics, with its episode count over every host ("eval/episodes")."""
    metrics = self.trainer.episode_metrics(episodes)
    metrics["episodes"] = float(multihost.sum_over_processes([len(episodes)])[0])
    self.writer.write(step, metrics, prefix="eval/")

  def evaluate_stored(self, iteration: int, root: Optional[str] = None):
    """`evaluate()` of the policy at `iteration`, its finished chunks of episodes kept under
    <root>/iter_<k> (`eval_store`; root defaults to <workdir>/eval_episodes): the loop restarted
    after a stop inside an evaluation reaches that iteration again from its last checkpoint with
    the same params (the resume is exact), and reads the chunks back instead of playing them
    again."""
    root = root or os.path.join(self.workdir, "eval_episodes")
    return self.evaluate(store=eval_store.EvalStore(os.path.join(root, f"iter_{iteration}")))

  def train(self, iterations: Optional[int] = None) -> dict:
    """Runs the loop to `iterations` (default config.iterations), evaluating before (iteration
    0, if config.eval.before_train), every config.eval.every iterations and after the last;
    returns the table rows {"start", "iter k", ..., "final"}."""
    c = self.config
    t = self.trainer
    total = iterations or c.iterations
    rows = {}
    if c.eval.before_train and t.iteration == 0:
      eps, rows["start"] = self.evaluate_stored(0)
      self.write_eval(0, eps)
    while t.iteration < total:
      m = t.train_iteration()
      self.writer.write(t.iteration, m)
      if c.checkpoint.every and t.iteration % c.checkpoint.every == 0:
        t.save()
      if c.eval.every and t.iteration % c.eval.every == 0:
        eps, rows[f"iter {t.iteration}"] = self.evaluate_stored(t.iteration)
        self.write_eval(t.iteration, eps)
    t.save()
    t.ckpt.wait()
    if f"iter {t.iteration}" in rows:  # the last evaluation already is the final one
      rows["final"] = rows.pop(f"iter {t.iteration}")
    else:
      eps, rows["final"] = self.evaluate_stored(t.iteration)
      self.write_eval(t.iteration, eps)
    return rows

  def close(self):
    self.trainer.close()
    self.exp.close()
    self.writer.close()


def train_and_evaluate(config, workdir: str, init_params_dir: Optional[str] = None) -> dict:
  """Trains (resuming from workdir) and evaluates; writes <workdir>/eval.{md,csv}; returns
  the table rows."""
  run = Run(config, workdir, init_params_dir)
  try:
    rows = run.train()
  finally:
    run.close()
  if multihost.is_primary():
    print(eval_table.write_tables(rows, workdir, "eval"), flush=True)
  return rows


def _demonstrations(config, spec, games, workdir: str) -> list[tuple[str, str]]:
  """The expert's (prompt, command) steps for behaviour cloning, kept in
  <workdir>/bc_demos.json under a key of everything they depend on (the env config less its
  worker count, the noisy demonstrator's settings, the seed and the tasks), so that a resumed
  run reads them back: ALFWorld's live expert took 9.6 min for 240 noisy
  demonstrations on 2 cores. A file under another key is replaced."""
  noise = config.sft.get("expert_noise", 0.0)
  labels = config.sft.get("expert_labels", "taken")
  key = {"env": eval_store.keyed_sections(config, ("env",))["env"], "noise": noise,
         "labels": labels, "seed": int(config.seed), "tasks": [t.task_id for t in games]}
  path = os.path.join(workdir, "bc_demos.json")
  try:
    with open(path) as f:
      stored = json.load(f)
    if stored.get("key") == key:
      return [tuple(p) for p in stored["pairs"]]
  except (OSError, ValueError, AttributeError):  # absent or unreadable: made again
    pass
  pairs = behavior_cloning.expert_steps(
      games, spec.agent, (noise and spec.expert_env_factory) or spec.env_factory, noise=noise,
      seed=config.seed, labels=labels, horizon=config.env.max_steps)
  if multihost.is_primary():
    with open(path + ".tmp", "w") as f:
      json.dump({"key": key, "pairs": pairs}, f)
    os.replace(path + ".tmp", path)
  return pairs


def _bc_demonstrations(config, workdir: str):
  """(env spec, demonstrated tasks, expert steps) of behaviour cloning with this config: the
  config validated, the workdir made, the first sft.num_games training tasks (0: all) and their
  demonstrations, read from or written to <workdir>/bc_demos.json."""
  config_validation.validate(config)
  os.makedirs(workdir, exist_ok=True)
  spec = env_registry.make(config.env)
  games = spec.train_tasks[:config.sft.num_games] if config.sft.num_games else spec.train_tasks
  return spec, games, _demonstrations(config, spec, games, workdir)


def write_demonstrations(config, workdir: str) -> str:
  """Makes (or keeps, when its key matches) <workdir>/bc_demos.json, the expert's steps that
  `behavior_clone` with this config and workdir trains on, without training; returns its path.
  For a machine that should not spend its time replaying the expert (a lent accelerator: the
  file travels there; docs/accelerators.md)."""
  _, _, pairs = _bc_demonstrations(config, workdir)
  print(f"{len(pairs)} expert steps in {os.path.join(workdir, 'bc_demos.json')}", flush=True)
  return os.path.join(workdir, "bc_demos.json")


def behavior_clone(config, workdir: str, out_dir: Optional[str] = None,
                   init_params_dir: Optional[str] = None) -> str:
  """Trains the configured model on the environment's expert; returns the params directory.
  Appends what it runs on to <workdir>/environment.jsonl (`run_environment`).

  init_params_dir: a params.npz directory to continue from (e.g. an earlier, finished
  behaviour cloning: with LoRA, fresh adapters on its merged params) instead of
  config.model.init. Use another config.seed than the earlier run, or the batch sampler
  draws the same batches again.
  config.sft.stop_after k (0 < k < sft.steps): stops after step k and writes those params to
  <workdir>/sft_step<k> (not sft/), keeping the resumable state, so that the same command
  without stop_after goes on from step k to the end.
  """
  spec, games, pairs = _bc_demonstrations(config, workdir)
  if multihost.is_primary():
    run_environment.record(workdir)
  tokenizer = None
  if not policy_lib.is_pretrained(config.model.init) or config.tokenizer.kind != "model":
    tokenizer = policy_lib.make_tokenizer(config, workdir, spec, pairs=pairs)
  policy = policy_lib.build_policy(config, workdir, spec, init_params_dir, tokenizer=tokenizer)
  examples = behavior_cloning.encode_pairs(pairs, policy, spec.agent)
  print(f"behaviour cloning on {len(examples)} expert steps from {len(games)} tasks "
        f"(model {config.model.preset if not config.model.init else config.model.init}, "
        f"vocab {policy.model_cfg.vocab_size})", flush=True)
  # With config.model.lora, only adapters are trained and the merged params are returned.
  timing = {}
  stop_after = config.sft.get("stop_after", 0)   # validated: 0, or a step before the last
  params, losses_ = behavior_cloning.train_bc(
      policy.params, examples, policy.model_cfg, steps=config.sft.steps,
      batch_size=config.sft.batch_size, learning_rate=config.sft.learning_rate, seed=config.seed,
      lora_cfg=trainer_lib.lora_config(config),
      checkpoint_dir=os.path.join(workdir, "bc_state"),
      checkpoint_every=config.sft.get("checkpoint_every", 0),
      micro_batch=config.sft.get("micro_batch", 0), timing=timing,
      stop_after=stop_after)
  out_dir = out_dir or os.path.join(workdir, f"sft_step{stop_after}" if stop_after else "sft")
  policy_lib.save_params(params, out_dir)
  if not stop_after:  # finished: no resume
    shutil.rmtree(os.path.join(workdir, "bc_state"), ignore_errors=True)
  # "seconds": the training's wall time, summed over the calls a resumed run took (each up to
  # its last saved state); "resumed_at": the step this call began at (0: not resumed).
  with open(os.path.join(out_dir, "bc_log.json"), "w") as f:
    json.dump({"examples": len(examples), "tasks": len(games), "steps": config.sft.steps,
               "stopped_after": stop_after,
               "batch_size": config.sft.batch_size, "seconds": round(timing["seconds"], 1),
               "resumed_at": timing["resumed_at"],
               "init_params": init_params_dir or "",
               "losses": losses_[::10]}, f)
  return out_dir


__all__ = ["Experiment", "Run", "behavior_clone", "build", "train_and_evaluate",
           "write_demonstrations"]
