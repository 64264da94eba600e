"""Tokenizers of the HF `tokenizers` library: a checkpoint's `tokenizer.json`, or one built from a
GGUF vocabulary (`gguf_tokenizer.from_gguf`).

From an HF directory the special tokens and the chat template come from `tokenizer_config.json`
(`eos_token`, `pad_token`, `bos_token`, `chat_template`; a template list picks the one named
"default") or from a `chat_template.jinja` file beside it.
"""

from __future__ import annotations

import json
import os
from typing import Mapping, Optional, Sequence

from tokenizers import Tokenizer as _HFTokenizer

from proxmo_jax.tokenizers.base import Tokenizer


class HFTokenizer(Tokenizer):
  """A `tokenizers.Tokenizer` with its special ids and chat template."""

  def __init__(self, path: str, eos_token: Optional[str] = None, pad_token: Optional[str] = None):
    """Loads `tokenizer.json` (+ `tokenizer_config.json`, `chat_template.jinja`) from `path`."""
    file = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
    if not os.path.exists(file):
      raise FileNotFoundError(f"no tokenizer.json at {path!r}; point to the checkpoint "
                              "directory that holds it.")
    backend = _HFTokenizer.from_file(file)
    folder = os.path.dirname(file)
    config = {}
    cfg_file = os.path.join(folder, "tokenizer_config.json")
    if os.path.exists(cfg_file):
      with open(cfg_file, encoding="utf-8") as f:
        config = json.load(f)
    eos = eos_token or _token_str(config.get("eos_token")) or "<|im_end|>"
    pad = pad_token or _token_str(config.get("pad_token")) or "<|endoftext|>"
    bos = _token_str(config.get("bos_token"))
    eos_id = backend.token_to_id(eos)
    if eos_id is None:
      raise ValueError(f"eos token {eos!r} is not in {file}; pass eos_token=...")
    pad_id = backend.token_to_id(pad)
    special = {"eos_token": eos}
    if pad_id is not None:
      special["pad_token"] = pad
    bos_id = backend.token_to_id(bos) if bos else None
    if bos_id is not None:
      special["bos_token"] = bos
    unk = _token_str(config.get("unk_token"))
    if unk and backend.token_to_id(unk) is not None:
      special["unk_token"] = unk
    self._setup(backend, eos_id=eos_id, pad_id=eos_id if pad_id is None else pad_id,
                bos_id=bos_id, chat_template=_chat_template(config, folder, file),
                special_tokens=special)

  @classmethod
  def from_backend(cls, backend: _HFTokenizer, *, eos_id: int, pad_id: int,
                   bos_id: Optional[int], chat_template: Optional[str],
                   special_tokens: Mapping[str, str]) -> "HFTokenizer":
    """Wraps an already built `tokenizers.Tokenizer` (the GGUF path)."""
    tok = cls.__new__(cls)
    tok._setup(backend, eos_id=eos_id, pad_id=pad_id, bos_id=bos_id, chat_template=chat_template,
               special_tokens=special_tokens)
    return tok

  def _setup(self, backend, *, eos_id, pad_id, bos_id, chat_template, special_tokens):
    self.tok = backend
    self._eos, self._pad, self._bos = int(eos_id), int(pad_id), bos_id
    self.chat_template = chat_template
    self._special = dict(special_tokens)

  def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
    """Token ids of `text`; add_special_tokens=True adds the BOS/EOS the tokenizer's
    post-processor declares (what transformers' `tok(text)` does)."""
    return self.tok.encode(text, add_special_tokens=add_special_tokens).ids

  def decode(self, ids: Sequence[int]) -> str:
    return self.tok.decode([int(i) for i in ids], skip_special_tokens=True)

  def token_to_id(self, token: str) -> Optional[int]:
    return self.tok.token_to_id(token)

  @property
  def eos_id(self) -> int:
    return self._eos

  @property
  def pad_id(self) -> int:
    return self._pad

  @property
  def bos_id(self) -> Optional[int]:
    return self._bos

  @property
  def vocab_size(self) -> int:
    return self.tok.get_vocab_size()

  @property
  def special_tokens(self) -> Mapping[str, str]:
    return dict(self._special)


def _token_str(value):
  if isinstance(value, dict):
    return value.get("content")
  return value


def _chat_template(config: dict, folder: str, file: str) -> Optional[str]:
  template = config.get("chat_template")
  if isinstance(template, list):  # [{"name": ..., "template": ...}]
    named = {t.get("name"): t.get("template") for t in template if isinstance(t, dict)}
    if "default" not in named:
      raise ValueError(f"tokenizer_config.json beside {file} lists chat templates "
                       f"{sorted(named)} but none named 'default'.")
    template = named["default"]
  if template is None:
    jinja_file = os.path.join(folder, "chat_template.jinja")
    if os.path.exists(jinja_file):
      with open(jinja_file, encoding="utf-8") as f:
        template = f.read()
  return template
