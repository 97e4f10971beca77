"""The report reads stored results (results.json in the Stage 4 schema, experiment records) and draws the
paper's tables and figures; here the stored files are written by hand in that schema."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from flanlab.errors import FlanlabError
from flanlab.experiments.collect import collect
from flanlab.experiments.figures import build_figures
from flanlab.experiments.report import write_report


def results(tasks: dict[str, tuple[str, list[float]]], model="m", shots=0, mode="natural") -> dict:
    """tasks: name -> (cluster, per-template test accuracy)."""
    out = {"schema": "flanlab.eval/1", "model": model, "model_kind": "decoder", "shots": shots, "mode": mode,
           "tasks": {}, "clusters": {}}
    for name, (cluster, scores) in tasks.items():
        tmpl = {f"{i + 1:02d}": {"test": {"accuracy": s, "n": 10}, "dev": {"accuracy": s, "n": 4}}
                for i, s in enumerate(scores)}
        out["tasks"][name] = {"cluster": cluster, "metric": "accuracy", "metrics": ["accuracy"],
                              "templates": tmpl, "mean": statistics.fmean(scores),
                              "std": statistics.pstdev(scores), "best_dev_template": "01", "best_dev": scores[0]}
    for c in {c for c, _ in tasks.values()}:
        ts = [t for t, (cc, _) in tasks.items() if cc == c]
        out["clusters"][c] = {"mean": statistics.fmean(out["tasks"][t]["mean"] for t in ts), "tasks": ts}
    return out


def write_run(d: Path, res: dict) -> Path:
    d.mkdir(parents=True)
    (d / "results.json").write_text(json.dumps(res))
    return d


def write_experiment(d: Path, kind: str, entries: list[tuple[str, dict, dict]]) -> Path:
    """entries: (step kind, tags, results) -> an experiment.json plus steps/<id>/results.json."""
    steps = []
    for i, (skind, tags, res) in enumerate(entries):
        sid = f"{skind}-{i:012d}"
        write_run(d / "steps" / sid, res)
        steps.append({"id": sid, "kind": skind, "label": sid, "tags": tags, "state": "done", "wall_seconds": 1.0})
    (d / "experiment.json").write_text(json.dumps({"name": d.name, "kind": kind, "steps": steps,
                                                   "seeds": {"experiment": 0}, "config": {"name": d.name}}))
    return d


def fig(figs, name):
    return next(f for f in figs if f.name == name)


def test_bare_runs_side_by_side_with_published_numbers(tmp_path):
    base = write_run(tmp_path / "base", results({"rte": ("nli", [0.5, 0.6]), "cb": ("nli", [0.4, 0.4])}, model="base"))
    tuned = write_run(tmp_path / "tuned", results({"rte": ("nli", [0.7, 0.9]), "cb": ("nli", [0.6, 0.8])}, model="tuned"))
    paths = write_report([base, tuned], tmp_path / "report", title="side by side")
    f5 = json.loads((tmp_path / "report" / "figures" / "fig5_clusters.json").read_text())
    assert f5["x"] == ["nli"]
    assert f5["series"] == {"base (natural, 0-shot)": [pytest.approx(0.475)], "tuned (natural, 0-shot)": [pytest.approx(0.75)]}
    assert f5["reference"]["published: FLAN 137B zero-shot"] == [pytest.approx(0.562)]
    for ext in ("png", "svg"):
        assert (tmp_path / "report" / "figures" / f"fig5_clusters.{ext}").stat().st_size > 1000
    svg = (tmp_path / "report" / "figures" / "fig5_clusters.svg").read_text()
    assert "tuned (natural, 0-shot)" in svg and "published: GPT-3 175B few-shot" in svg
    md = paths["markdown"].read_text()
    assert "| nli | rte | accuracy | 55.0 ± 5.0 | 50.0 | 80.0 ± 10.0 | 70.0 |" in md
    assert "| rte | 02 | 60.0 (n=10) | 90.0 (n=10) |" in md
    page = paths["html"].read_text()
    assert page.count("<svg") == 1 and " src=" not in page and "<table>" in page


def test_number_of_clusters_and_model_scale_figures(tmp_path):
    exp = write_experiment(tmp_path / "ncl", "num_clusters", [
        ("eval", {"n_clusters": n, "series": "tuned" if n else "untuned", "variant": "tuned" if n else "base"},
         results({"rte": ("nli", [s]), "copa": ("commonsense", [s + 0.1])})) for n, s in ((0, 0.3), (1, 0.4), (2, 0.5))])
    f6 = fig(build_figures(collect([exp])), "fig6_num_clusters")
    assert f6.x == [0, 1, 2]
    assert f6.series["nli"] == pytest.approx([0.3, 0.4, 0.5])
    assert f6.series["average of held-out clusters"] == pytest.approx([0.35, 0.45, 0.55])

    exp = write_experiment(tmp_path / "scale", "model_scale", [
        ("eval", {"scale_rank": r, "params": p, "variant": v, "series": v}, results({"rte": ("nli", [s])}))
        for r, p, v, s in ((0, 1e6, "tuned", 0.4), (0, 1e6, "base", 0.5), (1, 1e8, "tuned", 0.8), (1, 1e8, "base", 0.6))])
    f7 = fig(build_figures(collect([exp])), "fig7_model_scale")
    assert f7.x == [1e6, 1e8]
    assert f7.series == {"instruction tuned": pytest.approx([0.4, 0.8]), "untuned": pytest.approx([0.5, 0.6])}


def test_instruction_few_shot_and_prompt_tuning_figures(tmp_path):
    exp = write_experiment(tmp_path / "ins", "instructions", [
        ("eval", {"finetune": ft, "series": ft, "variant": "tuned"}, results({"rte": ("nli", [s])}))
        for ft, s in (("natural", 0.7), ("no_template", 0.5))])
    f8 = fig(build_figures(collect([exp])), "fig8_instructions")
    assert f8.x == ["nli", "average"] and f8.series["natural"] == pytest.approx([0.7, 0.7])

    exp = write_experiment(tmp_path / "fs", "few_shot", [
        ("eval", {"shots": k, "variant": "tuned", "series": f"{k}-shot"}, results({"rte": ("nli", sc)}, shots=k))
        for k, sc in ((0, [0.5, 0.7]), (4, [0.7, 0.7]))])
    f9 = fig(build_figures(collect([exp])), "fig9_few_shot")
    assert f9.series == {"0-shot": pytest.approx([0.6]), "4-shot": pytest.approx([0.7])}
    assert f9.errors == {"0-shot": pytest.approx([0.1]), "4-shot": pytest.approx([0.0])}

    exp = write_experiment(tmp_path / "pt", "prompt_tuning", [
        ("prompt_tune", {"variant": v, "examples": n, "task": "rte", "series": f"{v} {n}"}, results({"rte": ("nli", [s])}))
        for v, n, s in (("base", "32", 0.5), ("tuned", "32", 0.6), ("base", "full", 0.7), ("tuned", "full", 0.9))])
    figs = build_figures(collect([exp]))
    f10 = fig(figs, "fig10_prompt_tuning")
    assert f10.x == ["32 examples", "full examples"]
    assert f10.series == {"prompt tuning on base model": pytest.approx([0.5, 0.7]),
                          "prompt tuning on tuned model": pytest.approx([0.6, 0.9])}
    assert "fig5_clusters" not in {f.name for f in figs}  # soft-prompt scores are not zero-shot results


def test_two_experiments_get_prefixed_labels(tmp_path):
    a = write_experiment(tmp_path / "a", "heldout_sweep", [("eval", {"series": "tuned", "variant": "tuned"},
                                                            results({"rte": ("nli", [0.5])}))])
    b = write_experiment(tmp_path / "b", "heldout_sweep", [("eval", {"series": "tuned", "variant": "tuned"},
                                                            results({"rte": ("nli", [0.6])}))])
    assert sorted(s.label for s in collect([a, b]).series) == ["a: tuned", "b: tuned"]


def test_missing_results_are_an_error_naming_the_path(tmp_path):
    with pytest.raises(FlanlabError, match="no results.json"):
        collect([tmp_path])
    with pytest.raises(FlanlabError, match="not found"):
        collect([tmp_path / "nope"])


def test_safetensors_params_reads_headers_in_the_evaluation_stage(tmp_path):
    from flanlab.evaluation.run import safetensors_params
    from flanlab.testing import save_tiny_model, tiny_model

    path = save_tiny_model(tmp_path / "m", "llama")
    assert safetensors_params(str(path)) == tiny_model("llama").num_parameters()
    assert safetensors_params(str(tmp_path / "nope")) is None and safetensors_params("smollm2-135m-instruct") is None


def test_model_scale_reads_parameter_counts_from_the_run_record(tmp_path):
    exp = write_experiment(tmp_path / "scale", "model_scale", [
        ("eval", {"scale_rank": 0, "model": "small", "variant": "tuned", "series": "t"},
         results({"rte": ("nli", [0.5])}, model="weights-deleted-after-the-run")),
        ("eval", {"scale_rank": 0, "model": "small", "variant": "base", "series": "b"},
         results({"rte": ("nli", [0.4])}, model="alias-without-weights"))])
    step = next((exp / "steps").iterdir())
    (step / "run.json").write_text(json.dumps({"status": "finished", "params": {"total": 12345, "trainable": 10}}))
    f7 = fig(build_figures(collect([exp])), "fig7_model_scale")
    assert f7.x == [12345] and f7.xlabel == "parameters"


def _with_stats(res: dict, per_example: dict[str, list[float]]) -> dict:
    """Add the statistics fields an evaluation writes (CONTRACTS A) to a hand-written results dict."""
    from flanlab.evaluation import stats

    for name, scores in per_example.items():
        t = res["tasks"][name]
        t["mean"] = statistics.fmean(scores)
        t["n"] = len(scores)
        t["ci95"] = list(stats.bootstrap_ci(scores))
        t["per_example"] = {"ids": [str(i) for i in range(len(scores))], "score": scores, "metric": "accuracy"}
        t["scored_role"] = "test"
        for tid, roles in t["templates"].items():
            roles["test"]["constant"] = len(set(scores)) == 1
    for c in res["clusters"].values():
        c["mean"] = statistics.fmean(res["tasks"][t]["mean"] for t in c["tasks"])
        c["ci95"] = [c["mean"] - 0.05, c["mean"] + 0.05]
        c["n"] = sum(res["tasks"][t]["n"] for t in c["tasks"])
    return res


def test_report_states_intervals_sample_sizes_paired_tests_and_noise_in_words(tmp_path):
    """Issue 12: every score with its interval and n; base vs tuned paired on the same examples, with the
    differences within noise named as such; constant-output cells flagged with their share per model."""
    base_rte, tuned_rte = [1.0] * 30 + [0.0] * 70, [1.0] * 80 + [0.0] * 20          # a large gain
    base_cb, tuned_cb = [1.0] * 50 + [0.0] * 50, [1.0] * 49 + [0.0] * 49 + [1.0, 0.0]  # the same answers
    base = _with_stats(results({"rte": ("nli", [0.3]), "cb": ("nli", [0.5])}),
                       {"rte": base_rte, "cb": base_cb})
    base["tasks"]["cb"]["templates"]["01"]["test"]["constant"] = True
    tuned = _with_stats(results({"rte": ("nli", [0.8]), "cb": ("nli", [0.5])}),
                        {"rte": tuned_rte, "cb": tuned_cb})
    d = write_experiment(tmp_path / "exp", "heldout_sweep",
                         [("eval", {"variant": "base", "series": "base", "model": "m", "shots": 0, "clusters": ["nli"]}, base),
                          ("eval", {"variant": "tuned", "series": "tuned", "model": "m", "shots": 0, "clusters": ["nli"]}, tuned)])
    paths = write_report([d], tmp_path / "report")
    md = paths["markdown"].read_text()
    assert "## Paired comparison:" in md
    assert "is within noise (95% interval includes 0) on cb (" in md
    assert "is better than" in md and "beyond noise on rte (+50.0 points" in md
    assert "McNemar (exact)" in md and "n=100" in md
    lo, hi = tuned["tasks"]["rte"]["ci95"]
    assert f"80.0 ± 0.0 [{100 * lo:.1f}, {100 * hi:.1f}] n=100" in md
    assert "⚠ 1/1 constant" in md and "| 1 | 2 | 50% | cb/01 |" in md  # base: 1 of its 2 cells constant
    f5 = json.loads((tmp_path / "report" / "figures" / "fig5_clusters.json").read_text())
    assert f5["intervals"]["tuned"] == [tuned["clusters"]["nli"]["ci95"]] and "95% bootstrap" in f5["note"]
    assert "within noise" in paths["html"].read_text()


def test_report_reads_only_the_directories_it_is_given(tmp_path):
    write_run(tmp_path / "holder" / "unrelated", results({"rte": ("nli", [0.5])}))
    with pytest.raises(FlanlabError, match="pass them by name"):
        collect([tmp_path / "holder"])
    (tmp_path / "README.md").write_text("# not a run")
    with pytest.raises(FlanlabError, match="is a file"):
        collect([tmp_path / "README.md"])


def test_section3_report_compares_tuned_with_the_untuned_gpt3_style_baseline(tmp_path):
    """Section 3: the report's comparison is tuned (instructions) vs untuned (GPT-3-style prompts), with the
    untuned model with instructions as an extra column; old records ("base") are read by their mode."""
    from flanlab.experiments.report import gain_table

    exp = write_experiment(tmp_path / "sweep", "heldout_sweep", [
        ("eval", {"variant": "tuned", "model": "m", "shots": 0, "series": "tuned"},
         results({"rte": ("nli", [0.8, 0.6])})),
        ("eval", {"variant": "untuned-instructions", "model": "m", "shots": 0, "mode": "natural", "series": "ui"},
         results({"rte": ("nli", [0.3, 0.5])})),
        ("eval", {"variant": "untuned-baseline", "model": "m", "shots": 0, "mode": "baseline", "series": "ub"},
         results({"rte": ("nli", [0.55])}, mode="baseline")),
        ("eval", {"variant": "untuned-baseline", "model": "m", "shots": 1, "mode": "baseline", "series": "ub1"},
         results({"rte": ("nli", [0.9])}, mode="baseline", shots=1))])
    head, rows = gain_table(collect([exp]))
    assert rows == [["sweep", "m", "nli", "rte", "70.0", "55.0", "+15.0", "40.0"]]
    assert head[4:8] == ["tuned (instructions)", "untuned (GPT-3-style prompt)", "gain", "untuned (instructions)"]
    md = write_report([exp], tmp_path / "report")["markdown"].read_text()
    assert "untuned = GPT-3-style prompts" in md and "| sweep | m | nli | rte | 70.0 | 55.0 | +15.0 | 40.0 |" in md

    old = write_experiment(tmp_path / "old", "heldout_sweep", [
        ("eval", {"variant": "tuned", "model": "m", "shots": 0}, results({"rte": ("nli", [0.7])})),
        ("eval", {"variant": "base", "model": "m", "shots": 0, "mode": "natural"}, results({"rte": ("nli", [0.2])})),
        ("eval", {"variant": "base", "model": "m", "shots": 0, "mode": "baseline"}, results({"rte": ("nli", [0.4])}))])
    assert gain_table(collect([old]))[1] == [["old", "m", "nli", "rte", "70.0", "40.0", "+30.0", "20.0"]]
