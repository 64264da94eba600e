"""The Tokenizer interface: GGUF vocabularies and HF directories against transformers' own
tokenizers and `apply_chat_template` on small synthetic files; templates, stop ids and the errors
of tokenizers without a template."""

import json
import unicodedata

import numpy as np
import pytest
from tokenizers import Tokenizer as Backend
from tokenizers import decoders, models, pre_tokenizers, trainers

from proxmo_jax.tokenizers import (ChatTemplateError, HFTokenizer, from_gguf,
                                   train_sentencepiece)

from tests import synthetic_gguf as sg

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# A ChatML template in the style of Qwen2.5's: default system turn, tools branch, loop controls,
# whitespace control and the named special tokens.
CHATML = (
    "{%- if messages[0]['role'] == 'system' %}{%- set system = messages[0]['content'] %}"
    "{%- set loop_messages = messages[1:] %}{%- else %}"
    "{%- set system = 'You are a helpful assistant.' %}{%- set loop_messages = messages %}"
    "{%- endif %}\n"
    "{{- '<|im_start|>system\\n' + system + '<|im_end|>\\n' }}\n"
    "{%- if tools %}{{- raise_exception('no tools here') }}{%- endif %}\n"
    "{%- for message in loop_messages %}\n"
    "  {%- if message['role'] not in ['user', 'assistant'] %}"
    "{{- raise_exception('unknown role ' + message['role']) }}{%- endif %}\n"
    "  {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] | trim"
    " + '<|im_end|>\\n' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}\n"
    "{#- eos is {{ eos_token }} -#}")
CONVERSATIONS = [
    [{"role": "user", "content": "You are in the middle of a room. Go to desk 1."}],
    [{"role": "system", "content": "You play ALFWorld."},
     {"role": "user", "content": "  look around  "},
     {"role": "assistant", "content": "<think>ok</think><action>look</action>"},
     {"role": "user", "content": "Nothing happens. 日本語 ½ €12.99"}],
]
CORPUS = ["You are in the middle of a room. Looking quickly around you, you see a cabinet 1, "
          "a desk 2 and a drawer 13.", "search[red running shoes under $50] click[B07XJ8C8F5]",
          "<think>I need a mug</think><action>take mug 1 from desk 1</action>",
          "naïve café — 日本語のテキスト, emoji 🙂 and numbers 1234567 ½ ²", "  indented\n\tlines\n"]
TEXTS = CORPUS + ["desk  1", "a\n  1. go", "x   12", "<|im_start|>user\nhi<|im_end|>",
                  "<think> <|endoftext|>", "'s 've 'LL", "ｆｕｌｌ ｗｉｄｔｈ ９"]


