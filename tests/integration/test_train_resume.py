"""`flanlab train` killed with SIGKILL at an arbitrary step, then `--resume`d, ends with the same weights."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

pytestmark = pytest.mark.integration

STEPS = 10


def _config(tmp_path: Path, model_dir: Path) -> Path:
    cfg = {"model": str(model_dir), "device": "cpu", "steps": STEPS, "seed": 3,
           "optim": {"name": "adamw", "lr": 1e-3, "schedule": "cosine", "warmup_steps": 2},
           "batch": {"tokens": 384, "micro_rows": 2}, "checkpoint": {"every": 2, "keep": 2},
           "mixture": {"include": ["rte", "sst2"], "source": "bundled", "max_input_len": 96,
                       "max_target_len": 8, "seq_len": 128, "pack_window": 48}}
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from flanlab.cli import run; run()", "train", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def _weights(run: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(run / "model" / "model.safetensors")


def _last_step(run: Path) -> int:
    metrics = run / "metrics.jsonl"
    lines = metrics.read_text().splitlines() if metrics.is_file() else []
    return len([ln for ln in lines if ln.strip()])


def test_sigkill_then_resume_matches_an_uninterrupted_run(tiny_llama_dir, tmp_path):
    from flanlab.config import load_config
    from flanlab.training.config import TrainConfig
    from flanlab.training.train import train

    cfg_path = _config(tmp_path, tiny_llama_dir)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:  # the reference, in this process
        ref = train(load_config(TrainConfig, cfg_path, cli={"out": str(tmp_path / "ref")}))
    finally:
        torch.set_num_threads(threads)

    run = tmp_path / "killed"
    kill_after = random.Random().randint(3, STEPS - 2)  # an arbitrary step, different on every test run
    proc = subprocess.Popen(_cli("-c", str(cfg_path), "--out", str(run)), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while _last_step(run) < kill_after and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before it was killed: {err.decode()[-2000:]}"
    assert not (run / "model").exists()

    done = subprocess.run(_cli("--resume", "--out", str(run)), env=_env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from" in done.stderr or _last_step(run) == STEPS  # killed before the first checkpoint
    a, b = _weights(ref), _weights(run)
    assert a.keys() == b.keys()
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst <= 1e-6, f"killed after step {kill_after}: weights differ by {worst}"
    ref_losses = (ref / "metrics.jsonl").read_text().splitlines()
    assert [ln.split('"lr"')[0] for ln in (run / "metrics.jsonl").read_text().splitlines()] == \
        [ln.split('"lr"')[0] for ln in ref_losses]  # step and loss of every line, no duplicates
