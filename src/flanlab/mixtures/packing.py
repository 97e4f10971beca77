"""Packing tokenized examples into fixed-length rows (numpy; no torch here).

    rows = list(pack(features, seq_len=2048))          # best-fit-decreasing within a window
    row = single_row(features[0])                      # an unpacked example

A packed row holds several examples back to back, then padding:

    input_ids    [ a1 a2 E t1 E | b1 E t2 t3 E | pad pad ]
    segment_ids  [ 1  1  1 1  1 | 2  2 2  2  2 | 0   0   ]     0 = padding
    position_ids [ 0  1  2 3  4 | 0  1 2  3  4 | 0   1   ]     restart per example
    labels       [ -  -  - t1 E | -  - t2 t3 E | -   -   ]     - = IGNORE (-100): loss on targets (+ EOS)

Packed examples never attend to each other: the training stage turns rows into model inputs
(`flanlab.training.data.collate`: a 4-D block-diagonal mask, restarting position ids, or per-example
attention with `flanlab.training.packed_attention`), proven equal to unpacked runs by
tests/unit/test_features_packing.py and tests/unit/test_packed_attention.py.

Every packed row carries `resume = (window_start, index)`: the stream position its window starts at
(`flanlab.mixtures.stream` shuffles the rows of a window and gives each row its cursor from it).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FlanlabError
from .features import IGNORE, Features

METHODS = ("bfd", "first_fit")


@dataclass
class PackingStats:
    """Counts that make packing inspectable: efficiency = real tokens / all token slots."""

    rows: int = 0
    examples: int = 0
    tokens: int = 0
    slots: int = 0
    skipped_too_long: int = 0

    @property
    def efficiency(self) -> float:
        return self.tokens / self.slots if self.slots else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "examples": self.examples, "tokens": self.tokens, "slots": self.slots,
                "efficiency": round(self.efficiency, 4), "skipped_too_long": self.skipped_too_long}


# -- bin assignment (pure) --------------------------------------------------------------------------------

def assign_bins(lengths: list[int], seq_len: int, method: str = "bfd") -> list[list[int]]:
    """Group item indices into bins of total length <= seq_len.

    >>> assign_bins([5, 3, 4, 2], 7)
    [[0, 3], [2, 1]]

    `bfd` (best-fit decreasing): longest first, each into the open bin with the least room that fits.
    `first_fit`: in stream order, each into the first open bin that fits.
    """
    if method not in METHODS:
        raise FlanlabError(f"unknown packing method {method!r}; known: {', '.join(METHODS)}")
    if any(n > seq_len for n in lengths):
        raise FlanlabError(f"an example of {max(lengths)} tokens does not fit a row of seq_len={seq_len}")
    if method == "first_fit":
        return _first_fit(lengths, seq_len)
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    bins: list[list[int]] = []
    free: list[int] = []            # sorted room left in each open bin (duplicates allowed)
    by_free: dict[int, list[int]] = {}  # room -> bins with that room
    for i in order:
        n = lengths[i]
        k = bisect.bisect_left(free, n)
        if k == len(free):
            b = len(bins)
            bins.append([i])
            room = seq_len - n
        else:
            room_old = free.pop(k)
            b = by_free[room_old].pop()
            bins[b].append(i)
            room = room_old - n
        if room > 0:
            bisect.insort(free, room)
            by_free.setdefault(room, []).append(b)
    return bins


def _first_fit(lengths: list[int], seq_len: int) -> list[list[int]]:
    bins: list[list[int]] = []
    room: list[int] = []
    for i, n in enumerate(lengths):
        for b, r in enumerate(room):
            if r >= n:
                bins[b].append(i)
                room[b] -= n
                break
        else:
            bins.append([i])
            room.append(seq_len - n)
    return bins


# -- rows -------------------------------------------------------------------------------------------------

def build_row(items: list[Features], seq_len: int, pad_id: int) -> dict[str, Any]:
    """Concatenate decoder examples into one row of exactly seq_len tokens (see the module docstring)."""
    ids = np.full(seq_len, pad_id, dtype=np.int64)
    labels = np.full(seq_len, IGNORE, dtype=np.int64)
    pos = np.zeros(seq_len, dtype=np.int64)
    seg = np.zeros(seq_len, dtype=np.int64)
    at = 0
    for s, f in enumerate(items, 1):
        n = len(f.input_ids)
        ids[at:at + n] = f.input_ids
        labels[at + f.n_prompt:at + n] = f.input_ids[f.n_prompt:]
        pos[at:at + n] = np.arange(n)
        seg[at:at + n] = s
        at += n
    pos[at:] = np.arange(seq_len - at)  # padding: its own run of positions, never attended by real tokens
    return {"input_ids": ids, "labels": labels, "position_ids": pos, "segment_ids": seg, "n_tokens": at,
            "positions": [f.position for f in items], "tasks": [f.task for f in items]}


def single_row(f: Features) -> dict[str, Any]:
    """An unpacked example (collate pads it to the longest in its batch)."""
    row = {"input_ids": np.asarray(f.input_ids, dtype=np.int64), "n_tokens": len(f.input_ids),
           "positions": [f.position], "tasks": [f.task]}
    if f.target_ids is None:
        labels = np.asarray(f.input_ids, dtype=np.int64).copy()
        labels[:f.n_prompt] = IGNORE
        row["labels"] = labels
    else:
        row["labels"] = np.asarray(f.target_ids, dtype=np.int64)
        row["n_tokens"] += len(f.target_ids)
    return row


def pack(features: Iterable[Features], seq_len: int, *, pad_id: int, method: str = "bfd", window: int = 2000,
         on_too_long: str = "skip", stats: PackingStats | None = None) -> Iterator[dict[str, Any]]:
    """Pack a stream of decoder features into rows of seq_len, `window` examples at a time.

    Memory is bounded by the window, not by the stream. An example longer than seq_len is skipped and
    counted (`on_too_long="skip"`) or raises (`"error"`).
    """
    stats = stats if stats is not None else PackingStats()
    buf: list[Features] = []
    for f in features:
        if f.target_ids is not None:
            raise FlanlabError("pack() takes decoder features; encoder-decoder examples are padded, not packed "
                               "(use single_row + collate)")
        if len(f.input_ids) > seq_len:
            if on_too_long == "error":
                raise FlanlabError(f"example at position {f.position} (task {f.task!r}) has {len(f.input_ids)} "
                                   f"tokens, more than seq_len={seq_len}")
            stats.skipped_too_long += 1
            continue
        buf.append(f)
        if len(buf) >= window:
            yield from _pack_window(buf, seq_len, pad_id, method, stats)
            buf = []
    if buf:
        yield from _pack_window(buf, seq_len, pad_id, method, stats)


def _pack_window(buf: list[Features], seq_len: int, pad_id: int, method: str,
                 stats: PackingStats) -> Iterator[dict[str, Any]]:
    bins = assign_bins([len(f.input_ids) for f in buf], seq_len, method)
    start = buf[0].position
    for r, b in enumerate(bins):
        row = build_row([buf[i] for i in sorted(b)], seq_len, pad_id)
        row["resume"] = (start, r)
        stats.rows += 1
        stats.examples += len(b)
        stats.tokens += row["n_tokens"]
        stats.slots += seq_len
        yield row
