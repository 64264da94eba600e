"""The experiment loop: rollout -> advantages -> PPO update, with evaluation and checkpoints.

    trainer = Trainer(config, workdir)
    trainer.train()            # resumes from workdir/checkpoints when present

Per iteration (spec sections 1, 5, 6): sample G training tasks (deterministic in the seed and
the iteration, so a resumed run continues identically), roll out n episodes of each in the env
worker pool while the policy samples actions, flatten the step samples (keeping the sampled
token ids) into a `TrajectoryBatch` + token arrays, compute advantages with the configured
estimator, recompute old log-probs with the policy and reference log-probs with the frozen
initial policy, and run one PPO epoch of sequential mini-batch updates. Metrics go to the
console, TensorBoard and metrics.jsonl; timings include the advantage of GRPO on the same batch,
so the overhead of ProxMO over GRPO is measured in every iteration.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from environments import registry as env_registry
from environments.interface import Task
from proxmo_jax import parallel
from proxmo_jax.advantages import AdvantageConfig, compute_advantages
from proxmo_jax.models import config as model_config
from proxmo_jax.models import logprobs as logprobs_lib
from proxmo_jax.models import sampler as sampler_lib
from proxmo_jax.models import transformer
from proxmo_jax.proximity import hashed, tfidf
from proxmo_jax.rollout import batching, loop
from proxmo_jax.parallel import multihost
from proxmo_jax.rollout.env_pool import EnvPool
from proxmo_jax.training import (behavior_cloning, checkpointing, config_validation, eval_table,
                                 losses, metrics as metrics_lib, train_state, update)


# ----------------------------------------------------------------------------- environment


def env_setup(config):
  """(train tasks, eval tasks, env factory, agent) of the configured environment."""
  spec = env_registry.make(config.env)
  return spec.train_tasks, spec.eval_tasks, spec.env_factory, spec.agent


def make_tokenizer(config, workdir, train_tasks, agent, env_factory, pairs=None):
  """HF tokenizer, or a sentencepiece model loaded / trained on expert prompts and responses."""
  from proxmo_jax import tokenizers
  if config.tokenizer.kind == "hf":
    return tokenizers.HFTokenizer(config.tokenizer.path)
  path = config.tokenizer.path or os.path.join(workdir, "tokenizer.model")
  if os.path.exists(path):
    return tokenizers.SentencePieceTokenizer.load(path)
  if pairs is None:
    pairs = behavior_cloning.expert_steps(train_tasks, agent, env_factory)
  corpus = [p for p, _ in pairs] + [behavior_cloning.target_response(c) for _, c in pairs]
  tok = tokenizers.train_sentencepiece(corpus, vocab_size=config.tokenizer.vocab_size)
  tok.save(path)
  return tok


def model_cfg_for(config, tokenizer) -> model_config.ModelConfig:
  cfg = model_config.get_preset(config.model.preset)
  vocab = max(cfg.vocab_size if config.tokenizer.kind == "hf" else 0, tokenizer.vocab_size)
  padded = batching.round_up(vocab, 128)
  return cfg.replace(vocab_size=padded, valid_vocab=tokenizer.vocab_size,
                     dtype=config.model.dtype, remat=config.model.remat)


def stop_ids(tokenizer) -> list[int]:
  ids = [tokenizer.eos_id]
  end = tokenizer.encode("</action>")
  if len(end) == 1:
    ids.append(end[0])
  elif len(end) == 2 and tokenizer.decode(end[:1]).strip() == "":
    ids.append(end[1])
  return ids


def interleave_task_types(tasks):
  """Round-robin over task types (stable within a type), so a prefix covers every type."""
  by_type = {}
  for t in tasks:
    by_type.setdefault(t.task_type, []).append(t)
  out = []
  for k in range(max((len(v) for v in by_type.values()), default=0)):
    out.extend(v[k] for _, v in sorted(by_type.items()) if k < len(v))
  return out


def save_params(params, directory):
  os.makedirs(directory, exist_ok=True)
  flat = {jax.tree_util.keystr(k): np.asarray(v)
          for k, v in jax.tree_util.tree_leaves_with_path(params)}
  np.savez(os.path.join(directory, "params.npz"), **flat)


def load_params(directory, like):
  path = os.path.join(directory, "params.npz")
  if not os.path.exists(path):
    raise FileNotFoundError(f"no params.npz in {directory!r}; run experiments/sft.py first or "
                            "fix config.model.init.")
  data = np.load(path)
  leaves = []
  for k, v in jax.tree_util.tree_leaves_with_path(like):
    key = jax.tree_util.keystr(k)
    if key not in data or data[key].shape != v.shape:
      raise checkpointing.CheckpointMismatch(
          f"{path}: parameter {key} missing or of shape "
          f"{data[key].shape if key in data else None}, expected {v.shape}; the params were "
          "saved for another model config.")
    leaves.append(jnp.asarray(data[key], v.dtype))
  return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(like), leaves)


# ----------------------------------------------------------------------------- trainer


class Trainer:

  def __init__(self, config, workdir: str, init_params_dir: Optional[str] = None,
               restore: bool = True):
    config_validation.validate(config)
    self.config = config
    self.workdir = workdir
    os.makedirs(workdir, exist_ok=True)
    parallel.initialize()
    if config.env.groups_per_batch < multihost.count():
      raise config_validation.ConfigError(
          f"config.env.groups_per_batch={config.env.groups_per_batch} is below the number of "
          f"processes ({multihost.count()}); every host rolls out at least one whole group.")
    if multihost.is_primary():
      with open(os.path.join(workdir, "config.json"), "w") as f:
        f.write(config.to_json_best_effort(indent=2))
    # The primary generates data and trains the tokenizer; the other hosts then load them.
    self.train_tasks, self.eval_tasks, self.env_factory, self.agent = multihost.primary_first(
        lambda: env_setup(config), "env_setup")
    self.tokenizer = multihost.primary_first(
        lambda: make_tokenizer(config, workdir, self.train_tasks, self.agent,
                               self.env_factory), "tokenizer")
    self.model_cfg = model_cfg_for(config, self.tokenizer)
    self.mesh = parallel.make_mesh(dict(config.mesh))
    rng = jax.random.PRNGKey(config.seed)
    init_key = jax.random.fold_in(rng, 1)
    init = init_params_dir or (config.model.init[len("params:"):]
                               if config.model.init.startswith("params:") else "")
    if config.model.init.startswith("hf:"):
      from proxmo_jax.models import hf_import
      hf_cfg, params = hf_import.load_hf_checkpoint(config.model.init[3:], config.model.dtype)
      # The checkpoint defines the shapes; the config only chooses dtype and remat.
      self.model_cfg = hf_cfg.replace(remat=config.model.remat,
                                      valid_vocab=min(self.tokenizer.vocab_size,
                                                      hf_cfg.vocab_size))
    elif init:
      like = jax.eval_shape(lambda: transformer.init_params(self.model_cfg, init_key))
      params = load_params(init, like)
    else:
      params = transformer.init_params(self.model_cfg, init_key)
    self.shardings = parallel.param_shardings(params, transformer.logical_axes(self.model_cfg),
                                              self.mesh)
    params = jax.device_put(params, self.shardings)
    self.ref_params = jax.tree_util.tree_map(jnp.copy, params)
    self.tx = train_state.make_optimizer(train_state.OptimizerConfig(
        learning_rate=config.optim.learning_rate, b1=config.optim.b1, b2=config.optim.b2,
        weight_decay=config.optim.weight_decay, grad_clip=config.optim.grad_clip,
        warmup_steps=config.optim.warmup_steps))
    state = train_state.create_train_state(params, self.tx, jax.random.fold_in(rng, 2))
    # Every leaf lives on the whole mesh (scalars and RNG replicated), so a checkpoint restored
    # into this structure lands on the same devices as a fresh state.
    replicated = jax.sharding.NamedSharding(self.mesh, jax.sharding.PartitionSpec())
    n_dev = self.mesh.devices.size
    self.state = jax.tree_util.tree_map(
        lambda x: x if len(x.sharding.device_set) == n_dev else jax.device_put(x, replicated),
        state)
    self.sampler = sampler_lib.Sampler(self.model_cfg, eos_ids=stop_ids(self.tokenizer),
                                       pad_id=self.tokenizer.pad_id)
    self.loss_cfg = losses.LossConfig(config.ppo.clip_eps, config.ppo.dual_clip_c,
                                      config.ppo.kl_coef, config.ppo.entropy_coef)
    a = config.algorithm
    self.adv_cfg = AdvantageConfig(gamma=a.gamma, omega=a.omega, tau=a.tau,
                                   psc_alpha=a.psc_alpha, psc_target_range=a.psc_target_range,
                                   p_mode=a.p_mode, stats=a.stats, singleton=a.singleton,
                                   gigpo_mode=a.gigpo_mode, invalid_penalty=a.invalid_penalty)
    self.logprob_fn = functools.partial(logprobs_lib.token_logprobs, cfg=self.model_cfg,
                                        temperature=max(config.rollout.temperature, 1e-6))
    self._logprob_jit = jax.jit(self.logprob_fn)
    self.ckpt = checkpointing.Checkpointer(os.path.join(workdir, "checkpoints"),
                                           keep=config.checkpoint.keep)
    primary = multihost.is_primary()
    self.writer = metrics_lib.MetricWriter(workdir if primary else None, tensorboard=primary,
                                           console=primary)
    self.iteration = 0
    restored = self.ckpt.restore_latest(self.state) if restore else None
    if restored is not None:
      step, self.state, host = restored
      self.iteration = int(host.get("iteration", step))
      print(f"resumed from {workdir} at iteration {self.iteration}", flush=True)
    n_envs = config.env.group_size * config.env.groups_per_batch
    self.pool = EnvPool(self.env_factory, num_envs=max(n_envs, 1),
                        num_workers=config.env.num_workers)

  # -- pieces -----------------------------------------------------------------------------

  def sample_tasks(self, iteration: int) -> list[tuple[Task, int]]:
    rng = np.random.default_rng([self.config.seed, iteration])
    idx = rng.choice(len(self.train_tasks), size=self.config.env.groups_per_batch,
                     replace=len(self.train_tasks) < self.config.env.groups_per_batch)
    return [(self.train_tasks[i], int(self.config.seed * 100003 + iteration * 101 + k))
            for k, i in enumerate(idx)]

  def rollout_params(self):
    """The policy params for sampling: the state's, or a host-local copy on multi-host."""
    return multihost.local_copy(self.state.params)

  def _sample_fn(self, params, rng, temperature):
    counter = [0]
    c = self.config.rollout

    def fn(prompts):
      counter[0] += 1
      key = jax.random.fold_in(rng, counter[0])
      out = self.sampler.sample(params, prompts, key, max_new_tokens=c.max_response_tokens,
                                temperature=temperature, top_p=c.top_p, top_k=c.top_k,
                                stop_strings=("</action>",), decode=self.tokenizer.decode)
      return list(zip(out.tokens, out.logprobs))
    return fn

  def rollout(self, groups, group_size, temperature, rng, max_steps=None, params=None):
    params = self.rollout_params() if params is None else params
    return loop.run_rollout(self.pool, groups, group_size,
                            self._sample_fn(params, rng, temperature),
                            self.tokenizer, self.agent, max_steps or self.config.env.max_steps,
                            max_prompt_tokens=self.config.rollout.max_prompt_tokens)

  def featurizer(self):
    if self.config.algorithm.features == "tfidf":
      return tfidf.tfidf_features
    tok = self.tokenizer

    def hashed_features(texts):
      ids = [tok.encode(t)[:256] for t in texts]
      width = max(len(x) for x in ids) if ids else 1
      arr = np.full((len(ids), batching.round_up(width, 64)), -1, np.int32)
      for i, x in enumerate(ids):
        arr[i, :len(x)] = x
      return np.asarray(hashed.hashed_tfidf_features_jit(
          jnp.asarray(arr), jnp.ones((len(ids),), bool), num_features=1024))
    return hashed_features

  # -- one iteration ----------------------------------------------------------------------

  def train_iteration(self) -> dict:
    it = self.iteration
    t0 = time.perf_counter()
    rng = jax.random.fold_in(jax.random.PRNGKey(self.config.seed), 1000 + it)
    groups = multihost.share(self.sample_tasks(it))  # all of them on one host
    episodes, stats = self.rollout(groups, self.config.env.group_size,
                                   self.config.rollout.temperature,
                                   jax.random.fold_in(rng, multihost.index()))
    t_rollout = time.perf_counter() - t0
    t1 = time.perf_counter()
    mult = dict(row_multiple=self.config.ppo.mini_batch, prompt_multiple=64,
                response_multiple=32)
    shape = multihost.agree_max(batching.batch_shape(episodes, **mult))
    batch, tokens = batching.build_update_batch(
        episodes, self.featurizer(), **mult, num_groups=len(groups),
        pad_id=self.tokenizer.pad_id, min_shape=shape)
    t_batch = time.perf_counter() - t1
    t2 = time.perf_counter()
    adv = compute_advantages(self.config.algorithm.estimator, batch, self.adv_cfg)
    adv.total.block_until_ready()
    t_adv = time.perf_counter() - t2
    t2 = time.perf_counter()
    compute_advantages("grpo", batch, self.adv_cfg).total.block_until_ready()
    t_grpo = time.perf_counter() - t2
    t3 = time.perf_counter()
    # Each host's rows are its slice of global arrays (the identity on one host).
    local = {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask,
             "response_mask": tokens.response_mask, "advantages": adv.total}
    g = multihost.global_batch(local, lambda ndim: parallel.batch_sharding(self.mesh, ndim)) \
        if multihost.count() > 1 else local
    old_lp, _ = self._logprob_jit(self.state.params, g["input_ids"], g["attention_mask"])
    ref_lp, _ = self._logprob_jit(self.ref_params, g["input_ids"], g["attention_mask"])
    mb = dict(g, old_logp=old_lp * g["response_mask"], ref_logp=ref_lp * g["response_mask"])
    t_logp = time.perf_counter() - t3
    t4 = time.perf_counter()
    place = lambda d: jax.tree_util.tree_map(
        lambda x: jax.device_put(x, parallel.batch_sharding(self.mesh, x.ndim)), d)
    for _ in range(self.config.ppo.epochs):
      self.state, upd = update.ppo_epoch(
          self.state, mb, mini_batch=self.config.ppo.mini_batch,
          micro_batch=self.config.ppo.micro_batch, tx=self.tx, logprob_fn=self.logprob_fn,
          loss_cfg=self.loss_cfg, shard_fn=place)
    t_update = time.perf_counter() - t4
    total = time.perf_counter() - t0
    out = self.episode_metrics(episodes)
    out.update(metrics_lib.advantage_metrics(adv, batch.valid))
    out.update(upd)
    out.update({"time/rollout": t_rollout, "time/batch": t_batch, "time/advantage": t_adv,
                "time/advantage_grpo": t_grpo, "time/logprob": t_logp, "time/update": t_update,
                "time/iteration": total,
                "step_samples": float(multihost.sum_over_processes([np.sum(batch.valid)])[0]),
                "adv_overhead_vs_grpo_pct": 100.0 * (t_adv - t_grpo) / total,
                "sampled_tokens": float(stats.sampled_tokens)})
    self.iteration += 1
    return out

  def evaluate(self, num_tasks=None, temperature=None, split_tasks=None):
    """Held-out evaluation (group size 1); returns (episodes, table row)."""
    tasks = interleave_task_types(split_tasks or self.eval_tasks)
    num = num_tasks or self.config.eval.num_tasks
    # Seeds follow the global task index; each host evaluates its share.
    requests = multihost.share([(t, 1000 + k) for k, t in enumerate(tasks[:num])])
    temp = self.config.eval.temperature if temperature is None else temperature
    episodes = []
    chunk = self.pool.num_envs
    rng = jax.random.PRNGKey(self.config.seed + 7777)
    params = self.rollout_params()  # once: on multi-host this is a collective
    for start in range(0, len(requests), chunk):
      eps, _ = self.rollout(requests[start:start + chunk], 1, temp,
                            jax.random.fold_in(rng, start), params=params)
      episodes.extend(eps)
    row_fn = eval_table.webshop_row if self.config.env.name == "webshop" else \
        eval_table.alfworld_row
    if multihost.count() > 1:  # the table covers every host's episodes
      types = sorted({t.task_type for t in self.eval_tasks})
      return episodes, row_fn(metrics_lib.gather_outcomes(episodes, types,
                                                             multihost.gather_rows))
    return episodes, row_fn(episodes)

  def episode_metrics(self, episodes) -> dict:
    """rollout_metrics; on multi-host the headline rates cover every host's episodes."""
    out = metrics_lib.rollout_metrics(episodes)
    if multihost.count() > 1:
      out.update(metrics_lib.global_rollout_metrics(episodes, multihost.sum_over_processes))
    return out

  def save(self):
    self.ckpt.save(self.iteration, self.state, {"iteration": self.iteration})

  def train(self, iterations: Optional[int] = None):
    total = iterations or self.config.iterations
    rows = {}
    if self.config.eval.before_train and self.iteration == 0:
      eps, rows["start"] = self.evaluate()
      self.writer.write(0, self.episode_metrics(eps), prefix="eval/")
    while self.iteration < total:
      m = self.train_iteration()
      self.writer.write(self.iteration, m)
      if self.config.checkpoint.every and self.iteration % self.config.checkpoint.every == 0:
        self.save()
      if self.config.eval.every and self.iteration % self.config.eval.every == 0:
        eps, rows[f"iter {self.iteration}"] = self.evaluate()
        self.writer.write(self.iteration, self.episode_metrics(eps), prefix="eval/")
    self.save()
    self.ckpt.wait()
    return rows

  def close(self):
    self.pool.close()
    self.ckpt.close()
    self.writer.close()


