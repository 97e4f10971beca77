"""Data sources, one code path each, the same canonical examples out.

- `hub`: the Hugging Face Hub through `datasets` (streaming), the default for users with a network.
- `mirror`: a local directory `<dir>/<hub id>/<config>/<split>.{jsonl,json,parquet,csv}` in the Hub's own
  schema (`--data-dir` or FLANLAB_DATA_DIR), for offline clusters.
- `bundled`: small samples shipped inside the package, laid out like a mirror (`flanlab/tasks/samples`).

    for ex in iter_examples(task, "test", source="mirror", data_dir="../shared/data/hf", limit=5): ...

Examples stream: nothing loads a whole corpus into memory. Each example gets a stable id
`<task>:<split>:<row index>`.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import FlanlabError
from .task import Row, TaskSpec

SOURCES = ("auto", "hub", "mirror", "bundled")
ROLES = ("train", "dev", "test")
EXTENSIONS = ("jsonl", "json", "parquet", "csv")
BUNDLED_DIR = Path(__file__).parent / "samples"


def default_data_dir() -> Path | None:
    d = os.environ.get("FLANLAB_DATA_DIR")
    return Path(d) if d else None


def mirror_file(root: Path, task: TaskSpec, split: str) -> Path | None:
    base = Path(root) / task.source.hub_id / task.source.config
    for ext in EXTENSIONS:
        p = base / f"{split}.{ext}"
        if p.is_file():
            return p
    return None


def _iter_file(path: Path) -> Iterator[Row]:
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as e:
                        raise FlanlabError(f"{path}:{n}: not valid JSON ({e})") from None
        return
    import datasets

    fmt = {".json": "json", ".parquet": "parquet", ".csv": "csv"}[path.suffix]
    ds = datasets.load_dataset(fmt, data_files=str(path), split="train", streaming=True)
    yield from ds


def _iter_hub(task: TaskSpec, split: str) -> Iterator[Row]:
    import datasets

    try:
        ds = datasets.load_dataset(task.source.hub_id, task.source.hub_config, split=split, streaming=True)
    except Exception as e:  # network, missing config, missing split: all user-facing here
        raise FlanlabError(
            f"task {task.name!r}: could not load {task.source.hub_id} ({task.source.config}) split {split!r} "
            f"from the Hugging Face Hub: {type(e).__name__}: {str(e)[:200]}. Offline? Use --data-dir with a "
            "local mirror or --source bundled") from None
    yield from ds


def resolve_source(task: TaskSpec, split: str, source: str = "auto",
                   data_dir: str | Path | None = None) -> tuple[str, Path | None]:
    """Which source serves (task, split): ('mirror', file), ('bundled', file) or ('hub', None)."""
    if source not in SOURCES:
        raise FlanlabError(f"unknown data source {source!r}; known: {', '.join(SOURCES)}")
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    if source in ("auto", "mirror") and data_dir is not None:
        f = mirror_file(data_dir, task, split)
        if f is not None:
            return "mirror", f
        if source == "mirror":
            raise FlanlabError(f"task {task.name!r}: no file for split {split!r} under "
                               f"{data_dir / task.source.hub_id / task.source.config}")
    if source == "mirror":
        raise FlanlabError(f"task {task.name!r}: --source mirror needs --data-dir or FLANLAB_DATA_DIR")
    if source == "bundled":
        f = mirror_file(BUNDLED_DIR, task, split)
        if f is None:
            raise FlanlabError(f"task {task.name!r}: no bundled sample for split {split!r}")
        return "bundled", f
    return "hub", None


def iter_rows(task: TaskSpec, split: str, source: str = "auto",
              data_dir: str | Path | None = None) -> Iterator[Row]:
    kind, path = resolve_source(task, split, source, data_dir)
    return _iter_hub(task, split) if kind == "hub" else _iter_file(path)


def role_split(task: TaskSpec, role: str, overrides: dict[str, str] | None = None) -> str:
    if role not in ROLES:
        raise FlanlabError(f"unknown split role {role!r}; known: {', '.join(ROLES)}")
    roles = task.splits.override(**(overrides or {}))
    return getattr(roles, role)


def _in_role(task: TaskSpec, role: str, index: int, overrides: dict[str, str] | None) -> bool:
    roles = task.splits.override(**(overrides or {}))
    if not roles.carved or role == "test":
        return True
    in_dev = index % roles.dev_every == roles.dev_every - 1
    return in_dev if role == "dev" else not in_dev


def iter_examples(task: TaskSpec, role: str, *, source: str = "auto", data_dir: str | Path | None = None,
                  limit: int | None = None, split_overrides: dict[str, str] | None = None,
                  skipped: list[int] | None = None, sample: str = "first", seed: int = 0) -> Iterator[dict[str, Any]]:
    """Canonical examples of `task` for a split role (train, dev or test), streamed.

    Rows that `preprocess` rejects (None) are skipped and counted in `skipped[0]` when given. `limit` keeps
    the first N examples (`sample="first"`, streamed) or N examples drawn uniformly without replacement
    (`sample="random"`: seeded by `seed`, the task and the split, kept in file order; reads the whole split).
    A file's first N are a biased subset when the file is ordered (the mirror's first 60 SST-2 validation
    examples are 35% positive, its 872 51%).
    """
    if sample not in SAMPLES:
        raise FlanlabError(f"task {task.name!r}: sample={sample!r}: expected one of {', '.join(SAMPLES)}")
    split = role_split(task, role, split_overrides)
    rows = iter_rows(task, split, source, data_dir)
    if task.group_by:
        rows = _grouped(rows, task.group_by)
    out = (ex for ex in _preprocessed(task, split, role, rows, split_overrides, skipped) if ex is not None)
    if task.group_by and role == "train":
        out = _per_reference(out)
    if limit is not None and sample == "random":
        return iter(random_subset(list(out), limit, f"{seed}:{task.name}:{split}"))
    return itertools.islice(out, limit) if limit is not None else out


SAMPLES = ("first", "random")


def random_subset(items: list, n: int, key: str) -> list:
    """`n` of `items` drawn uniformly without replacement, in their original order; the same for the same key
    (random.Random seeds a string through SHA-512: stable across processes and Python versions)."""
    import random

    if n >= len(items):
        return items
    return [items[i] for i in sorted(random.Random(key).sample(range(len(items)), n))]


GROUP_KEY = "_rows"


def _grouped(rows: Iterator[Row], key: str) -> Iterator[Row]:
    """Runs of consecutive rows sharing `row[key]` -> one row each: the first, plus `_rows` (all of them)."""
    group: list[Row] = []
    for row in rows:
        if group and row[key] != group[0][key]:
            yield {**group[0], GROUP_KEY: group}
            group = []
        group.append(row)
    if group:
        yield {**group[0], GROUP_KEY: group}


def _per_reference(examples: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Training sees every gold text of a grouped example once: `<id>/<k>` with target = reference k."""
    for ex in examples:
        refs = ex.get("references") or [ex["target"]]
        for k, ref in enumerate(refs):
            yield {**ex, "target": ref, "id": f"{ex['id']}/{k}" if len(refs) > 1 else ex["id"]}


