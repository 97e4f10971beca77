"""One data path: `flanlab train` reads the rows `flanlab mixture pack` built, from the same disk cache."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread")]

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))  # mixture_toys


@pytest.fixture
def toy_mixture(tmp_path):
    """A --tasks-file with two toy tasks and their mirror data; the mixture keys every command shares."""
    from mixture_toys import write_toy_data, write_toy_tasks_file

    from flanlab.tasks import catalogue

    f = write_toy_tasks_file(tmp_path / "toys.yaml")
    write_toy_data(tmp_path / "mirror", catalogue([f]), {"toy_a": 60, "toy_b": 40}, words=(3, 30))
    return {"tasks_file": [str(f)], "data_dir": str(tmp_path / "mirror"), "source": "mirror",
            "include": ["toy_a", "toy_b"], "seed": 3, "max_input_len": 24, "max_target_len": 6, "seq_len": 64,
            "pack_window": 40}


def test_a_training_run_after_mixture_pack_tokenizes_nothing_and_trains_on_its_rows(
        toy_mixture, tiny_llama_dir, tmp_path, monkeypatch, capsys):
    from flanlab.cli import main
    from flanlab.mixtures import stream
    from flanlab.mixtures.config import MixtureConfig
    from flanlab.mixtures.mixture import Mixture
    from flanlab.tasks import catalogue
    from flanlab.training.config import TrainConfig
    from flanlab.training.train import train

    sets = [f"{k}={json.dumps(v)}" for k, v in toy_mixture.items()]
    argv = ["mixture", "pack", "--n", "300", "--tokenizer", str(tiny_llama_dir), "--workers", "1", "--json"]
    assert main(argv + [a for s in sets for a in ("--set", s)]) == 0
    packed = json.loads(capsys.readouterr().out)
    assert packed["chunks_built"] > 0 and packed["tokenization"]["input_truncated"] > 0

    from flanlab.mixtures import features

    def no_tokenizing(*a, **k):
        raise AssertionError("training tokenized examples again instead of reading the cache")

    cfg = TrainConfig(model=str(tiny_llama_dir), out=str(tmp_path / "run"), device="cpu", steps=3, log_examples=True,
                      checkpoint={"every": 0}, batch={"tokens": 128, "micro_rows": 2}, mixture=toy_mixture)
    with monkeypatch.context() as m:
        for module in (features, stream):
            m.setattr(module, "tokenize", no_tokenizing)
        path = train(cfg)
    assert json.loads((path / "run.json").read_text())["status"] == "finished"
    trained = [p for ln in (path / "examples-rank0.jsonl").read_text().splitlines() for p in json.loads(ln)["positions"]]
    # the same rows, in the same order, as the mixture stage's data path gives for this mixture
    mcfg = MixtureConfig(**toy_mixture)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama_dir)
    expect = []
    for row, _ in stream.rows(Mixture(mcfg, catalogue(mcfg.tasks_file)), tok, "decoder", stop=300):
        expect += row["positions"]
        if len(expect) >= len(trained):
            break
    assert trained and trained == expect[:len(trained)]
