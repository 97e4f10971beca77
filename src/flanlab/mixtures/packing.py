"""Packing tokenized examples into fixed-length rows, and collating rows into model-ready batches.

    rows = list(pack(features, seq_len=2048))          # best-fit-decreasing within a window
    batch = collate(rows[:8], kind="decoder")          # torch tensors for model(**batch, use_cache=False)
    loss = model(**batch, use_cache=False).loss

A packed row holds several examples back to back, then padding:

    input_ids    [ a1 a2 E t1 E | b1 E t2 t3 E | pad pad ]
    segment_ids  [ 1  1  1 1  1 | 2  2 2  2  2 | 0   0   ]     0 = padding
    position_ids [ 0  1  2 3  4 | 0  1 2  3  4 | 0   1   ]     restart per example
    labels       [ -  -  - t1 E | -  - t2 t3 E | -   -   ]     - = -100: loss on targets (+ final EOS) only

Packed examples never attend to each other: `collate` builds a 4-D block-diagonal causal mask
(batch, 1, L, L), additive float (0 = attend, dtype min = blocked). transformers 5.x uses a 4-D mask as
given (`masking_utils._preprocess_mask_arguments`); eager attention *adds* it to the scores (a bool mask
would be added as 0/1, silently wrong), while sdpa accepts bool or additive float, so float serves both.
`mask="position_ids"` instead passes no mask and lets transformers derive the same blocks from the
restarting position ids (sdpa/eager/flash-varlen); both forms are proven equal to unpacked runs by
tests/unit/test_features_packing.py. `mask="segments"` builds no mask at all: a `Segments` index for
`packed_attention`, which runs attention per packed example (the trainer's default: a mask over the
whole row computes every example against every other and throws the result away). Whatever the form:
call the model with use_cache=False.

Without packing (`packed=False` rows, or encoder-decoder models) `collate` pads to the longest example in
the batch, never to the maximum length.

Resume: every row carries `resume = (window_start, index)`: restart the feature stream at position
`window_start` and skip `index + 1` rows of that window to continue right after this row.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import FlanlabError
from .features import Features

METHODS = ("bfd", "first_fit")
IGNORE = -100


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


# -- batches ----------------------------------------------------------------------------------------------

def block_causal_mask(segment_ids, dtype=None):
    """(B, L) segment ids -> (B, 1, L, L) additive mask: 0 where query i may see key j (same segment, j <= i).

    Padding (segment 0) sees only itself, so no softmax row is empty.
    """
    import torch

    dtype = dtype or torch.float32
    seg = torch.as_tensor(segment_ids)
    L = seg.shape[-1]
    causal = torch.ones(L, L, dtype=torch.bool).tril()
    same = seg[:, :, None] == seg[:, None, :]
    pad = (seg == 0)[:, :, None] & ~torch.eye(L, dtype=torch.bool)[None]
    allowed = same & causal[None] & ~pad
    mask = torch.zeros(allowed.shape, dtype=dtype)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[:, None]


def collate(rows: list[dict[str, Any]], kind: str = "decoder", *, pad_id: int = 0, mask: str = "4d",
            dtype=None) -> dict[str, Any]:
    """Rows from `pack`/`single_row` -> a batch of torch tensors for `model(**batch, use_cache=False)`.

    Packed decoder rows: input_ids, labels, position_ids and (mask="4d") a block-diagonal causal
    `attention_mask` of `dtype` (match the model's dtype), or (mask="position_ids") none, letting
    transformers derive the blocks from position_ids, or (mask="segments") `segments`, the per-example
    index of `packed_attention` (the model must be switched with `use_segment_attention`). Unpacked rows
    are right-padded to the longest row: input_ids, attention_mask (2-D), labels; encoder-decoder rows
    also pad labels with -100.
    """
    import torch

    if not rows:
        raise FlanlabError("collate() got no rows")
    if kind not in ("decoder", "encoder-decoder"):
        raise FlanlabError(f"unknown model kind {kind!r}; known: decoder, encoder-decoder")
    if "segment_ids" in rows[0]:
        if kind != "decoder":
            raise FlanlabError("packed rows are for decoder-only models")
        batch = {k: torch.as_tensor(np.stack([r[k] for r in rows])) for k in ("input_ids", "labels", "position_ids")}
        if mask == "4d":
            batch["attention_mask"] = block_causal_mask(np.stack([r["segment_ids"] for r in rows]), dtype)
        elif mask == "segments":
            from .packed_attention import Segments

            batch["segments"] = Segments.from_segment_ids(np.stack([r["segment_ids"] for r in rows]))
        elif mask != "position_ids":
            raise FlanlabError(f"unknown mask form {mask!r}; known: 4d, segments, position_ids")
        return batch
    return _pad_batch(rows, kind, pad_id)


def _pad_batch(rows: list[dict[str, Any]], kind: str, pad_id: int) -> dict[str, Any]:
    import torch

    longest = max(len(r["input_ids"]) for r in rows)
    ids = np.full((len(rows), longest), pad_id, dtype=np.int64)
    att = np.zeros((len(rows), longest), dtype=np.int64)
    lab_len = longest if kind == "decoder" else max(len(r["labels"]) for r in rows)
    labels = np.full((len(rows), lab_len), IGNORE, dtype=np.int64)
    for i, r in enumerate(rows):
        n = len(r["input_ids"])
        ids[i, :n] = r["input_ids"]
        att[i, :n] = 1
        labels[i, :len(r["labels"])] = r["labels"]
    return {"input_ids": torch.as_tensor(ids), "attention_mask": torch.as_tensor(att),
            "labels": torch.as_tensor(labels)}
