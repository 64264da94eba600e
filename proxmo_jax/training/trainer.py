"""The learner: rollout -> advantages -> PPO update on a `Policy`, with checkpoints and metrics.

    trainer = Trainer(config, workdir, spec, policy, runner, mesh)
    metrics = trainer.train_iteration()

Per iteration (docs/method.md#setting-groups-trajectories-and-step-samples and docs/method.md#policy-update): sample G training tasks
(deterministic in the seed and the iteration, so a resumed run continues identically), roll out
n episodes of each with the policy, flatten the step samples (keeping the sampled token ids)
into a `TrajectoryBatch` + token arrays, compute advantages with the configured estimator,
take old log-probs from the policy (recomputed, or the sampler's own with
ppo.old_logprobs="sampled") and reference log-probs from the frozen initial policy,
and run one PPO epoch of sequential mini-batch updates. The metrics carry the time of every
stage (each measured after the device finished it), including GRPO's advantage on the same
batch, so the overhead of ProxMO over GRPO is measured in every iteration.

`train.train_and_evaluate(config, workdir)` builds the pieces and runs the loop.
"""

from __future__ import annotations

import functools
import os
import time
from typing import Optional

import jax
import jax.numpy as jnp
import numpy as np

from environments.interface import Task
from proxmo_jax import buckets, parallel, profiling
from proxmo_jax.advantages import AdvantageConfig, compute_advantages
from proxmo_jax.advantages import registry as adv_registry
from proxmo_jax.models import logprobs as logprobs_lib
from proxmo_jax.models import lora as lora_lib
from proxmo_jax.parallel import multihost
from proxmo_jax.proximity import hashed, tfidf
from proxmo_jax.rollout import batching
from proxmo_jax.training import checkpointing, losses, metrics as metrics_lib, train_state, update


def advantage_mesh(mesh):
  """The mesh the proximity kernel splits a host's groups over: `mesh` on one process; on
  several, a mesh of this process's own devices. Each host computes the advantages of its own
  groups from its host-local batch (groups never span hosts), and a kernel over the global mesh
  would treat that batch as the same on every host, giving a host's groups baselines built
  from another host's rows (and, with a different group count per host, different programs
  around one collective)."""
  if multihost.count() == 1:
    return mesh
  return jax.sharding.Mesh(np.asarray(jax.local_devices()), ("data",))


def advantage_config(config, mesh=None) -> AdvantageConfig:
  """The estimator options of config.algorithm; with a mesh whose data axis has more than one
  device, the proximity kernel splits the groups over that axis (a process-local mesh on
  several processes: `advantage_mesh`)."""
  a = config.algorithm
  return AdvantageConfig(gamma=a.gamma, omega=a.omega, tau=a.tau, psc_alpha=a.psc_alpha,
                         psc_target_range=a.psc_target_range, p_mode=a.p_mode, stats=a.stats,
                         singleton=a.singleton, gigpo_mode=a.gigpo_mode,
                         invalid_penalty=a.invalid_penalty, group_mesh=mesh, group_axis="data")


def make_featurizer(config, tokenizer):
  """Anchor texts -> f32[N, F] proximity features: the reference's TF-IDF, or a hashed TF-IDF
  of the token ids computed on device."""
  if config.algorithm.features == "tfidf":
    return tfidf.tfidf_features

  def hashed_features(texts):
    ids = [tokenizer.encode(t)[:256] for t in texts]
    width = max(len(x) for x in ids) if ids else 1
    arr = np.full((len(ids), buckets.round_up(width, 64)), -1, np.int32)
    for i, x in enumerate(ids):
      arr[i, :len(x)] = x
    return np.asarray(hashed.hashed_tfidf_features_jit(
        jnp.asarray(arr), jnp.ones((len(ids),), bool), num_features=1024))
  return hashed_features


