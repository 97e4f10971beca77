"""Tokenization, packing and collation: loss-mask positions, truncation counts, and the proof that packed
examples never attend to each other (changing one leaves the logits of the others unchanged)."""

from __future__ import annotations

import numpy as np
import pytest

from flanlab.errors import FlanlabError
from flanlab.mixtures.features import Features, TokenStats, tokenize
from flanlab.mixtures.features import IGNORE
from flanlab.mixtures.packing import PackingStats, assign_bins, build_row, pack, single_row
from flanlab.training.data import block_causal_mask, collate


def feat(n_prompt: int, n: int, start: int = 10, pos: int = 0) -> Features:
    return Features(list(range(start, start + n)), n_prompt, None, pos, "t", "01")


# -- tokenization -----------------------------------------------------------------------------------------

def test_decoder_layout_and_loss_mask(tiny_tok):
    stats = TokenStats()
    [f] = tokenize([("Does the premise mean that?", "yes")], tiny_tok, stats=stats)
    eos = tiny_tok.eos_token_id
    x = tiny_tok("Does the premise mean that?", add_special_tokens=False)["input_ids"]
    y = tiny_tok("yes", add_special_tokens=False)["input_ids"]
    assert f.input_ids == x + [eos] + y + [eos]
    assert f.n_prompt == len(x) + 1
    row = single_row(f)
    # loss exactly on the target tokens and the final EOS
    assert [i for i, v in enumerate(row["labels"]) if v != IGNORE] == list(range(len(x) + 1, len(f.input_ids)))
    assert list(row["labels"][f.n_prompt:]) == y + [eos]
    assert stats.examples == 1 and stats.input_truncated == 0


def test_encoder_decoder_separate_sequences(tiny_tok):
    [f] = tokenize([("Translate: hello", "bonjour")], tiny_tok, kind="encoder-decoder")
    eos = tiny_tok.eos_token_id
    assert f.input_ids == tiny_tok("Translate: hello", add_special_tokens=False)["input_ids"] + [eos]
    assert f.target_ids == tiny_tok("bonjour", add_special_tokens=False)["input_ids"] + [eos]


def test_truncation_counted_skip_and_error(tiny_tok):
    long_in, long_tg = "the quick brown fox " * 50, "a b c d e f g h " * 20
    pairs = [(long_in, "yes"), ("short", long_tg), ("short", "no")]
    stats = TokenStats()
    feats = tokenize(pairs, tiny_tok, max_input_len=16, max_target_len=8, stats=stats,
                     meta=[(0, "a", "01"), (1, "b", "01"), (2, "c", "01")])
    assert len(feats) == 3
    assert (stats.input_truncated, stats.target_truncated) == (1, 1)
    assert stats.per_task_truncated == {"a": 1, "b": 1}
    assert len(feats[0].input_ids) == 16 + 1 + len(tiny_tok("yes", add_special_tokens=False)["input_ids"]) + 1
    assert len(feats[1].input_ids) - feats[1].n_prompt == 8 + 1
    stats = TokenStats()
    kept = tokenize(pairs, tiny_tok, max_input_len=16, max_target_len=8, on_overlong="skip", stats=stats)
    assert len(kept) == 1 and stats.skipped_overlong == 2
    with pytest.raises(FlanlabError, match="input has .* tokens, more than the limit 16"):
        tokenize(pairs, tiny_tok, max_input_len=16, max_target_len=8, on_overlong="error")


# -- packing ----------------------------------------------------------------------------------------------

def test_assign_bins_hand_computed():
    assert assign_bins([5, 3, 4, 2], 7) == [[0, 3], [2, 1]]
    assert assign_bins([5, 3, 4, 2], 7, "first_fit") == [[0, 3], [1, 2]]
    assert assign_bins([5, 3, 4, 2, 6], 7, "first_fit") == [[0, 3], [1, 2], [4]]
    with pytest.raises(FlanlabError, match="does not fit"):
        assign_bins([9], 8)
    with pytest.raises(FlanlabError, match="unknown packing method"):
        assign_bins([1], 8, "magic")


