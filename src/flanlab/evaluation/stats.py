"""Statistics for evaluation results: bootstrap intervals over examples, paired base-vs-tuned tests,
and degenerate (constant-output) cell detection.

    lo, hi = bootstrap_ci([1, 0, 1, 1])                       # 95% percentile CI of the mean, seeded
    paired_bootstrap(base_scores, tuned_scores)               # {"diff", "ci95", "p", "n"}: tuned - base
    mcnemar(base_correct, tuned_correct)                      # exact two-sided p-value
    compare_results(base_results, tuned_results)              # per task and cluster, from results.json alone
    constant_cells(results)                                   # [(task, template), ...] answering one constant
    check_collapse(results, ["sst2", "boolq"])                # tasks where the model has collapsed

Every interval is a percentile bootstrap over the examples of the scored split (2000 resamples, seed 0 by
default; the seed of a task or cell is derived from the seed and its name, so results do not depend on
evaluation order). A task's interval is that of its score, the mean over templates: one resample of the
examples is shared by all templates, and the task's metric is recomputed on it (accuracy, F1, MCC,
Pearson and corpus BLEU are recomputed from resampled counts and sufficient statistics, not averaged
per example). A cluster's interval resamples each task's examples independently (stratified bootstrap) and
averages the task scores, as the cluster score does. See docs/statistics.md.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

N_BOOT = 2000
SEED = 0
LEVEL = 0.95
ALPHA = 0.05  # a paired difference with p >= ALPHA (its 95% interval holds 0) is "within noise"

# metrics whose score is the mean of a per-example score (the per-example form in metrics.EXAMPLE)
MEAN_METRICS = {"accuracy", "exact_match_rank", "exact_match", "squad_f1", "rouge1", "rouge2", "rougeL",
                "rougeLsum"}
COUNT_METRICS = {"f1_binary", "multirc_f1a", "f1_macro", "mcc"}  # recomputed from resampled confusion counts
CORR_METRICS = {"pearson", "spearman"}


# -- seeds and resampling ---------------------------------------------------------------------------

def derive_seed(seed: int, *names: str) -> np.random.SeedSequence:
    """A seed for one task/cell, stable across processes and evaluation order (crc32 of the names)."""
    return np.random.SeedSequence([int(seed)] + [zlib.crc32(str(n).encode()) for n in names])


def _rng(seed: int | np.random.SeedSequence) -> np.random.Generator:
    return np.random.default_rng(seed)


def weight_chunks(n: int, n_boot: int = N_BOOT, seed: int | np.random.SeedSequence = SEED,
                  max_cells: int = 4_000_000) -> Iterator[np.ndarray]:
    """Bootstrap resamples of n examples as count matrices (rows: resamples, columns: how often each example
    is drawn), in chunks that keep memory bounded. Row r of the stream is the same for a given seed."""
    rng = _rng(seed)
    rows = max(1, max_cells // max(1, n))
    done = 0
    while done < n_boot:
        k = min(rows, n_boot - done)
        idx = rng.integers(0, n, size=(k, n))
        flat = (np.arange(k)[:, None] * n + idx).ravel()
        yield np.bincount(flat, minlength=k * n).reshape(k, n).astype(np.float64)
        done += k


def percentile_ci(replicates: Sequence[float] | np.ndarray, level: float = LEVEL) -> tuple[float, float] | None:
    reps = np.asarray(replicates, dtype=float)
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return None
    a = (1 - level) / 2
    lo, hi = np.quantile(reps, [a, 1 - a])
    return float(lo), float(hi)


def bootstrap_ci(values: Sequence[float], *, n_boot: int = N_BOOT, seed: int = SEED,
                 level: float = LEVEL) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean of `values` (resampling the values)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("bootstrap_ci: no values")
    reps = np.concatenate([w @ v / v.size for w in weight_chunks(v.size, n_boot, seed)])
    ci = percentile_ci(reps, level)
    assert ci is not None
    return ci


# -- paired tests -----------------------------------------------------------------------------------

def _centered_p(diff: float, reps: np.ndarray) -> float:
    """Two-sided bootstrap p-value of `diff` against 0: how often the resampled difference, centred on the
    observed one, is at least as far from 0 as the observed difference (the null made true by shifting)."""
    reps = reps[np.isfinite(reps)]
    if reps.size == 0:
        return 1.0
    extreme = np.sum(np.abs(reps - diff) >= abs(diff) - 1e-12)
    return float(min(1.0, (1 + extreme) / (1 + reps.size)))


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, n_boot: int = N_BOOT,
                     seed: int | np.random.SeedSequence = SEED) -> dict[str, Any]:
    """b - a on the same examples: the mean difference, its 95% percentile CI, a two-sided p-value, n."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired_bootstrap: {x.size} vs {y.size} values; a paired test needs the same examples")
    if x.size == 0:
        raise ValueError("paired_bootstrap: no examples")
    d = y - x
    diff = float(d.mean())
    reps = np.concatenate([w @ d / d.size for w in weight_chunks(d.size, n_boot, seed)])
    return {"diff": diff, "ci95": list(percentile_ci(reps) or (diff, diff)), "p": _centered_p(diff, reps),
            "n": int(d.size)}


