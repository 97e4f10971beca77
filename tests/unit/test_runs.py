"""Run directories: a record of what was done, atomic writes, finished runs never silently overwritten."""

from __future__ import annotations

import json

import pytest

from flanlab.config import Config
from flanlab.errors import FlanlabError
from flanlab.runs import RunDir, atomic_write_json


class C(Config):
    x: int = 1


def test_run_record_and_refusal_to_overwrite(tmp_path):
    run = RunDir.create(tmp_path / "r", "eval", C(x=2))
    run.append_jsonl("metrics.jsonl", {"step": 1})
    run.write_json("results.json", {"acc": 0.5})
    run.finish({"acc": 0.5})
    rec = json.loads((tmp_path / "r" / "run.json").read_text())
    assert rec["status"] == "finished" and rec["command"] == "eval" and rec["summary"] == {"acc": 0.5}
    assert rec["environment"]["packages"]["torch"]
    assert (tmp_path / "r" / "config.yaml").read_text().strip() == "x: 2"
    with pytest.raises(FlanlabError, match="finished 'eval' run"):
        RunDir.create(tmp_path / "r", "eval", C())
    RunDir.create(tmp_path / "r", "eval", C(), overwrite=True)


def test_unfinished_run_needs_resume(tmp_path):
    run = RunDir.create(tmp_path / "r", "train")
    run.write_json("partial.json", {})
    with pytest.raises(FlanlabError, match="--resume"):
        RunDir.create(tmp_path / "r", "train")
    assert RunDir.create(tmp_path / "r", "train", resume=True).path == tmp_path / "r"


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "a.json"
    atomic_write_json(p, {"v": 1})
    with pytest.raises(TypeError):
        atomic_write_json(p, {"v": object()})
    assert json.loads(p.read_text()) == {"v": 1}
    assert [f.name for f in tmp_path.iterdir()] == ["a.json"]
