"""Per-example attention for packed rows: same numbers as the block mask, with less work."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flanlab.errors import FlanlabError
from flanlab.mixtures.features import tokenize
from flanlab.mixtures.packing import build_row, pack, single_row
from flanlab.testing import tiny_model
from flanlab.training.data import collate
from flanlab.training.modeling import LossModule
from flanlab.training.packed_attention import NAME, Segments, restore_attention, use_segment_attention

PAIRS = [("Premise: A man is playing a guitar. Does it follow that he makes music? Answer:", "yes"),
         ("What is the capital of France?", "Paris"), ("Summarize: the cat sat on the mat all day.", "the cat sat"),
         ("Translate to French: Hello, my friend", "Bonjour, mon ami"), ("Is the sky blue?", "yes it is"),
         ("Write a title: markets rally after the central bank holds rates", "Markets rally")]


def test_segments_cover_every_real_token_once_and_no_padding():
    seg = np.array([[1, 1, 1, 2, 2, 0, 0], [1, 1, 1, 1, 1, 1, 2]])
    s = Segments.from_segment_ids(seg)
    real = {r * 7 + c for r in range(2) for c in range(7) if seg[r, c] != 0}
    assert sorted(s.dest.tolist()) == sorted(real)
    for b in s.buckets:  # the real slots of a bucket row are one example's tokens, consecutive, in order
        for idx, ok in zip(b.index, b.valid.view(b.index.shape)):
            real_idx = idx[ok]
            assert ok[:len(real_idx)].all()  # real slots first, padding after (causality hides it)
            assert (real_idx[1:] - real_idx[:-1] == 1).all()
            assert len({int(seg.flat[i]) for i in real_idx}) == 1
    assert s.scores < 2 * 7 * 7  # less than the full rows


def test_bucket_ratio_bounds_padding():
    lens = [100, 90, 70, 60, 20, 3]
    seg = np.concatenate([np.full(n, i + 1) for i, n in enumerate(lens)])[None]
    s = Segments.from_segment_ids(seg, bucket_ratio=1.5)
    for b in s.buckets:
        real = b.valid.view(b.index.shape).sum(1)
        assert real.max() <= 1.5 * real.min()
    assert s.scores <= 1.5 ** 2 * sum(n * n for n in lens)


def _segment_logits(model, rows):
    b = collate(rows, mask="segments")
    with torch.no_grad():
        return model(input_ids=b["input_ids"], position_ids=b["position_ids"], use_cache=False,
                     flanlab_segments=b["segments"]).logits


def test_segments_equal_each_example_alone_and_the_block_mask(tiny_tok):
    model = tiny_model("llama").eval()  # 4 heads, 2 key/value heads: the grouped-query path
    feats = tokenize(PAIRS, tiny_tok)
    rows = list(pack(feats, 48, pad_id=tiny_tok.pad_token_id))
    assert len(rows) >= 2 and any(len(r["positions"]) > 1 for r in rows)
    with torch.no_grad():
        b4 = collate(rows)
        masked = model(**{k: v for k, v in b4.items() if k != "labels"}, use_cache=False).logits
    assert use_segment_attention(model)
    seg_logits = _segment_logits(model, rows)
    real = torch.as_tensor(np.stack([r["segment_ids"] for r in rows])) > 0
    torch.testing.assert_close(seg_logits[real], masked[real], rtol=0, atol=1e-5)
    # every example equals its own unpacked forward (unpacked calls go through plain sdpa)
    row = rows[0]
    start = 0
    for pos in row["positions"]:
        f = next(f for f in feats if f.position == pos)
        n = len(f.input_ids)
        with torch.no_grad():
            alone = model(**{k: v for k, v in collate([single_row(f)]).items() if k != "labels"},
                          use_cache=False).logits[0]
        torch.testing.assert_close(seg_logits[0, start:start + n], alone, rtol=0, atol=1e-5)
        start += n


def test_changing_one_example_leaves_the_others_unchanged(tiny_tok):
    model = tiny_model("llama").eval()
    use_segment_attention(model)
    a = tokenize(PAIRS[:3], tiny_tok)
    b = tokenize([PAIRS[0], PAIRS[3], PAIRS[2]], tiny_tok)
    seq = sum(len(f.input_ids) for f in a + b)
    la = _segment_logits(model, [build_row(a, seq, tiny_tok.pad_token_id)])[0]
    lb = _segment_logits(model, [build_row(b, seq, tiny_tok.pad_token_id)])[0]
    n0, n2 = len(a[0].input_ids), len(a[2].input_ids)
    s2a, s2b = n0 + len(a[1].input_ids), n0 + len(b[1].input_ids)
    torch.testing.assert_close(la[:n0], lb[:n0], rtol=0, atol=1e-6)
    torch.testing.assert_close(la[s2a:s2a + n2], lb[s2b:s2b + n2], rtol=0, atol=1e-5)


def test_loss_and_gradients_equal_the_block_mask(tiny_tok):
    feats = tokenize(PAIRS, tiny_tok)
    rows = list(pack(feats, 48, pad_id=tiny_tok.pad_token_id))
    out = {}
    for form in ("4d", "segments"):
        model = tiny_model("llama").train()
        if form == "segments":
            assert use_segment_attention(model)
        loss, n = LossModule(model, "decoder", targets_only=True)(**collate(rows, mask=form))
        loss.backward()
        out[form] = (loss.detach(), torch.cat([p.grad.flatten() for p in model.parameters()]))
    torch.testing.assert_close(out["segments"][0], out["4d"][0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out["segments"][1], out["4d"][1], rtol=1e-4, atol=1e-6)


def test_switched_model_still_generates_and_restores(tiny_tok):
    model = tiny_model("llama").eval()
    ids = torch.tensor([tiny_tok.encode("Is the sky blue?")])
    before = model.generate(ids, max_new_tokens=5, do_sample=False)
    use_segment_attention(model)
    assert model.config._attn_implementation == NAME
    torch.testing.assert_close(model.generate(ids, max_new_tokens=5, do_sample=False), before)
    restore_attention(model)
    assert model.config._attn_implementation == "sdpa"


def test_trainer_chooses_segments_and_the_saved_config_does_not_name_them(tiny_llama_dir, tmp_path):
    from flanlab.training.config import TrainConfig
    from flanlab.testing import ListMixture
    from flanlab.training.train import setup, train

    mix = ListMixture(PAIRS * 4)
    common = dict(model=str(tiny_llama_dir), device="cpu", steps=2, checkpoint={"every": 0},
                  batch={"tokens": 128, "micro_rows": 2}, mixture={"seq_len": 64, "max_input_len": 40,
                                                                   "max_target_len": 16})
    assert setup(TrainConfig(out=str(tmp_path / "a"), **common), mixture=mix).mask_form == "segments"
    assert setup(TrainConfig(out=str(tmp_path / "b"), attention="mask", **common), mixture=mix).mask_form == "4d"
    runs = {form: train(TrainConfig(out=str(tmp_path / form), attention=form, **common), mixture=mix)
            for form in ("segments", "mask")}
    saved = (runs["segments"] / "model" / "config.json").read_text()
    assert NAME not in saved
    import json

    losses = {f: [json.loads(l)["loss"] for l in (r / "metrics.jsonl").read_text().splitlines()] for f, r in runs.items()}
    assert losses["segments"] == pytest.approx(losses["mask"], rel=1e-5)


def test_attention_segments_on_an_encoder_decoder_model_is_plain_padding(tiny_t5_dir, tmp_path):
    from flanlab.training.config import TrainConfig
    from flanlab.testing import ListMixture
    from flanlab.training.train import setup

    cfg = TrainConfig(model=str(tiny_t5_dir), out=str(tmp_path / "t5"), device="cpu", steps=1, attention="segments",
                      checkpoint={"every": 0})
    assert setup(cfg, mixture=ListMixture(PAIRS)).mask_form == "4d"


def test_unknown_mask_form_is_named(tiny_tok):
    rows = list(pack(tokenize(PAIRS[:2], tiny_tok), 64, pad_id=tiny_tok.pad_token_id))
    with pytest.raises(FlanlabError, match="segments"):
        collate(rows, mask="blocks")


def test_models_whose_attention_is_not_plain_causal_keep_the_mask():
    from transformers import LlamaConfig

    from flanlab.training.packed_attention import supports

    assert supports(LlamaConfig(), 2048)
    assert not supports(LlamaConfig(attn_logit_softcapping=50.0), 2048)
    window = LlamaConfig()
    window.sliding_window = 512
    assert not supports(window, 2048) and supports(window, 512)
    model = tiny_model("llama")
    model.config.attn_logit_softcapping = 30.0
    assert not use_segment_attention(model)
    assert model.config._attn_implementation != NAME


def test_softcap_or_short_window_at_call_time_is_an_error():
    from flanlab.training.packed_attention import segment_attention

    segs = Segments.from_segment_ids(np.array([[1] * 6 + [2] * 2]))
    q = torch.zeros(1, 2, 8, 4)
    with pytest.raises(FlanlabError, match="soft-capping"):
        segment_attention(torch.nn.Module(), q, q, q, None, flanlab_segments=segs, softcap=30.0)
    with pytest.raises(FlanlabError, match="sliding window"):
        segment_attention(torch.nn.Module(), q, q, q, None, flanlab_segments=segs, sliding_window=4)
    out, _ = segment_attention(torch.nn.Module(), q, q, q, None, flanlab_segments=segs, sliding_window=6)
    assert out.shape == (1, 8, 2, 4)
