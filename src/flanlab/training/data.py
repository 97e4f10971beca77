"""From training rows to optimizer steps: token-budget batches, sharded across processes, collated.

    rows = stream.rows(mix, tok, kind, Cursor(0, 0))                    # the mixtures stage's rows + cursors
    for step in step_batches(rows, budget=8192, kind="decoder"): ...   # StepBatch: rows, tokens, targets
    mine = shard(step.rows, rank=0, world=2)                           # rows 0, 2, 4, ... of the step
    batch = collate(mine[:4], "decoder", pad_id=0, mask="segments")   # torch tensors for the model

Tokenization, truncation, packing, the disk cache, the shuffle and the resumable cursor are the mixtures
stage's (`flanlab.mixtures.stream`); this module only groups its rows into steps and turns a group of rows
into model inputs. A step takes rows in stream order while their non-padding tokens fit the budget, so
every process computes the same steps from the same seed and takes its own rows: no example is seen twice
or lost, whatever the number of processes. A step's `cursor` is the cursor of its last row: where the next
step starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FlanlabError
from ..mixtures.features import IGNORE
from ..mixtures.stream import Cursor


@dataclass
class StepBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0  # non-padding tokens, inputs and targets
    targets: int = 0  # tokens with a loss
    cursor: Cursor = Cursor()  # where the step after this one starts

    @property
    def examples(self) -> int:
        return sum(len(r["positions"]) for r in self.rows)


def row_targets(row: dict[str, Any], kind: str) -> int:
    """Tokens that carry a loss: decoder labels predict the next token, so the first label never counts."""
    labels = row["labels"]
    return int((labels[1:] != IGNORE).sum() if kind == "decoder" else (labels != IGNORE).sum())


def step_batches(rows: Iterator[tuple[dict[str, Any], Cursor]], budget: int, kind: str) -> Iterator[StepBatch]:
    """Group rows into steps of at most `budget` non-padding tokens (at least one row per step)."""
    step = StepBatch()
    for row, after in rows:
        n = int(row["n_tokens"])
        if n > budget:
            raise FlanlabError(
                f"batch.tokens={budget} is smaller than one training row of {n} tokens (mixture positions "
                f"{row['positions'][:3]}, task {row['tasks'][0]!r}); raise batch.tokens or lower "
                "mixture.seq_len / mixture.max_input_len")
        if step.rows and step.tokens + n > budget:
            yield step
            step = StepBatch()
        step.rows.append(row)
        step.tokens += n
        step.targets += row_targets(row, kind)
        step.cursor = after
    if step.rows:
        yield step


def shard(rows: list[dict[str, Any]], rank: int, world: int) -> list[dict[str, Any]]:
    """This process's rows of a step: every `world`-th row starting at `rank` (a partition of the step)."""
    return rows[rank::world]


def micro_batches(rows: list[dict[str, Any]], micro_rows: int, n_micro: int) -> list[list[dict[str, Any]]]:
    """Split a process's rows into exactly `n_micro` groups; empty groups are filled in by the caller.

    Unpacked rows are sorted by length first, so each micro-batch pads to a similar length.
    """
    if rows and "segment_ids" not in rows[0]:
        rows = sorted(rows, key=lambda r: len(r["input_ids"]))
    groups = [rows[i:i + micro_rows] for i in range(0, len(rows), micro_rows)]
    return groups + [[] for _ in range(n_micro - len(groups))]


def n_micro_steps(n_rows: int, world: int, micro_rows: int) -> int:
    """Forward/backward passes per process in a step: the same on every process (DDP syncs on the last)."""
    per_rank = -(-n_rows // world)
    return max(1, -(-per_rank // micro_rows))


def blank_row(row: dict[str, Any]) -> dict[str, Any]:
    """A copy of `row` without any loss: processes with fewer rows still join every synchronised pass."""
    out = dict(row)
    out["labels"] = row["labels"].copy()
    out["labels"][:] = IGNORE
    out["positions"], out["tasks"] = [], []
    return out


# -- model inputs -----------------------------------------------------------------------------------------

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
    """Rows from `packing.pack`/`packing.single_row` -> torch tensors for `model(**batch, use_cache=False)`.

    Packed decoder rows: input_ids, labels, position_ids and (mask="4d") a block-diagonal causal
    `attention_mask` of `dtype` (match the model's dtype; additive float, since eager attention adds it to
    the scores and a bool mask would be added as 0/1), or (mask="position_ids") none, letting transformers
    derive the blocks from position_ids, or (mask="segments") `segments`, the per-example index of
    `packed_attention` (the model must be switched with `use_segment_attention`). Unpacked rows are
    right-padded to the longest row: input_ids, attention_mask (2-D), labels; encoder-decoder rows also
    pad labels with IGNORE (-100).
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
