"""LoRA adapters (Hu et al. 2021) for the decoder's projection matrices.

For a target projection y = h W with W: [d_in, d_out] (per layer), the adapted projection is

    y = h W + s (h A) B = h (W + s A B),       s = alpha / r,
    A: [d_in, r] ~ U(-1/sqrt(d_in), 1/sqrt(d_in))   (kaiming-uniform, as PEFT's default)
    B: [r, d_out] = 0

so a fresh adapter leaves the model unchanged, and only A and B are trained. The adapter tree is a
plain dict of arrays, stacked on the layer axis like the base params:

    {"wq": {"a": f32[N, D, r], "b": f32[N, r, H*hd]}, "w_down": {"a": f32[N, F, r], ...}, ...}

N is every layer (N = L, `layers=0`) or only the top N layers (`layers=N`, as PEFT's
`layers_to_transform=range(L - N, L)`). With the top N adapted, the gradient of the adapters flows
back through those N layers only: the L - N layers below are a forward pass with no backward
(`transformer.hidden_states` scans them separately), so an update costs about
fwd(L) + bwd(N) instead of fwd(L) + bwd(L).

Targets are named q, k, v, o, gate, up, down (or q_proj .. down_proj, or wq .. w_down), as a
comma-separated string or a sequence. `merge(params, lora, lora_cfg)` folds s A B into the base
weights (evaluation, sampling, export); the reference policy is the base params with no adapter.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence, Union

import jax
import jax.numpy as jnp

from proxmo_jax.models.config import ModelConfig

# Target name -> param name in `transformer.init_params`.
TARGETS = {"q": "wq", "k": "wk", "v": "wv", "o": "wo", "gate": "w_gate", "up": "w_up",
           "down": "w_down"}
_ALIASES = {**{k: v for k, v in TARGETS.items()},
            **{f"{k}_proj": v for k, v in TARGETS.items()},
            **{v: v for v in TARGETS.values()}}


def parse_targets(targets: Union[str, Sequence[str]]) -> tuple[str, ...]:
  """'q,v' / ('q_proj', 'v_proj') / ('wq', 'wv') -> ('wq', 'wv') (param names, model order)."""
  names = [t.strip() for t in targets.split(",")] if isinstance(targets, str) else list(targets)
  names = [t for t in names if t]
  unknown = [t for t in names if t not in _ALIASES]
  if unknown or not names:
    raise ValueError(f"LoRA targets {targets!r}: unknown {unknown or 'empty list'}; choose from "
                     f"{', '.join(TARGETS)} (comma-separated).")
  chosen = {_ALIASES[t] for t in names}
  return tuple(v for v in TARGETS.values() if v in chosen)


@dataclasses.dataclass(frozen=True)
class LoraConfig:
  """rank r > 0, alpha (scale s = alpha / r) and the target projections (see `parse_targets`).

  Frozen and hashable, so it can be a static argument of a jitted function.
  """
  rank: int = 8
  alpha: float = 16.0
  targets: Union[str, tuple] = "q,k,v,o,gate,up,down"
  layers: int = 0  # 0: every layer; N > 0: the top N layers only

  def __post_init__(self):
    if self.rank <= 0:
      raise ValueError(f"LoraConfig.rank={self.rank}: use a positive rank (or no LoRA).")
    if self.layers < 0:
      raise ValueError(f"LoraConfig.layers={self.layers}: use 0 (every layer) or N > 0 (the top "
                       "N layers).")
    object.__setattr__(self, "targets", parse_targets(self.targets))

  def adapted_layers(self, cfg: ModelConfig) -> int:
    """N, the number of top layers that get adapters; an error if the model has fewer."""
    if self.layers > cfg.n_layers:
      raise ValueError(f"LoRA layers={self.layers}, but the model has {cfg.n_layers} layers: use "
                       f"0 (every layer) or at most {cfg.n_layers}.")
    return self.layers or cfg.n_layers

  @property
  def scale(self) -> float:
    return float(self.alpha) / self.rank


def _shapes(cfg: ModelConfig) -> dict:
  """(d_in, d_out) of every adaptable projection."""
  d, hd = cfg.d_model, cfg.hd
  return {"wq": (d, cfg.n_heads * hd), "wk": (d, cfg.n_kv_heads * hd),
          "wv": (d, cfg.n_kv_heads * hd), "wo": (cfg.n_heads * hd, d),
          "w_gate": (d, cfg.d_ff), "w_up": (d, cfg.d_ff), "w_down": (cfg.d_ff, d)}


def init_lora(cfg: ModelConfig, lora_cfg: LoraConfig, rng: jax.Array,
              dtype=jnp.float32) -> dict:
  """A fresh adapter tree (A kaiming-uniform, B zero): the model it adapts is unchanged."""
  shapes = _shapes(cfg)
  n = lora_cfg.adapted_layers(cfg)
  keys = jax.random.split(rng, len(lora_cfg.targets))
  out = {}
  for key, name in zip(keys, lora_cfg.targets):
    d_in, d_out = shapes[name]
    bound = 1.0 / jnp.sqrt(jnp.float32(d_in))
    a = jax.random.uniform(key, (n, d_in, lora_cfg.rank), jnp.float32, -bound, bound)
    out[name] = {"a": a.astype(dtype), "b": jnp.zeros((n, lora_cfg.rank, d_out), dtype)}
  return out


def logical_axes(cfg: ModelConfig, lora_cfg: LoraConfig) -> dict:
  """Logical axis names of the adapter tree (the rank axis is never sharded)."""
  del cfg
  io = {"wq": ("embed", "heads"), "wk": ("embed", "kv"), "wv": ("embed", "kv"),
        "wo": ("heads", "embed"), "w_gate": ("embed", "mlp"), "w_up": ("embed", "mlp"),
        "w_down": ("mlp", "embed")}
  return {n: {"a": ("layers", io[n][0], None), "b": ("layers", None, io[n][1])}
          for n in lora_cfg.targets}


def merge(params: dict, lora: dict, lora_cfg: LoraConfig) -> dict:
  """Base params with every adapter folded in: W <- W + s A B (in W's dtype), on the top N layers
  the adapters cover. A new tree."""
  layers = dict(params["layers"])
  for name, ab in lora.items():
    w = layers[name]
    delta = jnp.einsum("lir,lro->lio", ab["a"].astype(jnp.float32),
                       ab["b"].astype(jnp.float32))
    first = w.shape[0] - delta.shape[0]
    top = (w[first:].astype(jnp.float32) + lora_cfg.scale * delta).astype(w.dtype)
    layers[name] = top if first == 0 else jnp.concatenate([w[:first], top])
  return dict(params, layers=layers)


def count(lora: dict) -> int:
  return int(sum(x.size for x in jax.tree_util.tree_leaves(lora)))