class Trainer:
  """PPO on rollouts of `policy` in `spec`'s environments.

  Args:
    config: the experiment config (validated).
    workdir: checkpoints/ live here; metrics are written by the caller.
    spec: the environment (`environments.registry.make(config.env)`).
    policy: its params are the initial (and reference) policy; they are replaced by the
      train state's after every update, so the runner samples from the current policy.
    runner: the rollout runner of (spec, policy).
    mesh: params and batches are placed on it.
    restore: resume from the latest checkpoint in workdir/checkpoints when there is one.
  """

  def __init__(self, config, workdir: str, spec, policy, runner, mesh, restore: bool = True):
    self.config = config
    self.workdir = workdir
    self.spec = spec
    self.policy = policy
    self.runner = runner
    self.mesh = mesh
    if config.env.groups_per_batch < multihost.count():
      raise parallel_config_error(config)
    params = policy.params
    self.lora_cfg = lora_config(config)
    if self.lora_cfg is None:
      # The reference policy is the initial params, frozen (a copy: the update donates params).
      self.base = None
      self.ref_params = jax.tree_util.tree_map(jnp.copy, params)
    else:
      # LoRA: the state trains the adapters only; the base params are the reference policy,
      # read and never copied or donated.
      self.base = params
      self.ref_params = params
      adapters = lora_lib.init_lora(policy.model_cfg, self.lora_cfg,
                                    jax.random.fold_in(jax.random.PRNGKey(config.seed), 3))
      shardings = parallel.param_shardings(
          adapters, lora_lib.logical_axes(policy.model_cfg, self.lora_cfg), mesh,
          sharding_rules(config))
      params = jax.device_put(adapters, shardings)
    self.tx = train_state.make_optimizer(train_state.OptimizerConfig(
        learning_rate=config.optim.learning_rate, b1=config.optim.b1, b2=config.optim.b2,
        weight_decay=config.optim.weight_decay, grad_clip=config.optim.grad_clip,
        warmup_steps=config.optim.warmup_steps))
    state = train_state.create_train_state(params, self.tx)
    # Every leaf lives on the whole mesh (scalars replicated), so a checkpoint restored into
    # this structure lands on the same devices as a fresh state.
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    n_dev = mesh.devices.size
    self.state = jax.tree_util.tree_map(
        lambda x: x if len(x.sharding.device_set) == n_dev else jax.device_put(x, replicated),
        state)
    self.loss_cfg = losses.LossConfig(config.ppo.clip_eps, config.ppo.dual_clip_c,
                                      config.ppo.kl_coef, config.ppo.entropy_coef)
    self.adv_cfg = advantage_config(config, advantage_mesh(mesh))
    self.featurizer = (make_featurizer(config, policy.tokenizer)
                       if adv_registry.info(config.algorithm.estimator).needs_features
                       else None)
    self.logprob_fn = functools.partial(logprobs_lib.token_logprobs, cfg=policy.model_cfg,
                                        temperature=max(config.rollout.temperature, 1e-6))
    if self.lora_cfg is not None:
      self.logprob_fn = functools.partial(self.logprob_fn, lora_scale=self.lora_cfg.scale)
    self._logprob_jit = jax.jit(self.logprob_fn)
    # LoRA on the top N < L layers: the reference (base) log-probs come out of the update's own
    # forward, from the L - N layers below the adapters, instead of a separate pass.
    n_layers = policy.model_cfg.n_layers
    self.ref_in_update = (self.lora_cfg is not None and
                          self.lora_cfg.adapted_layers(policy.model_cfg) < n_layers)
    self.use_sampled_logprobs = sampled_old_logprobs_apply(config)
    # ppo.frozen_hidden="rollout": the sampler keeps the output of the L - N frozen layers and
    # the update starts there (update.py), so the update runs N layers instead of L.
    self.keep_layer = None
    if config.ppo.get("frozen_hidden", "recompute") == "rollout":
      from proxmo_jax.errors import ConfigError  # pylint: disable=import-outside-toplevel
      if not self.ref_in_update:
        raise ConfigError("config.ppo.frozen_hidden='rollout' needs LoRA on the top N < L "
                          f"layers (model.lora.layers between 1 and {n_layers - 1}); use "
                          "'recompute' otherwise.")
      self.keep_layer = n_layers - self.lora_cfg.adapted_layers(policy.model_cfg)
    self.compiles = profiling.CompileCounter()
    self.ckpt = checkpointing.Checkpointer(os.path.join(workdir, "checkpoints"),
                                           keep=config.checkpoint.keep)
    self.iteration = 0
    restored = self.ckpt.restore_latest(self.state) if restore else None
    if restored is not None:
      step, self.state, host = restored
      self.iteration = int(host.get("iteration", step))
      print(f"resumed from {workdir} at iteration {self.iteration}", flush=True)
    self.policy.params = self.sampling_params()

  def sampling_params(self):
    """The current policy's params: the state's, or the base with the adapters merged."""
    if self.lora_cfg is None:
      return self.state.params
    return lora_lib.merge(self.base, self.state.params, self.lora_cfg)

  # -- pieces -----------------------------------------------------------------------------

  def sample_tasks(self, iteration: int) -> list[tuple[Task, int]]:
    """The iteration's G (task, seed) groups, deterministic in (config.seed, iteration)."""
    tasks = self.spec.train_tasks
    rng = np.random.default_rng([self.config.seed, iteration])
    idx = rng.choice(len(tasks), size=self.config.env.groups_per_batch,
                     replace=len(tasks) < self.config.env.groups_per_batch)
    return [(tasks[i], int(self.config.seed * 100003 + iteration * 101 + k))
            for k, i in enumerate(idx)]

  def episode_metrics(self, episodes) -> dict:
    """`metrics.rollout_metrics` over every host's episodes."""
    multi = multihost.count() > 1
    types = sorted({t.task_type for t in self.spec.train_tasks} |
                   {t.task_type for t in self.spec.eval_tasks}) if multi else None
    return metrics_lib.rollout_metrics(
        episodes, self.spec.score_key, task_types=types,
        sum_fn=multihost.sum_over_processes if multi else None)

  # -- one iteration ----------------------------------------------------------------------

  def _timed_advantages(self, name: str, batch):
    """(advantages, seconds) of estimator `name` on `batch`, timed on a second call: the first
    compiles the batch's shapes when they are new, which would charge compile time to whichever
    estimator meets a shape first (in a GRPO run, its own advantage before the GRPO baseline
    timed beside it). The kernels are pure, so both calls give the same advantages."""
    compute_advantages(name, batch, self.adv_cfg).total.block_until_ready()
    t = time.perf_counter()
    adv = compute_advantages(name, batch, self.adv_cfg)
    adv.total.block_until_ready()
    return adv, time.perf_counter() - t

  def train_iteration(self) -> dict:
    it = self.iteration
    c = self.config
    compiles = self.compiles.snapshot()
    t0 = time.perf_counter()
    rng = jax.random.fold_in(jax.random.PRNGKey(c.seed), 1000 + it)
    groups = multihost.share(self.sample_tasks(it))  # all of them on one host
    episodes, stats = self.runner.run(groups, c.env.group_size, c.rollout.temperature,
                                      jax.random.fold_in(rng, multihost.index()),
                                      keep_layer=self.keep_layer)
    t_rollout = time.perf_counter() - t0
    t1 = time.perf_counter()
    mult = dict(row_multiple=c.ppo.mini_batch, prompt_multiple=64, response_multiple=32)
    shape = multihost.agree_max(batching.batch_shape(episodes, **mult))
    batch, tokens = batching.build_update_batch(
        episodes, self.featurizer, **mult, num_groups=len(groups),
        pad_id=self.policy.tokenizer.pad_id, min_shape=shape)
    t_batch = time.perf_counter() - t1
    adv, t_adv = self._timed_advantages(c.algorithm.estimator, batch)
    _, t_grpo = self._timed_advantages("grpo", batch)
    t3 = time.perf_counter()
    # Each host's rows are its slice of global arrays (the identity on one host).
    # The LM head runs on the response columns only (the last R of each row).
    score_index = logprobs_lib.response_index(np.asarray(tokens.response_mask),
                                              multiple=tokens.input_ids.shape[1] -
                                              tokens.prompt_len)
    local = {"input_ids": tokens.input_ids, "attention_mask": tokens.attention_mask,
             "response_mask": tokens.response_mask, "advantages": adv.total,
             "score_index": jnp.asarray(score_index)}
    if self.use_sampled_logprobs:  # on-policy: the sampler's own log-probs are the old ones
      local["old_logp"] = jnp.asarray(logprobs_lib.sampled_logprobs(
          [s.sample_logprobs for e in episodes for s in e.steps], tokens.input_ids.shape[0],
          tokens.prompt_len, tokens.input_ids.shape[1])) * tokens.response_mask
    if self.keep_layer:
      local["frozen_hidden"] = batching.frozen_hidden_batch(episodes, tokens, release=True)
    # One process: frozen_hidden stays a host array, sliced per micro-batch by the update.
    # Several: it becomes a global array like the others, each host's rows on its devices.
    g = multihost.global_batch(local, lambda ndim: parallel.batch_sharding(self.mesh, ndim)) \
        if multihost.count() > 1 else local
    ids, attn, idx = g["input_ids"], g["attention_mask"], g["score_index"]
    if self.use_sampled_logprobs:
      old_lp = g["old_logp"]
    elif self.lora_cfg is None:
      old_lp = self.score(self.state.params, ids, attn, idx)
    else:
      old_lp = self.score(self.base, ids, attn, idx, lora=self.state.params,
                          frozen_hidden=g.get("frozen_hidden"))
    mb = dict(g, old_logp=old_lp * g["response_mask"])
    if not self.ref_in_update:
      mb["ref_logp"] = self.score(self.ref_params, ids, attn, idx) * g["response_mask"]
    jax.block_until_ready(mb)
    t_logp = time.perf_counter() - t3
    t4 = time.perf_counter()
    place = lambda d: jax.tree_util.tree_map(
        lambda x: jax.device_put(x, parallel.batch_sharding(self.mesh, x.ndim)), d)
    for _ in range(c.ppo.epochs):
      self.state, upd = update.ppo_epoch(
          self.state, mb, mini_batch=c.ppo.mini_batch, micro_batch=c.ppo.micro_batch,
          tx=self.tx, logprob_fn=self.logprob_fn, loss_cfg=self.loss_cfg, shard_fn=place,
          base=self.base)
    self.policy.params = self.sampling_params()
    jax.block_until_ready(self.policy.params)
    t_update = time.perf_counter() - t4
    total = time.perf_counter() - t0
    out = self.episode_metrics(episodes)
    out.update(metrics_lib.advantage_metrics(adv, batch.valid,
                                             sum_fn=multihost.sum_over_processes))
    out.update(upd)
    out.update(stats.metrics())  # rollout stages: env reset/step (waiting on workers), ...
    out.update(self.compiles.metrics_since(compiles))
    # The step samples and sampled tokens of every host; the time/ and rollout/ figures are
    # this host's.
    samples, sampled_tokens = multihost.sum_over_processes(
        [np.sum(batch.valid), stats.sampled_tokens])
    out.update({"time/rollout": t_rollout, "time/batch": t_batch, "time/advantage": t_adv,
                "time/advantage_grpo": t_grpo, "time/logprob": t_logp, "time/update": t_update,
                "time/iteration": total, "step_samples": float(samples),
                "adv_overhead_vs_grpo_pct": 100.0 * (t_adv - t_grpo) / total,
                "sampled_tokens": float(sampled_tokens)})
    self.iteration += 1
    return out

  def score(self, params, ids, attn, idx, frozen_hidden=None, **kw):
    """Log-probs f32[N, L] of the update batch (`logprob_fn` with score_index=idx; 0 where no
    token is scored), computed ppo.micro_batch rows per data-parallel shard at a time, as the
    update's forward is (from `frozen_hidden`, the host array f32[N, L, D] of the rollout's
    frozen-layer states, when given): one forward over all N rows would hold every row's attention
    probabilities at once (at 135M parameters and ~1000-token rows, 100 rows need over 10 GiB).
    As in the update (`update.plan_micro_batches`), rows are sorted by length and each chunk
    drops the columns that are padding in all its rows; rows are independent and positions
    come from the mask, so the chunks give the same numbers. One call when N does not split
    into equal chunks, and on more than one process (the rows of global arrays live on other
    hosts too)."""
    n = ids.shape[0]
    shards = n // parallel.batch_sharding(self.mesh, 2).shard_shape(ids.shape)[0]
    chunk = self.config.ppo.micro_batch * shards
    # Named as `logprob_fn`'s arguments, so a chunk (`update.take_columns`) is passed as is.
    arrays = {"input_ids": ids, "attention_mask": attn, "score_index": idx}
    if frozen_hidden is not None:
      arrays["frozen_hidden"] = frozen_hidden
    if n <= chunk or n % chunk or multihost.count() > 1:
      return self._logprob_jit(params, **arrays, **kw)[0]
    out = jnp.zeros(ids.shape, jnp.float32)
    scored = np.asarray(idx).any(axis=1)
    for rows, lo in update.plan_micro_batches(attn, scored, chunk):
      lp = self._logprob_jit(params, **update.take_columns(arrays, rows, lo), **kw)[0]
      out = out.at[jnp.asarray(rows), lo:].set(lp)
    return out

  def save(self):
    self.ckpt.save(self.iteration, self.state, {"iteration": self.iteration})

  def close(self):
    self.ckpt.close()


