"""Output: humans read stderr (rich), programs read one JSON document on stdout (`--json`)."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Progress bars, logs and tables for humans go to stderr so that `--json` output on stdout stays clean.
err = Console(stderr=True)
out = Console()


def to_jsonable(obj: Any) -> Any:
    from dataclasses import asdict, is_dataclass
    from pathlib import Path

    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and obj != obj:  # NaN is not JSON
        return None
    return obj


def print_json(obj: Any) -> None:
    """Print exactly one JSON document on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def log(msg: str) -> None:
    err.print(msg, highlight=False)


def plain_progress() -> bool:
    """Progress as plain lines (batch jobs, logs piped to a file) instead of a live bar: stderr is no terminal."""
    return not err.is_terminal


def progress_interval() -> float:
    """Seconds between plain progress lines (FLANLAB_PROGRESS_INTERVAL, default 30)."""
    import os

    try:
        return max(0.0, float(os.environ.get("FLANLAB_PROGRESS_INTERVAL", "30")))
    except ValueError:
        return 30.0


def fmt_eta(seconds: float | None) -> str:
    if seconds is None or seconds != seconds or seconds < 0:
        return "-"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class Ticker:
    """True once every `interval` seconds (the first call too): paces plain progress lines."""

    def __init__(self, interval: float | None = None):
        import time

        self.interval = progress_interval() if interval is None else interval
        self._clock = time.monotonic
        self._last: float | None = None

    def due(self) -> bool:
        now = self._clock()
        if self._last is None or now - self._last >= self.interval:
            self._last = now
            return True
        return False


def plain(msg: str) -> None:
    """One progress or log line on stderr, printed as is (no markup, no highlighting)."""
    err.print(msg, highlight=False, markup=False, soft_wrap=True)
