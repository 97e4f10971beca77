"""The embedded default model (SmolLM2-135M) through `flanlab train`: two small steps, reload, generate."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_default_model_trains_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("FLANLAB_TEST_REAL_CACHE", "1")
    monkeypatch.delenv("FLANLAB_CACHE", raising=False)  # reuse the converted default model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from flanlab.training.config import TrainConfig
    from flanlab.training.train import train

    cfg = TrainConfig(out=str(tmp_path / "run"), device="cpu", steps=2, batch={"tokens": 512, "micro_rows": 2},
                      checkpoint={"every": 1, "keep": 1},
                      mixture={"include": ["sst2"], "source": "bundled", "max_input_len": 200, "max_target_len": 16,
                               "seq_len": 256})
    path = train(cfg)
    summary = json.loads((path / "run.json").read_text())["summary"]
    assert summary["steps"] == 2 and 0 < summary["final_loss"] < 20
    tok = AutoTokenizer.from_pretrained(path / "model")
    model = AutoModelForCausalLM.from_pretrained(path / "model")
    ids = tok("Is this movie review positive or negative? a great film", return_tensors="pt").input_ids
    assert model.generate(ids, max_new_tokens=3).shape[1] > ids.shape[1]
    assert [p.name for p in (path / "checkpoints").iterdir()] == ["step-2"]