def test_bfd_never_overflows_and_is_tight():
    rng = np.random.default_rng(0)
    lengths = [int(x) for x in rng.integers(20, 600, size=3000)]
    bins = assign_bins(lengths, 2048)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 2048 for b in bins)
    assert sum(lengths) / (len(bins) * 2048) > 0.98


def test_row_layout():
    row = build_row([feat(2, 4, 10), feat(1, 3, 20)], 10, pad_id=0)
    assert list(row["input_ids"]) == [10, 11, 12, 13, 20, 21, 22, 0, 0, 0]
    assert list(row["segment_ids"]) == [1, 1, 1, 1, 2, 2, 2, 0, 0, 0]
    assert list(row["position_ids"]) == [0, 1, 2, 3, 0, 1, 2, 0, 1, 2]
    assert list(row["labels"]) == [IGNORE, IGNORE, 12, 13, IGNORE, 21, 22, IGNORE, IGNORE, IGNORE]
    m = block_causal_mask(row["segment_ids"][None])[0, 0] == 0
    assert m[5, 4] and m[5, 5] and not m[5, 3] and not m[4, 5] and not m[3, 4]
    assert m[8].sum() == 1 and m[8, 8]  # padding sees only itself


def test_pack_stats_skip_and_resume_marks():
    feats = [feat(1, n, pos=i) for i, n in enumerate([6, 3, 12, 4, 2])]
    stats = PackingStats()
    rows = list(pack(feats, 8, pad_id=0, window=2, stats=stats))
    assert stats.skipped_too_long == 1 and stats.examples == 4
    assert stats.tokens == 6 + 3 + 4 + 2 and stats.slots == 8 * len(rows)
    assert rows[0]["resume"] == (0, 0)
    assert sorted(p for r in rows for p in r["positions"]) == [0, 1, 3, 4]
    with pytest.raises(FlanlabError, match="position 2 .* more than seq_len=8"):
        list(pack(feats, 8, pad_id=0, on_too_long="error"))


def test_unpacked_collate_pads_to_longest():
    rows = [single_row(feat(2, 5)), single_row(feat(1, 3))]
    b = collate(rows, pad_id=0)
    assert b["input_ids"].shape == (2, 5)
    assert b["attention_mask"].tolist() == [[1] * 5, [1, 1, 1, 0, 0]]
    assert b["labels"][1].tolist() == [IGNORE, 11, 12, IGNORE, IGNORE]


# -- the proof: no attention across packed examples ------------------------------------------------------

def _logits(model, batch):
    import torch

    with torch.no_grad():
        return model(**{k: v for k, v in batch.items() if k != "labels"}, use_cache=False).logits[0]


@pytest.mark.parametrize("attn,mask", [("eager", "4d"), ("sdpa", "4d"), ("sdpa", "position_ids"),
                                       ("eager", "position_ids")])
def test_packed_examples_do_not_attend_to_each_other(tiny_tok, attn, mask):
    import torch

    from flanlab.testing import tiny_model

    model = tiny_model("llama").eval()
    model.set_attn_implementation(attn)
    pairs = [("Does the premise mean that the fox runs?", "yes"), ("Translate to French: Hello", "Bonjour"),
             ("Summarize: the cat sat on the mat.", "cat on mat")]
    a = tokenize(pairs, tiny_tok)
    b = tokenize([pairs[0], ("Question: What is the capital of France? Answer", "Paris"), pairs[2]], tiny_tok)
    seq = sum(len(f.input_ids) for f in a + b) + 5
    row_a, row_b = build_row(a, seq, tiny_tok.pad_token_id), build_row(b, seq, tiny_tok.pad_token_id)
    la = _logits(model, collate([row_a], mask=mask))
    lb = _logits(model, collate([row_b], mask=mask))
    n0, n2 = len(a[0].input_ids), len(a[2].input_ids)
    s2a, s2b = len(a[0].input_ids) + len(a[1].input_ids), len(b[0].input_ids) + len(b[1].input_ids)
    # segment 1 precedes the change; segment 3 follows it (shifted): both must be unchanged
    torch.testing.assert_close(la[:n0], lb[:n0], rtol=0, atol=1e-5)
    torch.testing.assert_close(la[s2a:s2a + n2], lb[s2b:s2b + n2], rtol=0, atol=1e-5)
    # and equal to running the example alone, unpacked
    alone = _logits(model, collate([single_row(a[2])]))
    torch.testing.assert_close(la[s2a:s2a + n2], alone, rtol=0, atol=1e-5)
    assert not torch.allclose(la[n0:s2a][:5], lb[n0:s2b][:5])  # the changed example did change


