"""The demo experiment (paper Figure 7, small-scale end): its plan, its paired comparison and its collapse check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flanlab.errors import FlanlabError
from flanlab.evaluation.stats import bootstrap_ci
from flanlab.experiments.demo import (BUDGETS, COLLAPSE_MIN_EXAMPLES, collapsed, demo_config, demo_results)
from flanlab.experiments.run import plan_experiment

MIRROR_ROOT_TASKS = {"rte": ("aps/super_glue/rte", "validation"), "sst2": ("stanfordnlp/sst2/default", "validation")}


def _evals(steps):
    return [s for s in steps if s.kind == "eval"]


def test_figure7_demo_scores_three_models_on_held_in_and_held_out_tasks(tmp_path):
    cfg, info = demo_config(quick=True, model="m", out=tmp_path / "demo")
    steps = plan_experiment(cfg)
    evals = _evals(steps)
    got = {(s.tags["set"], s.tags["variant"], s.inputs["mode"]) for s in evals}
    assert got == {(w, v, m) for w in ("held_in", "held_out") for v, m in
                   (("tuned", "natural"), ("untuned-instructions", "natural"), ("untuned-baseline", "baseline"))}
    train = next(s for s in steps if s.kind == "train")
    for s in evals:  # the tuned model is the one the train step made; the untuned ones are the base model
        assert (train.id in s.deps) == (s.tags["variant"] == "tuned")
        tasks = s.inputs["tasks"]
        assert tasks == (info["held_in"] if s.tags["set"] == "held_in" else info["held_out"])
    held_in = next(s for s in evals if s.tags["set"] == "held_in")
    assert held_in.inputs["eval"]["limit"] == BUDGETS["quick"].held_in_limit
    mix = next(s for s in steps if s.kind == "mixture").inputs["mixture"]
    assert mix["holdout"] == ["nli"]


def test_demo_refuses_a_held_in_task_from_a_held_out_cluster(tmp_path):
    cfg, _ = demo_config(quick=True, model="m", out=tmp_path / "demo")
    with pytest.raises(FlanlabError, match="held_in_tasks.*rte"):
        plan_experiment(cfg.model_copy(update={"held_in_tasks": ["sst2", "rte"]}))


def test_demo_on_a_mirror_trains_held_in_tasks_on_a_split_it_never_scores(tmp_path):
    root = tmp_path / "hf"
    row = {"sst2": {"sentence": "a fine film", "label": 1, "idx": 0},
           "rte": {"premise": "p", "hypothesis": "h", "label": 0, "idx": 0}}
    for task, (path, split) in MIRROR_ROOT_TASKS.items():
        (root / path).mkdir(parents=True)
        (root / path / f"{split}.jsonl").write_text(json.dumps(row[task]) + "\n")
    (root / "stanfordnlp/sst2/default/test.jsonl").write_text(json.dumps(row["sst2"]) + "\n")
    cfg, info = demo_config(quick=True, model="m", out=tmp_path / "demo", data_dir=str(root))
    assert info["train_tasks"] == ["sst2"] and cfg.mixture["include"] == ["sst2"]
    assert cfg.mixture["split_overrides"] == {"sst2": {"train": "test"}}
    held_in = next(s for s in _evals(plan_experiment(cfg)) if s.tags["set"] == "held_in")
    assert held_in.inputs["eval"].get("split_overrides") is None  # scored on its test role: validation
    (root / "stanfordnlp/sst2/default/test.jsonl").unlink()
    with pytest.raises(FlanlabError, match="sst2.*test split to train on"):
        demo_config(quick=True, model="m", out=tmp_path / "demo", data_dir=str(root))


@pytest.mark.parametrize("budget", sorted(BUDGETS))
def test_demo_held_in_tasks_never_train_on_the_split_they_are_scored_on(tmp_path, budget):
    """Every held-in task of every budget has a mirror training split other than its test role (ARC-Easy's test
    role is `test`, SST-2's `validation`): a mirror holding every split of them builds a clean demo."""
    from flanlab.tasks import catalogue
    from flanlab.tasks.sources import BUNDLED_DIR

    cat = catalogue()
    root = tmp_path / "hf"
    for f in BUNDLED_DIR.rglob("*.jsonl"):  # the bundled samples under every split name the demo may read
        rel = f.relative_to(BUNDLED_DIR)
        if not any(str(rel).startswith(p) for p in ("stanfordnlp/sst2", "allenai/ai2_arc/ARC-Easy", "aps/super_glue/rte")):
            continue
        for split in ("train", "validation", "test"):
            dst = root / rel.parent / f"{split}.jsonl"
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(f.read_text())
    cfg, info = demo_config(quick=budget == "quick", model="m", out=tmp_path / "demo", data_dir=str(root),
                            train_tasks=list(BUDGETS[budget].held_in))
    for t in info["held_in"]:
        assert cfg.mixture["split_overrides"][t]["train"] != cat.task(t).splits.test, t


def _write_eval(d: Path, task: str, preds: dict[str, list[int]], labels: list[int]) -> None:
    """An eval step's results.json as the evaluation stage writes it (per-example scores, constant flags)."""
    d.mkdir(parents=True)
    acc = {tid: [float(x == y) for x, y in zip(p, labels)] for tid, p in preds.items()}
    means = [sum(v) / len(v) for v in acc.values()]
    mean = sum(means) / len(means)
    per = [sum(v[i] for v in acc.values()) / len(acc) for i in range(len(labels))]
    templates = {tid: {"test": {"accuracy": sum(v) / len(v), "n": len(v), "constant": len(set(preds[tid])) == 1}}
                 for tid, v in acc.items()}
    (d / "results.json").write_text(json.dumps({"tasks": {task: {
        "metric": "accuracy", "cluster": "sentiment", "templates": templates, "mean": mean, "n": len(labels),
        "std": (sum((m - mean) ** 2 for m in means) / len(means)) ** 0.5, "scored_role": "test",
        "ci95": list(bootstrap_ci(per, n_boot=200)),
        "per_example": {"ids": [f"{task}:validation:{i}" for i in range(len(labels))], "score": per,
                        "metric": "accuracy"}}}}))


def _demo_dir(root: Path, n: int) -> Path:
    """A finished demo whose tuned model answers option 0 to all n held-in SST-2 examples on both templates,
    and whose untuned model answers each template's way (template means 0.5 each)."""
    labels = [i % 2 for i in range(n)]
    steps = []
    for variant, preds in (("tuned", {"01": [0] * n, "02": [0] * n}),  # one constant answer: collapsed
                           ("untuned-instructions", {"01": labels, "02": [1 - x for x in labels]})):
        d = root / "steps" / variant
        _write_eval(d, "sst2", preds, labels)
        steps.append({"id": variant, "kind": "eval", "label": f"eval {variant}", "dir": str(d),
                      "tags": {"set": "held_in", "variant": variant}})
    (root / "experiment.json").write_text(json.dumps({"steps": steps}))
    return root


def test_demo_results_flag_a_collapsed_tuned_model(tmp_path):
    n = COLLAPSE_MIN_EXAMPLES
    res = demo_results(_demo_dir(tmp_path / "a", n), n_boot=200)
    held_in = res["sets"]["held_in"]
    row = held_in["tasks"][0]
    assert row["tuned"]["constant"] == ["01", "02"] and row["untuned-instructions"]["constant"] == []
    assert row["tuned"]["mean"] == 0.5 and row["untuned-instructions"]["std"] == 0.5
    cmp = held_in["tuned_vs_untuned_instructions"]
    assert cmp["diff"] == pytest.approx(0.0) and cmp["n"] == n and cmp["ci95"][0] <= 0 <= cmp["ci95"][1]
    assert collapsed(res) == ["sst2 (2/2 templates constant)"]
    # too few examples to call one answer a collapse
    assert collapsed(demo_results(_demo_dir(tmp_path / "b", n - 1), n_boot=200)) == []


def test_demo_checks_held_in_and_held_out_examples_for_overlap_with_the_tuning_data(tmp_path):
    cfg, info = demo_config(quick=False, model="m", out=tmp_path / "demo")
    checks = {tuple(s.inputs["tasks"]): s for s in plan_experiment(cfg) if s.kind == "contamination"}
    assert set(checks) == {tuple(info["held_out"]), tuple(info["held_in"])}
    held_in = checks[tuple(info["held_in"])]
    assert held_in.inputs["max_eval_examples"] == info["held_in_limit"]  # the examples the evaluation scores
    assert checks[tuple(info["held_out"])].inputs["max_eval_examples"] == info["held_out_limit"]
    # demo_results reports each set's overlap counts next to its table
    root = _demo_dir(tmp_path / "done", COLLAPSE_MIN_EXAMPLES)
    rec = json.loads((root / "experiment.json").read_text())
    d = root / "steps" / "contam"
    d.mkdir(parents=True)
    (d / "contamination.json").write_text(json.dumps({"n": 13, "tasks": [
        {"task": "sst2", "examples": 10, "checked": 9, "too_short": 1, "contaminated": 2, "tuned_on_task": True}]}))
    rec["steps"].append({"id": "contam", "kind": "contamination", "label": "13-gram overlap", "dir": str(d)})
    (root / "experiment.json").write_text(json.dumps(rec))
    got = demo_results(root, n_boot=200)["sets"]["held_in"]["contamination"]
    assert got == {"sst2": {"examples": 10, "checked": 9, "contaminated": 2, "tuned_on_task": True}}


def test_demo_table_shows_each_models_interval_n_and_constant_cells(tmp_path):
    from rich.console import Console

    from flanlab.experiments.demo_cli import print_tables

    res = demo_results(_demo_dir(tmp_path / "a", COLLAPSE_MIN_EXAMPLES), n_boot=200)
    row = res["sets"]["held_in"]["tasks"][0]
    con = Console(record=True, width=400)
    print_tables(res, "t", con)
    text = con.export_text()
    line = next(x for x in text.splitlines() if "sst2" in x)
    for v in ("tuned", "untuned-instructions"):
        lo, hi = row[v]["ci95"]
        assert lo <= hi and f"[{100 * lo:.1f}, {100 * hi:.1f}]" in line
    assert "const 2/2" in line and f" {COLLAPSE_MIN_EXAMPLES} " in line
