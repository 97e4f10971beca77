"""The paper's figures from stored results, as PNG + SVG (matplotlib, Agg) plus the plotted data as JSON.

    figs = build_figures(collect(["runs/demo"]))      # only the figures the results can support
    paths = render(figs[0], Path("report/figures"))    # fig5_clusters.png / .svg / .json

Figure 5: per-cluster bars; 6: vs number of tuning clusters; 7: vs model size; 8: instruction ablation;
9: zero- vs few-shot with the template standard deviation; 10: prompt tuning. Published numbers
(reference.py) are drawn hatched and grey, labelled "published". Figures 5, 7 and 8 draw each point's 95%
bootstrap interval over examples (the `ci95` of results.json) as its error bar where the results have one.
"""

from __future__ import annotations

import json
import statistics
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .collect import Collected, Series, merged
from .reference import cluster_references, systems


@dataclass
class Figure:
    name: str
    title: str
    x: list[Any]
    series: dict[str, list[float | None]]
    kind: str = "bars"  # bars | lines
    errors: dict[str, list[float | None]] = field(default_factory=dict)  # symmetric (std over templates)
    intervals: dict[str, list[list[float] | None]] = field(default_factory=dict)  # [lo, hi]: 95% bootstrap CI
    reference: dict[str, list[float | None]] = field(default_factory=dict)
    xlabel: str = ""
    ylabel: str = "score (mean over templates)"
    note: str = ""


def _mean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.fmean(vals) if vals else None


def _cluster_mean(m: dict[str, Any], c: str) -> float | None:
    return (m["clusters"].get(c) or {}).get("mean")


def _template_std(m: dict[str, Any], c: str) -> float | None:
    """Standard deviation over templates, averaged at the dataset level (as in the paper's Figure 9)."""
    return _mean([t.get("std") for t in m["tasks"].values() if t.get("cluster") == c])


def _cluster_ci(m: dict[str, Any], c: str) -> list[float] | None:
    return (m["clusters"].get(c) or {}).get("ci95")


CI_NOTE = "error bars: 95% bootstrap interval over examples"


def _with_ci_note(fig: Figure) -> Figure:
    if any(v is not None for vals in fig.intervals.values() for v in vals):
        fig.note = f"{CI_NOTE}; {fig.note}" if fig.note else CI_NOTE
    else:
        fig.intervals = {}
    return fig


def _clusters(series: list[Series]) -> list[str]:
    return list(dict.fromkeys(c for s in series for c in s.clusters))


def fig5_clusters(col: Collected) -> Figure | None:
    series = [s for s in col.series if s.kind != "prompt_tuning"]
    xs = _clusters(series)
    if not xs:
        return None
    m = merged(series)
    fig = Figure("fig5_clusters", "Zero-shot performance per held-out cluster (cf. paper Figure 5)", xs,
                 {label: [_cluster_mean(v, c) for c in xs] for label, v in m.items()}, xlabel="cluster")
    for system in systems():
        vals = [next((r.value for r in cluster_references(c) if r.system == system), None) for c in xs]
        if any(v is not None for v in vals):
            fig.reference[f"published: {system}"] = vals
    if fig.reference:
        refs = [r for c in xs for r in cluster_references(c)]
        subsets = "; ".join(f"{c}: {', '.join(r.datasets)}" for c, r in {r.cluster: r for r in refs}.items())
        fig.note = f"published: {refs[0].source}, 137B/175B models, mean over the paper's datasets ({subsets})"
    fig.intervals = {label: [_cluster_ci(v, c) for c in xs] for label, v in m.items()}
    return _with_ci_note(fig)


def fig6_num_clusters(col: Collected) -> Figure | None:
    pts = [s for s in col.series if "n_clusters" in s.tags]
    if len({s.tags["n_clusters"] for s in pts}) < 2:
        return None
    xs = sorted({s.tags["n_clusters"] for s in pts})
    cl = _clusters(pts)
    by_n = {n: [s for s in pts if s.tags["n_clusters"] == n] for n in xs}
    series = {c: [_mean([(s.clusters.get(c) or {}).get("mean") for s in by_n[n]]) for n in xs] for c in cl}
    series["average of held-out clusters"] = [_mean([series[c][i] for c in cl]) for i in range(len(xs))]
    return Figure("fig6_num_clusters", "Held-out performance vs number of instruction-tuning clusters "
                  "(cf. paper Figure 6)", xs, series, kind="lines", xlabel="clusters used for tuning (0 = untuned)")


def _params(pts: list[Series], rank: int) -> float | None:
    """The declared parameter count of a scale point, else the count its evaluation run recorded."""
    for s in pts:
        if s.tags["scale_rank"] == rank and s.tags.get("params"):
            return s.tags["params"]
    return next((s.params["total"] for s in pts if s.tags["scale_rank"] == rank and (s.params or {}).get("total")),
                None)


