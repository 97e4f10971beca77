"""The cell cache: one finished (model, task, template, split, shots, mode) cell per directory.

    cache = CellCache(Path("~/.cache/flanlab/eval-cells"))
    key = cell_key({"model": fp, "task": "rte", ...})      # sha256 of the canonical JSON of the inputs
    cache.load(key)                                       # (summary, records) or None
    cache.save(key, summary, records)

A cell is written as `examples.jsonl` first and `cell.json` last (atomically), so `cell.json` exists only
for a complete cell: an interrupted evaluation leaves no half cell behind, and the next run recomputes
exactly the cells that are missing. The key holds every input that can change a number (model weights
fingerprint, task and template text and versions, data file identity, split, shots, mode, scoring
settings, EVAL_VERSION), so a change in any of them misses the cache instead of reusing a stale score.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..runs import atomic_write_json, atomic_write_text

# Bump when a change in the scoring code changes numbers: every cached cell becomes stale.
EVAL_VERSION = 2


def cell_key(identity: dict[str, Any]) -> str:
    blob = json.dumps({"eval_version": EVAL_VERSION, **identity}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def file_identity(path: str | Path | None) -> str:
    """A data file's path, size and modification time ('hub' when it streams from the Hub)."""
    if path is None:
        return "hub"
    st = Path(path).stat()
    return f"{Path(path).resolve()}:{st.st_size}:{int(st.st_mtime)}"


class CellCache:
    def __init__(self, root: str | Path | None, enabled: bool = True):
        self.root = Path(root).expanduser() if root else None
        self.enabled = enabled and self.root is not None

    def _dir(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / key

    def load(self, key: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        if not self.enabled:
            return None
        d = self._dir(key)
        try:
            summary = json.loads((d / "cell.json").read_text())
            records = [json.loads(line) for line in (d / "examples.jsonl").read_text().splitlines() if line]
        except (FileNotFoundError, json.JSONDecodeError):
            return None  # absent or damaged: recompute
        if summary.get("n_records") != len(records):
            return None
        return summary, records

    def save(self, key: str, summary: dict[str, Any], records: list[dict[str, Any]]) -> None:
        if not self.enabled:
            return
        d = self._dir(key)
        atomic_write_text(d / "examples.jsonl", records_jsonl(records))
        atomic_write_json(d / "cell.json", {**summary, "n_records": len(records)})


def records_jsonl(records: list[dict[str, Any]]) -> str:
    from ..console import to_jsonable

    return "".join(json.dumps(to_jsonable(r), ensure_ascii=False) + "\n" for r in records)
