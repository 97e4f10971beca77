"""Content-addressed steps: ids, de-duplication and done/missing status read from run.json."""

from __future__ import annotations

import json

import pytest

from flanlab.errors import FlanlabError
from flanlab.experiments.steps import STEP_RECORD, Step, dedupe, is_done, status, step_dir


def test_id_is_a_hash_of_kind_inputs_and_deps_not_tags():
    a = Step("eval", "x", {"a": 1, "b": [1, 2]}, tags={"series": "one"})
    b = Step("eval", "y", {"b": [1, 2], "a": 1}, tags={"series": "two"})
    assert a.id == b.id and a.id.startswith("eval-") and len(a.id) == len("eval-") + 12
    assert Step("eval", "x", {"a": 2}).id != a.id
    assert Step("eval", "x", {"a": 1, "b": [1, 2]}, deps=("train-1",)).id != a.id
    assert Step("train", "x", {"a": 1, "b": [1, 2]}).id != a.id


def test_unknown_kind_and_unplanned_dependency_are_errors():
    with pytest.raises(FlanlabError, match="unknown step kind"):
        Step("bake", "x", {})
    with pytest.raises(FlanlabError, match="not planned before"):
        dedupe([Step("eval", "x", {}, deps=("train-0",))])


def test_dedupe_keeps_first_of_identical_steps():
    s1, s2 = Step("mixture", "m", {"x": 1}), Step("mixture", "m again", {"x": 1})
    assert dedupe([s1, s2]) == [s1] and dedupe([s1, s2])[0].label == "m"


def test_status_reads_run_json(tmp_path):
    done, crashed, missing = (Step("eval", n, {"n": n}) for n in ("done", "crashed", "missing"))
    for s, st in ((done, "finished"), (crashed, "running")):
        d = step_dir(tmp_path, s)
        d.mkdir(parents=True)
        (d / "run.json").write_text(json.dumps({"status": st, "wall_seconds": 2.5}))
    rows = {r["label"]: r for r in status(tmp_path, [done, crashed, missing])}
    assert (rows["done"]["state"], rows["done"]["wall_seconds"]) == ("done", 2.5)
    assert rows["crashed"]["state"] == "partial" and not rows["crashed"]["done"]
    assert rows["missing"]["state"] == "missing"


def test_report_step_is_done_only_for_the_plan_it_was_written_for(tmp_path):
    old, new = Step("report", "r", {"k": 1}, deps=()), Step("report", "r", {"k": 2})
    d = step_dir(tmp_path, old)
    assert d == tmp_path / "report"
    d.mkdir(parents=True)
    (d / "run.json").write_text(json.dumps({"status": "finished"}))
    (d / STEP_RECORD).write_text(json.dumps(old.to_json()))
    assert is_done(tmp_path, old) and not is_done(tmp_path, new)
