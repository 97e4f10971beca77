"""`flanlab models push`: model cards with Hub metadata and the evaluation, staged so that a dry run holds
exactly what a real push uploads; tested offline (the Hub client is replaced by a recorder)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from flanlab.errors import FlanlabError
from flanlab.training.config import TrainConfig
from flanlab.testing import ListMixture

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread")]

PAIRS = [("Premise: A man plays a guitar. Hypothesis: He makes music. Entailment?", "yes"),
         ("What is the capital of France?", "Paris")]


def _cfg(model_dir, out, **kw) -> TrainConfig:
    return TrainConfig(model=str(model_dir), out=str(out), device="cpu", steps=2, checkpoint={"every": 0},
                       optim={"name": "adamw", "lr": 1e-2}, batch={"tokens": 128, "micro_rows": 4},
                       mixture={"holdout": ["nli"], "source": "bundled", "max_input_len": 32, "max_target_len": 8,
                                "seq_len": 48, "pack_window": 16}, **kw)


def _card(path: Path):
    from huggingface_hub import ModelCard

    return ModelCard.load(path)


def _files(d: Path) -> dict[str, bytes]:
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def _evaluate(model_dir: Path, out: Path) -> Path:
    from flanlab.evaluation.config import EvalConfig
    from flanlab.evaluation.runner import evaluate
    from flanlab.runs import RunDir

    cfg = EvalConfig(model=str(model_dir), tasks=["rte"], templates=["01", "02"], limit=4, best_dev=False,
                     cache=False, source="bundled", device="cpu")
    run = RunDir.create(out, "eval", cfg)
    evaluate(cfg, run=run, show_progress=False)
    run.finish({})
    return out


def test_push_dry_run_stages_the_model_with_card_metadata_and_evaluation(tiny_llama_dir, tmp_path, monkeypatch):
    from flanlab import hub
    from flanlab.cli import main
    from flanlab.evaluation.in_training import checkpoint_evaluator
    from flanlab.training.train import train

    cfg = _cfg(tiny_llama_dir, tmp_path / "run", eval={"every": 2, "tasks": ["rte"], "templates": 2, "limit": 4})
    run = train(cfg, mixture=ListMixture(PAIRS), evaluator=checkpoint_evaluator(cfg))
    written = _card(run / "model" / "README.md").data.to_dict()  # the card training wrote
    assert written["library_name"] == "transformers" and written["pipeline_tag"] == "text-generation"
    assert written["flanlab"]["held_out_clusters"] == ["nli"]
    assert written["flanlab"]["recipe"]["optimizer"] == "adamw" and written["flanlab"]["recipe"]["lr"] == 0.01
    assert written["flanlab"]["mixture"]["training_tasks"] == ["list"]

    ev = _evaluate(run / "model", tmp_path / "eval-rte")
    res = json.loads((ev / "results.json").read_text())
    up = tmp_path / "upload"
    assert main(["models", "push", str(run), "me/tiny-flan", "--results", str(ev), "--base-model",
                 "HuggingFaceTB/SmolLM2-135M-Instruct", "--dry-run", str(up)]) == 0
    files = _files(up)
    weights = {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json"}
    assert weights | {"README.md", "flanlab/config.yaml", "flanlab/results/eval-rte.json"} <= set(files)
    for name in weights:  # the weights go up untouched
        assert files[name] == (run / "model" / name).read_bytes()
    assert files["flanlab/config.yaml"] == (run / "config.yaml").read_bytes()

    card = _card(up / "README.md")
    meta = card.data.to_dict()
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and meta["library_name"] == "transformers"
    assert meta["flanlab"] == written["flanlab"]  # mixture, held-out clusters and recipe survive the push
    (entry,) = card.data.eval_results
    assert (entry.dataset_type, entry.metric_type) == ("rte", "accuracy")
    assert entry.metric_value == pytest.approx(round(res["tasks"]["rte"]["mean"], 4))
    text = card.text
    assert text.count("## Evaluation") == 1 and "| nli | rte | accuracy |" in text
    assert f"{100 * res['tasks']['rte']['mean']:.1f} ±" in text
    assert "Held-out tasks during training (step 2)" in text
    assert 'AutoModelForCausalLM.from_pretrained("me/tiny-flan")' in text and str(run) not in text  # loads from the Hub

    # pushing the pushed folder again replaces the evaluation instead of repeating it
    hub.push(up, "me/tiny-flan", results=[ev], dry_run=tmp_path / "again")
    assert _card(tmp_path / "again" / "README.md").text.count("## Evaluation") == 1

    # a real push uploads the very folder the dry run showed (Hub client replaced: no network in tests)
    calls = {}

    class Recorder:
        def __init__(self, token=None):
            pass

        def create_repo(self, repo_id, **kw):
            calls["create_repo"] = (repo_id, kw)

        def upload_folder(self, *, repo_id, folder_path, **kw):
            calls["upload"] = (repo_id, _files(Path(folder_path)), kw)
            return SimpleNamespace(commit_url=f"https://huggingface.co/{repo_id}/commit/abc")

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "HfApi", Recorder)
    out = hub.push(run, "me/tiny-flan", results=[ev], base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
                   private=True)
    assert calls["create_repo"] == ("me/tiny-flan", {"private": True, "exist_ok": True, "repo_type": "model"})
    repo, uploaded, _ = calls["upload"]
    assert repo == "me/tiny-flan" and uploaded == files
    assert out["url"].endswith("/commit/abc") and not list(run.glob(".push-*"))  # staging cleaned up

    class Offline(Recorder):
        def create_repo(self, repo_id, **kw):
            raise ConnectionError("offline")

    monkeypatch.setattr(huggingface_hub, "HfApi", Offline)
    with pytest.raises(FlanlabError, match="push to me/tiny-flan failed.*--dry-run"):
        hub.push(run, "me/tiny-flan")


def test_adapter_cards_say_peft(tiny_llama_dir, tmp_path):
    from flanlab import hub
    from flanlab.training.train import train

    run = train(_cfg(tiny_llama_dir, tmp_path / "run", tuning={"method": "lora", "lora_r": 2}),
                mixture=ListMixture(PAIRS))
    written = _card(run / "adapter" / "README.md").data.to_dict()
    assert written["library_name"] == "peft" and "lora" in written["tags"]
    assert _card(run / "model" / "README.md").data.library_name == "transformers"  # merged weights
    out = hub.push(run, "me/tiny-lora", adapter=True, base_model="HuggingFaceTB/SmolLM2-135M-Instruct",
                   dry_run=tmp_path / "up")
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md"} <= set(out["files"])
    meta = _card(tmp_path / "up" / "README.md").data.to_dict()
    assert meta["library_name"] == "peft" and meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert "eval_results" not in meta and "## Evaluation" not in (tmp_path / "up" / "README.md").read_text()


def test_bad_push_requests_are_one_clear_error(tiny_llama_dir, tmp_path, capsys):
    from flanlab import hub
    from flanlab.cli import main

    (tmp_path / "empty").mkdir()
    assert main(["models", "push", str(tmp_path / "empty"), "me/x", "--dry-run", str(tmp_path / "a")]) == 2
    assert "no model/ or adapter/" in " ".join(capsys.readouterr().err.split()) and not (tmp_path / "a").exists()
    with pytest.raises(FlanlabError, match="repo id"):
        hub.push(tiny_llama_dir, "not a repo id", dry_run=tmp_path / "b")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(FlanlabError, match="not empty"):
        hub.push(tiny_llama_dir, "me/x", dry_run=tmp_path / "full")
    with pytest.raises(FlanlabError, match="no results.json"):
        hub.push(tiny_llama_dir, "me/x", results=[tmp_path / "empty"], dry_run=tmp_path / "c")
    with pytest.raises(FlanlabError, match="not an adapter"):
        hub.push(tiny_llama_dir, "me/x", adapter=True, dry_run=tmp_path / "d")
    assert not any((tmp_path / n).exists() for n in "bcd")


def test_card_metadata_names_the_hub_base_model_and_the_mixtures_datasets():
    from flanlab.models import base_model_id
    from flanlab.tasks import catalogue
    from flanlab.training.export import card_metadata, front_matter

    assert base_model_id("smollm2-135m-instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert base_model_id("google/flan-t5-small") == "google/flan-t5-small"
    assert base_model_id("gguf:/x/model.gguf") is None and base_model_id(".") is None
    cat = catalogue()
    train_tasks = {t: {"n": 10} for t in ("sst2", "copa")}
    s = SimpleNamespace(cfg=TrainConfig(model="smollm2-135m-instruct", tuning={"method": "lora"},
                                        mixture={"holdout": ["nli"]}),
                        mix=SimpleNamespace(rates=lambda: train_tasks, split=SimpleNamespace(held_out={"rte": "nli"})),
                        kind="decoder", accelerator=SimpleNamespace(mixed_precision="no", num_processes=1))
    meta = card_metadata(s, adapter=True)
    assert meta["library_name"] == "peft" and meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert set(meta["datasets"]) == {cat.task(t).source.hub_id for t in train_tasks}
    f = meta["flanlab"]
    assert f["held_out_clusters"] == ["nli"] and f["held_out_tasks"] == ["rte"]
    assert f["mixture"]["training_tasks"] == ["copa", "sst2"] and f["recipe"]["lr"] == 1e-4
    assert f["recipe"]["lora_r"] == 8
    import yaml

    assert yaml.safe_load(front_matter(meta).strip("-\n")) == meta  # valid YAML, nothing lost
