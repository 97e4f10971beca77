"""Token-budget steps, sharding across processes and the resumable data cursor."""

from __future__ import annotations

import itertools

import pytest

from flanlab.errors import FlanlabError
from flanlab.mixtures.config import MixtureConfig
from flanlab.mixtures.stream import Cursor, feature_stream, rows_from
from flanlab.testing import ListMixture
from flanlab.training import data

PAIRS = [(f"Question {i}: is {i} even? " + "word " * (i % 7), "yes" if i % 2 == 0 else "no") for i in range(40)]


def _rows(tok, cursor=Cursor(), packed=True, window=16, kind="decoder"):
    mcfg = MixtureConfig(max_input_len=64, max_target_len=8, seq_len=96)
    feats = feature_stream(ListMixture(PAIRS), tok, kind, mcfg, cursor.position)
    return rows_from(feats, packed=packed, seq_len=96, pad_id=tok.pad_token_id, window=window, cursor=cursor)


def _positions(step):
    return [p for r in step.rows for p in r["positions"]]


def test_steps_respect_the_token_budget(tiny_tok):
    steps = list(itertools.islice(data.step_batches(_rows(tiny_tok), 300, "decoder"), 8))
    for s in steps:
        assert 0 < s.tokens <= 300
        assert s.tokens == sum(r["n_tokens"] for r in s.rows)
        assert s.targets == sum(int((r["labels"][1:] != -100).sum()) for r in s.rows)
    # a step is full: the next row would not have fitted
    for s, nxt in zip(steps, steps[1:]):
        assert s.tokens + nxt.rows[0]["n_tokens"] > 300


def test_budget_smaller_than_one_row_is_a_clear_error(tiny_tok):
    with pytest.raises(FlanlabError, match=r"batch.tokens=10 is smaller than one training row"):
        next(data.step_batches(_rows(tiny_tok, packed=False), 10, "decoder"))


@pytest.mark.parametrize("packed", [True, False])
def test_resuming_from_a_cursor_continues_the_same_rows(tiny_tok, packed):
    full = list(itertools.islice(data.step_batches(_rows(tiny_tok, packed=packed), 300, "decoder"), 9))
    for k in (1, 4, 7):
        again = list(itertools.islice(data.step_batches(_rows(tiny_tok, full[k - 1].cursor, packed), 300,
                                                        "decoder"), 9 - k))
        assert [_positions(s) for s in again] == [_positions(s) for s in full[k:]]
        assert all((a.rows[0]["input_ids"] == b.rows[0]["input_ids"]).all() for a, b in zip(again, full[k:]))


@pytest.mark.parametrize("world", [1, 2, 3])
def test_sharding_partitions_every_step(tiny_tok, world):
    for step in itertools.islice(data.step_batches(_rows(tiny_tok), 500, "decoder"), 5):
        parts = [data.shard(step.rows, r, world) for r in range(world)]
        got = sorted(p for part in parts for r in part for p in r["positions"])
        assert got == sorted(_positions(step))  # nothing lost, nothing twice
        n_micro = data.n_micro_steps(len(step.rows), world, 2)
        for part in parts:
            groups = data.micro_batches(part, 2, n_micro)
            assert len(groups) == n_micro and sum(len(g) for g in groups) == len(part)


def test_blank_rows_carry_no_loss(tiny_tok):
    row = next(_rows(tiny_tok))[0]
    blank = data.blank_row(row)
    assert (blank["labels"] == -100).all() and (row["labels"] != -100).any()
    assert data.row_targets(blank, "decoder") == 0


def test_unpacked_micro_batches_group_similar_lengths(tiny_tok):
    step = next(data.step_batches(_rows(tiny_tok, packed=False), 2000, "decoder"))
    groups = data.micro_batches(step.rows, 4, data.n_micro_steps(len(step.rows), 1, 4))
    lengths = [len(r["input_ids"]) for g in groups for r in g]
    assert lengths == sorted(lengths)


def test_encoder_decoder_rows_count_all_labels(tiny_tok):
    step = next(data.step_batches(_rows(tiny_tok, packed=False, kind="encoder-decoder"), 400, "encoder-decoder"))
    assert step.targets == sum(len(r["labels"]) for r in step.rows)
