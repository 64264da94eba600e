"""load_pretrained: the same (cfg, params, tokenizer) contract for "gguf:<path>" and "hf:<dir>"."""

import jax
import numpy as np
import pytest

from proxmo_jax.models import hf_import, pretrained, transformer
from proxmo_jax.models.config import ModelConfig
from proxmo_jax.tokenizers import HFTokenizer

from tests import synthetic_gguf as sg
from tests.test_tokenizer_templates import CHATML, _bpe, _hf_dir, _write_gguf


def test_gguf_init(tmp_path):
  path = tmp_path / "tok.gguf"
  tokens = _write_gguf(path, "qwen2")
  with pytest.raises(ValueError, match="lacks tensor 'blk.0.attn_norm.weight'"):  # no layers
    pretrained.load_pretrained(f"gguf:{path}")
  # a complete model: weights of a tiny qwen2 plus the tokenizer metadata
  rng = np.random.default_rng(0)
  d, v = 64, len(tokens)
  shapes = {"token_embd.weight": (v, d), "output_norm.weight": (d,),
            "blk.0.attn_norm.weight": (d,), "blk.0.ffn_norm.weight": (d,),
            "blk.0.attn_q.weight": (d, d), "blk.0.attn_k.weight": (32, d),
            "blk.0.attn_v.weight": (32, d), "blk.0.attn_output.weight": (d, d),
            "blk.0.attn_q.bias": (d,), "blk.0.attn_k.bias": (32,), "blk.0.attn_v.bias": (32,),
            "blk.0.ffn_gate.weight": (128, d), "blk.0.ffn_up.weight": (128, d),
            "blk.0.ffn_down.weight": (d, 128)}
  tensors = {k: (rng.normal(0, 0.1, s).astype(np.float32), sg.Q.F32) for k, s in shapes.items()}
  full = tmp_path / "model.gguf"
  _, merges, types = _bpe(user_defined=("<think>",))
  sg.write(str(full), "qwen2", n_layers=1, d_model=d, n_heads=4, n_kv_heads=2, d_ff=128,
           tensors=tensors, tokenizer=dict(tokens=tokens, token_types=types, merges=merges,
                                           pre="qwen2", bos=tokens.index("<|im_start|>"),
                                           eos=tokens.index("<|im_end|>"), chat_template=CHATML))
  cfg, params, tok = pretrained.load_pretrained(f"gguf:{full}")
  assert isinstance(cfg, ModelConfig) and cfg.vocab_size == v and cfg.qkv_bias
  assert tok.stop_ids == [tokens.index("<|im_end|>")]
  ids = tok.encode(tok.apply_chat_template([{"role": "user", "content": "look"}]))
  logits = transformer.forward(params, np.asarray([ids], np.int32),
                               np.ones((1, len(ids)), np.int32), cfg)
  assert logits.shape == (1, len(ids), v) and np.isfinite(np.asarray(logits)).all()


def test_hf_init(tmp_path):
  _hf_dir(tmp_path, "config")
  cfg = ModelConfig(vocab_size=400, d_model=32, n_layers=1, n_heads=2, n_kv_heads=1, d_ff=64)
  params = transformer.init_params(cfg, jax.random.PRNGKey(0))
  hf_import.save_hf_checkpoint(params, cfg, str(tmp_path))
  got_cfg, got, tok = pretrained.load_pretrained(f"hf:{tmp_path}", dtype="bfloat16")
  assert (got_cfg.dtype, got["embed"].dtype) == ("bfloat16", np.dtype("bfloat16"))
  assert got_cfg.replace(dtype="float32", param_dtype="float32", head_dim=None) == cfg
  assert isinstance(tok, HFTokenizer) and tok.chat_template == CHATML
  # Saved in float32 and loaded in bfloat16: every leaf is its float32 value rounded once.
  jax.tree_util.tree_map(
      lambda g, p: np.testing.assert_array_equal(np.asarray(g), np.asarray(p).astype(g.dtype)),
      got, params)
