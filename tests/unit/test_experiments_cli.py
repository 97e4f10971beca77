"""`flanlab experiment plan|run` and `flanlab report`: JSON on stdout, clear one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from flanlab.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "experiments"


def write(tmp_path: Path, **cfg) -> Path:
    p = tmp_path / "exp.yaml"
    p.write_text(yaml.safe_dump({"name": "e", "kind": "heldout_sweep", "runs_dir": str(tmp_path / "runs"), **cfg}))
    return p


def test_plan_json_lists_missing_steps(tmp_path, capsys):
    code = main(["experiment", "plan", str(write(tmp_path, eval_clusters=["nli", "commonsense"])), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["experiment"] == "e" and doc["done"] == 0
    assert doc["missing"] == len(doc["steps"]) == 15  # per cluster: mixture, train, 4 evals, contamination; report
    assert [s["kind"] for s in doc["steps"]].count("train") == 2 and doc["steps"][-1]["kind"] == "report"


def test_set_overrides_and_unknown_keys(tmp_path, capsys):
    cfg = write(tmp_path)
    # no few-shot baseline; the untuned model stays, with GPT-3-style prompts and with instructions (section 3)
    assert main(["experiment", "plan", str(cfg), "--set", "baselines=false", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["steps"]) == 7
    assert main(["experiment", "plan", str(cfg), "--set", "baselines=false", "--set", "untuned_instructions=false",
                 "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["steps"]) == 6
    assert main(["experiment", "plan", str(cfg), "--set", "trian.steps=3"]) == 2
    assert "unknown key 'trian'" in capsys.readouterr().err
    assert main(["experiment", "plan", str(write(tmp_path, kind="sweep"))]) == 2
    assert "kind" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_configs_validate_and_plan(path, capsys):
    assert main(["experiment", "plan", str(path), "--set", "runs_dir=/nonexistent/runs", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == yaml.safe_load(path.read_text())["kind"] and doc["missing"] == len(doc["steps"]) > 1


def test_one_config_per_kind():
    from flanlab.experiments.config import KINDS

    assert sorted(yaml.safe_load(p.read_text())["kind"] for p in CONFIGS.glob("*.yaml")) == sorted(KINDS)


def test_report_command_writes_html_and_json(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps({
        "schema": "flanlab.eval/1", "model": "m", "shots": 0, "mode": "natural",
        "tasks": {"rte": {"cluster": "nli", "metric": "accuracy", "templates": {"01": {"test": {"accuracy": 0.6, "n": 5}}},
                          "mean": 0.6, "std": 0.0, "best_dev_template": None, "best_dev": None}},
        "clusters": {"nli": {"mean": 0.6, "tasks": ["rte"]}}}))
    assert main(["report", str(run), "--out", str(tmp_path / "rep"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert Path(doc["report"]["html"]).is_file() and doc["figures"] == ["fig5_clusters.svg"]
    assert doc["clusters"][0]["cluster"] == "nli" and doc["clusters"][0]["m (natural, 0-shot)"] == "60.0"
    assert main(["report", str(tmp_path / "missing")]) == 2
