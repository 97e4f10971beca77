"""Two processes through `accelerate launch` (gloo on CPU) train exactly what one process trains."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

pytestmark = pytest.mark.integration

STEPS = 4


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lines(path: Path) -> list[dict]:
    return [json.loads(ln) for ln in path.read_text().splitlines() if ln.strip()]


@pytest.mark.skipif(shutil.which("accelerate") is None and not Path(sys.executable).with_name("accelerate").exists(),
                    reason="the accelerate launcher is not installed")
def test_two_processes_match_one(tiny_llama_dir, tmp_path):
    from safetensors.torch import load_file

    from flanlab.config import load_config
    from flanlab.training.config import TrainConfig
    from flanlab.training.train import train

    cfg = {"model": str(tiny_llama_dir), "device": "cpu", "steps": STEPS, "log_examples": True,
           "optim": {"name": "adamw", "lr": 1e-3}, "batch": {"tokens": 600, "micro_rows": 2},
           "checkpoint": {"every": 0},
           "mixture": {"include": ["rte", "sst2"], "source": "bundled", "max_input_len": 96, "max_target_len": 8,
                       "seq_len": 128, "pack_window": 48}}
    cfg_path = tmp_path / "train.yaml"
    cfg_path.write_text(yaml.safe_dump(cfg))

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = train(load_config(TrainConfig, cfg_path, cli={"out": str(tmp_path / "one")}))
    finally:
        torch.set_num_threads(threads)

    launcher = shutil.which("accelerate") or str(Path(sys.executable).with_name("accelerate"))
    flanlab = str(Path(sys.executable).with_name("flanlab"))
    cmd = [launcher, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision",
           "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()), flanlab, "train",
           "-c", str(cfg_path), "--out", str(tmp_path / "two")]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    two = tmp_path / "two"
    assert json.loads((two / "run.json").read_text())["summary"]["processes"] == 2

    m1, m2 = _lines(one / "metrics.jsonl"), _lines(two / "metrics.jsonl")
    for a, b in zip(m1, m2, strict=True):  # same global batch, same loss
        assert (a["tokens"], a["target_tokens"], a["rows"], a["examples"]) == \
            (b["tokens"], b["target_tokens"], b["rows"], b["examples"])
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)

    single = {r["step"]: r["positions"] for r in _lines(one / "examples-rank0.jsonl")}
    ranks = [{r["step"]: r["positions"] for r in _lines(two / f"examples-rank{i}.jsonl")} for i in (0, 1)]
    for step, positions in single.items():
        shards = ranks[0][step] + ranks[1][step]
        assert ranks[0][step] and ranks[1][step]  # both processes got work
        assert sorted(shards) == sorted(positions) and len(set(shards)) == len(shards)  # no loss, no duplicate

    w1, w2 = load_file(one / "model" / "model.safetensors"), load_file(two / "model" / "model.safetensors")
    assert max(float((w1[k] - w2[k]).abs().max()) for k in w1) < 1e-5