def mcnemar(a_correct: Sequence[bool | float], b_correct: Sequence[bool | float]) -> float:
    """Exact (binomial) two-sided McNemar p-value for two classifiers scored on the same examples."""
    if len(a_correct) != len(b_correct):
        raise ValueError(f"mcnemar: {len(a_correct)} vs {len(b_correct)} examples")
    only_a = sum(1 for x, y in zip(a_correct, b_correct) if bool(x) and not bool(y))
    only_b = sum(1 for x, y in zip(a_correct, b_correct) if bool(y) and not bool(x))
    m = only_a + only_b
    if m == 0:
        return 1.0
    from scipy.stats import binom

    return float(min(1.0, 2 * binom.cdf(min(only_a, only_b), m, 0.5)))


# -- degenerate outputs -----------------------------------------------------------------------------

def _norm_pred(p: Any) -> Any:
    return " ".join(p.split()).lower() if isinstance(p, str) else p


def is_constant(predictions: Iterable[Any], min_n: int = 2) -> bool:
    """One prediction (the same option, or the same generated text up to case and spacing) for every example;
    fewer than `min_n` examples are never called constant."""
    preds = [_norm_pred(p) for p in predictions]
    return len(preds) >= min_n and len(set(preds)) == 1


def _scored_entries(results: dict) -> Iterator[tuple[str, str, dict]]:
    for task, t in (results.get("tasks") or {}).items():
        role = t.get("scored_role", "test")
        for tid, roles in (t.get("templates") or {}).items():
            if role in roles:
                yield task, tid, roles[role]


def constant_cells(results: dict) -> list[tuple[str, str]]:
    """(task, template) of every scored-role cell of a results.json whose predictions are one constant."""
    return [(task, tid) for task, tid, e in _scored_entries(results) if e.get("constant")]


def degenerate_summary(results: dict) -> dict[str, Any]:
    """{"cells": constant cells, "total": scored cells with a verdict, "share": cells / total}."""
    judged = [e for _, _, e in _scored_entries(results) if "constant" in e]
    k = sum(1 for e in judged if e["constant"])
    return {"cells": k, "total": len(judged), "share": (k / len(judged)) if judged else None}


