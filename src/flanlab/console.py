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
