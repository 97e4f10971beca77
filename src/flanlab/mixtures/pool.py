"""Random access to a task's training examples without loading the corpus: a cached index of byte offsets.

    pool = open_pool(task, "train", cap=30_000, source="mirror", data_dir="data/hf")
    pool.n, pool.capped        # examples in the pool (at most cap), whether the split has more
    pool.get(17)               # the 18th canonical example of the train role (seek + one JSON line)

The first `cap` canonical examples of the role (exactly what `tasks.iter_examples` yields: dev rows carved
from train left out, rows `preprocess` rejects skipped and counted) are streamed once into a JSONL spool
in the cache, with their byte offsets; `get` is then one seek and one JSON line, whatever the source (mirror,
bundled, the Hub). Indexes live in `paths.data_cache_dir()/mixtures/pools`, keyed by the
task, its version, the split roles, the cap and the file's size and mtime: a second run starts at once.
Change `TaskSpec.version` when a preprocess function changes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..paths import data_cache_dir
from ..tasks.sources import iter_examples, resolve_source, role_split
from ..tasks.task import TaskSpec

INDEX_VERSION = 2


@dataclass
class Pool:
    task: TaskSpec
    split: str
    path: Path
    offsets: np.ndarray      # byte offset of each canonical example in the spool
    capped: bool             # the split has more examples than the cap
    skipped: int = 0         # rows preprocess rejected while indexing
    _fh: IO[bytes] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return len(self.offsets)

    def get(self, i: int) -> dict[str, Any]:
        if self._fh is None:
            self._fh = open(self.path, "rb")
        self._fh.seek(int(self.offsets[i]))
        return json.loads(self._fh.readline())

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def _key(task: TaskSpec, role: str, split: str, cap: int, overrides: dict | None, where: str) -> str:
    roles = task.splits.override(**(overrides or {}))
    blob = json.dumps([INDEX_VERSION, task.name, task.version, role, split, repr(roles), cap, where])
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def open_pool(task: TaskSpec, role: str = "train", *, cap: int = 30_000, source: str = "auto",
              data_dir: str | Path | None = None, split_overrides: dict[str, str] | None = None) -> Pool:
    """The task's pool for `role`, from the cache when its index is there (see the module docstring)."""
    split = role_split(task, role, split_overrides)
    kind, path = resolve_source(task, split, source, data_dir)
    if path is not None:
        st = path.stat()
        where = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    else:
        where = f"{kind}:{path or task.source.hub_id + '/' + task.source.config}"
    key = _key(task, role, split, cap, split_overrides, where)
    cache = data_cache_dir() / "mixtures" / "pools"
    idx_file = cache / f"{task.name}-{key}.npz"
    if idx_file.is_file():
        z = np.load(idx_file)
        data = Path(str(z["path"]))
        if data.is_file():
            return Pool(task, split, data, z["offsets"], bool(z["capped"]), int(z["skipped"]))
    pool = _spool(task, role, split, cap, source, data_dir, split_overrides, cache / f"{task.name}-{key}.jsonl")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = idx_file.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, offsets=pool.offsets, capped=pool.capped, skipped=pool.skipped, path=str(pool.path))
    os.replace(tmp, idx_file)
    return pool


def _spool(task, role, split, cap, source, data_dir, overrides, out: Path) -> Pool:
    out.parent.mkdir(parents=True, exist_ok=True)
    skipped = [0]
    offsets, at, capped = [], 0, False
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        for ex in iter_examples(task, role, source=source, data_dir=data_dir, limit=cap + 1,
                                split_overrides=overrides, skipped=skipped):
            if len(offsets) >= cap:
                capped = True
                break
            line = (json.dumps(ex, ensure_ascii=False) + "\n").encode()
            offsets.append(at)
            at += len(line)
            f.write(line)
    os.replace(tmp, out)
    return Pool(task, split, out, np.asarray(offsets, dtype=np.int64), capped, skipped[0])