# Figure 7's lines by step variant (CONTRACTS.md B); "base" is what records written before the variants said.
VARIANT_LABELS = {"tuned": "instruction tuned", "base": "untuned", "untuned-baseline": "untuned",
                  "untuned-instructions": "untuned (instructions)"}


def fig7_model_scale(col: Collected) -> Figure | None:
    pts = [s for s in col.series if "scale_rank" in s.tags]
    ranks = sorted({s.tags["scale_rank"] for s in pts})
    if not ranks:
        return None
    params = {r: _params(pts, r) for r in ranks}
    names = {s.tags["scale_rank"]: s.tags.get("model") for s in pts}
    known = all(params.values())
    xs = [params[r] if known else names[r] for r in ranks]
    series: dict[str, list[float | None]] = {}
    intervals: dict[str, list[list[float] | None]] = {}
    for variant in dict.fromkeys(s.tags.get("variant", "") for s in pts):
        row, cis = [], []
        for r in ranks:
            hit = [s for s in pts if s.tags.get("variant", "") == variant and s.tags["scale_rank"] == r]
            row.append(_mean([_mean([v.get("mean") for v in h.clusters.values()]) for h in hit]))
            # an interval only where the point is one cluster of one run (an average of several has none stored)
            one = len(hit) == 1 and len(hit[0].clusters) == 1
            cis.append(next(iter(hit[0].clusters.values())).get("ci95") if one else None)
        label = VARIANT_LABELS.get(variant, variant)
        series[label], intervals[label] = row, cis
    return _with_ci_note(Figure("fig7_model_scale", "Held-out performance vs model size, tuned and untuned "
                                "(cf. paper Figure 7)", xs, series, kind="lines", intervals=intervals,
                                xlabel="parameters" if known else "model (increasing size)",
                                ylabel="average over held-out clusters"))


def fig8_instructions(col: Collected) -> Figure | None:
    pts = [s for s in col.series if "finetune" in s.tags]
    if not pts:
        return None
    m = merged(pts)
    xs = _clusters(pts) + ["average"]
    series = {}
    for label, v in m.items():
        row = [_cluster_mean(v, c) for c in xs[:-1]]
        series[label] = row + [_mean(row)]
    intervals = {label: [_cluster_ci(v, c) for c in xs[:-1]] + [None] for label, v in m.items()}
    return _with_ci_note(Figure("fig8_instructions", "Role of instructions in tuning (cf. paper Figure 8)", xs,
                                series, intervals=intervals, xlabel="held-out cluster"))


def fig9_few_shot(col: Collected) -> Figure | None:
    pts = [s for s in col.series if s.tags.get("variant") in ("tuned", "tuned-few-shot") and "shots" in s.tags]
    if len({s.tags["shots"] for s in pts}) < 2:
        return None
    m = merged(pts)
    xs = _clusters(pts)
    return Figure("fig9_few_shot", "Zero-shot vs few-shot, error bars: std over templates "
                  "(cf. paper Figure 9)", xs, {label: [_cluster_mean(v, c) for c in xs] for label, v in m.items()},
                  errors={label: [_template_std(v, c) for c in xs] for label, v in m.items()}, xlabel="cluster")


def fig10_prompt_tuning(col: Collected) -> Figure | None:
    pts = [s for s in col.series if s.kind == "prompt_tuning" and "examples" in s.tags]
    if not pts:
        return None
    xs = sorted({s.tags["examples"] for s in pts}, key=lambda n: (n == "full", int(n) if n.isdigit() else 0))
    series = {}
    for variant in dict.fromkeys(s.tags["variant"] for s in pts):
        series[f"prompt tuning on {variant} model"] = [
            _mean([_mean([t.get("mean") for t in s.tasks.values()]) for s in pts
                   if s.tags["variant"] == variant and s.tags["examples"] == n]) for n in xs]
    return Figure("fig10_prompt_tuning", "Prompt tuning on SuperGLUE tasks, base vs instruction-tuned model "
                  "(cf. paper Figure 10)", [f"{n} examples" for n in xs], series, xlabel="training examples",
                  ylabel="mean over tasks")


