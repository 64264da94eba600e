"""Rendering of the Jinja chat templates that checkpoints carry (HF tokenizer_config.json, GGUF).

    render(template, [{"role": "user", "content": "hi"}], add_generation_prompt=True,
           special_tokens={"eos_token": "<|im_end|>"}) -> str

The template runs in the environment transformers' `apply_chat_template` uses, so the text is
the same: a sandboxed (immutable) Jinja environment with `trim_blocks` and `lstrip_blocks`, the
`loopcontrols` extension, a `tojson` filter that does not HTML-escape, and the globals
`raise_exception(message)` and `strftime_now(format)`. The variables are `messages`,
`add_generation_prompt`, `tools` (None), `documents` (None) and the named special tokens
(`bos_token`, `eos_token`, `unk_token`, `pad_token`).
"""

from __future__ import annotations

import datetime
import functools
import json
from typing import Mapping, Optional, Sequence

# Tokens that close a turn in the chat formats in use; generation stops on the ones a template
# writes (ChatML, Llama 3, Phi-3, Gemma).
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>")


class ChatTemplateError(ValueError):
  """A chat template that cannot be rendered, or a tokenizer without one."""


@functools.lru_cache(maxsize=16)
def _compile(template: str):
  try:
    import jinja2  # pylint: disable=import-outside-toplevel
    from jinja2 import ext, sandbox  # pylint: disable=import-outside-toplevel
  except ImportError as e:
    raise ImportError("chat templates need jinja2: pip install 'jinja2>=3.1'.") from e

  def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)

  def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)

  env = sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                              extensions=[ext.loopcontrols])
  env.filters["tojson"] = tojson
  env.globals["raise_exception"] = raise_exception
  env.globals["strftime_now"] = lambda fmt: datetime.datetime.now().strftime(fmt)
  try:
    return env.from_string(template)
  except jinja2.exceptions.TemplateSyntaxError as e:
    raise ChatTemplateError(f"the chat template does not parse (line {e.lineno}: {e.message}); "
                            "fix the template string.") from e


def render(template: Optional[str], messages: Sequence[Mapping], add_generation_prompt: bool = True,
           special_tokens: Optional[Mapping[str, str]] = None) -> str:
  """The conversation `messages` ([{"role", "content"}, ...]) rendered by `template`."""
  if not template:
    raise ChatTemplateError("this tokenizer has no chat template (the project's sentencepiece "
                            "tokenizers have none); build the prompt text directly, or load the "
                            "checkpoint's own tokenizer (HF directory or GGUF file).")
  for i, m in enumerate(messages):
    if not isinstance(m, Mapping) or "role" not in m:
      raise ChatTemplateError(f"chat message {i} is {m!r}; each message is a dict with 'role' "
                              "and 'content'.")
  import jinja2  # pylint: disable=import-outside-toplevel
  try:
    return _compile(template).render(
        messages=[dict(m) for m in messages], add_generation_prompt=add_generation_prompt,
        tools=None, documents=None, **dict(special_tokens or {}))
  except jinja2.exceptions.TemplateError as e:
    raise ChatTemplateError(f"the chat template rejected the conversation: {e}") from e


def end_of_turn_tokens(template: Optional[str]) -> list[str]:
  """The END_OF_TURN_TOKENS that `template` writes, in that order."""
  return [t for t in END_OF_TURN_TOKENS if template and t in template]
