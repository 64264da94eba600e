"""The byte-level BPE tokenizer that a GGUF file describes in its metadata.

    tok = from_gguf("model.gguf")        # an HFTokenizer (HF `tokenizers` BPE)

A GGUF file has no tokenizer.json; llama.cpp's converter stores the pieces instead:

    tokenizer.ggml.model        "gpt2" (byte-level BPE; the only kind read here)
    tokenizer.ggml.pre          how text is split before BPE (below)
    tokenizer.ggml.tokens       [V] token strings in the GPT-2 byte alphabet
    tokenizer.ggml.token_type   [V] 1 normal, 3 control (special), 4 user-defined, ...
    tokenizer.ggml.merges       ["a b", ...] in merge priority order
    tokenizer.ggml.{bos,eos,padding,unknown}_token_id, tokenizer.ggml.add_{bos,eos}_token
    tokenizer.chat_template     the model's Jinja chat template

The pieces are assembled as transformers' GGUF conversion does: vocabulary (a token written
outside the byte alphabet is respelled in it), merges, no normalizer, ByteLevel decoder; control
tokens become special added tokens (matched whole in the text, skipped when decoding), user-defined
ones plain added tokens; add_bos/add_eos become the post-processor (used by
`encode(text, add_special_tokens=True)`).

Pre-tokenizers (`tokenizer.ggml.pre`), as llama.cpp applies them:

    gpt2, default       GPT-2's regex ('s|'t|...| ?\\p{L}+| ?\\p{N}+|...), ByteLevel
    smollm, starcoder,  every number character split off first (\\p{N}, one piece each), then
      refact            the GPT-2 regex on what is left: the Digits(individual) + ByteLevel
                        pre-tokenizer of SmolLM2's own tokenizer.json
    qwen2               NFC, then Qwen2's split regex (digits one at a time), ByteLevel
    llama3, llama-bpe   Llama 3's split regex (numbers in runs of up to 3), ByteLevel

transformers' conversion (5.x) has no entry for `smollm` and falls back to plain GPT-2, whose
" ?\\p{N}+" puts a preceding space into the number's piece. The two differ where whitespace
precedes a number character: after two or more spaces ("  1": GPT-2 "Ġ", "Ġ", "1", the model's
tokenizer "ĠĠ", "1") and before a non-ASCII number (" ¼": GPT-2 "ĠÂ", "¼", the model "Ġ", "Â¼").
Any other pre-tokenizer name is an error rather than a silent GPT-2 fallback.
"""

from __future__ import annotations

import functools
from typing import Optional

from tokenizers import AddedToken, Regex
from tokenizers import Tokenizer as _Backend
from tokenizers import decoders, models, normalizers, pre_tokenizers, processors

from proxmo_jax.tokenizers.hf_tokenizer import HFTokenizer

_LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                 r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
                r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

_GPT2 = ("gpt2", "default")
_DIGITS_FIRST = ("smollm", "starcoder", "refact")
_QWEN2 = ("qwen2", "deepseek-r1-qwen")
_LLAMA3 = ("llama3", "llama-bpe", "llama-v3", "smaug-bpe", "falcon3", "dbrx")
PRE_TOKENIZERS = _GPT2 + _DIGITS_FIRST + _QWEN2 + _LLAMA3

_CONTROL, _USER_DEFINED = 3, 4


@functools.lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
  """GPT-2's byte -> printable character table (printable Latin-1 bytes map to themselves)."""
  bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) +
        list(range(ord("®"), ord("ÿ") + 1)))
  cs = bs[:]
  n = 0
  for b in range(256):
    if b not in bs:
      bs.append(b)
      cs.append(256 + n)
      n += 1
  return dict(zip(bs, (chr(c) for c in cs)))


def _pre_tokenizer(pre: str, path: str):
  byte_level = functools.partial(pre_tokenizers.ByteLevel, add_prefix_space=False)
  if pre in _GPT2:
    return byte_level(use_regex=True)
  if pre in _DIGITS_FIRST:
    return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                    byte_level(use_regex=True)])
  split = _QWEN2_SPLIT if pre in _QWEN2 else _LLAMA3_SPLIT if pre in _LLAMA3 else None
  if split is None:
    raise ValueError(f"{path!r}: GGUF pre-tokenizer {pre!r} is not supported; supported: "
                     f"{', '.join(PRE_TOKENIZERS)}. Load the model's HF directory (tokenizer.json) "
                     "instead, or add its split regex to gguf_tokenizer.py.")
  return pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(split), behavior="isolated"),
                                  byte_level(use_regex=False)])


