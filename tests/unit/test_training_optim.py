"""Optimizer and schedule builders: the paper's Adafactor, AdamW groups, warm-up and decay shapes."""

from __future__ import annotations

import pytest

from flanlab.errors import FlanlabError
from flanlab.training.config import TrainConfig
from flanlab.training.optim import build_optimizer, build_scheduler, lr_factor, param_groups


def test_paper_recipe_defaults():
    cfg = TrainConfig()
    assert (cfg.optim.name, cfg.lr, cfg.optim.schedule, cfg.optim.warmup_steps) == ("adafactor", 3e-5, "constant", 0)
    assert cfg.batch.tokens == 8192 and cfg.steps == 30000
    assert (cfg.mixture.max_input_len, cfg.mixture.max_target_len, cfg.mixture.packing) == (1024, 256, True)
    prompt = TrainConfig(tuning={"method": "prompt"})
    assert prompt.tuning.prompt_length == 10 and prompt.weight_decay == 1e-4 and prompt.lr == 0.3
    assert TrainConfig(optim={"lr": 1e-3}, tuning={"method": "prompt"}).lr == 1e-3


def test_adafactor_is_constant_lr_without_relative_step():
    from flanlab.testing import tiny_model

    opt = build_optimizer(tiny_model("llama"), "adafactor", lr=3e-5)
    assert type(opt).__name__ == "Adafactor"
    d = opt.defaults
    assert d["lr"] == 3e-5 and d["relative_step"] is False and d["scale_parameter"] is False


def test_adamw_does_not_decay_norms_and_biases():
    from flanlab.testing import tiny_model

    model = tiny_model("llama")
    groups = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters()}
    no_decay = [names[id(p)] for p in groups[1]["params"]]
    assert groups[0]["weight_decay"] == 0.1 and groups[1]["weight_decay"] == 0.0
    assert no_decay and all("norm" in n for n in no_decay)
    opt = build_optimizer(model, "adamw", lr=1e-3, weight_decay=0.1)
    assert type(opt).__name__ == "AdamW"


@pytest.mark.parametrize("schedule,expected", [
    ("constant", [0.0, 0.5, 1.0, 1.0, 1.0, 1.0]),
    ("linear", [0.0, 0.5, 1.0, 2 / 3, 1 / 3, 0.0]),
    ("cosine", [0.0, 0.5, 1.0, 0.75, 0.25, 0.0]),
])
def test_schedules_warm_up_then_decay(schedule, expected):
    got = [lr_factor(s, schedule, warmup_steps=2, total_steps=5) for s in range(6)]
    assert got == pytest.approx(expected)


def test_scheduler_drives_the_optimizer_lr():
    from flanlab.testing import tiny_model

    opt = build_optimizer(tiny_model("llama"), "adamw", lr=1.0)
    sched = build_scheduler(opt, "linear", warmup_steps=1, total_steps=3, min_ratio=0.5)
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.0, 1.0, 0.75, 0.5])


def test_bad_names_are_user_errors():
    from flanlab.testing import tiny_model

    with pytest.raises(FlanlabError, match="sgd"):
        build_optimizer(tiny_model("llama"), "sgd")
    with pytest.raises(FlanlabError, match="wavy"):
        lr_factor(5, "wavy", 0, 10)
