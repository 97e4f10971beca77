"""`flanlab tasks` and `flanlab data` through the CLI entry point."""

from __future__ import annotations

import json

from flanlab.cli import main


def _json(capsys, argv):
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_tasks_list_and_clusters(capsys):
    doc = _json(capsys, ["tasks", "list", "--json"])
    assert doc["datasets"] == 62 and doc["count"] == len(doc["tasks"])
    rte = next(t for t in doc["tasks"] if t["task"] == "rte")
    assert rte["cluster"] == "nli" and rte["type"] == "classification" and "hub" in rte["sources"]
    clusters = _json(capsys, ["tasks", "clusters", "--json"])["clusters"]
    rc = next(c for c in clusters if c["cluster"] == "rc_commonsense")
    assert set(rc["holding_out_also_removes"]) == {"reading_comprehension", "commonsense"}


def test_tasks_show_renders_bundled_examples(capsys):
    doc = _json(capsys, ["tasks", "show", "rte", "--n", "2", "--source", "bundled", "--json"])
    forward = [r for r in doc["renderings"] if not r["turned"]]
    assert len({r["example"] for r in forward}) == 2
    assert all("OPTIONS:\n- yes\n- no" in r["inputs"] and r["targets"] in ("yes", "no") for r in forward)
    one = _json(capsys, ["tasks", "show", "rte", "--template", "01", "--source", "bundled", "--json"])
    assert [r["template"] for r in one["renderings"]] == ["01"]


def test_tasks_show_unknown_template_is_a_user_error(capsys):
    assert main(["tasks", "show", "rte", "--template", "99", "--source", "bundled"]) == 2
    assert "unknown template" in capsys.readouterr().err


def test_data_check_reports_sources_and_counts(capsys, tmp_path):
    doc = _json(capsys, ["data", "check", "rte", "cb", "--source", "bundled", "--json"])
    for t in doc["tasks"]:
        test = next(r for r in t["roles"] if r["role"] == "test")
        assert test["source"] == "bundled" and test["examples"] >= 20
    # A mirror file whose rows do not fit the task's schema is reported, not crashed on.
    bad = tmp_path / "aps" / "super_glue" / "rte"
    bad.mkdir(parents=True)
    (bad / "validation.jsonl").write_text(json.dumps({"sentence": "x"}) + "\n")
    doc = _json(capsys, ["data", "check", "rte", "--data-dir", str(tmp_path), "--json"])
    test = next(r for r in doc["tasks"][0]["roles"] if r["role"] == "test")
    assert test["source"] == "mirror" and "does not match the task's schema" in test["error"]


def test_data_mirror_writes_the_mirror_layout(capsys, tmp_path, monkeypatch):
    """The hub itself is unreachable here: its reader is replaced by rows in the hub's schema."""
    from flanlab.tasks import sources

    rows = [{"premise": f"p{i}", "hypothesis": "h", "idx": i, "label": i % 2} for i in range(5)]
    monkeypatch.setattr(sources, "_iter_hub", lambda task, split: iter(rows))
    doc = _json(capsys, ["data", "mirror", "rte", "--split", "validation", "--out", str(tmp_path), "--json"])
    assert doc["splits"][0]["rows"] == 5
    from flanlab.tasks import catalogue, iter_examples

    exs = list(iter_examples(catalogue().task("rte"), "test", source="mirror", data_dir=tmp_path))
    assert [e["premise"] for e in exs] == [r["premise"] for r in rows]


def test_tasks_show_says_evaluation_only(capsys):
    """WSC273 is a test set (paper section 2.4): `tasks show` says it is evaluation-only and never trains."""
    doc = _json(capsys, ["tasks", "show", "wsc273", "--template", "01", "--source", "bundled", "--json"])
    assert doc["evaluation_only"] is True and doc["splits"]["train"].startswith("none")
    assert _json(capsys, ["tasks", "show", "rte", "--template", "01", "--source", "bundled",
                          "--json"])["evaluation_only"] is False
    assert main(["tasks", "show", "wsc273", "--template", "01", "--source", "bundled"]) == 0
    assert "evaluation only" in " ".join(capsys.readouterr().err.split())
    listed = {t["task"]: t for t in _json(capsys, ["tasks", "list", "--json"])["tasks"]}
    assert listed["wsc273"]["evaluation_only"] and not listed["dpr"]["evaluation_only"]