def from_gguf(path: str) -> HFTokenizer:
  """The tokenizer of a GGUF file (see module docstring); ids, template and specials included."""
  from proxmo_jax.models import gguf_import  # pylint: disable=import-outside-toplevel
  reader = gguf_import.open_gguf(path)
  return from_reader(reader, path)


def from_reader(reader, path: str = "<gguf>") -> HFTokenizer:
  """`from_gguf` over an open `gguf.GGUFReader` (saves a second parse of the file)."""
  from proxmo_jax.models.gguf_import import field_value  # pylint: disable=import-outside-toplevel
  get = lambda key, default=None: field_value(reader, f"tokenizer.{key}", default)
  kind = get("ggml.model")
  if kind != "gpt2":
    raise ValueError(f"{path!r}: GGUF tokenizer model {kind!r} is not supported; only byte-level "
                     "BPE ('gpt2': SmolLM, Qwen2, Llama 3) is. Load the model's HF directory "
                     "(tokenizer.json) instead.")
  tokens = get("ggml.tokens")
  merges = get("ggml.merges")
  if not tokens or merges is None:
    raise ValueError(f"{path!r}: the GGUF tokenizer lacks tokenizer.ggml.tokens or "
                     "tokenizer.ggml.merges.")
  types = get("ggml.token_type") or [1] * len(tokens)
  spelling = bytes_to_unicode()
  alphabet = set(spelling.values())
  spelled = lambda t: set(t) <= alphabet
  vocab = {t if spelled(t) else "".join(spelling[b] for b in t.encode("utf-8")): i
           for i, t in enumerate(tokens)}
  backend = _Backend(models.BPE(vocab=vocab, merges=[tuple(m.split(" ", 1)) for m in merges],
                                dropout=None, unk_token=None, fuse_unk=False, byte_fallback=False))
  pre = get("ggml.pre", "default")
  if pre in _QWEN2:
    backend.normalizer = normalizers.NFC()
  backend.pre_tokenizer = _pre_tokenizer(pre, path)
  backend.decoder = decoders.ByteLevel()
  control = [AddedToken(t, normalized=False, special=True)
             for t, k in zip(tokens, types) if k == _CONTROL and spelled(t)]
  backend.add_special_tokens(control)
  user = [AddedToken(t, normalized=False, special=False)
          for t, k in zip(tokens, types) if k == _USER_DEFINED and t in vocab]
  backend.add_tokens(user)

  def token(key: str) -> tuple[Optional[int], Optional[str]]:
    i = get(f"ggml.{key}")
    return (None, None) if i is None or not 0 <= int(i) < len(tokens) else (int(i), tokens[int(i)])

  bos_id, bos = token("bos_token_id")
  eos_id, eos = token("eos_token_id")
  pad_id, pad = token("padding_token_id")
  _, unk = token("unknown_token_id")
  if eos_id is None:
    raise ValueError(f"{path!r}: the GGUF tokenizer has no eos token id "
                     "(tokenizer.ggml.eos_token_id).")
  add_bos, add_eos = bool(get("ggml.add_bos_token", False)), bool(get("ggml.add_eos_token", False))
  if add_bos and bos_id is None:
    raise ValueError(f"{path!r}: tokenizer.ggml.add_bos_token is set but there is no bos token.")
  single = ([f"{bos}:0"] if add_bos else []) + ["$A:0"] + ([f"{eos}:0"] if add_eos else [])
  pair = single + ["$B:1"] + ([f"{eos}:1"] if add_eos else [])
  specials = [(bos, bos_id)] if add_bos else []
  if add_eos and (eos, eos_id) not in specials:
    specials.append((eos, eos_id))
  backend.post_processor = processors.TemplateProcessing(single=single, pair=pair,
                                                         special_tokens=specials)
  named = {"bos_token": bos, "eos_token": eos, "unk_token": unk, "pad_token": pad}
  return HFTokenizer.from_backend(
      backend, eos_id=eos_id, pad_id=eos_id if pad_id is None else pad_id, bos_id=bos_id,
      chat_template=get("chat_template"),
      special_tokens={k: v for k, v in named.items() if v is not None})
