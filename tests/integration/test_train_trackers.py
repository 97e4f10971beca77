"""`--trackers`: training metrics reach accelerate's trackers; TensorBoard's event file holds what
metrics.jsonl holds, step for step."""

from __future__ import annotations

import json

import pytest
import torch

from flanlab.training.config import TrainConfig
from flanlab.testing import ListMixture

pytestmark = pytest.mark.integration

PAIRS = [("Is the sky blue? yes or no", "yes"), ("What is the capital of France?", "Paris")]


def _cfg(model_dir, out, **kw) -> TrainConfig:
    return TrainConfig(model=str(model_dir), out=str(out), device="cpu", steps=4, checkpoint={"every": 0},
                       optim={"name": "adamw", "lr": 1e-2}, batch={"tokens": 128, "micro_rows": 4},
                       mixture={"max_input_len": 32, "max_target_len": 8, "seq_len": 48, "pack_window": 16}, **kw)


def _scalars(logdir) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def test_tensorboard_event_file_holds_the_training_metrics(tiny_llama_dir, tmp_path):
    pytest.importorskip("tensorboard")
    from flanlab.training.train import TRACKER_LOGS, TRACKER_PROJECT, train

    torch.set_num_threads(1)
    path = train(_cfg(tiny_llama_dir, tmp_path / "run", trackers=["tensorboard"]), mixture=ListMixture(PAIRS))
    rows = [json.loads(ln) for ln in (path / "metrics.jsonl").read_text().splitlines()]
    logdir = path / TRACKER_LOGS / TRACKER_PROJECT
    assert list(logdir.glob("events.out.tfevents.*")), f"no event file under {logdir}"
    scalars = _scalars(logdir)
    for key in ("loss", "lr", "tokens_per_s"):
        assert [s for s, _ in scalars[key]] == [r["step"] for r in rows] == [1, 2, 3, 4]
        assert [v for _, v in scalars[key]] == pytest.approx([r[key] for r in rows], rel=1e-6)


def test_held_out_scores_reach_the_tracker_at_their_steps(tiny_llama_dir, tmp_path):
    pytest.importorskip("tensorboard")
    from flanlab.evaluation.in_training import checkpoint_evaluator
    from flanlab.training.train import TRACKER_LOGS, TRACKER_PROJECT, train

    torch.set_num_threads(1)
    cfg = _cfg(tiny_llama_dir, tmp_path / "run", trackers=["tensorboard"],
               eval={"every": 3, "tasks": ["rte"], "templates": 1, "limit": 4})
    cfg.mixture.source = "bundled"
    path = train(cfg, mixture=ListMixture(PAIRS), evaluator=checkpoint_evaluator(cfg))
    evals = [json.loads(ln) for ln in (path / "metrics.jsonl").read_text().splitlines() if '"eval"' in ln]
    scalars = _scalars(path / TRACKER_LOGS / TRACKER_PROJECT)
    for key, get in (("eval/rte", lambda r: r["eval"]["tasks"]["rte"]), ("eval/cluster/nli",
                     lambda r: r["eval"]["clusters"]["nli"]), ("eval/mean", lambda r: r["eval"]["mean"])):
        assert [s for s, _ in scalars[key]] == [r["step"] for r in evals] == [0, 3, 4]
        assert [v for _, v in scalars[key]] == pytest.approx([get(r) for r in evals], rel=1e-6)


def test_trackers_option_reaches_the_config_and_bad_names_are_one_clear_error(tmp_path, capsys):
    from flanlab.cli import main
    from flanlab.training.cli import _split_list, resolve_config

    cfg = resolve_config(None, None, {"trackers": _split_list(["tensorboard,mlflow"])}, None, False)
    assert cfg.trackers == ["tensorboard", "mlflow"]
    assert main(["train", "--trackers", "neptune", "--out", str(tmp_path / "r")]) == 2
    assert "trackers" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
