"""`flanlab demo`: the README's main job. The fast tests run the demo's own code path on a tiny model
(seconds); the slow test runs the real `flanlab demo --quick` on the embedded default model and checks
the 3-minute budget (`pytest -m slow tests/integration/test_demo.py`, what CI's demo job runs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flanlab.cli import main

pytestmark = pytest.mark.integration


def run_demo(capsys, *args: str) -> tuple[int, dict, str]:
    code = main(["demo", *args, "--json"])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else {}), out.err


def test_demo_quick_path_on_a_tiny_model(tmp_path, tiny_llama_dir, capsys):
    out = tmp_path / "demo"
    code, res, log = run_demo(capsys, "--quick", "--model", str(tiny_llama_dir), "--steps", "1", "--limit", "2",
                              "--out", str(out))
    assert code == 0, log
    assert [r["task"] for r in res["results"]] == ["cb", "rte"]
    for r in res["results"]:
        assert r["templates"] == 10  # every forward template
        assert 0 <= r["base_mean"] <= 1 and 0 <= r["tuned_mean"] <= 1
        assert r["gain"] == pytest.approx(r["tuned_mean"] - r["base_mean"])
    assert Path(res["report"]).is_file() and Path(res["markdown"]).is_file()
    assert "Zero-shot on held-out NLI" in log and "report:" in log and "step 2/" in log
    mixture = json.loads(next((out / "steps").glob("mixture-*/mixture.json")).read_text())
    assert not {"rte", "cb", "anli_r1", "mnli", "mrpc", "qqp"} & set(mixture["train_tasks"])  # NLI + paraphrase held out
    assert {"rte", "cb"} <= set(mixture["held_out"])

    code, again, _ = run_demo(capsys, "--quick", "--model", str(tiny_llama_dir), "--steps", "1", "--limit", "2",
                              "--out", str(out))
    assert code == 0 and again["executed"] == [] and again["results"] == res["results"]


def test_demo_on_the_real_data_mirror(tmp_path, tiny_llama_dir, shared_hf, capsys):
    code, res, log = run_demo(capsys, "--data-dir", str(shared_hf), "--model", str(tiny_llama_dir), "--steps", "1",
                              "--limit", "2", "--out", str(tmp_path / "demo-real"))
    assert code == 0, log
    tasks = {r["task"] for r in res["results"]}
    assert {"rte", "cb", "anli_r1"} <= tasks  # every NLI task whose test split the mirror has
    assert "tuning on the bundled samples" in log or "tuning on the real train splits" in log
    rte = json.loads(next((tmp_path / "demo-real" / "steps").glob("contamination-*/contamination.json")).read_text())
    assert all(not r["tuned_on_task"] for r in rte["tasks"])


@pytest.mark.slow
def test_demo_quick_on_the_default_model_within_three_minutes(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    t0 = time.time()
    proc = subprocess.run([str(Path(sys.executable).parent / "flanlab"), "demo", "--quick", "--out", str(tmp_path / "demo")],
                          capture_output=True, text=True, env=env, timeout=900)
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Zero-shot on held-out NLI" in proc.stderr and (tmp_path / "demo" / "report" / "report.html").is_file()
    budget = float(os.environ.get("FLANLAB_DEMO_QUICK_BUDGET", "180"))
    assert wall < budget, f"flanlab demo --quick took {wall:.0f}s (budget {budget:.0f}s)"
