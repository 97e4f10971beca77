"""Statistics of evaluation results (issue 12): bootstrap intervals against closed forms, the paired tests
on constructed pairs, constant-output detection, and the results.json fields an evaluation writes."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from flanlab.evaluation import stats
from flanlab.evaluation.metrics import Item, compute

sys.path.insert(0, str(Path(__file__).parent))
from test_eval_runner import toy  # noqa: E402,F401  (fixture)


# -- bootstrap intervals ----------------------------------------------------------------------------

def test_bootstrap_ci_of_a_constant_sample_is_that_constant():
    assert stats.bootstrap_ci([0.7] * 25) == (pytest.approx(0.7), pytest.approx(0.7))


@pytest.mark.parametrize("p", [0.3, 0.5, 0.9])
def test_bootstrap_ci_of_a_bernoulli_mean_matches_the_normal_approximation(p):
    n = 2000
    k = round(p * n)
    values = [1.0] * k + [0.0] * (n - k)
    lo, hi = stats.bootstrap_ci(values, n_boot=4000, seed=1)
    half = 1.959964 * math.sqrt(p * (1 - p) / n)  # Wald interval; at n=2000 the bootstrap agrees closely
    assert lo == pytest.approx(p - half, abs=0.004) and hi == pytest.approx(p + half, abs=0.004)


def test_bootstrap_is_seeded_and_independent_of_chunking():
    v = np.random.default_rng(3).random(300)
    a = stats.bootstrap_ci(v, seed=5)
    assert stats.bootstrap_ci(v, seed=5) == a and stats.bootstrap_ci(v, seed=6) != a
    whole = np.concatenate(list(stats.weight_chunks(300, 100, 5)))
    small = np.concatenate(list(stats.weight_chunks(300, 100, 5, max_cells=300 * 7)))
    assert whole.shape == small.shape == (100, 300) and (whole.sum(1) == 300).all()


def test_recomputed_metrics_equal_the_corpus_metric_at_unit_weights():
    """The interval of F1/MCC/Pearson/BLEU is of the metric itself: with every example drawn once, the
    resampling form gives exactly metrics.compute."""
    rng = np.random.default_rng(0)
    pred, label = rng.integers(0, 3, 60).tolist(), rng.integers(0, 3, 60).tolist()
    items = [Item(str(p), (str(g),), p, g) for p, g in zip(pred, label)]
    ones = np.ones((1, 60))
    for metric in ("mcc", "f1_macro", "f1_binary", "accuracy"):
        col = {"metric": metric, "pred": pred, "label": label, "ids": list(map(str, range(60))),
               "score": [float(p == g) for p, g in zip(pred, label)]}
        assert stats.weighted_metric(col, ones)[0] == pytest.approx(compute(metric, items)), metric
    x, y = rng.random(40), rng.random(40)
    items = [Item(f"{a}", (f"{b}",)) for a, b in zip(x, y)]
    col = {"metric": "pearson", "x": x.tolist(), "y": y.tolist(), "ids": list(map(str, range(40)))}
    assert stats.weighted_metric(col, np.ones((1, 40)))[0] == pytest.approx(compute("pearson", items))
    hyps, refs = ["the cat sat on the mat", "a dog runs in the park", "hello world"], ["the cat is on the mat",
                                                                                        "a dog runs in a park", "hello there world"]
    records = [{"example_id": i, "prediction": h, "references": [r], "scores": {"bleu": 0.0}}
               for i, (h, r) in enumerate(zip(hyps, refs))]
    col = stats.cell_columns("bleu", records)
    assert col["score_metric"] == "sentence_bleu"
    bleu = compute("bleu", [Item(h, (r,)) for h, r in zip(hyps, refs)])
    assert stats.weighted_metric(col, np.ones((1, 3)))[0] == pytest.approx(bleu)


def test_task_interval_brackets_the_template_mean_and_shrinks_with_n():
    def cols(n, seed):
        rng = np.random.default_rng(seed)
        return [{"metric": "accuracy", "ids": [str(i) for i in range(n)], "pred": [0] * n,
                 "score": (rng.random(n) < q).astype(float).tolist(), "score_metric": "accuracy"}
                for q in (0.4, 0.6, 0.8)]

    small, large = cols(40, 0), cols(640, 0)
    for c in (small, large):
        mean = np.mean([np.mean(x["score"]) for x in c])
        _, reps = stats.task_replicates(c, seed=1)
        lo, hi = stats.summary_ci(reps)
        assert lo < mean < hi
    width = lambda c: np.subtract(*stats.summary_ci(stats.task_replicates(c, seed=1)[1])[::-1])  # noqa: E731
    assert width(large) < width(small) / 3  # ~ 1/sqrt(n): 4x narrower for 16x the examples


# -- paired tests -----------------------------------------------------------------------------------

def test_mcnemar_exact_equals_the_binomial_closed_form():
    # 2 examples only base gets right, 9 only tuned gets right, 30 both, 5 neither
    a = [1] * 2 + [0] * 9 + [1] * 30 + [0] * 5
    b = [0] * 2 + [1] * 9 + [1] * 30 + [0] * 5
    closed = 2 * sum(math.comb(11, k) for k in range(0, 3)) / 2 ** 11
    assert stats.mcnemar(a, b) == pytest.approx(closed)
    assert stats.mcnemar(b, a) == pytest.approx(closed)  # symmetric
    assert stats.mcnemar([1, 0, 1], [1, 0, 1]) == 1.0  # no discordant pair: no evidence
    assert stats.mcnemar([1] * 5 + [0] * 5, [0] * 5 + [1] * 5) == 1.0  # balanced discordance


def test_paired_bootstrap_on_a_constructed_pair():
    rng = np.random.default_rng(0)
    a = rng.random(200)
    shifted = stats.paired_bootstrap(a, a + 0.1)
    assert shifted["diff"] == pytest.approx(0.1) and shifted["n"] == 200
    assert shifted["ci95"] == [pytest.approx(0.1), pytest.approx(0.1)] and shifted["p"] < 0.01
    same = stats.paired_bootstrap(a, a)
    assert same["diff"] == 0 and same["p"] == 1.0
    # under the null (zero-mean differences) p < 0.05 about 5% of the time, and the interval holds 0 then
    ps = [stats.paired_bootstrap(x, x + r.normal(0, 0.3, 100), n_boot=500)
          for r in (np.random.default_rng(100 + s) for s in range(200)) for x in [r.random(100)]]
    rejected = np.mean([c["p"] < 0.05 for c in ps])
    assert 0.01 <= rejected <= 0.10
    assert all((c["ci95"][0] <= 0 <= c["ci95"][1]) == (c["p"] >= 0.05) for c in ps if abs(c["p"] - 0.05) > 0.02)
    with pytest.raises(ValueError, match="same examples"):
        stats.paired_bootstrap([1, 2], [1, 2, 3])


def _res(task_scores: dict[str, tuple[str, list[float]]]) -> dict:
    """results.json-like dict with per-example scores (one template per task)."""
    tasks = {}
    for name, (cluster, s) in task_scores.items():
        tasks[name] = {"cluster": cluster, "metric": "accuracy", "mean": float(np.mean(s)),
                       "per_example": {"ids": [str(i) for i in range(len(s))], "score": s, "metric": "accuracy"}}
    return {"tasks": tasks}


def test_compare_results_per_task_and_cluster_with_words_for_noise():
    rng = np.random.default_rng(0)
    base_a = (rng.random(300) < 0.5).astype(float)
    tuned_a = np.where(rng.random(300) < 0.35, 1.0, base_a)  # flips ~35% of examples to right: a real gain
    base_b = (rng.random(300) < 0.5).astype(float)
    tuned_b = base_b.copy()
    tuned_b[:4] = 1 - tuned_b[:4]  # 4 examples changed: noise
    base = _res({"held_in": ("x", base_a.tolist()), "held_out": ("nli", base_b.tolist())})
    tuned = _res({"held_in": ("x", tuned_a.tolist()), "held_out": ("nli", tuned_b.tolist())})
    cmp = stats.compare_results(base, tuned)
    hi, ho = cmp["tasks"]["held_in"], cmp["tasks"]["held_out"]
    assert hi["test"] == "McNemar (exact)" and hi["p"] < 0.001 and hi["verdict"] == "tuned better"
    assert hi["diff"] == pytest.approx(tuned_a.mean() - base_a.mean()) and hi["n"] == 300
    assert ho["within_noise"] and ho["ci95"][0] <= 0 <= ho["ci95"][1]
    assert set(cmp["clusters"]) == {"x", "nli"} and cmp["clusters"]["nli"]["within_noise"]
    g = stats.compare_group(base, tuned, ["held_in"])
    assert g["diff"] == pytest.approx(hi["diff"]) and g["ci95"][0] > 0
    words = " ".join(stats.noise_sentences(cmp, "base", "tuned"))
    assert "within noise (95% interval includes 0) on held_out" in words
    assert "tuned is better than base beyond noise on held_in" in words


def test_compare_pairs_examples_by_id_not_position():
    base = _res({"t": ("c", [0.0, 1.0, 0.0])})
    tuned = _res({"t": ("c", [1.0, 0.0, 1.0])})
    tuned["tasks"]["t"]["per_example"]["ids"] = ["2", "1", "0"]  # same scores as base, other order
    tuned["tasks"]["t"]["per_example"]["score"] = [0.0, 1.0, 0.0]
    assert stats.compare_results(base, tuned)["tasks"]["t"]["diff"] == 0


# -- degenerate outputs -----------------------------------------------------------------------------

def test_constant_predictions_are_detected():
    assert stats.is_constant([1, 1, 1]) and not stats.is_constant([1, 0, 1])
    assert stats.is_constant(["Yes.", " yes. ", "YES."])  # one generation up to case and spacing
    assert not stats.is_constant([2])  # a single example says nothing
    assert not stats.is_constant([])


def test_constant_cells_share_and_collapse_check():
    def task(flags, role="test"):
        return {"scored_role": role, "templates": {f"{i:02d}": {role: {"accuracy": 0.5, "n": 9, "constant": f},
                                                                "dev": {"n": 2, "constant": True}}
                                                   for i, f in enumerate(flags, 1)}}

    res = {"tasks": {"sst2": task([True, True, True]), "boolq": task([True, False, False]), "rte": task([False])}}
    assert stats.constant_cells(res) == [("sst2", "01"), ("sst2", "02"), ("sst2", "03"), ("boolq", "01")]
    assert stats.degenerate_summary(res) == {"cells": 4, "total": 7, "share": pytest.approx(4 / 7)}
    assert stats.check_collapse(res, ["sst2", "boolq", "rte"]) == ["sst2 (3/3 templates constant)"]
    assert stats.check_collapse(res, ["sst2", "boolq"], min_share=0) == [
        "boolq (1/3 templates constant)", "sst2 (3/3 templates constant)"]
    assert stats.check_collapse(res, ["rte"]) == []


# -- the fields evaluation writes into results.json -------------------------------------------------

def test_results_json_carries_intervals_sizes_per_example_scores_and_degeneracy(toy):  # noqa: F811
    from flanlab.evaluation.config import EvalConfig
    from flanlab.testing import FakeLM
    from flanlab.evaluation.runner import evaluate

    cat, base, _ = toy
    res = evaluate(EvalConfig(tasks=["toy_nli", "toy_qa"], **base), lm=FakeLM(answers={"plus one": "7"}),
                   cat=cat, show_progress=False)
    nli, qa = res["tasks"]["toy_nli"], res["tasks"]["toy_qa"]
    assert nli["n"] == 30 and len(nli["per_example"]["ids"]) == 30 and nli["per_example"]["metric"] == "accuracy"
    lo, hi = nli["ci95"]
    assert lo <= nli["mean"] <= hi and 0 <= lo < hi <= 1
    # per-example scores average over templates to the task mean (same examples in every template)
    assert np.mean(nli["per_example"]["score"]) == pytest.approx(nli["mean"])
    for tid, roles in nli["templates"].items():
        t = roles["test"]
        assert t["ci95"][0] <= t["accuracy"] <= t["ci95"][1] and t["constant"] is False
        assert "constant" in roles["dev"] and "ci95" in roles["dev"]
    # the generative task answers "7" to everything: every cell is constant and scored 1/30 or less
    assert all(r["test"]["constant"] for r in qa["templates"].values())
    assert res["degenerate"] == {"cells": 2, "total": 5, "share": pytest.approx(0.4)}
    assert stats.constant_cells(res) == [("toy_qa", "01"), ("toy_qa", "02")]
    c = res["clusters"]["nli"]
    assert c["n"] == 30 and c["ci95"] == nli["ci95"]  # one task: the cluster interval is the task's
    assert res["stats"]["n_boot"] == stats.N_BOOT
    # seeded: the same evaluation from the cell cache gives the same intervals
    again = evaluate(EvalConfig(tasks=["toy_nli", "toy_qa"], **base), lm=FakeLM(answers={"plus one": "7"}),
                     cat=cat, show_progress=False)
    assert again["cells"]["cached"] == 10 and again["tasks"] == res["tasks"]
