"""Config loading: YAML -> overrides -> CLI values, unknown keys named with their file."""

from __future__ import annotations

import pytest
from pydantic import Field

from flanlab.config import Config, dump_config, load_config
from flanlab.errors import FlanlabError


class Optim(Config):
    lr: float = 3e-5
    name: str = "adafactor"


class Train(Config):
    steps: int = 10
    optim: Optim = Field(default_factory=Optim)
    holdout: list[str] = Field(default_factory=list)


def test_yaml_then_overrides_then_cli(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("steps: 5\noptim:\n  lr: 1.0e-4\nholdout: [nli]\n")
    cfg = load_config(Train, p, overrides=["optim.name=adamw", "steps=7"], cli={"steps": 9, "holdout": None})
    assert (cfg.steps, cfg.optim.lr, cfg.optim.name, cfg.holdout) == (9, 1e-4, "adamw", ["nli"])


def test_unknown_key_names_key_and_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("steps: 5\noptim:\n  lrr: 0.1\n")
    with pytest.raises(FlanlabError) as e:
        load_config(Train, p)
    assert "optim.lrr" in str(e.value) and "bad.yaml" in str(e.value)


def test_bad_value_and_bad_yaml(tmp_path):
    p = tmp_path / "v.yaml"
    p.write_text("steps: many\n")
    with pytest.raises(FlanlabError, match="v.yaml.*steps"):
        load_config(Train, p)
    p.write_text("steps: [\n")
    with pytest.raises(FlanlabError, match="invalid YAML"):
        load_config(Train, p)
    with pytest.raises(FlanlabError, match="config file not found"):
        load_config(Train, tmp_path / "missing.yaml")
    with pytest.raises(FlanlabError, match="key.sub=value"):
        load_config(Train, None, overrides=["steps"])


def test_resolved_config_round_trips(tmp_path):
    cfg = load_config(Train, None, cli={"steps": 3, "optim.lr": 0.5})
    p = tmp_path / "resolved.yaml"
    p.write_text(dump_config(cfg))
    assert load_config(Train, p) == cfg
