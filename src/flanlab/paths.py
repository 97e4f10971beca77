"""Where flanlab keeps its cache (models, mixture features, evaluation cells)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """FLANLAB_CACHE, else $XDG_CACHE_HOME/flanlab, else ~/.cache/flanlab."""
    if os.environ.get("FLANLAB_CACHE"):
        return Path(os.environ["FLANLAB_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "flanlab"


def models_cache_dir() -> Path:
    return cache_dir() / "models"


def data_cache_dir() -> Path:
    return cache_dir() / "data"
