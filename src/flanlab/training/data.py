"""From the mixture stream to optimizer steps: token-budget batches, sharded across processes.

    rows = row_stream(mix, tok, kind, cfg.mixture, Cursor(0, 0))          # packed rows, each with its cursor
    for step in step_batches(rows, budget=8192): ...                       # StepBatch: rows, tokens, targets
    mine = shard(step.rows, rank=0, world=2)                               # rows 0, 2, 4, ... of the step

Tokenization and packing are the mixture stage's (`features.tokenize_rendered`, `packing.pack`,
`packing.collate`); this module only groups their rows into steps. A step takes rows in stream order
while their non-padding tokens fit the budget, so every process computes the same steps from the same
seed and takes its own rows: no example is seen twice or lost, whatever the number of processes.

A `Cursor(position, skip)` says where the next unseen row is: restart the feature stream at mixture
position `position` and skip `skip` rows (packed rows come from windows of examples; restarting at a
window's start rebuilds the same rows).
"""

from __future__ import annotations

import itertools  # noqa: F401 - used by the doctest
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import FlanlabError

IGNORE = -100
TOKENIZE_CHUNK = 256  # examples per batched tokenizer call


@dataclass(frozen=True)
class Cursor:
    position: int = 0
    skip: int = 0


@dataclass
class StepBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    tokens: int = 0  # non-padding tokens, inputs and targets
    targets: int = 0  # tokens with a loss
    cursor: Cursor = Cursor()  # where the step after this one starts

    @property
    def examples(self) -> int:
        return sum(len(r["positions"]) for r in self.rows)


def feature_stream(mix, tokenizer, kind: str, mcfg, start: int) -> Iterator[Any]:
    """Tokenized examples of the mixture from stream position `start`, tokenized in batched chunks."""
    from ..mixtures.features import tokenize_rendered

    chunk: list[Any] = []
    kw = dict(kind=kind, max_input_len=mcfg.max_input_len, max_target_len=mcfg.max_target_len,
              on_overlong=mcfg.on_overlong, chat=getattr(mcfg, "chat_template", False))
    for ex in mix.stream(start=start):
        chunk.append(ex)
        if len(chunk) == TOKENIZE_CHUNK:
            yield from tokenize_rendered(chunk, tokenizer, **kw)
            chunk = []
    if chunk:
        yield from tokenize_rendered(chunk, tokenizer, **kw)


def row_targets(row: dict[str, Any], kind: str) -> int:
    """Tokens that carry a loss: decoder labels predict the next token, so the first label never counts."""
    labels = row["labels"]
    return int((labels[1:] != IGNORE).sum() if kind == "decoder" else (labels != IGNORE).sum())


def rows_from(features: Iterator[Any], *, packed: bool, seq_len: int, pad_id: int, window: int,
              cursor: Cursor, method: str = "bfd", seed: int = 0) -> Iterator[tuple[dict[str, Any], Cursor]]:
    """Rows (packed, or one example each) with the cursor just after each row; `cursor.skip` rows skipped."""
    from ..mixtures.packing import pack, single_row

    if packed:
        rows = shuffled_windows(pack(features, seq_len, pad_id=pad_id, method=method, window=window,
                                     on_too_long="error"), seed)
    else:
        rows = ((single_row(f), Cursor(f.position + 1, 0)) for f in features)
    for i, item in enumerate(rows):
        if i >= cursor.skip:
            yield item


def shuffled_windows(rows: Iterator[dict[str, Any]], seed: int) -> Iterator[tuple[dict[str, Any], Cursor]]:
    """The rows of each packing window in a seeded random order, each with the cursor after it.

    Best-fit-decreasing emits a window's rows from the longest examples to the shortest, and length goes
    with the task, so steps taken in that order would each see a few tasks only. The order depends only
    on (seed, window start), so a resumed run replays it.
    """
    import numpy as np

    def emit(buf: list[dict[str, Any]], start: int):
        order = np.random.default_rng([seed, start]).permutation(len(buf))
        for k, i in enumerate(order):
            yield buf[i], Cursor(start, k + 1)

    buf: list[dict[str, Any]] = []
    for row in rows:
        if buf and row["resume"][0] != buf[0]["resume"][0]:
            yield from emit(buf, buf[0]["resume"][0])
            buf = []
        buf.append(row)
    if buf:
        yield from emit(buf, buf[0]["resume"][0])


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


@dataclass(frozen=True)
class TextExample:
    """What the loop reads from a mixture stream (a `MixExample` has the same attributes)."""

    inputs: str
    targets: str
    position: int
    task: str = "list"
    template_id: str = ""


class ListMixture:
    """A fixed list of (inputs, targets) pairs repeated forever, as a mixture: for tests and benchmarks.

    >>> [ex.targets for ex in itertools.islice(ListMixture([("1+1", "2"), ("2+2", "4")]).stream(1), 3)]
    ['4', '2', '4']
    """

    def __init__(self, pairs: list[tuple[str, str]], task: str = "list"):
        if not pairs:
            raise FlanlabError("ListMixture needs at least one (inputs, targets) pair")
        self.pairs, self.task = list(pairs), task

    def stream(self, start: int = 0) -> Iterator[TextExample]:
        pos = start
        while True:
            x, y = self.pairs[pos % len(self.pairs)]
            yield TextExample(x, y, pos, self.task)
            pos += 1

    def rates(self) -> dict[str, float]:
        return {self.task: 1.0}