def test_packed_loss_equals_unpacked_token_loss(tiny_tok):
    import torch

    from flanlab.testing import tiny_model

    model = tiny_model("llama").eval()
    feats = tokenize([("Is the sky blue?", "yes"), ("Summarize: the cat sat.", "cat sat")], tiny_tok)
    row = build_row(feats, 64, tiny_tok.pad_token_id)
    with torch.no_grad():
        packed = model(**collate([row]), use_cache=False).loss
        singles = [model(**collate([single_row(f)]), use_cache=False).loss for f in feats]
    n = [len(f.input_ids) - f.n_prompt for f in feats]  # each loss is a mean over its target tokens
    expected = sum(l * k for l, k in zip(singles, n)) / sum(n)
    torch.testing.assert_close(packed, expected, rtol=1e-5, atol=1e-5)


def test_t5_batch_runs(tiny_tok):
    import torch

    from flanlab.testing import tiny_model

    model = tiny_model("t5").eval()
    feats = tokenize([("Translate: hello", "bonjour"), ("Translate: a longer input here", "ok")], tiny_tok,
                     kind="encoder-decoder")
    b = collate([single_row(f) for f in feats], kind="encoder-decoder", pad_id=tiny_tok.pad_token_id)
    assert b["labels"].shape[1] == max(len(f.target_ids) for f in feats)
    with torch.no_grad():
        assert torch.isfinite(model(**b).loss)


# -- the cached, tokenized, packed stream (mixtures.stream) ---------------------------------------------------

@pytest.fixture(scope="module")
def toy_mix_cfg(tmp_path_factory):
    from mixture_toys import toy_catalogue, write_toy_data

    from flanlab.mixtures.config import MixtureConfig

    cat = toy_catalogue({"a": ("sentiment", "cls"), "b": ("summarization", "gen"), "c": ("misc", "cls")})
    root = write_toy_data(tmp_path_factory.mktemp("mirror"), cat, {"a": 80, "b": 60, "c": 40}, words=(2, 40))
    cfg = MixtureConfig(source="mirror", data_dir=str(root), seed=7, max_input_len=48, max_target_len=12,
                        seq_len=160, pack_window=50)
    return cat, cfg


def _mix(toy_mix_cfg, **kw):
    from flanlab.mixtures.mixture import Mixture

    cat, cfg = toy_mix_cfg
    return Mixture(cfg.model_copy(update=kw), cat)


def test_stream_features_match_direct_tokenization_and_count_truncation(toy_mix_cfg, tiny_tok):
    from flanlab.mixtures.features import tokenize_rendered
    from flanlab.mixtures.stream import feature_stream

    stats = TokenStats()
    got = list(feature_stream(_mix(toy_mix_cfg), tiny_tok, stop=700, stats=stats))
    direct_stats = TokenStats()
    direct = tokenize_rendered(_mix(toy_mix_cfg).take(700), tiny_tok, max_input_len=48, max_target_len=12,
                               stats=direct_stats)
    assert [(f.position, f.task, f.input_ids, f.n_prompt) for f in got] == \
        [(f.position, f.task, f.input_ids, f.n_prompt) for f in direct]
    # hand count: inputs over 48 tokens, targets over 12
    xs = _mix(toy_mix_cfg).take(700)
    n_in = sum(len(tiny_tok(x.inputs, add_special_tokens=False)["input_ids"]) > 48 for x in xs)
    n_tg = sum(len(tiny_tok(x.targets, add_special_tokens=False)["input_ids"]) > 12 for x in xs)
    assert n_in > 0 and n_tg > 0
    assert (stats.input_truncated, stats.target_truncated) == (n_in, n_tg) == \
        (direct_stats.input_truncated, direct_stats.target_truncated)


