"""Shared fixtures: tiny random models saved to disk, the tiny tokenizer, the real data folder if present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The real-data mirror: FLANLAB_DATA_DIR if set, else ../shared/data/hf beside the checkout. Read once here;
# the variable is then removed from every test's environment, so CLI tests never pick it up by accident.
SHARED_HF = Path(os.environ.get("FLANLAB_DATA_DIR") or Path(__file__).resolve().parents[2] / "shared" / "data" / "hf")
MIRROR_SKIP = f"real data mirror not found at {SHARED_HF} (set FLANLAB_DATA_DIR)"
_mirror_skipped: list[str] = []


def pytest_collection_modifyitems(config, items):
    """Tests that read the real mirror carry the `mirror` marker (select with -m mirror, drop with -m 'not mirror')."""
    for item in items:
        if "shared_hf" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mirror)


def pytest_runtest_logreport(report):
    if report.skipped and report.when == "setup" and MIRROR_SKIP in str(report.longrepr):
        _mirror_skipped.append(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    # with xdist the workers' reports reach the controller through pytest_runtest_logreport too
    if _mirror_skipped:
        terminalreporter.write_line(f"{len(_mirror_skipped)} test(s) skipped for lack of the real data mirror "
                                    f"({SHARED_HF}); set FLANLAB_DATA_DIR to run them", yellow=True)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Each test session gets its own flanlab cache unless a test sets one; the real model cache is kept."""
    monkeypatch.delenv("FLANLAB_DATA_DIR", raising=False)
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
        pytest.skip(MIRROR_SKIP)
    return SHARED_HF


@pytest.fixture
def one_torch_thread():
    """Tiny models on a shared 2-core machine: one torch thread is ~30x faster than two contending ones."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
