"""Small GGUF files written with gguf's own GGUFWriter, for the import and tokenizer tests."""

from __future__ import annotations

from typing import Optional

import numpy as np

import gguf
Q = gguf.GGMLQuantizationType

# Byte offsets of the float16 scale fields inside one block of the K-quants, which gguf can
# dequantize but not quantize: random bytes elsewhere, small finite scales here.
_K_SCALES = {Q.Q4_K: (0, 2), Q.Q5_K: (0, 2), Q.Q6_K: (208,)}


def encode_tensor(values: np.ndarray, qtype, rng: np.random.Generator) -> np.ndarray:
  """The raw array GGUFWriter.add_tensor takes for `values` [rows, cols] stored as `qtype`.

  Types gguf can quantize get `values` quantized; K-quants get random blocks (`values` only
  gives the shape).
  """
  if qtype == Q.F32:
    return values.astype(np.float32)
  if qtype in _K_SCALES:
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    rows, cols = values.shape
    raw = rng.integers(0, 256, size=(rows, cols // block, size), dtype=np.uint8)
    for off in _K_SCALES[qtype]:
      scale = rng.uniform(1e-3, 1e-2, size=(rows, cols // block)).astype(np.float16)
      raw[..., off:off + 2] = scale.view(np.uint8).reshape(rows, cols // block, 2)
    return raw.reshape(rows, -1)
  return gguf.quants.quantize(values.astype(np.float32), qtype)


def stored_values(raw: np.ndarray, qtype, shape) -> np.ndarray:
  """What gguf's dequantize gives back for a raw array from `encode_tensor` (float32 `shape`)."""
  if qtype == Q.F32:
    return raw.astype(np.float32).reshape(shape)
  return gguf.quants.dequantize(raw, qtype).astype(np.float32).reshape(shape)


def write(path: str, arch: str, *, n_layers: int, d_model: int, n_heads: int, n_kv_heads: int,
          d_ff: int, tensors: dict, rope_theta: float = 10000.0, rms_eps: float = 1e-5,
          context: int = 512, tokenizer: Optional[dict] = None, extra: Optional[dict] = None):
  """Writes a GGUF file: metadata for `arch`, `tensors` {name: (raw array, qtype)}.

  `tokenizer` (optional): {"tokens", "token_types", "merges", "pre", "bos", "eos", "pad",
  "add_bos", "chat_template"}; `extra`: more {key: str | int | float | bool} metadata.
  """
  w = gguf.GGUFWriter(path, arch)
  w.add_block_count(n_layers)
  w.add_context_length(context)
  w.add_embedding_length(d_model)
  w.add_feed_forward_length(d_ff)
  w.add_head_count(n_heads)
  w.add_head_count_kv(n_kv_heads)
  w.add_rope_freq_base(rope_theta)
  w.add_layer_norm_rms_eps(rms_eps)
  w.add_rope_dimension_count(d_model // n_heads)
  if tokenizer:
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(tokenizer.get("pre", "gpt2"))
    w.add_token_list(tokenizer["tokens"])
    w.add_token_types(tokenizer["token_types"])
    w.add_token_merges(tokenizer["merges"])
    w.add_bos_token_id(tokenizer["bos"])
    w.add_eos_token_id(tokenizer["eos"])
    w.add_pad_token_id(tokenizer.get("pad", tokenizer["eos"]))
    w.add_add_bos_token(tokenizer.get("add_bos", False))
    if tokenizer.get("chat_template"):
      w.add_chat_template(tokenizer["chat_template"])
  for key, value in (extra or {}).items():
    if isinstance(value, bool):
      w.add_bool(key, value)
    elif isinstance(value, int):
      w.add_uint32(key, value)
    elif isinstance(value, float):
      w.add_float32(key, value)
    else:
      w.add_string(key, value)
  for name, (raw, qtype) in tensors.items():
    w.add_tensor(name, raw, raw_dtype=None if qtype in (Q.F32, Q.F64) else qtype)
  w.write_header_to_file()
  w.write_kv_data_to_file()
  w.write_tensors_to_file()
  w.close()


def llamacpp_permute(w: np.ndarray, n_heads: int) -> np.ndarray:
  """llama.cpp's converter: HF q/k rows ("rotate half" per head) -> interleaved pairs."""
  return (w.reshape(n_heads, 2, w.shape[0] // n_heads // 2, *w.shape[1:]).swapaxes(1, 2)
          .reshape(w.shape))


def hf_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
  """Inverse of `llamacpp_permute` by the index map: HF row h*hd + s*hd/2 + i is GGUF row
  h*hd + 2i + s (written out row by row, independent of the importer's reshape)."""
  hd = w.shape[0] // n_heads
  out = np.empty_like(w)
  for h in range(n_heads):
    for i in range(hd // 2):
      for s in range(2):
        out[h * hd + s * (hd // 2) + i] = w[h * hd + 2 * i + s]
  return out
