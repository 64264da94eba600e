"""Sentencepiece tokenizers: train one on the environments' texts, or load a model file."""

from __future__ import annotations

import io
import os
from typing import Iterable, Optional, Sequence

import sentencepiece as spm

from proxmo_jax.tokenizers.base import Tokenizer



class SentencePieceTokenizer(Tokenizer):
  """Wraps a `sentencepiece.SentencePieceProcessor` (pad 0, eos 1, unk 2, bos 3); no chat
  template (`chat_template` is None), so prompts are built as plain text."""

  def __init__(self, model_proto: bytes):
    self.model_proto = model_proto
    self.sp = spm.SentencePieceProcessor(model_proto=model_proto)

  @classmethod
  def load(cls, path: str) -> "SentencePieceTokenizer":
    if not os.path.exists(path):
      raise FileNotFoundError(f"sentencepiece model {path!r} not found; train one with "
                              "train_sentencepiece(texts, path) or point to an existing .model.")
    with open(path, "rb") as f:
      return cls(f.read())

  def save(self, path: str) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "wb") as f:
      f.write(self.model_proto)

  def encode(self, text: str) -> list[int]:
    return self.sp.encode(text)

  def decode(self, ids: Sequence[int]) -> str:
    # Control ids (pad, eos, bos) and ids past the vocabulary (a model whose embedding is padded
    # beyond it) decode to nothing rather than raising.
    n = self.sp.get_piece_size()
    return self.sp.decode([int(i) for i in ids if 4 <= int(i) < n or int(i) == 2])

  @property
  def eos_id(self) -> int:
    return self.sp.eos_id()

  @property
  def pad_id(self) -> int:
    return self.sp.pad_id()

  @property
  def bos_id(self) -> Optional[int]:
    return self.sp.bos_id() if self.sp.bos_id() >= 0 else None

  @property
  def vocab_size(self) -> int:
    return self.sp.get_piece_size()

  def token_to_id(self, token: str) -> Optional[int]:
    i = self.sp.piece_to_id(token)
    return None if i == self.sp.unk_id() and token != self.sp.id_to_piece(i) else i


def train_sentencepiece(texts: Iterable[str], vocab_size: int = 2048, model_type: str = "bpe",
                        user_symbols: Sequence[str] = ()) -> SentencePieceTokenizer:
  """Trains a sentencepiece model in memory on `texts` (seconds for a few MB of text).

  `vocab_size` is capped by what the corpus supports (sentencepiece's hard limit is retried
  with a smaller size). Each of `user_symbols` (e.g. the agent's response tags,
`environments.projection.TAGS`) is one piece.
  """
  texts = [t for t in texts if t]
  if not texts:
    raise ValueError("train_sentencepiece needs a non-empty corpus.")
  size = vocab_size
  while True:
    buf = io.BytesIO()
    try:
      spm.SentencePieceTrainer.train(
          sentence_iterator=iter(texts), model_writer=buf, vocab_size=size,
          model_type=model_type, pad_id=0, eos_id=1, unk_id=2, bos_id=3,
          user_defined_symbols=list(user_symbols), character_coverage=1.0,
          byte_fallback=True, max_sentence_length=1 << 16, num_threads=1,
          minloglevel=2, hard_vocab_limit=True, split_digits=True)
      return SentencePieceTokenizer(buf.getvalue())
    except RuntimeError as e:
      if "Vocabulary size too high" not in str(e) or size <= 300:
        raise
      size = int(size * 0.8)