def check_collapse(results: dict, tasks: Iterable[str], *, min_share: float = 0.5) -> list[str]:
    """The tasks among `tasks` on which the model has collapsed: at least one scored cell, and at least
    `min_share` of them, give one constant prediction for every example (min_share=0: any constant cell).
    Each entry reads "task (k/m templates constant)"; empty when nothing collapsed."""
    want = set(tasks)
    per: dict[str, list[bool]] = {}
    for task, _, e in _scored_entries(results):
        if task in want and "constant" in e:
            per.setdefault(task, []).append(bool(e["constant"]))
    out = []
    for task in sorted(per):
        flags = per[task]
        k = sum(flags)
        if k and k / len(flags) >= min_share:
            out.append(f"{task} ({k}/{len(flags)} templates constant)")
    return out


# -- per-example columns of a cell (from its records) -----------------------------------------------

def _float(s: Any) -> float:
    try:
        return float(str(s).strip())
    except ValueError:
        return 0.0  # as metrics._floats: a prediction that is no number cannot be right


def cell_columns(metric: str, records: list[dict], lang: str | None = None) -> dict[str, Any]:
    """What the statistics need of one cell, from its per-example records: example ids, the per-example
    score (`score`, in the units of `score_metric`) and the sufficient statistics of the task's primary
    `metric` (confusion columns, numbers for correlations, BLEU n-gram counts)."""
    ids, seen = [], {}
    for r in records:
        eid = str(r.get("example_id"))
        k = seen.get(eid, 0)
        seen[eid] = k + 1
        ids.append(eid if k == 0 else f"{eid}#{k}")
    classification = bool(records) and "pred_index" in records[0]
    col: dict[str, Any] = {"ids": ids, "metric": metric,
                           "pred": [r["pred_index"] if classification else r.get("prediction", "") for r in records]}
    if classification:
        col["label"] = [r.get("label") for r in records]
    per = [(r.get("scores") or {}).get(metric) for r in records]
    if all(s is not None for s in per) and records:
        col["score"], col["score_metric"] = [float(s) for s in per], metric
    elif classification and all(lb is not None for lb in col["label"]):
        col["score"] = [float(p == lb) for p, lb in zip(col["pred"], col["label"])]
        col["score_metric"] = "accuracy"
    else:
        col["score"], col["score_metric"] = [], None
    if metric == "bleu" and records:
        col["score_metric"] = "sentence_bleu"
        col["bleu_stats"] = _bleu_stats(records, lang)
    if metric in CORR_METRICS:
        col["x"] = [_float(r.get("prediction", "")) for r in records]
        col["y"] = [_float((r.get("references") or [r.get("target")])[0]) for r in records]
    return col


def _bleu_stats(records: list[dict], lang: str | None) -> list[list[float]]:
    from sacrebleu.metrics import BLEU

    from .metrics import bleu_tokenizer

    refs = [r.get("references") or [r.get("target")] for r in records]
    n_refs = max(len(x) for x in refs)
    streams = [[x[k] if k < len(x) else None for x in refs] for k in range(n_refs)]
    return BLEU(tokenize=bleu_tokenizer(lang))._extract_corpus_statistics(
        [r.get("prediction", "") for r in records], streams)


# -- weighted metric recomputation ------------------------------------------------------------------

def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


