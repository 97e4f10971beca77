"""Runs that tell the truth (issue 13), through the CLI on the tiny model: Ctrl-C, failed cells, resume
safety, one config-file rule, checks before work, evaluation-only mirrors, output for scripts."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_eval_runner import write_toy  # noqa: E402

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _main(capsys, *args) -> tuple[int, str, str]:
    from flanlab.cli import main

    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def _record(run: Path) -> dict:
    return json.loads((run / "run.json").read_text())


def train_config(tmp: Path, model: Path, steps: int, every: int = 0) -> Path:
    cfg = {"model": str(model), "device": "cpu", "steps": steps, "seed": 3,
           "optim": {"name": "adamw", "lr": 1e-3}, "batch": {"tokens": 384, "micro_rows": 2},
           "checkpoint": {"every": every, "keep": 2},
           "mixture": {"include": ["rte", "sst2"], "source": "bundled", "max_input_len": 96, "max_target_len": 8,
                       "seq_len": 128, "pack_window": 48}}
    path = tmp / f"train-{steps}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture()
def toy(tmp_path):
    files, data = write_toy(tmp_path, n=12)
    return ["--tasks-file", str(files), "--data-dir", str(data), "--source", "mirror"], tmp_path


@pytest.fixture(scope="module")
def trained(tiny_llama_dir, tmp_path_factory) -> Path:
    """A finished 2-step run with a checkpoint at every step."""
    from flanlab.cli import main

    tmp = tmp_path_factory.mktemp("trained")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", "-c", str(train_config(tmp, tiny_llama_dir, 2, every=1)), "--out", str(tmp / "run")]) == 0
    finally:
        torch.set_num_threads(threads)
    return tmp / "run"


# -- 1. Ctrl-C ------------------------------------------------------------------------------------------

def _spawn(*args: str) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "FLANLAB_PROGRESS_INTERVAL": "0", "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen([sys.executable, "-m", "flanlab", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _interrupt_when(proc: subprocess.Popen, ready, timeout: float = 120) -> tuple[str, str]:
    deadline = time.time() + timeout
    while not ready() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, f"ended before the signal: {proc.communicate()[1][-2000:]}"
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=120)


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def test_ctrl_c_in_train_exits_130_records_interrupted_and_resumes(tiny_llama_dir, tmp_path, capsys, monkeypatch):
    cfg = train_config(tmp_path, tiny_llama_dir, 10_000)
    run = tmp_path / "run"
    # during start-up: the run record exists, the model and mixture are being built
    proc = _spawn("train", "-c", str(cfg), "--out", str(run))
    out, err = _interrupt_when(proc, lambda: (run / "run.json").is_file())
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted; continue with --resume" in err and "Traceback" not in err and out == ""
    assert _record(run)["status"] == "interrupted"
    # resumed with fewer steps (constant schedule, no checkpoint yet): applied and recorded as a change;
    # stderr is no terminal here, so progress comes as plain lines (item 7)
    monkeypatch.setenv("FLANLAB_PROGRESS_INTERVAL", "0")
    rc, out, err = _main(capsys, "train", "--resume", "--out", run, "--steps", 3)
    assert rc == 0, err
    assert re.search(r"train step 2/3 loss [\d.]+ tokens/s [\d,]+ lr \S+ ETA \d+:\d\d:\d\d", err), err
    rec = _record(run)
    assert rec["status"] == "finished" and rec["summary"]["steps"] == 3
    assert rec["changes"][-1]["changed"]["steps"] == {"from": 10_000, "to": 3}
    assert [h["status"] for h in rec["history"]] == ["interrupted"]
    assert yaml.safe_load((run / "config.yaml").read_text())["steps"] == 3
    assert "- steps: 3," in (run / "model" / "README.md").read_text()
    assert rec["params"]["total"] == rec["params"]["trainable"] > 0


def test_ctrl_c_that_native_code_swallows_still_stops_train(tiny_llama_dir, tmp_path, capsys, monkeypatch):
    """A SIGINT whose KeyboardInterrupt is lost during start-up (native code can clear it: seen in CI as a
    `flanlab train` that kept training after Ctrl-C) still stops the run at the next step: exit 130,
    recorded as interrupted."""
    from flanlab.training import train as train_mod

    real_setup = train_mod.setup

    def setup_that_loses_a_ctrl_c(*a, **kw):
        s = real_setup(*a, **kw)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        except KeyboardInterrupt:
            pass  # what the native code did
        return s

    monkeypatch.setattr(train_mod, "setup", setup_that_loses_a_ctrl_c)
    before = signal.getsignal(signal.SIGINT)
    run = tmp_path / "run"
    rc, out, err = _main(capsys, "train", "-c", train_config(tmp_path, tiny_llama_dir, 500), "--out", run)
    assert rc == 130 and "interrupted; continue with --resume" in err, err[-2000:]
    rec = _record(run)
    assert rec["status"] == "interrupted" and rec.get("summary") is None
    assert signal.getsignal(signal.SIGINT) is before  # the CLI put the handler back


def test_remembered_interrupt_is_raised_once_lost_and_forgotten_after():
    from flanlab.runs import check_interrupt, remembering_interrupts

    before = signal.getsignal(signal.SIGINT)
    with remembering_interrupts():
        check_interrupt()  # nothing arrived: no-op
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        with pytest.raises(KeyboardInterrupt):
            check_interrupt()
    check_interrupt()  # outside: forgotten
    assert signal.getsignal(signal.SIGINT) is before


def test_ctrl_c_in_eval_exits_130_and_records_interrupted(tiny_llama_dir, tmp_path):
    files, data = write_toy(tmp_path, n=400)
    run = tmp_path / "ev"
    proc = _spawn("eval", str(tiny_llama_dir), "--tasks", "toy_nli,toy_qa", "--no-cache", "--batch-size", "1",
                  "--tasks-file", str(files), "--data-dir", str(data), "--out", str(run))
    out, err = _interrupt_when(proc, lambda: (run / "run.json").is_file())
    assert proc.returncode == 130 and "interrupted; continue with --resume" in err, err[-2000:]
    assert _record(run)["status"] == "interrupted" and "Traceback" not in err


# -- 2. failed cells ------------------------------------------------------------------------------------

def test_failed_cells_exit_nonzero_with_each_error_once(capsys, toy, tiny_llama_dir):
    common, tmp = toy
    rc, out, err = _main(capsys, "eval", tiny_llama_dir, "--tasks", "toy_nli,toy_hidden", "--limit", "3",
                         "--out", tmp / "partial", "--json", *common)
    rec = _record(tmp / "partial")
    assert rc == 1 and rec["status"] == "partial" and json.loads(out)["status"] == "partial"
    assert sum(e["count"] for e in rec["errors"]) == 6 == rec["summary"]["cells"]["failed"]  # 3 templates x 2 roles
    assert len(rec["errors"]) == 2  # the test-split reason and the dev-split reason
    for e in rec["errors"]:
        assert "toy_hidden" in e["error"] and err.count(e["error"]) == 1 and f"{e['count']} x {e['error']}" in err
    assert rec["params"]["total"] > 0
    rc, _, _ = _main(capsys, "eval", tiny_llama_dir, "--tasks", "toy_hidden", "--out", tmp / "failed", *common)
    assert rc == 1 and _record(tmp / "failed")["status"] == "failed"


def test_experiment_step_with_failed_cells_is_recorded_failed(toy, tiny_llama_dir):
    from flanlab.errors import FlanlabError
    from flanlab.evaluation.config import EvalConfig
    from flanlab.experiments.executors import evaluate_into

    common, tmp = toy
    cfg = EvalConfig(model=str(tiny_llama_dir), tasks=["toy_hidden"], tasks_file=[common[1]], data_dir=common[3],
                     source="mirror", out=str(tmp / "step"))
    with pytest.raises(FlanlabError, match="failed"):
        evaluate_into(cfg, tmp / "step")
    assert _record(tmp / "step")["status"] == "failed"


# -- 3. resume safety -----------------------------------------------------------------------------------

def test_resume_refuses_changes_to_data_or_model(capsys, trained, tmp_path):
    before = (trained / "config.yaml").read_text(), (trained / "run.json").read_text()
    for args, culprit in [(["--lr", "5e-4"], "optim.lr"), (["--holdout", "commonsense"], "mixture.holdout"),
                          (["--steps", "1"], "below the checkpoint")]:
        rc, _, err = _main(capsys, "train", "--resume", "--out", trained, *args)
        assert rc == 2 and culprit in err and "Traceback" not in err, err
    assert ((trained / "config.yaml").read_text(), (trained / "run.json").read_text()) == before
    (tmp_path / "empty").mkdir()
    rc, _, err = _main(capsys, "train", "--resume", "--out", tmp_path / "empty")
    assert rc == 2 and "holds no run to continue" in err
    rc, _, err = _main(capsys, "train", "--out", trained, "-c", trained / "config.yaml")
    assert rc == 2 and "choose another --out or pass --overwrite" in err


# -- 4. one config-file rule ----------------------------------------------------------------------------

def test_eval_config_file_top_level_is_read_and_stray_keys_are_errors(capsys, toy, tiny_llama_dir):
    common, tmp = toy
    top = tmp / "top.yaml"
    top.write_text(yaml.safe_dump({"tasks": ["toy_nli"], "templates": ["02"], "limit": 2, "best_dev": False}))
    rc, out, err = _main(capsys, "eval", tiny_llama_dir, "-c", top, "--out", tmp / "top", "--json", *common)
    assert rc == 0, err
    assert list(json.loads(out)["tasks"]) == ["toy_nli"] and list(json.loads(out)["tasks"]["toy_nli"]["templates"]) == ["02"]
    sectioned = tmp / "sec.yaml"
    sectioned.write_text(yaml.safe_dump({"eval": {"tasks": ["toy_nli"]}, "limitt": 2}))
    rc, _, err = _main(capsys, "eval", tiny_llama_dir, "-c", sectioned, "--out", tmp / "sec", *common)
    assert rc == 2 and "'limitt'" in err and not (tmp / "sec").exists()
    top.write_text(yaml.safe_dump({"taks": ["toy_nli"]}))
    rc, _, err = _main(capsys, "eval", tiny_llama_dir, "-c", top, "--out", tmp / "typo", *common)
    assert rc == 2 and "'taks'" in err


# -- 5. checks before work ------------------------------------------------------------------------------

def test_bad_flags_fail_before_work_naming_the_flag(capsys, toy, tiny_llama_dir, tmp_path):
    common, tmp = toy
    bad_devices = ["tpu"] + ([] if torch.cuda.is_available() else ["cuda"])
    for dev in bad_devices:
        rc, _, err = _main(capsys, "eval", tiny_llama_dir, "--tasks", "toy_nli", "--device", dev,
                           "--out", tmp / "dev", *common)
        assert rc == 2 and f"--device '{dev}'" in err and not (tmp / "dev").exists(), err
        rc, _, err = _main(capsys, "train", "--model", tiny_llama_dir, "--device", dev, "--out", tmp / "tdev")
        assert rc == 2 and f"--device '{dev}'" in err and not (tmp / "tdev").exists(), err
    (tmp / "afile").write_text("x")
    for d, why in [(tmp / "nowhere", "no such directory"), (tmp / "afile", "is a file")]:
        for cmd in (["eval", tiny_llama_dir, "--tasks", "rte"], ["train", "--model", tiny_llama_dir]):
            rc, _, err = _main(capsys, *cmd, "--data-dir", d, "--out", tmp / "dd")
            assert rc == 2 and "--data-dir" in err and why in err and not (tmp / "dd").exists(), err
    rc, _, err = _main(capsys, "experiment", "plan", ROOT / "configs/experiments/heldout_sweep.yaml",
                       "--set", "train.stepz=3")
    assert rc == 2 and "--set train.stepz=3" in err and "'stepz'" in err and "Traceback" not in err
    rc, _, err = _main(capsys, "tasks", "show", "rte", "--n", "-1")
    assert rc == 2 and "--n" in err
    rc, _, err = _main(capsys, "mixture", "pack", "--workers", "-1")
    assert rc == 2 and "--workers" in err
    rc, _, err = _main(capsys, "report", ROOT / "README.md")
    assert rc == 2 and "is a file" in err
    assert not list(tmp.glob("**/*.partial"))


# -- 6. evaluation-only mirror --------------------------------------------------------------------------

NLI_ROW = {"premise": "A dog runs in the park.", "hypothesis": "An animal is outside.", "label": 0, "idx": 0,
           "uid": "u0", "reason": "", "question": "Who runs?", "sentence": "A dog runs.",
           "sentence1": "A dog runs.", "sentence2": "An animal runs."}


def eval_only_mirror(root: Path) -> Path:
    """Every NLI task's test and dev *source* splits but no training split, as in the shared mirror."""
    from flanlab.tasks import catalogue
    from flanlab.tasks.sources import BUNDLED_DIR, mirror_file

    cat = catalogue()
    for t in cat.resolve_tasks([], ["nli"]):
        for split in {t.splits.test, t.splits.dev} - {t.splits.train}:
            dest = root / t.source.hub_id / t.source.config / f"{split}.jsonl"
            dest.parent.mkdir(parents=True, exist_ok=True)
            sample = mirror_file(BUNDLED_DIR, t, split)
            rows = [json.loads(x) for x in sample.read_text().splitlines()[:3]] if sample else \
                [{**NLI_ROW, "idx": i, "label": i % 2} for i in range(3)]
            dest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def readme_eval_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [ln.split("#")[0].strip() for ln in text.splitlines() if ln.startswith("flanlab eval ")]


