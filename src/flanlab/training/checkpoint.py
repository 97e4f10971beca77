"""Checkpoints that survive SIGKILL and full disks: write to a temporary folder, then rename.

    save_checkpoint(accelerator, run_path, state, keep=2)   # -> <run>/checkpoints/step-120/
    path = latest_checkpoint(run_path)                       # newest complete one, or None
    state = load_checkpoint(accelerator, path)               # model, optimizer, scheduler, RNG restored

A checkpoint is `accelerator.save_state` (model, optimizer, scheduler, RNG states of every process) plus
`trainer_state.json` (step, data-stream position, counters). It only gets its final name `step-N` once
every file is on disk, and `trainer_state.json` is written last, so a folder named `step-N` is complete by
construction; older checkpoints are pruned only after a newer one is in place.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import FlanlabError
from ..runs import atomic_write_json

CHECKPOINTS = "checkpoints"
STATE_FILE = "trainer_state.json"
_NAME = re.compile(r"^step-(\d+)$")


@dataclass
class TrainState:
    """Counters that, with the saved model/optimizer/RNG, let a run continue exactly."""

    step: int = 0  # optimizer steps done
    position: int = 0  # data cursor: restart the mixture stream here ...
    skip: int = 0  # ... and skip this many rows (see mixtures/stream.py: Cursor)
    examples: int = 0
    tokens: int = 0  # non-padding tokens seen (inputs + targets)
    target_tokens: int = 0
    elapsed: float = 0.0  # training seconds before this process started (for tokens/s and ETA)


def checkpoint_dirs(run_path: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    root = Path(run_path) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir()
             if (m := _NAME.match(p.name)) and (p / STATE_FILE).is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_path: str | Path) -> Path | None:
    dirs = checkpoint_dirs(run_path)
    return dirs[-1] if dirs else None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _disk_error(what: Path, e: OSError, run_path: Path) -> FlanlabError:
    last = latest_checkpoint(run_path)
    reason = "the disk is full" if e.errno in (errno.ENOSPC, errno.EDQUOT) else (e.strerror or str(e))
    keep = f"the last good checkpoint {last} is untouched" if last else "no earlier checkpoint exists"
    return FlanlabError(f"could not write {what}: {reason}; {keep}. Free space and rerun with --resume")


def save_checkpoint(accelerator, run_path: str | Path, state: TrainState, keep: int = 2) -> Path:
    """Save everything needed to resume at `state.step`; every process must call this."""
    run_path = Path(run_path)
    root = run_path / CHECKPOINTS
    final, tmp = root / f"step-{state.step}", root / f".step-{state.step}.tmp"
    main = accelerator.is_main_process
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
        root.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    failed: OSError | None = None
    try:
        accelerator.save_state(str(tmp))
        if main:
            atomic_write_json(tmp / STATE_FILE, asdict(state))
            _fsync_dir(tmp)
            _replace_dir(tmp, final)
            _fsync_dir(root)
    except OSError as e:
        failed = e
    accelerator.wait_for_everyone()
    if failed is not None:
        if main:
            shutil.rmtree(tmp, ignore_errors=True)
        raise _disk_error(final, failed, run_path) from failed
    if main:
        prune(run_path, keep)
    return final


def _replace_dir(src: Path, dst: Path) -> None:
    """Rename src to dst; an existing dst (same step saved again) is moved aside first, then removed."""
    if not dst.exists():
        os.replace(src, dst)
        return
    old = dst.with_name(f".{dst.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    os.replace(dst, old)
    os.replace(src, dst)
    shutil.rmtree(old, ignore_errors=True)


def prune(run_path: str | Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` complete checkpoints; returns the removed folders."""
    dirs = checkpoint_dirs(run_path)
    removed = dirs[:-keep] if keep > 0 else []
    for p in removed:
        shutil.rmtree(p, ignore_errors=True)
    return removed


def load_checkpoint(accelerator, path: str | Path) -> TrainState:
    """Restore model, optimizer, scheduler and RNG states from `path`; returns the counters."""
    path = Path(path)
    state_file = path / STATE_FILE
    if not state_file.is_file():
        raise FlanlabError(f"{path} is not a complete checkpoint (no {STATE_FILE})")
    accelerator.load_state(str(path))
    data = json.loads(state_file.read_text())
    return TrainState(**{k: data[k] for k in TrainState.__dataclass_fields__ if k in data})
