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
    held_in, held_out = res["sets"]["held_in"], res["sets"]["held_out"]
    assert [r["task"] for r in held_in["tasks"]] == ["sst2"] and [r["task"] for r in held_out["tasks"]] == ["rte"]
    for st, templates in ((held_in, 8), (held_out, 10)):  # every forward template
        row = st["tasks"][0]
        for variant in ("tuned", "untuned-instructions"):
            assert row[variant]["templates"] == templates and row[variant]["n"] == 2
            assert 0 <= row[variant]["mean"] <= 1
        assert row["untuned-baseline"]["templates"] == 1  # the GPT-3-style prompt
        c = st["tuned_vs_untuned_instructions"]
        assert c["n"] == 2 and c["ci95"][0] <= c["diff"] <= c["ci95"][1] and 0 <= c["p"] <= 1
        assert c["diff"] == pytest.approx(st["mean"]["tuned"] - st["mean"]["untuned-instructions"])
    assert Path(res["report"]).is_file() and Path(res["markdown"]).is_file()
    text = " ".join(log.split())  # rich wraps long lines
    assert "held-in (tuned on; unseen examples)" in text and "held-out NLI" in text and "bundled samples" in text
    mixture = json.loads(next((out / "steps").glob("mixture-*/mixture.json")).read_text())
    assert not {"rte", "cb", "anli_r1", "mnli", "mrpc", "qqp"} & set(mixture["train_tasks"])  # NLI + paraphrase held out
    assert "sst2" in mixture["train_tasks"] and {"rte", "cb"} <= set(mixture["held_out"])
    # held-in examples are scored on a split the tuning never read
    scored = json.loads(next((out / "steps").glob("eval-*/examples/sst2/01/test-0shot.jsonl")).read_text()
                        .splitlines()[0])
    assert scored["split"] == "validation"

    code, again, _ = run_demo(capsys, "--quick", "--model", str(tiny_llama_dir), "--steps", "1", "--limit", "2",
                              "--out", str(out))
    assert code == 0 and again["executed"] == [] and again["sets"] == res["sets"]


def test_demo_on_the_real_data_mirror(tmp_path, tiny_llama_dir, shared_hf, capsys):
    code, res, log = run_demo(capsys, "--data-dir", str(shared_hf), "--model", str(tiny_llama_dir), "--steps", "1",
                              "--limit", "2", "--out", str(tmp_path / "demo-real"))
    assert code == 0, log
    assert [r["task"] for r in res["sets"]["held_out"]["tasks"]] == ["cb", "rte"]
    assert [r["task"] for r in res["sets"]["held_in"]["tasks"]] == ["arc_easy", "sst2"]
    assert "the real datasets under" in " ".join(log.split())
    steps = tmp_path / "demo-real" / "steps"
    mixture = json.loads(next(steps.glob("mixture-*/mixture.json")).read_text())
    assert set(mixture["train_tasks"]) == set(res["info"]["train_tasks"]) and "sst2" in mixture["train_tasks"]
    rows = {r["task"]: r for f in steps.glob("contamination-*/contamination.json")
            for r in json.loads(f.read_text())["tasks"]}
    assert {t: r["tuned_on_task"] for t, r in rows.items()} == {"cb": False, "rte": False, "arc_easy": True,
                                                                 "sst2": True}
    assert all(r["contaminated"] == 0 for r in rows.values())  # no scored example was tuned on
    shown = res["sets"]["held_in"]["contamination"]
    assert shown["sst2"]["examples"] == 2 and shown["sst2"]["contaminated"] == 0
    for task, scored in (("sst2", "validation"), ("arc_easy", "test")):  # each tuned on its other labelled split
        splits = {json.loads(p.read_text().splitlines()[0])["split"]
                  for p in steps.glob(f"eval-*/examples/{task}/*/*.jsonl")}
        assert splits == {scored}, task
        assert mixture["train_tasks"] and task in mixture["train_tasks"]
    line = ", ".join(f"{t} 0/{shown[t]['checked']}" for t in ("arc_easy", "sst2"))
    assert f"sharing a 13-gram with the tuning data: {line}" in " ".join(log.split())


@pytest.mark.slow
def test_demo_quick_on_the_default_model_within_three_minutes(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    flanlab = str(Path(sys.executable).parent / "flanlab")
    # the budget is the demo's, with the one-time GGUF conversion cached (as on a user's second run)
    subprocess.run([flanlab, "models", "prepare", "smollm2-135m-instruct"], check=True, env=env, timeout=900,
                   capture_output=True)
    t0 = time.time()
    proc = subprocess.run([flanlab, "demo", "--quick", "--out", str(tmp_path / "demo")],
                          capture_output=True, text=True, env=env, timeout=900)
    wall = time.time() - t0
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "held-out NLI" in " ".join(proc.stdout.split())  # the tables, on stdout
    assert (tmp_path / "demo" / "report" / "report.html").is_file()
    budget = float(os.environ.get("FLANLAB_DEMO_QUICK_BUDGET", "180"))
    assert wall < budget, f"flanlab demo --quick took {wall:.0f}s (budget {budget:.0f}s)"
