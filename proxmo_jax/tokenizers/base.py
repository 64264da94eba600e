"""The one tokenizer interface: sentencepiece models, HF `tokenizer.json` and GGUF vocabularies.

    tok.encode(text) -> list[int]          tok.decode(ids) -> str
    tok.eos_id, tok.pad_id: int            tok.bos_id: int | None
    tok.vocab_size: int                    tok.token_to_id(token) -> int | None
    tok.chat_template: str | None          the checkpoint's Jinja chat template
    tok.apply_chat_template(messages, add_generation_prompt=True) -> str
    tok.stop_ids: list[int]                eos, then the template's end-of-turn tokens

`encode` never adds BOS/EOS (prompts go through the chat template, which writes whatever
special tokens the model expects); special tokens written in the text (`<|im_start|>`) are
single ids. `apply_chat_template` renders the model's own template (see `chat_template.py`);
a tokenizer without one (the project's trained sentencepiece models) raises ChatTemplateError.
"""

from __future__ import annotations

import abc
from typing import Mapping, Optional, Sequence

from proxmo_jax.tokenizers import chat_template as chat_template_lib


class Tokenizer(abc.ABC):
  """Text <-> token ids, the special ids a policy needs, and the model's chat template."""

  #: The checkpoint's Jinja chat template; None when the tokenizer has none.
  chat_template: Optional[str] = None

  @abc.abstractmethod
  def encode(self, text: str) -> list[int]: ...

  @abc.abstractmethod
  def decode(self, ids: Sequence[int]) -> str: ...

  @property
  @abc.abstractmethod
  def eos_id(self) -> int: ...

  @property
  @abc.abstractmethod
  def pad_id(self) -> int: ...

  @property
  @abc.abstractmethod
  def vocab_size(self) -> int: ...

  @property
  def bos_id(self) -> Optional[int]:
    """The beginning-of-sequence id, None when the vocabulary has none."""
    return None

  def token_to_id(self, token: str) -> Optional[int]:
    """The id of a whole token (e.g. "<|im_end|>"), None when it is not one token."""
    ids = self.encode(token)
    return ids[0] if len(ids) == 1 else None

  @property
  def special_tokens(self) -> Mapping[str, str]:
    """Named special tokens the chat template may use (bos_token, eos_token, ...)."""
    return {}

  def apply_chat_template(self, messages: Sequence[Mapping],
                          add_generation_prompt: bool = True) -> str:
    """`messages` ([{"role", "content"}]) as the model's chat template writes them."""
    return chat_template_lib.render(self.chat_template, messages, add_generation_prompt,
                                    self.special_tokens)

  @property
  def stop_ids(self) -> list[int]:
    """Ids at which generation stops: eos, then each end-of-turn token the template writes."""
    ids = [self.eos_id]
    for token in chat_template_lib.end_of_turn_tokens(self.chat_template):
      i = self.token_to_id(token)
      if i is not None and i not in ids:
        ids.append(i)
    return ids
