"""Data contamination: n-gram overlap between each evaluation set and the instruction-tuning mixture.

    train = NgramIndex(n=13); train.add_text("rte", "A man plays a guitar on a stage ...")
    overlap(train, "A man plays a guitar on a stage ...")     # -> {"rte": 1} (tasks sharing a 13-gram)

As the paper's appendix C did for pretraining data (and GPT-3 before it): an evaluation example counts as
contaminated when one of its word 13-grams also occurs in a training example of the mixture. Texts are
lower-cased and split into words on anything that is not a letter or digit; examples shorter than n words
are counted as "too short to check" rather than silently passed. Only the data fields are compared, not
the template wording, so shared instruction phrases do not count.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """'A man, a Plan!' -> ['a', 'man', 'a', 'plan']"""
    return _WORD.findall(text.lower())


def _key(gram: tuple[str, ...]) -> int:
    # 8-byte digests keep the index small (a Python int per n-gram) and stable across processes
    return int.from_bytes(hashlib.blake2b(" ".join(gram).encode(), digest_size=8).digest(), "little")


def ngrams(text: str, n: int) -> set[int]:
    w = words(text)
    return {_key(tuple(w[i:i + n])) for i in range(len(w) - n + 1)}


def example_text(example: dict[str, Any]) -> str:
    """The data of a canonical example: every string field (and list of strings), not ids or labels."""
    parts: list[str] = []
    for k, v in example.items():
        if k in ("id", "label"):
            continue
        if isinstance(v, str):
            parts.append(v)
        elif isinstance(v, (list, tuple)):
            parts.extend(x for x in v if isinstance(x, str))
    return "\n".join(parts)


@dataclass
class NgramIndex:
    """Which training task each n-gram was first seen in."""

    n: int = 13
    grams: dict[int, int] = field(default_factory=dict)
    tasks: list[str] = field(default_factory=list)
    examples: Counter = field(default_factory=Counter)

    def add_text(self, task: str, text: str) -> None:
        if task not in self.tasks:
            self.tasks.append(task)
        t = self.tasks.index(task)
        self.examples[task] += 1
        for g in ngrams(text, self.n):
            self.grams.setdefault(g, t)

    def add_examples(self, task: str, examples: Iterable[dict[str, Any]]) -> None:
        for ex in examples:
            self.add_text(task, example_text(ex))


def overlap(index: NgramIndex, text: str) -> dict[str, int] | None:
    """Training tasks sharing an n-gram with `text` (with counts); None if `text` is shorter than n words."""
    if len(words(text)) < index.n:
        return None
    hits = Counter(index.tasks[index.grams[g]] for g in ngrams(text, index.n) if g in index.grams)
    return dict(hits)


def check_task(index: NgramIndex, task: str, examples: Iterator[dict[str, Any]], *,
               tuned_on_task: bool = False, keep: int = 5) -> dict[str, Any]:
    """Contamination summary of one evaluation task against the index."""
    n = dirty = short = 0
    sources: Counter = Counter()
    samples: list[dict[str, Any]] = []
    for ex in examples:
        n += 1
        hits = overlap(index, example_text(ex))
        if hits is None:
            short += 1
        elif hits:
            dirty += 1
            sources.update(hits.keys())
            if len(samples) < keep:
                samples.append({"id": ex.get("id"), "tasks": sorted(hits)})
    checked = n - short
    return {"task": task, "examples": n, "checked": checked, "too_short": short, "contaminated": dirty,
            "fraction": (dirty / checked) if checked else None, "sources": dict(sources.most_common(5)),
            "samples": samples, "tuned_on_task": tuned_on_task}
