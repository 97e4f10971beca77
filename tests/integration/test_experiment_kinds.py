"""Every experiment kind planned and run end to end through the real stages on a tiny model and the
bundled samples: mixture -> train -> eval (or soft prompt) -> contamination -> report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flanlab.experiments.config import ExperimentConfig
from flanlab.experiments.run import run_experiment

pytestmark = pytest.mark.integration

TUNE = ["sst2", "copa", "e2e_nlg"]  # small bundled training tasks of three clusters


def base(tmp_path: Path, model: Path, **kw) -> ExperimentConfig:
    data = {"name": "exp", "runs_dir": str(tmp_path / "runs"), "models": [str(model)], "eval_clusters": ["nli"],
            "eval_tasks": ["rte"],
            "mixture": {"source": "bundled", "missing_data": "skip", "include": TUNE, "max_input_len": 192,
                        "max_target_len": 32, "seq_len": 256},
            "train": {"steps": 1, "batch": {"tokens": 256, "micro_rows": 2}, "checkpoint": {"every": 0}},
            "eval": {"source": "bundled", "limit": 2, "templates": ["01", "02"], "best_dev": False, "batch_size": 8},
            "contamination": {"max_train_examples": 20}}
    for k, v in kw.items():
        data[k] = {**data[k], **v} if isinstance(v, dict) and isinstance(data.get(k), dict) else v
    return ExperimentConfig.model_validate(data)


def figure(cfg: ExperimentConfig, name: str) -> dict:
    return json.loads((cfg.directory / "report" / "figures" / f"{name}.json").read_text())


def all_done(summary: dict) -> bool:
    return all(r["done"] for r in summary["steps"])


def test_heldout_sweep_end_to_end_then_fully_cached(tmp_path, tiny_llama_dir):
    cfg = base(tmp_path, tiny_llama_dir, kind="heldout_sweep", baselines=True)
    first = run_experiment(cfg)
    assert all_done(first) and len(first["executed"]) == len(first["steps"]) == 8
    f5 = figure(cfg, "fig5_clusters")
    assert set(f5["series"]) == {"FLAN-style tuned", "untuned (instructions), 0-shot",
                                 "untuned (GPT-3-style prompt), 0-shot", "untuned (GPT-3-style prompt), 1-shot"}
    assert all(0.0 <= v[0] <= 1.0 for v in f5["series"].values())
    assert "published: FLAN 137B zero-shot" in f5["reference"]
    (cont,) = (cfg.directory / "steps").glob("contamination-*/contamination.json")
    rows = json.loads(cont.read_text())["tasks"]
    assert rows[0]["task"] == "rte" and rows[0]["examples"] == 2 and rows[0]["tuned_on_task"] is False
    record = json.loads((cfg.directory / "experiment.json").read_text())
    assert record["environment"]["packages"]["torch"] and record["seeds"]["train"] == 0
    assert any("GPT-3-style prompts" in n for n in record["protocol"])  # section 3's baseline, in words
    assert all(s["wall_seconds"] is not None for s in record["steps"])
    assert "Steps and wall time" in (cfg.directory / "report" / "report.md").read_text()

    again = run_experiment(cfg)
    assert again["executed"] == []

    # a crash mid-step leaves run.json unfinished: the rerun redoes that step and nothing else
    crashed = next(s for s in again["steps"] if s["kind"] == "eval" and s["tags"]["variant"] == "tuned")
    rec = Path(crashed["dir"]) / "run.json"
    rec.write_text(json.dumps({**json.loads(rec.read_text()), "status": "running"}))
    (Path(crashed["dir"]) / "results.json").unlink()
    assert run_experiment(cfg)["executed"] == [crashed["id"]]
    assert (Path(crashed["dir"]) / "results.json").is_file()


def test_adding_a_cluster_runs_only_the_new_steps(tmp_path, tiny_llama_dir):
    cfg = base(tmp_path, tiny_llama_dir, kind="heldout_sweep", baselines=False, eval_tasks=["rte", "piqa"],
               mixture={"include": ["sst2", "e2e_nlg"]})
    first = run_experiment(cfg)
    old = {s["id"] for s in first["steps"]}
    more = run_experiment(base(tmp_path, tiny_llama_dir, kind="heldout_sweep", baselines=False,
                               eval_clusters=["nli", "commonsense"], eval_tasks=["rte", "piqa"],
                               mixture={"include": ["sst2", "e2e_nlg"]}))
    executed = set(more["executed"])
    assert executed and not executed & old
    kinds = sorted(s["kind"] for s in more["steps"] if s["id"] in executed)
    assert kinds == ["contamination", "eval", "eval", "eval", "mixture", "report", "train"]  # tuned + 2 untuned
    assert figure(cfg, "fig5_clusters")["x"] == ["nli", "commonsense"]


def test_num_clusters(tmp_path, tiny_llama_dir):
    cfg = base(tmp_path, tiny_llama_dir, kind="num_clusters", tuning_clusters=["sentiment", "struct_to_text"],
               max_clusters=2, contamination={"enabled": False})
    assert all_done(run_experiment(cfg))
    f6 = figure(cfg, "fig6_num_clusters")
    assert f6["x"] == [0, 1, 2] and set(f6["series"]) == {"nli", "average of held-out clusters"}
    assert all(v is not None for v in f6["series"]["nli"])


def test_model_scale(tmp_path, tiny_llama_dir):
    from flanlab.testing import save_tiny_model

    other = save_tiny_model(tmp_path / "tiny-2", "llama", seed=1)
    cfg = base(tmp_path, tiny_llama_dir, kind="model_scale", models=[str(tiny_llama_dir), str(other)],
               model_params={str(tiny_llama_dir): 1000, str(other): 2000})
    assert all_done(run_experiment(cfg))
    f7 = figure(cfg, "fig7_model_scale")
    assert f7["x"] == [1000, 2000] and set(f7["series"]) == {"instruction tuned", "untuned",
                                                              "untuned (instructions)"}


def test_instructions(tmp_path, tiny_llama_dir):
    cfg = base(tmp_path, tiny_llama_dir, kind="instructions", contamination={"enabled": False})
    assert all_done(run_experiment(cfg))
    f8 = figure(cfg, "fig8_instructions")
    assert set(f8["series"]) == {"untuned (GPT-3-style prompt)", "untuned (instructions)",
                                 "FT natural / eval natural", "FT no_template / eval natural",
                                 "FT dataset_name / eval natural", "FT dataset_name / eval dataset_name"}
    assert f8["x"] == ["nli", "average"]


def test_few_shot(tmp_path, tiny_llama_dir):
    """Section 4.4: few-shot FLAN is tuned on few-shot prompts and scored with exemplars, next to zero-shot FLAN."""
    cfg = base(tmp_path, tiny_llama_dir, kind="few_shot", shots=[0, 1], contamination={"enabled": False},
               fewshot_k=2, fewshot_budget=384, mixture={"max_input_len": 384, "seq_len": 448, "pack_window": 8},
               train={"batch": {"tokens": 448, "micro_rows": 1}})
    summary = run_experiment(cfg)
    assert all_done(summary)
    trains = [s for s in summary["steps"] if s["kind"] == "train"]
    assert len(trains) == 2
    few = [json.loads(line) for d in (cfg.directory / "steps").glob("eval-*")
           for f in d.glob("examples/rte/*/test-1shot.jsonl") for line in f.read_text().splitlines()]
    assert few and all(r["prompt"].count("\n\n\n") == 1 for r in few)  # one exemplar, then the query
    f9 = figure(cfg, "fig9_few_shot")
    assert set(f9["series"]) == {"zero-shot FLAN, 0-shot", "few-shot FLAN, 1-shot"}
    assert set(f9["errors"]) == set(f9["series"])


def test_prompt_tuning(tmp_path, tiny_llama_dir):
    cfg = base(tmp_path, tiny_llama_dir, kind="prompt_tuning", mixture={"include": []},
               prompt_tuning={"tasks": ["rte"], "examples": [None, 4], "train": {"steps": 1, "optim": {"lr": 0.3}}})
    summary = run_experiment(cfg)
    assert all_done(summary)
    assert sum(s["kind"] == "prompt_tune" for s in summary["steps"]) == 4
    f10 = figure(cfg, "fig10_prompt_tuning")
    assert f10["x"] == ["4 examples", "full examples"]
    assert set(f10["series"]) == {"prompt tuning on base model", "prompt tuning on tuned model"}
    adapters = list((cfg.directory / "steps").glob("prompt_tune-*/prompt/adapter/adapter_config.json"))
    assert len(adapters) == 4 and all(json.loads(a.read_text())["peft_type"] == "PROMPT_TUNING" for a in adapters)