def _bpe(user_defined=()):
  """A small byte-level BPE trained on CORPUS: (tokens by id, merges, token types)."""
  tok = Backend(models.BPE())
  tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  tok.decoder = decoders.ByteLevel()
  trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS + list(user_defined),
                                initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                show_progress=False)
  tok.train_from_iterator(CORPUS * 3, trainer)
  model = json.loads(tok.to_str())["model"]
  tokens = [t for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
  merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
  types = [3 if t in SPECIALS else 4 if t in user_defined else 1 for t in tokens]
  return tokens, merges, types


def _write_gguf(path, pre, *, template=CHATML, eos="<|im_end|>", add_bos=False, kind=None):
  tokens, merges, types = _bpe(user_defined=("<think>",))
  tensors = {"token_embd.weight": (np.zeros((len(tokens), 32), np.float32), sg.Q.F32)}
  sg.write(str(path), "qwen2", n_layers=1, d_model=32, n_heads=2, n_kv_heads=1, d_ff=32,
           tensors=tensors, tokenizer=dict(
               tokens=tokens, token_types=types, merges=merges, pre=pre,
               bos=tokens.index("<|im_start|>"), eos=tokens.index(eos), add_bos=add_bos,
               pad=tokens.index("<|endoftext|>"), chat_template=template))
  if kind:  # rewrite the tokenizer model name
    data = path.read_bytes().replace(b"\x04\x00\x00\x00\x00\x00\x00\x00gpt2",
                                     b"\x04\x00\x00\x00\x00\x00\x00\x00" + kind.encode(), 1)
    path.write_bytes(data)
  return tokens


@pytest.fixture(scope="module")
def transformers():
  return pytest.importorskip("transformers")


@pytest.mark.parametrize("pre", ["gpt2", "qwen2", "llama-bpe"])
def test_gguf_tokenizer_matches_transformers(tmp_path, transformers, pre):
  """Pre-tokenizers transformers' GGUF conversion knows: the same ids, decoding and template."""
  path = tmp_path / "tok.gguf"
  _write_gguf(path, pre, add_bos=pre == "llama-bpe")
  ours = from_gguf(str(path))
  ref = transformers.AutoTokenizer.from_pretrained(str(tmp_path), gguf_file="tok.gguf")
  for text in TEXTS:
    assert ours.encode(text) == ref.encode(text, add_special_tokens=False), text
    assert ours.encode(text, add_special_tokens=True) == ref(text)["input_ids"], text
    ids = ours.encode(text)
    assert ours.decode(ids) == ref.decode(ids, skip_special_tokens=True)
  for conv in CONVERSATIONS:
    for gen in (True, False):
      assert ours.apply_chat_template(conv, add_generation_prompt=gen) == ref.apply_chat_template(
          conv, tokenize=False, add_generation_prompt=gen)
  assert ours.vocab_size == len(ref)
  assert (ours.eos_id, ours.bos_id) == (ref.eos_token_id, ref.bos_token_id)


def test_gguf_qwen2_normalizes_nfc(tmp_path):
  path = tmp_path / "tok.gguf"
  _write_gguf(path, "qwen2")
  tok = from_gguf(str(path))
  decomposed = unicodedata.normalize("NFD", "naïve café")
  assert decomposed != "naïve café"
  assert tok.encode(decomposed) == tok.encode("naïve café")


def test_gguf_smollm_splits_every_number_character(tmp_path):
  """llama.cpp's `smollm` rule: each number character is its own piece before the GPT-2 regex,
  so a run of spaces before a digit stays one piece ("  " + "1")."""
  path = tmp_path / "tok.gguf"
  _write_gguf(path, "smollm")
  tok = from_gguf(str(path))
  gpt2 = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
  for text in TEXTS:
    pieces = []
    for piece, _ in pre_tokenizers.Digits(individual_digits=True).pre_tokenize_str(text):
      pieces += [p for p, _ in gpt2.pre_tokenize_str(piece)]
    # each piece is BPE-encoded on its own, so the ids are the concatenation per piece
    want = [t.id for p in pieces for t in tok.tok.model.tokenize(p)]
    if not any(s in text for s in ("<|", "<think>")):
      assert tok.encode(text) == want, text
  split = [p for p, _ in tok.tok.pre_tokenizer.pre_tokenize_str("x  12 ½")]
  assert split == ["x", "ĠĠ", "1", "2", "Ġ", "Â½"]
  assert [p for p, _ in gpt2.pre_tokenize_str("x  12 ½")] == ["x", "Ġ", "Ġ12", "ĠÂ½"]


def test_stop_ids_and_special_tokens(tmp_path):
  path = tmp_path / "tok.gguf"
  tokens = _write_gguf(path, "gpt2", eos="<|endoftext|>")
  tok = from_gguf(str(path))
  # eos first, then the end-of-turn token the template writes
  assert tok.stop_ids == [tokens.index("<|endoftext|>"), tokens.index("<|im_end|>")]
  assert tok.encode("<|im_end|>") == [tokens.index("<|im_end|>")]
  assert tok.encode("<think>") == [tokens.index("<think>")]
  assert tok.decode(tok.encode("<|im_start|>hi<|im_end|>")) == "hi"
  assert tok.decode(tok.encode("<think>")) == "<think>"  # user-defined: kept when decoding


def test_gguf_tokenizer_errors(tmp_path):
  path = tmp_path / "tok.gguf"
  _write_gguf(path, "mystery-pre")
  with pytest.raises(ValueError, match=r"pre-tokenizer 'mystery-pre' is not supported"):
    from_gguf(str(path))
  path = tmp_path / "spm.gguf"
  _write_gguf(path, "gpt2", kind="bert")
  with pytest.raises(ValueError, match=r"tokenizer model 'bert' is not supported"):
    from_gguf(str(path))


def _hf_dir(tmp_path, template_in):
  tokens, merges, _ = _bpe()
  backend = Backend(models.BPE(vocab={t: i for i, t in enumerate(tokens)},
                               merges=[tuple(m.split(" ")) for m in merges]))
  backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
  backend.decoder = decoders.ByteLevel()
  backend.add_special_tokens(SPECIALS)
  backend.save(str(tmp_path / "tokenizer.json"))
  config = {"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>", "bos_token": None,
            "tokenizer_class": "PreTrainedTokenizerFast"}
  if template_in == "config":
    config["chat_template"] = CHATML
  elif template_in == "list":
    config["chat_template"] = [{"name": "tool_use", "template": "x"},
                               {"name": "default", "template": CHATML}]
  else:
    (tmp_path / "chat_template.jinja").write_text(CHATML)
  (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
  return tokens


@pytest.mark.parametrize("template_in", ["config", "list", "jinja_file"])
def test_hf_directory_template_matches_transformers(tmp_path, transformers, template_in):
  tokens = _hf_dir(tmp_path, template_in)
  tok = HFTokenizer(str(tmp_path))
  assert tok.chat_template == CHATML
  assert (tok.eos_id, tok.pad_id, tok.bos_id) == (2, 0, None)
  assert tok.stop_ids == [tokens.index("<|im_end|>")]
  if template_in == "list":
    return  # transformers keeps named templates apart; the default one is compared above
  ref = transformers.AutoTokenizer.from_pretrained(str(tmp_path))
  for conv in CONVERSATIONS:
    for gen in (True, False):
      assert tok.apply_chat_template(conv, add_generation_prompt=gen) == ref.apply_chat_template(
          conv, tokenize=False, add_generation_prompt=gen)


def test_template_errors(tmp_path):
  _hf_dir(tmp_path, "config")
  tok = HFTokenizer(str(tmp_path))
  with pytest.raises(ChatTemplateError, match="unknown role tool"):
    tok.apply_chat_template([{"role": "tool", "content": "x"}])
  with pytest.raises(ChatTemplateError, match="each message is a dict"):
    tok.apply_chat_template(["hello"])
  sp = train_sentencepiece([f"go to desk {i} and take the mug {i} from the cabinet"
                            for i in range(300)], vocab_size=400)
  assert sp.chat_template is None and sp.stop_ids == [sp.eos_id] and sp.bos_id == 3
  with pytest.raises(ChatTemplateError, match="no chat template"):
    sp.apply_chat_template([{"role": "user", "content": "look"}])