def behavior_clone(config, workdir: str, out_dir: Optional[str] = None) -> str:
  """Trains the configured model on expert walkthroughs; returns the params directory."""
  config_validation.validate(config)
  os.makedirs(workdir, exist_ok=True)
  train, _, env_factory, agent = env_setup(config)
  games = train[:config.sft.num_games] if config.sft.num_games else train
  pairs = behavior_cloning.expert_steps(games, agent, env_factory)
  tokenizer = make_tokenizer(config, workdir, train, agent, env_factory, pairs=pairs)
  cfg = model_cfg_for(config, tokenizer)
  examples = behavior_cloning.encode_pairs(pairs, tokenizer, config.rollout.max_prompt_tokens)
  print(f"behaviour cloning on {len(examples)} expert steps from {len(games)} games "
        f"(model {config.model.preset}, vocab {cfg.vocab_size})", flush=True)
  params = transformer.init_params(cfg, jax.random.fold_in(jax.random.PRNGKey(config.seed), 1))
  params, losses_ = behavior_cloning.train_bc(
      params, examples, cfg, steps=config.sft.steps, batch_size=config.sft.batch_size,
      learning_rate=config.sft.learning_rate, seed=config.seed)
  out_dir = out_dir or os.path.join(workdir, "sft")
  save_params(params, out_dir)
  with open(os.path.join(out_dir, "bc_log.json"), "w") as f:
    json.dump({"examples": len(examples), "games": len(games), "losses": losses_[::10]}, f)
  return out_dir
