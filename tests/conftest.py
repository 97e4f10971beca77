"""Shared fixtures: tiny random models saved to disk, the tiny tokenizer, the real data folder if present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_HF = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own flanlab cache unless a test sets one; the real model cache is kept."""
    if "FLANLAB_TEST_REAL_CACHE" not in os.environ:
        monkeypatch.setenv("FLANLAB_CACHE", str(tmp_path_factory.getbasetemp() / "flanlab-cache"))


@pytest.fixture(scope="session")
def tiny_tok():
    from flanlab.testing import tiny_tokenizer

    return tiny_tokenizer()


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> Path:
    from flanlab.testing import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama", "llama")


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory) -> Path:
    from flanlab.testing import save_tiny_model

    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny-t5", "t5")


@pytest.fixture(scope="session")
def shared_hf() -> Path:
    """The offline Hub mirror of the real evaluation data; tests using it skip when it is absent."""
    if not SHARED_HF.is_dir():
        pytest.skip(f"real data mirror not found at {SHARED_HF}")
    return SHARED_HF