def test_second_run_reads_the_disk_cache(toy_mix_cfg, tiny_tok, monkeypatch):
    from flanlab.mixtures import stream

    first = [r for r, _ in stream.rows(_mix(toy_mix_cfg), tiny_tok, stop=900)]

    def no_build(self, task, chunk):
        raise AssertionError(f"chunk {task}/{chunk} was rebuilt")

    monkeypatch.setattr(stream.FeatureCache, "build", no_build)
    pstats = PackingStats()
    second = [r for r, _ in stream.rows(_mix(toy_mix_cfg), tiny_tok, stop=900, pstats=pstats)]
    assert len(first) == len(second) and all((a["input_ids"] == b["input_ids"]).all() for a, b in zip(first, second))
    assert pstats.examples == 900 and pstats.efficiency > 0.9
    # another seed is another cache key: it must build
    with pytest.raises(AssertionError, match="was rebuilt"):
        list(stream.rows(_mix(toy_mix_cfg, seed=8), tiny_tok, stop=10))


@pytest.mark.parametrize("packing", [True, False])
def test_rows_of_a_cached_mixture_resume_from_any_cursor(toy_mix_cfg, tiny_tok, packing):
    from flanlab.mixtures.stream import rows

    full = list(rows(_mix(toy_mix_cfg, packing=packing), tiny_tok, stop=600))
    assert full and all(r["n_tokens"] <= 160 for r, _ in full)
    for k in (0, 5, len(full) - 2):
        again = list(rows(_mix(toy_mix_cfg, packing=packing), tiny_tok, cursor=full[k][1], stop=600))
        assert len(again) == len(full) - k - 1
        assert all((a["input_ids"] == b["input_ids"]).all() and ca == cb
                   for (a, ca), (b, cb) in zip(again, full[k + 1:]))
    if packing:  # a window's rows come in a seeded order, not longest first
        first_window = [r["n_tokens"] for r, c in full if c.position == full[0][1].position]
        assert first_window != sorted(first_window, reverse=True)
    else:
        assert [r["positions"] for r, _ in full] == [[p] for p in range(600)]


def test_cache_chunks_partition_every_task_draw():
    from flanlab.mixtures.stream import CHUNK, chunk_of, chunk_span

    spans = [chunk_span(c) for c in range(12)]
    assert spans[0][0] == 0 and all(a[0] + a[1] == b[0] for a, b in zip(spans, spans[1:]))  # no gap, no overlap
    assert spans[0][1] < CHUNK and spans[-1][1] == CHUNK  # small first chunks, then full ones
    for k in range(spans[-1][0] + spans[-1][1]):
        c, i = chunk_of(k)
        assert spans[c][0] + i == k and 0 <= i < spans[c][1]


def test_parallel_warm_equals_serial(toy_mix_cfg, tiny_tok, monkeypatch, tmp_path):
    from flanlab.mixtures import stream

    serial = list(stream.feature_stream(_mix(toy_mix_cfg, seed=11), tiny_tok, stop=2500,
                                        cache=stream.FeatureCache(_mix(toy_mix_cfg, seed=11), tiny_tok,
                                                                  use_disk=False)))
    monkeypatch.setenv("FLANLAB_CACHE", str(tmp_path / "cache"))
    cache = stream.FeatureCache(_mix(toy_mix_cfg, seed=11), tiny_tok)
    built = stream.warm(cache, 0, 2500, workers=2)
    assert built == len(list((tmp_path / "cache").rglob("*.npz"))) - 3 > 3  # minus the 3 pool indexes
    assert stream.needed_chunks(cache, 0, 2500) == []
    warm = list(stream.feature_stream(_mix(toy_mix_cfg, seed=11), tiny_tok, stop=2500))
    assert [(f.position, f.input_ids) for f in warm] == [(f.position, f.input_ids) for f in serial]