def heldout_curve(col: Collected) -> Figure | None:
    """Held-out scores over training steps (`flanlab train --eval-every N`): one line per run and task, plus
    the run's mean over tasks when it scored several. The paper evaluates only the final checkpoint."""
    if not col.curves:
        return None
    xs = sorted({s for c in col.curves for s in c.steps})
    series: dict[str, list[float | None]] = {}
    for c in col.curves:
        at = dict.fromkeys(xs)
        lines = dict(c.tasks)
        if len(c.tasks) > 1:
            lines["mean"] = c.mean
        for name, vals in lines.items():
            pts = {**at, **dict(zip(c.steps, vals))}
            series[f"{c.label}: {name}"] = [pts[x] for x in xs]
    return Figure("heldout_curve", "Held-out tasks during training (rank classification, fixed example subset)",
                  xs, series, kind="lines", xlabel="optimizer step", ylabel="score (mean over templates)",
                  note="Scored at step 0 (the starting model), every --eval-every steps and the last step, on "
                  "the first templates and test examples of each task; a final flanlab eval scores all of them.")


BUILDERS = (fig5_clusters, fig6_num_clusters, fig7_model_scale, fig8_instructions, fig9_few_shot,
            fig10_prompt_tuning, heldout_curve)


def build_figures(col: Collected) -> list[Figure]:
    return [f for f in (b(col) for b in BUILDERS) if f is not None]


# -- drawing --------------------------------------------------------------------------------------------

def _draw_bars(ax, fig: Figure) -> None:
    import numpy as np

    groups = list(fig.series.items()) + list(fig.reference.items())
    width = 0.8 / max(1, len(groups))
    x = np.arange(len(fig.x))
    refs = list(fig.reference)
    for i, (label, vals) in enumerate(groups):
        ys = [np.nan if v is None else v for v in vals]
        err = fig.errors.get(label)
        yerr = None if err is None else [0 if e is None else e for e in err]
        if fig.intervals.get(label):  # asymmetric: [value - lo, hi - value]
            yerr = np.array([[0, 0] if c is None or v is None else [max(0.0, v - c[0]), max(0.0, c[1] - v)]
                             for v, c in zip(vals, fig.intervals[label])]).T
        style = {}
        if label in fig.reference:  # published numbers: grey and hatched, one pattern per system
            k = refs.index(label)
            style = {"color": f"{0.88 - 0.12 * (k % 4):.2f}", "hatch": ("//", "\\\\", "xx", "..")[k % 4],
                     "edgecolor": "0.35"}
        bars = ax.bar(x - 0.4 + width * (i + 0.5), ys, width, label=label, yerr=yerr, capsize=3, **style)
        ax.bar_label(bars, labels=["" if v is None else f"{100 * v:.0f}" for v in vals], fontsize=6, padding=1)
    ax.set_xticks(x, [str(v) for v in fig.x], rotation=20 if len(fig.x) > 4 else 0, ha="right"
                  if len(fig.x) > 4 else "center")


def _draw_lines(ax, fig: Figure) -> None:
    numeric = all(isinstance(v, (int, float)) for v in fig.x)
    xs = fig.x if numeric else list(range(len(fig.x)))
    for label, vals in fig.series.items():
        ys = [float("nan") if v is None else v for v in vals]
        cis = fig.intervals.get(label)
        if cis and any(c is not None for c in cis):
            yerr = [[0 if c is None or v is None else max(0.0, v - c[0]) for v, c in zip(vals, cis)],
                    [0 if c is None or v is None else max(0.0, c[1] - v) for v, c in zip(vals, cis)]]
            ax.errorbar(xs, ys, yerr=yerr, marker="o", capsize=3, label=label)
        else:
            ax.plot(xs, ys, marker="o", label=label)
    if not numeric:
        ax.set_xticks(xs, [str(v) for v in fig.x])
    elif min(xs) > 0 and max(xs) / min(xs) > 10:  # model sizes span orders of magnitude
        ax.set_xscale("log")


def render(fig: Figure, out_dir: Path) -> dict[str, Path]:
    """Write <name>.png, <name>.svg and <name>.json (the plotted numbers) into `out_dir`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.fonttype"] = "none"  # keep text as text: searchable, and labels stay legible

    out_dir.mkdir(parents=True, exist_ok=True)
    f, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(fig.x) + 3), 4.2))
    (_draw_lines if fig.kind == "lines" else _draw_bars)(ax, fig)
    ax.set_title(fig.title, fontsize=10)
    ax.set_xlabel(fig.xlabel)
    ax.set_ylabel(fig.ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    note = textwrap.fill(fig.note, width=int(f.get_figwidth() * 18)) if fig.note else ""
    if note:
        f.text(0.01, 0.01, note, fontsize=6, color="0.35", va="bottom")
    f.tight_layout(rect=(0, 0.03 * (note.count("\n") + 1) if note else 0, 1, 1))
    paths = {"png": out_dir / f"{fig.name}.png", "svg": out_dir / f"{fig.name}.svg",
             "json": out_dir / f"{fig.name}.json"}
    f.savefig(paths["png"], dpi=110)
    f.savefig(paths["svg"])
    plt.close(f)
    paths["json"].write_text(json.dumps(asdict(fig), indent=2) + "\n")
    return paths
