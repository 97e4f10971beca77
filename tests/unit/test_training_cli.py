"""`flanlab train` options, config resolution on --resume, and config errors."""

from __future__ import annotations

import importlib.util

import pytest

from flanlab.config import dump_config, load_config
from flanlab.errors import FlanlabError
from flanlab.training.cli import _split_list, resolve_config
from flanlab.training.config import TrainConfig


def test_help_shows_an_example(capsys):
    from flanlab.cli import main

    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example: flanlab train" in out and "--resume" in out and "--holdout" in out


def test_cli_options_override_yaml_and_sets(tmp_path):
    cfg_file = tmp_path / "t.yaml"
    cfg_file.write_text("steps: 7\noptim: {lr: 1.0e-3}\nmixture: {holdout: [nli]}\n")
    cfg = resolve_config(cfg_file, ["batch.tokens=1024"], {"steps": 9, "mixture.holdout": ["commonsense"],
                                                          "optim.lr": None}, None, False)
    assert (cfg.steps, cfg.lr, cfg.batch.tokens, cfg.mixture.holdout) == (9, 1e-3, 1024, ["commonsense"])


def test_resume_reads_the_runs_own_config(tmp_path):
    (tmp_path / "config.yaml").write_text(dump_config(TrainConfig(steps=11, model="m", optim={"lr": 0.5})))
    cfg = resolve_config(None, None, {"out": str(tmp_path)}, tmp_path, True)
    assert (cfg.steps, cfg.model, cfg.lr, cfg.out) == (11, "m", 0.5, str(tmp_path))


def test_holdout_accepts_commas_and_repeats():
    assert _split_list(["nli,commonsense", "sentiment"]) == ["nli", "commonsense", "sentiment"]
    assert _split_list(None) is None


def test_config_errors_name_the_key():
    with pytest.raises(FlanlabError, match="unknown key 'optim.lrr'"):
        load_config(TrainConfig, overrides=["optim.lrr=1"])
    with pytest.raises(FlanlabError, match="warmup_steps"):
        load_config(TrainConfig, overrides=["steps=5", "optim.warmup_steps=10"])


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here")
def test_missing_tracker_package_is_a_clear_error():
    from flanlab.training.train import check_trackers

    with pytest.raises(FlanlabError, match="wandb not installed"):
        check_trackers(["wandb"])