def _f1(w: np.ndarray, pred: np.ndarray, label: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
    tp = w @ ((pred == c) & (label == c))
    fp = w @ ((pred == c) & (label != c))
    fn = w @ ((pred != c) & (label == c))
    return _safe_div(2 * tp, 2 * tp + fp + fn), (tp + fp + fn) > 0


def weighted_metric(col: dict[str, Any], w: np.ndarray) -> np.ndarray:
    """The cell's primary metric under example weights `w` (rows: resamples). With all weights 1 this is the
    cell's score (metrics.compute); for metrics with no resampling form, the mean per-example score."""
    metric = col["metric"]
    total = w.sum(1)
    if metric in COUNT_METRICS and "label" in col and all(x is not None for x in col["label"]):
        pred, label = np.asarray(col["pred"]), np.asarray(col["label"])
        if metric in ("f1_binary", "multirc_f1a"):
            return _f1(w, pred, label, 1)[0]
        classes = sorted(set(pred.tolist()) | set(label.tolist()))
        if metric == "f1_macro":
            f1s, present = zip(*(_f1(w, pred, label, c) for c in classes))
            return _safe_div(np.sum(np.where(present, f1s, 0), 0), np.sum(present, 0).astype(float))
        correct = w @ (pred == label)  # mcc, multi-class form (metrics.mcc)
        pc = np.stack([w @ (pred == c) for c in classes])
        tc = np.stack([w @ (label == c) for c in classes])
        cov = correct * total - np.sum(pc * tc, 0)
        den = np.sqrt((total ** 2 - np.sum(pc ** 2, 0)) * (total ** 2 - np.sum(tc ** 2, 0)))
        return _safe_div(cov, den)
    if metric in CORR_METRICS and "x" in col:
        x, y = np.asarray(col["x"], float), np.asarray(col["y"], float)
        if metric == "spearman":  # ranks of the full sample (an approximation under resampling)
            from scipy.stats import rankdata

            x, y = rankdata(x), rankdata(y)
        mx, my = _safe_div(w @ x, total), _safe_div(w @ y, total)
        sxy = _safe_div(w @ (x * y), total) - mx * my
        sxx = _safe_div(w @ (x * x), total) - mx * mx
        syy = _safe_div(w @ (y * y), total) - my * my
        return _safe_div(sxy, np.sqrt(np.clip(sxx, 0, None) * np.clip(syy, 0, None)))
    if metric == "bleu" and col.get("bleu_stats"):
        from sacrebleu.metrics import BLEU

        sums = w @ np.asarray(col["bleu_stats"], float)
        bleu = BLEU()
        return np.array([bleu._compute_score_from_stats(list(s)).score / 100.0 for s in sums])
    if not col.get("score"):
        return np.full(w.shape[0], np.nan)
    return _safe_div(w @ np.asarray(col["score"], float), total)


def cell_ci(col: dict[str, Any], *, n_boot: int = N_BOOT, seed: int | np.random.SeedSequence = SEED,
            level: float = LEVEL) -> tuple[float, float] | None:
    n = len(col["ids"])
    if n == 0:
        return None
    reps = np.concatenate([weighted_metric(col, w) for w in weight_chunks(n, n_boot, seed)])
    return percentile_ci(reps, level)


def role_replicates(cols: list[dict[str, Any]], *, n_boot: int = N_BOOT,
                    seed: int | np.random.SeedSequence = SEED) -> tuple[list[str], list[np.ndarray], np.ndarray]:
    """One pass of n_boot resamples of the union of the templates' examples, shared by every template:
    (the union of example ids, each template's metric on each resample, the task score - the mean over
    templates - on each resample)."""
    ids = list(dict.fromkeys(i for c in cols for i in c["ids"]))
    if not ids:
        return ids, [np.full(n_boot, np.nan) for _ in cols], np.full(n_boot, np.nan)
    pos = {i: k for k, i in enumerate(ids)}
    where = [np.array([pos[i] for i in c["ids"]], dtype=int) for c in cols]
    whole = [len(ix) == len(ids) and bool((ix == np.arange(len(ids))).all()) for ix in where]
    per: list[list[np.ndarray]] = [[] for _ in cols]
    task = []
    for w in weight_chunks(len(ids), n_boot, seed):
        reps = [weighted_metric(c, w if full else w[:, ix]) for c, ix, full in zip(cols, where, whole)]
        for acc, r in zip(per, reps):
            acc.append(r)
        with np.errstate(invalid="ignore"):
            task.append(np.nanmean(np.stack(reps), 0) if len(cols) > 1 else reps[0])
    return ids, [np.concatenate(r) for r in per], np.concatenate(task)


def task_replicates(cols: list[dict[str, Any]], *, n_boot: int = N_BOOT,
                    seed: int | np.random.SeedSequence = SEED) -> tuple[list[str], np.ndarray]:
    """(the union of example ids, the task score - mean over templates - on n_boot shared resamples)."""
    ids, _, task = role_replicates(cols, n_boot=n_boot, seed=seed)
    return ids, task


def per_example_mean(cols: list[dict[str, Any]]) -> dict[str, Any]:
    """{"ids", "score", "metric"}: each example's per-example score averaged over the templates scoring it."""
    cols = [c for c in cols if c.get("score")]
    sums: dict[str, list[float]] = {}
    for c in cols:
        for i, s in zip(c["ids"], c["score"]):
            sums.setdefault(i, []).append(s)
    metrics = {c["score_metric"] for c in cols}
    return {"ids": list(sums), "score": [sum(v) / len(v) for v in sums.values()],
            "metric": metrics.pop() if len(metrics) == 1 else None}


def summary_ci(reps: np.ndarray | list[np.ndarray], level: float = LEVEL) -> list[float] | None:
    if isinstance(reps, list):
        if not reps:
            return None
        with np.errstate(invalid="ignore"):
            reps = np.nanmean(np.stack(reps), 0)
    ci = percentile_ci(reps, level)
    return None if ci is None else [ci[0], ci[1]]


# -- base vs tuned, from results.json alone ---------------------------------------------------------

def _aligned(base_task: dict, tuned_task: dict) -> tuple[np.ndarray, np.ndarray] | None:
    pb, pt = base_task.get("per_example") or {}, tuned_task.get("per_example") or {}
    if not pb.get("ids") or not pt.get("ids"):
        return None
    tmap = dict(zip(pt["ids"], pt["score"]))
    pairs = [(s, tmap[i]) for i, s in zip(pb["ids"], pb["score"]) if i in tmap]
    if not pairs:
        return None
    a, b = zip(*pairs)
    return np.asarray(a, float), np.asarray(b, float)


def _verdict(p: float, diff: float, alpha: float) -> str:
    if p >= alpha:
        return "within noise"
    return "tuned better" if diff > 0 else "tuned worse"


def compare_task(base_task: dict, tuned_task: dict, name: str, *, n_boot: int = N_BOOT, seed: int = SEED,
                 alpha: float = ALPHA) -> dict[str, Any] | None:
    pair = _aligned(base_task, tuned_task)
    if pair is None:
        return None
    a, b = pair
    out = paired_bootstrap(a, b, n_boot=n_boot, seed=derive_seed(seed, "paired", name))
    out["test"] = "paired bootstrap"
    metric = (tuned_task.get("per_example") or {}).get("metric")
    binary = np.isin(a, (0.0, 1.0)).all() and np.isin(b, (0.0, 1.0)).all()
    if metric in ("accuracy", "exact_match_rank") and binary:  # one template: McNemar's exact test
        out["p_bootstrap"] = out["p"]
        out["p"] = mcnemar(a.astype(bool), b.astype(bool))
        out["test"] = "McNemar (exact)"
    out.update(metric=metric, within_noise=bool(out["p"] >= alpha), verdict=_verdict(out["p"], out["diff"], alpha))
    return out


def compare_group(base: dict, tuned: dict, tasks: Iterable[str], name: str = "", *, n_boot: int = N_BOOT,
                  seed: int = SEED, alpha: float = ALPHA) -> dict[str, Any] | None:
    """Mean over `tasks` of the per-task paired difference (tuned - base), stratified paired bootstrap."""
    diffs, reps, n, used = [], [], 0, []
    for t in tasks:
        pair = _aligned((base.get("tasks") or {}).get(t) or {}, (tuned.get("tasks") or {}).get(t) or {})
        if pair is None:
            continue
        a, b = pair
        d = b - a
        diffs.append(float(d.mean()))
        reps.append(np.concatenate([w @ d / d.size for w in weight_chunks(d.size, n_boot,
                                                                           derive_seed(seed, "paired", t))]))
        n += d.size
        used.append(t)
    if not diffs:
        return None
    diff = float(np.mean(diffs))
    rep = np.mean(np.stack(reps), 0)
    p = _centered_p(diff, rep)
    return {"diff": diff, "ci95": summary_ci(rep), "p": p, "n": n, "tasks": used, "test": "paired bootstrap",
            "within_noise": bool(p >= alpha), "verdict": _verdict(p, diff, alpha), "name": name}


def compare_results(base: dict, tuned: dict, *, n_boot: int = N_BOOT, seed: int = SEED,
                    alpha: float = ALPHA) -> dict[str, Any]:
    """Paired comparison of two results.json on the same examples, per task and per cluster (tuned - base).

    Each entry: diff, ci95, p, n, within_noise (p >= alpha: the 95% interval holds 0), test, verdict.
    A task is compared on its per-example scores (`per_example`, the primary metric's per-example form,
    averaged over templates); with one template and accuracy, the p-value is McNemar's exact test."""
    bt, tt = base.get("tasks") or {}, tuned.get("tasks") or {}
    tasks = {}
    for name in (t for t in tt if t in bt):
        c = compare_task(bt[name], tt[name], name, n_boot=n_boot, seed=seed, alpha=alpha)
        if c is not None:
            tasks[name] = c
    clusters: dict[str, list[str]] = {}
    for name in tasks:
        clusters.setdefault(tt[name].get("cluster", ""), []).append(name)
    cl = {c: compare_group(base, tuned, ts, c, n_boot=n_boot, seed=seed, alpha=alpha) for c, ts in clusters.items()}
    overall = compare_group(base, tuned, list(tasks), "all", n_boot=n_boot, seed=seed, alpha=alpha)
    return {"tasks": tasks, "clusters": {c: v for c, v in cl.items() if v}, "all": overall, "alpha": alpha,
            "n_boot": n_boot, "seed": seed}


def fmt_pct(v: float | None, digits: int = 1) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.{digits}f}"