def test_readme_eval_examples_work_on_an_evaluation_only_mirror(capsys, tiny_llama_dir, tmp_path, monkeypatch):
    mirror = eval_only_mirror(tmp_path / "mirror")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FLANLAB_DATA_DIR", str(mirror))
    shutil.copytree(tiny_llama_dir, tmp_path / "runs/flan-nli/model")
    # the README's model is a chat model (--chat-template): the tiny stand-in gets a chat template too
    from transformers import AutoTokenizer

    chat_model = tmp_path / "tiny-chat"
    shutil.copytree(tiny_llama_dir, chat_model)
    tok = AutoTokenizer.from_pretrained(chat_model)
    tok.chat_template = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
                         "{% if add_generation_prompt %}<|assistant|>{% endif %}")
    tok.save_pretrained(chat_model)
    examples = readme_eval_examples()
    assert len(examples) >= 4
    for i, line in enumerate(examples):
        args = line.replace("smollm2-135m-instruct", str(chat_model)).replace("/path/to/mirror", str(mirror))
        args = args.split()[1:]
        if args[1] == "export-lm-eval":
            args += ["--model", str(tiny_llama_dir)]  # whose EOS joins prompt and answer (default: the real model)
        else:
            args += ["--limit", "2", "--templates", "01,02", "--out", f"runs/ex{i}"]
        rc, _, err = _main(capsys, *args)
        assert rc == 0, f"{line}\n{err[-3000:]}"
        if "--data-dir" in line and "--shots" not in line:
            assert err.count("best-dev template unavailable") == 1 and _record(tmp_path / f"runs/ex{i}")["status"] == "finished"
    rc, _, err = _main(capsys, "eval", tiny_llama_dir, "--tasks", "rte,cb", "--shots", "2", "--out", "runs/fs")
    assert rc == 2 and "training split" in err and "rte" in err and not (tmp_path / "runs/fs").exists()


# -- 7. output that fits scripts -------------------------------------------------------------------------

def test_output_fits_scripts(capsys, trained, toy, tiny_llama_dir):
    from flanlab import __version__

    rc, out, _ = _main(capsys, "tasks", "list")
    assert rc == 0 and any(ln.split("│")[1].strip() == "rte" for ln in out.splitlines() if "│" in ln)
    rc, out, _ = _main(capsys, "--version")
    assert rc == 0 and __version__ in out
    common, tmp = toy
    rc, _, err = _main(capsys, "train", "--model", tiny_llama_dir, "--set", "trackers=[wandb]", "--out", tmp / "tr")
    if rc == 2:  # wandb not installed: the hint keeps its brackets
        assert "pip install 'flanlab[tracking]'" in err
    rc, out, err = _main(capsys, "eval", trained / "checkpoints/step-2", "--tasks", "toy_nli", "--limit", "2",
                         "--templates", "01", "--out", tmp / "ck", "--json", *common)
    assert rc == 0, err
    assert json.loads(out)["cells"]["failed"] == 0