def test_overlong_skip_and_error_in_the_stream(toy_mix_cfg, tiny_tok):
    from flanlab.mixtures.stream import feature_stream

    stats = TokenStats()
    kept = list(feature_stream(_mix(toy_mix_cfg, on_overlong="skip"), tiny_tok, stop=300, stats=stats))
    assert stats.skipped_overlong > 0 and len(kept) + stats.skipped_overlong == 300
    assert all(f.n_prompt - 1 <= 48 for f in kept)
    with pytest.raises(FlanlabError, match="more than the limit"):
        list(feature_stream(_mix(toy_mix_cfg, on_overlong="error"), tiny_tok, stop=300))


def test_fast_encode_matches_the_tokenizer(tiny_tok):
    from flanlab.mixtures.features import encode

    texts = ["Does the premise mean that?", "OPTIONS:\n- yes\n- no", "", "émoji ✓ 0123"]
    assert encode(tiny_tok, texts) == tiny_tok(texts, add_special_tokens=False)["input_ids"]


def test_parallel_pool_opening_reports_missing_data(toy_mix_cfg, tiny_tok):
    from mixture_toys import toy_catalogue

    from flanlab.mixtures import stream
    from flanlab.mixtures.mixture import Mixture

    _, cfg = toy_mix_cfg
    cfg = cfg.model_copy(update={"seed": 21})  # chunk caches are per task: another seed builds afresh
    cat = toy_catalogue({"a": ("sentiment", "cls"), "b": ("summarization", "gen"), "nodata": ("misc", "cls")})
    with pytest.raises(FlanlabError, match="'nodata'.*missing_data=skip"):
        stream.warm(stream.FeatureCache(Mixture(cfg, cat), tiny_tok), 0, 100, workers=2)
    mix = Mixture(cfg.model_copy(update={"missing_data": "skip"}), cat)
    assert stream.warm(stream.FeatureCache(mix, tiny_tok), 0, 100, workers=2) > 0
    assert "nodata" in mix.skipped_tasks and set(mix.rates()) == {"a", "b"}


def test_task_chunks_survive_changes_to_other_tasks(toy_mix_cfg, tiny_tok, monkeypatch):
    from flanlab.mixtures import stream

    before = list(stream.feature_stream(_mix(toy_mix_cfg, seed=31), tiny_tok, stop=300))

    def no_build(self, task, chunk):
        raise AssertionError(f"chunk {task}/{chunk} was rebuilt")

    monkeypatch.setattr(stream.FeatureCache, "build", no_build)
    after = list(stream.feature_stream(_mix(toy_mix_cfg, seed=31, include=["a", "b"]), tiny_tok, stop=300))
    # task a's k-th draw is the same example whatever the other tasks: same tokens in the same order
    a1, a2 = [f.input_ids for f in before if f.task == "a"], [f.input_ids for f in after if f.task == "a"]
    assert len(a2) > len(a1) > 0 and a2[:len(a1)] == a1


def test_bf16_mask_matches_the_model_dtype(tiny_tok):
    import torch

    from flanlab.testing import tiny_model

    model = tiny_model("llama").to(torch.bfloat16).eval()
    feats = tokenize([("Is the sky blue?", "yes"), ("Summarize: the cat sat.", "cat sat")], tiny_tok)
    batch = collate([build_row(feats, 48, tiny_tok.pad_token_id)], dtype=torch.bfloat16)
    assert batch["attention_mask"].dtype == torch.bfloat16
    with torch.no_grad():
        packed = model(**batch, use_cache=False)
        alone = model(**collate([single_row(feats[1])]), use_cache=False).logits[0]
    n0, n1 = len(feats[0].input_ids), len(feats[1].input_ids)
    assert torch.isfinite(packed.loss)
    torch.testing.assert_close(packed.logits[0, n0:n0 + n1].float(), alone.float(), rtol=0, atol=2e-2)
