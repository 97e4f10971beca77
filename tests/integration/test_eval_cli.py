"""`flanlab eval` end to end on a tiny random model and toy tasks: results, records, cache, export, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parents[1] / "unit"))
from test_eval_runner import write_toy  # noqa: E402

pytestmark = pytest.mark.integration


def _run(capsys, *args: str) -> tuple[int, str, str]:
    from flanlab.cli import main

    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.fixture()
def toy(tmp_path):
    files, data = write_toy(tmp_path, n=12)
    return ["--tasks-file", str(files), "--data-dir", str(data), "--source", "mirror"], tmp_path


def test_eval_runs_writes_records_and_reruns_from_cache(capsys, toy, tiny_llama_dir):
    common, tmp = toy
    rc, out, err = _run(capsys, "eval", tiny_llama_dir, "--tasks", "toy_nli,toy_qa", "--limit", "4",
                        "--batch-size", "3", "--out", tmp / "run1", "--json", *common)
    assert rc == 0, err
    res = json.loads(out)
    assert res["schema"] == "flanlab.eval/1" and res["model_kind"] == "decoder"
    assert res["cells"] == {"total": 10, "failed": 0, "cached": 0}
    assert set(res["tasks"]["toy_nli"]["templates"]) == {"01", "02", "03"}
    run = tmp / "run1"
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert json.loads((run / "results.json").read_text())["tasks"] == res["tasks"]
    assert len((run / "cells.jsonl").read_text().splitlines()) == 10
    rec = json.loads((run / "examples/toy_nli/01/test-0shot.jsonl").read_text().splitlines()[0])
    assert {"prompt", "options", "loglik", "n_tokens", "prediction", "target", "scores"} <= set(rec)
    gen = json.loads((run / "examples/toy_qa/02/test-0shot.jsonl").read_text().splitlines()[0])
    assert {"generated", "stopped", "scores"} <= set(gen) and "exact_match" in gen["scores"]

    rc, out2, _ = _run(capsys, "eval", tiny_llama_dir, "--tasks", "toy_nli,toy_qa", "--limit", "4",
                       "--batch-size", "16", "--out", tmp / "run2", "--json", *common)
    again = json.loads(out2)
    assert rc == 0 and again["cells"]["cached"] == 10
    assert again["tasks"] == res["tasks"]


def test_batch_size_does_not_change_results(capsys, toy, tiny_llama_dir):
    common, tmp = toy
    results = []
    for bs in ("1", "16"):
        rc, out, err = _run(capsys, "eval", tiny_llama_dir, "--tasks", "toy_nli", "--limit", "6", "--no-best-dev",
                            "--no-cache", "--batch-size", bs, "--out", tmp / f"bs{bs}", "--json", *common)
        assert rc == 0, err
        results.append(json.loads(out)["tasks"]["toy_nli"])
        recs = [json.loads(x) for x in (tmp / f"bs{bs}/examples/toy_nli/01/test-0shot.jsonl").read_text().splitlines()]
        results.append([r["loglik"] for r in recs])
    assert results[0] == results[2]
    for a, b in zip(results[1], results[3]):
        assert a == pytest.approx(b, abs=1e-5)


def test_export_lm_eval_writes_task_yamls(capsys, toy, tiny_llama_dir):
    common, tmp = toy
    rc, out, err = _run(capsys, "eval", "export-lm-eval", "--tasks", "toy_nli,toy_qa", "--model", tiny_llama_dir,
                        "--out", tmp / "lme", "--json", *common)
    assert rc == 0, err
    rows = json.loads(out)["tasks"]
    assert {r["lm_eval_task"] for r in rows} == {"flanlab_toy_nli_01", "flanlab_toy_nli_02", "flanlab_toy_nli_03",
                                                "flanlab_toy_qa_01", "flanlab_toy_qa_02"}
    cfg = yaml.safe_load((tmp / "lme/toy_nli/flanlab_toy_nli_01.yaml").read_text())
    assert cfg["output_type"] == "multiple_choice" and cfg["target_delimiter"] == ""
    doc = json.loads(Path(cfg["dataset_kwargs"]["data_files"]["test"]).read_text().splitlines()[0])
    assert doc["prompt"].endswith("- no<|endoftext|>") and doc["options"] == ["yes", "no"]
    gen = yaml.safe_load((tmp / "lme/toy_qa/flanlab_toy_qa_01.yaml").read_text())
    assert gen["output_type"] == "generate_until" and gen["doc_to_target"] == "target"
    group = yaml.safe_load((tmp / "lme/toy_nli/_flanlab_toy_nli.yaml").read_text())
    assert group["group"] == "flanlab_toy_nli" and len(group["task"]) == 3


def test_user_errors_are_one_line(capsys, toy, tiny_llama_dir):
    common, tmp = toy
    rc, _, err = _run(capsys, "eval", tiny_llama_dir, "--tasks", "toy_nly", "--out", tmp / "bad", *common)
    assert rc == 2 and "unknown task 'toy_nly'" in err and "toy_nli" in err
    rc, _, err = _run(capsys, "eval", tiny_llama_dir, "--out", tmp / "bad2", *common)
    assert rc == 2 and "no tasks to evaluate" in err


def test_help_shows_an_example(capsys):
    rc, out, _ = _run(capsys, "eval", "--help")
    assert rc == 0 and "Example: flanlab eval" in out and "export-lm-eval" in out


def test_encoder_decoder_model_end_to_end(capsys, toy, tiny_t5_dir):
    common, tmp = toy
    rc, out, err = _run(capsys, "eval", tiny_t5_dir, "--tasks", "toy_nli,toy_qa", "--templates", "01", "--limit", "3",
                        "--no-best-dev", "--out", tmp / "t5", "--json", *common)
    assert rc == 0, err
    res = json.loads(out)
    assert res["model_kind"] == "encoder-decoder" and res["cells"]["failed"] == 0
    rec = json.loads((tmp / "t5/examples/toy_nli/01/test-0shot.jsonl").read_text().splitlines()[0])
    assert not rec["prompt"].endswith("<|endoftext|>")  # the encoder input gets EOS as a token, not as text
    assert all(n >= 1 for n in rec["n_tokens"])
