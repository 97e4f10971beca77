"""`--eval-every`: held-out scores at checkpoints, the same numbers `flanlab eval` gives for the same model,
templates and subset, without disturbing training; the report draws the curve."""

from __future__ import annotations

import json

import pytest

from flanlab.errors import FlanlabError
from flanlab.training.config import TrainConfig
from flanlab.testing import ListMixture

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("one_torch_thread")]

PAIRS = [("Premise: A man plays a guitar. Hypothesis: He makes music. Entailment?", "yes"),
         ("What is the capital of France?", "Paris")]
EVAL = {"every": 2, "tasks": ["rte"], "templates": 2, "limit": 6}


def _cfg(model_dir, out, mixture=None, **kw) -> TrainConfig:
    mix = {"source": "bundled", "max_input_len": 32, "max_target_len": 8, "seq_len": 48, "pack_window": 16}
    return TrainConfig(model=str(model_dir), out=str(out), device="cpu", steps=4, checkpoint={"every": 0},
                       optim={"name": "adamw", "lr": 1e-2}, batch={"tokens": 128, "micro_rows": 4},
                       mixture={**mix, **(mixture or {})}, **kw)


def _rows(path):
    return [json.loads(ln) for ln in (path / "metrics.jsonl").read_text().splitlines()]


def _final_eval(model: str, templates: list[str]) -> float:
    from flanlab.evaluation.config import EvalConfig
    from flanlab.evaluation.runner import evaluate

    res = evaluate(EvalConfig(model=model, tasks=["rte"], templates=templates, limit=EVAL["limit"], best_dev=False,
                              cache=False, source="bundled", device="cpu"), show_progress=False)
    return res["tasks"]["rte"]["mean"]


def test_checkpoint_scores_match_flanlab_eval_and_leave_training_unchanged(tiny_llama_dir, tmp_path):
    from flanlab.evaluation.in_training import checkpoint_evaluator
    from flanlab.experiments.report import write_report
    from flanlab.training.train import train

    cfg = _cfg(tiny_llama_dir, tmp_path / "run", eval=EVAL)
    path = train(cfg, mixture=ListMixture(PAIRS), evaluator=checkpoint_evaluator(cfg))
    rows = _rows(path)
    evals = [r for r in rows if "eval" in r]
    assert [r["step"] for r in evals] == [0, 2, 4]
    for r in evals:
        assert set(r["eval"]["tasks"]) == {"rte"} and set(r["eval"]["clusters"]) == {"nli"}
        assert r["eval"]["templates"]["rte"] == ["01", "02"] and r["eval"]["n"]["rte"] == EVAL["limit"]
        assert 0.0 <= r["eval"]["mean"] <= 1.0
    templates = evals[0]["eval"]["templates"]["rte"]
    # the first point is the untuned model, the last the saved one: flanlab eval gives the same numbers
    assert evals[0]["eval"]["tasks"]["rte"] == pytest.approx(_final_eval(str(tiny_llama_dir), templates), abs=1e-9)
    assert evals[-1]["eval"]["tasks"]["rte"] == pytest.approx(_final_eval(str(path / "model"), templates), abs=1e-9)

    plain = train(_cfg(tiny_llama_dir, tmp_path / "plain"), mixture=ListMixture(PAIRS))
    assert [r["loss"] for r in rows if "loss" in r] == [r["loss"] for r in _rows(plain)]  # evaluation is a no-op for training

    report = write_report([path], tmp_path / "report")
    curve = json.loads((report["figures"] / "heldout_curve.json").read_text())
    assert curve["x"] == [0, 2, 4] and curve["kind"] == "lines"
    assert curve["series"][f"{path.name}: rte"] == [r["eval"]["tasks"]["rte"] for r in evals]
    assert "heldout_curve" in report["markdown"].read_text()


def test_bad_evaluation_requests_fail_before_training(tiny_llama_dir, tmp_path):
    from flanlab.evaluation.in_training import checkpoint_evaluator
    from flanlab.training.train import train

    with pytest.raises(FlanlabError, match="nosuch"):
        checkpoint_evaluator(_cfg(tiny_llama_dir, tmp_path / "a", eval={**EVAL, "tasks": ["nosuch"]}))
    with pytest.raises(FlanlabError, match="squad_v1.*generation"):
        checkpoint_evaluator(_cfg(tiny_llama_dir, tmp_path / "a", eval={**EVAL, "tasks": ["squad_v1"]}))
    with pytest.raises(FlanlabError, match="prompt"):
        checkpoint_evaluator(_cfg(tiny_llama_dir, tmp_path / "a", eval=EVAL, tuning={"method": "prompt"}))
    with pytest.raises(FlanlabError, match="no evaluator"):
        train(_cfg(tiny_llama_dir, tmp_path / "b", eval=EVAL), mixture=ListMixture(PAIRS))
    assert not (tmp_path / "b").exists()
    assert checkpoint_evaluator(_cfg(tiny_llama_dir, tmp_path / "c")) is None  # eval.every = 0: off


def test_default_tasks_are_the_held_out_classification_tasks(tiny_llama_dir, tmp_path):
    from flanlab.evaluation.in_training import eval_tasks
    from flanlab.tasks import catalogue

    cat = catalogue()
    cfg = _cfg(tiny_llama_dir, tmp_path / "a", eval={"every": 5}, mixture={"holdout": ["nli"]})
    names = eval_tasks(cfg, cat)
    assert names and {cat.task(t).cluster for t in names} == {"nli"}
    assert all(cat.task(t).is_classification for t in names)


def test_cli_eval_options_reach_the_config_and_bad_tasks_exit_2(tmp_path, capsys):
    from flanlab.cli import main
    from flanlab.training.cli import _split_list, resolve_config

    cfg = resolve_config(None, None, {"eval.every": 3, "eval.tasks": _split_list(["rte,nli"])}, None, False)
    assert (cfg.eval.every, cfg.eval.tasks) == (3, ["rte", "nli"])
    assert main(["train", "--eval-every", "2", "--eval-tasks", "nosuch", "--out", str(tmp_path / "r")]) == 2
    assert "nosuch" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