def _preprocessed(task, split, role, rows, overrides, skipped):
    for i, row in enumerate(rows):
        if not _in_role(task, role, i, overrides):
            continue
        try:
            ex = task.preprocess(row)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise FlanlabError(f"task {task.name!r}, split {split!r}, row {i}: the row does not match the "
                               f"task's schema ({type(e).__name__}: {e}); fields present: {sorted(row)}") from None
        if ex is None:
            if skipped is not None:
                skipped[0] += 1
            yield None
            continue
        ex.setdefault("id", f"{task.name}:{split}:{i}")
        yield ex


def count_examples(task: TaskSpec, role: str, **kw: Any) -> int:
    """Number of examples in a role (streams once; the mixture caches the counts)."""
    return sum(1 for _ in iter_examples(task, role, **kw))


def available_sources(task: TaskSpec, data_dir: str | Path | None = None) -> list[str]:
    out = []
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    splits = {task.splits.train, task.splits.dev, task.splits.test}
    if data_dir and any(mirror_file(data_dir, task, s) for s in splits):
        out.append("mirror")
    if any(mirror_file(BUNDLED_DIR, task, s) for s in splits):
        out.append("bundled")
    out.append("hub")
    return out


def check_data_dir(data_dir: str | None, flag: str = "--data-dir") -> None:
    """A local mirror directory given by the user exists and is a directory; an error naming `flag` otherwise."""
    if data_dir is None:
        return
    p = Path(data_dir)
    if not p.exists():
        raise FlanlabError(f"{flag} {p}: no such directory")
    if not p.is_dir():
        raise FlanlabError(f"{flag} {p}: is a file, not a directory (a mirror: <dir>/<hub id>/<config>/<split>.jsonl)")
