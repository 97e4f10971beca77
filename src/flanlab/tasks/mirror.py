"""Mirror hub datasets into the local layout `<out>/<hub id>/<config>/<split>.jsonl` (for offline machines).

    from flanlab.tasks import catalogue
    from flanlab.tasks.mirror import mirror_tasks
    rows = mirror_tasks(catalogue(), ["rte", "cb"], "/scratch/flan-mirror")           # every split role
    rows = mirror_tasks(catalogue(), ["rte"], "/scratch/flan-mirror", splits=["train"])

Each split is streamed into `<split>.jsonl.partial` and renamed when complete, so an interrupted or failed
download leaves no half file (the partial file is removed). Splits already present are kept. The list of
splits is recorded in `<out>/flanlab-mirror.json`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runs import atomic_write_json
from .sources import iter_rows, mirror_file

if TYPE_CHECKING:
    from .registry import Catalogue

MANIFEST = "flanlab-mirror.json"


def mirror_split(task: Any, split: str, out: Path, rows: Callable[..., Iterable[dict]] = iter_rows) -> int:
    """Write one split; returns its number of rows. Nothing but the finished file is left behind."""
    dest = out / task.source.hub_id / task.source.config / f"{split}.jsonl"
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".jsonl.partial")
    n = 0
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            for row in rows(task, split, source="hub"):
                f.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                n += 1
        tmp.replace(dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        for d in [dest.parent, *dest.parent.parents]:  # folders made for this split only
            if d == out or not d.is_relative_to(out) or any(d.iterdir()):
                break
            d.rmdir()
        raise
    return n


def mirror_tasks(cat: Catalogue, tasks: list[str], out: str | Path, splits: list[str] | None = None,
                 log: Callable[[str], None] | None = None,
                 rows: Callable[..., Iterable[dict]] = iter_rows) -> list[dict[str, Any]]:
    """Mirror the splits of `tasks` (default: the splits of their train/dev/test roles) under `out`."""
    out = Path(out)
    specs = [cat.task(name) for name in tasks]  # unknown names fail before anything is written
    written: list[dict[str, Any]] = []
    for t in specs:
        for split in splits or sorted({t.splits.train, t.splits.dev, t.splits.test}):
            dest = out / t.source.hub_id / t.source.config / f"{split}.jsonl"
            if mirror_file(out, t, split) is not None:
                written.append({"task": t.name, "split": split, "path": str(dest), "status": "exists"})
                continue
            n = mirror_split(t, split, out, rows)
            written.append({"task": t.name, "split": split, "path": str(dest), "rows": n, "status": "written"})
            if log:
                log(f"{t.name}: {split} -> {dest} ({n} rows)")
    if written:
        atomic_write_json(out / MANIFEST, {"splits": written})
    return written
