"""Checkpoints: complete or absent, retention, exact restore of model/optimizer/scheduler/RNG, full disks."""

from __future__ import annotations

import errno

import pytest
import torch

from flanlab.errors import FlanlabError
from flanlab.training import checkpoint as ckpt
from flanlab.training.optim import build_optimizer, build_scheduler


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models on a shared machine: one thread avoids oversubscription
    yield
    torch.set_num_threads(n)


def _setup(seed=0):
    from accelerate import Accelerator

    from flanlab.testing import tiny_model

    acc = Accelerator(cpu=True)
    model = tiny_model("llama", seed=seed)
    opt = build_optimizer(model, "adamw", lr=1e-2)
    sched = build_scheduler(opt, "linear", 1, 10)
    model, opt = acc.prepare(model, opt)
    acc.register_for_checkpointing(sched)
    return acc, model, opt, sched


def _step(model, opt, sched):
    ids = torch.randint(0, 100, (2, 12))
    model(input_ids=ids, labels=ids).loss.backward()
    opt.step()
    sched.step()
    opt.zero_grad()


def test_save_and_load_restore_everything(tmp_path):
    acc, model, opt, sched = _setup()
    _step(model, opt, sched)
    state = ckpt.TrainState(step=1, position=12, skip=3, tokens=99)
    path = ckpt.save_checkpoint(acc, tmp_path, state)
    assert path.name == "step-1" and (path / ckpt.STATE_FILE).is_file()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    rand_after_save = torch.rand(3)
    _step(model, opt, sched)
    _step(model, opt, sched)
    loaded = ckpt.load_checkpoint(acc, path)
    assert loaded == state
    assert all(torch.equal(weights[k], v) for k, v in model.state_dict().items())
    assert sched.last_epoch == 1
    assert torch.equal(torch.rand(3), rand_after_save)  # RNG continues where the saved run was


def test_retention_keeps_the_newest(tmp_path):
    acc, *_ = _setup()
    for step in (2, 4, 6, 8):
        ckpt.save_checkpoint(acc, tmp_path, ckpt.TrainState(step=step), keep=2)
    assert [p.name for p in ckpt.checkpoint_dirs(tmp_path)] == ["step-6", "step-8"]
    assert ckpt.latest_checkpoint(tmp_path).name == "step-8"


def test_incomplete_folders_are_not_checkpoints(tmp_path):
    (tmp_path / "checkpoints" / "step-9").mkdir(parents=True)  # killed before trainer_state.json
    (tmp_path / "checkpoints" / ".step-10.tmp").mkdir()
    assert ckpt.latest_checkpoint(tmp_path) is None


def test_full_disk_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    acc, model, opt, sched = _setup()
    good = ckpt.save_checkpoint(acc, tmp_path, ckpt.TrainState(step=1))
    before = {p.name: p.read_bytes() for p in good.iterdir()}
    real_save = acc.save_state

    def full_disk(output_dir, **kw):
        real_save(output_dir, **kw)  # half the files are there when the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(acc, "save_state", full_disk)
    with pytest.raises(FlanlabError, match=r"disk is full.*step-1 is untouched"):
        ckpt.save_checkpoint(acc, tmp_path, ckpt.TrainState(step=2), keep=1)
    assert [p.name for p in (tmp_path / "checkpoints").iterdir()] == ["step-1"]
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before


def test_loading_an_incomplete_checkpoint_is_refused(tmp_path):
    acc, *_ = _setup()
    (tmp_path / "half").mkdir()
    with pytest.raises(FlanlabError, match="not a complete checkpoint"):
        ckpt.load_checkpoint(acc, tmp_path / "half")