def lora_config(config) -> Optional[lora_lib.LoraConfig]:
  """config.model.lora as a LoraConfig, or None when rank is 0 (every weight trained)."""
  lora = config.model.get("lora", None)
  if lora is None or not lora.rank:
    return None
  return lora_lib.LoraConfig(rank=int(lora.rank), alpha=float(lora.alpha), targets=lora.targets,
                             layers=int(lora.get("layers", 0)))


def sharding_rules(config):
  """config.sharding_rules as a tuple of (logical axis, mesh axes) pairs."""
  rules = config.get("sharding_rules", None)
  if not rules:
    return parallel.DEFAULT_RULES
  return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in rules)


def sampled_old_logprobs_apply(config) -> bool:
  """Whether the rollout's sampled log-probs serve as PPO's old log-probs: asked for
  (config.ppo.old_logprobs == "sampled"), and exact here: sampling from the full softmax at
  T > 0 (no top-p / top-k truncation) in float32 with the params being updated."""
  if config.ppo.get("old_logprobs", "recompute") != "sampled":
    return False
  r = config.rollout
  return (r.temperature > 0 and r.top_p >= 1.0 and r.top_k == 0
          and config.model.dtype == "float32")


def parallel_config_error(config):
  from proxmo_jax.errors import ConfigError  # pylint: disable=import-outside-toplevel
  return ConfigError(
      f"config.env.groups_per_batch={config.env.groups_per_batch} is below the number of "
      f"processes ({multihost.count()}); every host rolls out at least one whole group.")