def fmt_ci(ci: Sequence[float] | None) -> str:
    return "–" if not ci else f"[{fmt_pct(ci[0])}, {fmt_pct(ci[1])}]"


def noise_sentences(comparison: dict[str, Any], base_label: str = "base", tuned_label: str = "tuned") -> list[str]:
    """The comparison in words: which differences are within noise and which are not."""
    out = []
    for scope, entries in (("task", comparison.get("tasks") or {}), ("cluster", comparison.get("clusters") or {})):
        noise = [k for k, v in entries.items() if v["within_noise"]]
        better = [k for k, v in entries.items() if v["verdict"] == "tuned better"]
        worse = [k for k, v in entries.items() if v["verdict"] == "tuned worse"]
        if not entries:
            continue

        def desc(keys: list[str]) -> str:
            return ", ".join(f"{k} ({'+' if entries[k]['diff'] > 0 else ''}{fmt_pct(entries[k]['diff'])} points, "
                             f"p={entries[k]['p']:.3g}, n={entries[k]['n']})" for k in keys)

        if noise:
            out.append(f"Per {scope}: the difference between {tuned_label} and {base_label} is within noise "
                       f"(95% interval includes 0) on {desc(noise)}.")
        if better:
            out.append(f"Per {scope}: {tuned_label} is better than {base_label} beyond noise on {desc(better)}.")
        if worse:
            out.append(f"Per {scope}: {tuned_label} is worse than {base_label} beyond noise on {desc(worse)}.")
    a = comparison.get("all")
    if a:
        word = "within noise" if a["within_noise"] else ("better beyond noise" if a["diff"] > 0 else
                                                         "worse beyond noise")
        out.append(f"Over all {len(a['tasks'])} compared tasks, {tuned_label} minus {base_label} is "
                   f"{'+' if a['diff'] > 0 else ''}{fmt_pct(a['diff'])} points, 95% interval {fmt_ci(a['ci95'])}, "
                   f"p={a['p']:.3g}: {word}.")
    return out
