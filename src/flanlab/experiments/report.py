"""The report: a self-contained HTML page and a Markdown summary with the paper's tables and figures.

    paths = write_report(["runs/demo"], Path("runs/demo/report"))   # report.html, report.md, figures/
    flanlab report runs/demo runs/other-run --out runs/compare        # several runs side by side

Reads only what runs wrote to disk (results.json, experiment.json, contamination.json, run.json).
Tables: per-dataset results (mean ± std over templates, 95% bootstrap CI and n, best-dev template),
per-cluster means with their CI and the published numbers, paired base-vs-tuned comparisons (difference,
CI, p-value, and in words which differences are within noise), degenerate (constant-output) cells per
model, per-template breakdown, contamination, steps with their wall time, and the records
(resolved config, package versions, git commit, seeds). The HTML embeds the figures as inline SVG.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import yaml

from ..runs import atomic_write_text
from .collect import Collected, Series, collect, merged, variant_of
from .figures import Figure, build_figures, render
from .reference import cluster_references, systems

Table = tuple[list[str], list[list[str]]]


def pct(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def mean_std(t: dict[str, Any]) -> str:
    if t.get("mean") is None:
        return "–"
    return f"{pct(t['mean'])} ± {pct(t.get('std') or 0.0)}"


def ci(t: dict[str, Any]) -> str:
    """The 95% bootstrap interval and the sample size, e.g. "[41.2, 58.8] n=100"."""
    c, n = t.get("ci95"), t.get("n")
    parts = ([f"[{pct(c[0])}, {pct(c[1])}]"] if c else []) + ([f"n={n}"] if n is not None else [])
    return " ".join(parts) or "–"


def constant_note(t: dict[str, Any]) -> str:
    role = t.get("scored_role", "test")
    flags = [r[role]["constant"] for r in (t.get("templates") or {}).values() if "constant" in r.get(role, {})]
    k = sum(flags)
    return f" ⚠ {k}/{len(flags)} constant" if k else ""


# -- tables -------------------------------------------------------------------------------------------

def dataset_table(col: Collected) -> Table:
    """Rows: tasks by cluster; per series: mean ± std over templates and the best-dev-template score."""
    m = merged([s for s in col.series])
    labels = list(m)
    tasks: dict[str, str] = {}
    for v in m.values():
        for t, r in v["tasks"].items():
            tasks.setdefault(t, r.get("cluster", ""))
    head = ["cluster", "task", "metric"] + [h for lab in labels for h in (f"{lab}: mean ± std [95% CI] n",
                                                                         f"{lab}: best-dev")]
    rows = []
    for t, c in sorted(tasks.items(), key=lambda kv: (kv[1], kv[0])):
        metric = next((v["tasks"][t].get("metric", "") for v in m.values() if t in v["tasks"]), "")
        row = [c, t, metric]
        for lab in labels:
            r = m[lab]["tasks"].get(t, {})
            stat = ci(r) if r.get("mean") is not None and (r.get("ci95") or r.get("n") is not None) else ""
            row += [" ".join(x for x in (mean_std(r), stat) if x) + constant_note(r), pct(r.get("best_dev"))]
        rows.append(row)
    return head, rows


def cluster_table(col: Collected) -> Table:
    m = merged(col.series)
    clusters = list(dict.fromkeys(c for v in m.values() for c in v["clusters"]))
    refs = [s for s in systems() if any(r.system == s for c in clusters for r in cluster_references(c))]
    head = ["cluster"] + list(m) + [f"published: {s}" for s in refs]
    rows = []
    for c in clusters:
        row = [c] + [" ".join(x for x in (pct(cl.get("mean")), ci(cl) if cl.get("ci95") or cl.get("n") else "") if x)
                     for v in m.values() for cl in [v["clusters"].get(c) or {}]]
        row += [pct(next((r.value for r in cluster_references(c) if r.system == s), None)) for s in refs]
        rows.append(row)
    return head, rows


def gain_table(col: Collected) -> Table:
    """The paper's comparison (section 3): per task, the tuned model with instructions vs the untuned model with
    GPT-3-style prompts, zero-shot, and the gain; the untuned model with instructions as an extra column.
    One block per experiment and base model; the number-of-clusters points are left to their figure."""
    groups: dict[tuple[str, str], dict[str, list[Series]]] = {}
    for s in col.series:
        v = variant_of(s)
        if (s.tags.get("shots", 0) or ("n_clusters" in s.tags and v == "tuned")
                or v not in ("tuned", "untuned-baseline", "untuned-instructions")):
            continue
        groups.setdefault((s.experiment, str(s.tags.get("model", ""))), {}).setdefault(v, []).append(s)
    head = ["experiment", "model", "cluster", "task", "tuned (instructions)", "untuned (GPT-3-style prompt)", "gain",
            "untuned (instructions)"]
    rows = []
    for (exp, model), by in groups.items():
        if "tuned" not in by or "untuned-baseline" not in by:
            continue
        tasks = {v: {t: r for s in ss for t, r in s.tasks.items()} for v, ss in by.items()}
        for t, r in sorted(tasks["tuned"].items(), key=lambda kv: (kv[1].get("cluster", ""), kv[0])):
            tm, bm = r.get("mean"), (tasks["untuned-baseline"].get(t) or {}).get("mean")
            im = (tasks.get("untuned-instructions", {}).get(t) or {}).get("mean")
            gain = None if tm is None or bm is None else tm - bm
            rows.append([exp, Path(model).name, r.get("cluster", ""), t, pct(tm), pct(bm),
                         "–" if gain is None else f"{'+' if gain > 0 else ''}{pct(gain)}", pct(im)])
    return head, rows


def template_table(col: Collected) -> Table:
    """Per task and template: the test score of every series (the paper's template variance, made visible)."""
    m = merged(col.series)
    head = ["task", "template"] + list(m)
    keys = dict.fromkeys((t, tid) for v in m.values() for t, r in v["tasks"].items()
                         for tid in r.get("templates", {}))
    rows = []
    for t, tid in sorted(keys):
        row = [t, tid]
        for v in m.values():
            cell = ((v["tasks"].get(t) or {}).get("templates", {}).get(tid) or {}).get("test") or {}
            metric = (v["tasks"].get(t) or {}).get("metric", "accuracy")
            c95 = cell.get("ci95")
            row.append(pct(cell.get(metric)) + (f" [{pct(c95[0])}, {pct(c95[1])}]" if c95 else "")
                       + (f" (n={cell['n']})" if "n" in cell else "") + (" ⚠ constant" if cell.get("constant") else ""))
        rows.append(row)
    return head, rows


UNTUNED = {"base", "untuned", "untuned-baseline", "untuned-instructions"}
MATCH_TAGS = ("model", "shots", "scale_rank", "cluster", "clusters", "examples")


def comparison_pairs(col: Collected) -> list[tuple[str, str]]:
    """(untuned label, tuned label) pairs to compare on the same examples: every tuned series against every
    untuned one (variant base / untuned-*) with the same model, shots and cluster tags, sharing tasks."""
    m = merged(col.series)
    tags = {lab: v["tags"] for lab, v in m.items()}
    out = []
    for tl, tt in tags.items():
        if tt.get("variant") != "tuned":
            continue
        for bl, bt in tags.items():
            if bt.get("variant") not in UNTUNED:
                continue
            if any(k in bt and k in tt and bt[k] != tt[k] for k in MATCH_TAGS):
                continue
            if set(m[tl]["tasks"]) & set(m[bl]["tasks"]):
                out.append((bl, tl))
    return out


def comparisons(col: Collected) -> list[tuple[str, list[str], Table]]:
    """(title, sentences, table) per compared pair: tuned - untuned per task and cluster, paired on the same
    examples (paired bootstrap; McNemar's exact test for single-template accuracy), in words and numbers."""
    from ..evaluation.stats import compare_results, fmt_ci, noise_sentences

    m = merged(col.series)
    out = []
    for bl, tl in comparison_pairs(col):
        b, t = {"tasks": m[bl]["tasks"]}, {"tasks": m[tl]["tasks"]}
        cmp = compare_results(b, t)
        if not cmp["tasks"]:
            continue
        head = ["scope", "name", f"{bl}", f"{tl}", "difference (points)", "95% CI", "p", "test", "n", "verdict"]
        rows = []
        for name, c in cmp["tasks"].items():
            rows.append(["task", name, pct(m[bl]["tasks"][name].get("mean")), pct(m[tl]["tasks"][name].get("mean")),
                         f"{100 * c['diff']:+.1f}", fmt_ci(c["ci95"]), f"{c['p']:.3g}", c["test"], str(c["n"]),
                         c["verdict"]])
        for name, c in list(cmp["clusters"].items()) + ([("all", cmp["all"])] if cmp["all"] else []):
            if name == "all":  # the mean over the compared tasks
                bc = _avg([m[bl]["tasks"][x].get("mean") for x in c["tasks"]])
                tc = _avg([m[tl]["tasks"][x].get("mean") for x in c["tasks"]])
            else:
                bc = (m[bl]["clusters"].get(name) or {}).get("mean")
                tc = (m[tl]["clusters"].get(name) or {}).get("mean")
            rows.append(["cluster" if name != "all" else "all tasks", name, pct(bc), pct(tc), f"{100 * c['diff']:+.1f}",
                         fmt_ci(c["ci95"]), f"{c['p']:.3g}", c["test"], str(c["n"]), c["verdict"]])
        out.append((f"Paired comparison: {tl} vs {bl} (same examples)", noise_sentences(cmp, bl, tl), (head, rows)))
    return out


def _avg(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def degenerate_table(col: Collected) -> Table:
    """Per series: how many scored cells predict one constant answer for every example, and which."""
    from ..evaluation.stats import constant_cells, degenerate_summary

    head = ["series", "constant cells", "scored cells", "share", "cells (task/template)"]
    rows = []
    for lab, v in merged(col.series).items():
        res = {"tasks": v["tasks"]}
        d = degenerate_summary(res)
        if not d["total"]:
            continue
        cells = constant_cells(res)
        rows.append([lab, str(d["cells"]), str(d["total"]), f"{100 * d['share']:.0f}%",
                     ", ".join(f"{t}/{tid}" for t, tid in cells) or "–"])
    return head, rows


def contamination_table(col: Collected) -> Table:
    head = ["experiment", "eval task", "checked", "too short", "contaminated", "fraction", "sharing with",
            "tuned on this task"]
    rows = []
    for c in col.contamination:
        for r in c["tasks"]:
            rows.append([str(c.get("experiment", "")), r["task"], str(r["checked"]), str(r["too_short"]),
                         str(r["contaminated"]), pct(r["fraction"]), ", ".join(r["sources"]) or "–",
                         "YES" if r["tuned_on_task"] else "no"])
    return head, rows


def steps_table(col: Collected) -> Table:
    head = ["experiment", "step", "kind", "state", "wall time (s)"]
    rows = [[e.get("name", ""), s["label"], s["kind"], s.get("state", ""),
             "–" if s.get("wall_seconds") is None else f"{s['wall_seconds']:.1f}"]
            for e in col.experiments for s in e.get("steps", [])]
    rows += [[Path(r["path"]).name, r.get("command", ""), "run", r.get("status", ""),
              "–" if r.get("wall_seconds") is None else f"{r['wall_seconds']:.1f}"] for r in col.runs]
    return head, rows


def records(col: Collected) -> list[tuple[str, dict[str, Any]]]:
    """(title, record) for each experiment and bare run: environment, seeds, resolved config."""
    out = []
    for e in col.experiments:
        out.append((f"experiment {e.get('name')}", {"kind": e.get("kind"), "protocol": e.get("protocol", []),
                                                    "seeds": e.get("seeds"),
                                                    "environment": e.get("environment"), "config": e.get("config")}))
    for r in col.runs:
        out.append((f"run {r['path']}", {"command": r.get("command"), "environment": r.get("environment"),
                                         "started": r.get("started"), "finished": r.get("finished")}))
    return out


# -- rendering ----------------------------------------------------------------------------------------

def md_table(t: Table) -> str:
    head, rows = t
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(map(esc, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(esc, r)) + " |" for r in rows]
    return "\n".join(lines)


def html_table(t: Table) -> str:
    head, rows = t
    h = "".join(f"<th>{html.escape(str(c))}</th>" for c in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


SECTIONS = [
    ("Instruction tuning vs the untuned model (zero-shot, %; untuned = GPT-3-style prompts as in the paper)",
     gain_table),
    ("Results per dataset (zero-/few-shot, scores in %; ± std over templates; 95% bootstrap CI over the n examples)",
     dataset_table),
    ("Results per cluster (mean over tasks, %, 95% stratified bootstrap CI, n examples), with published numbers "
     "for context", cluster_table),
    ("Degenerate outputs: cells whose prediction is one constant answer for every example", degenerate_table),
    ("Per-template breakdown (test split, %, 95% CI, n)", template_table),
    ("Data contamination: word n-gram overlap of each evaluation set with the tuning mixture", contamination_table),
    ("Steps and wall time", steps_table),
]

NOTE = ("Published numbers come from 137B/175B-parameter models on the full datasets (source in the figure "
        "notes and in flanlab/experiments/reference.py); they are context, not a target for small models.")


def _inline_svg(path: Path) -> str:
    svg = path.read_text()
    return re.sub(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", "", svg)


def write_report(paths: list[str | Path], out_dir: str | Path, title: str = "flanlab report") -> dict[str, Path]:
    """Collect results under `paths`, draw the figures, write report.md and report.html into `out_dir`."""
    out_dir = Path(out_dir)
    col = collect(paths)
    figs: list[tuple[Figure, dict[str, Path]]] = [(f, render(f, out_dir / "figures")) for f in build_figures(col)]
    tables = [(name, fn(col)) for name, fn in SECTIONS]
    cmps = comparisons(col)
    md = _markdown(title, col, figs, tables, cmps)
    page = _html(title, col, figs, tables, cmps)
    atomic_write_text(out_dir / "report.md", md)
    atomic_write_text(out_dir / "report.html", page)
    return {"html": out_dir / "report.html", "markdown": out_dir / "report.md", "figures": out_dir / "figures"}


STATS_NOTE = ("Intervals: 95% percentile bootstrap over the examples of the scored split (2000 resamples, "
              "seeded), of the score as reported (the mean over templates); a cluster resamples each task on its "
              "own. Paired comparisons resample the same examples for both models; a difference whose 95% "
              "interval includes 0 (p >= 0.05) is within noise.")


def _markdown(title, col, figs, tables, cmps=()) -> str:
    parts = [f"# {title}", "", f"Sources: {', '.join(sorted({s.path for s in col.series}))}", "", NOTE, "",
             STATS_NOTE, ""]
    for name, sentences, t in cmps:
        parts += [f"## {name}", ""] + [f"- {x}" for x in sentences] + ["", md_table(t), ""]
    for f, p in figs:
        parts += [f"## {f.title}", "", f"![{f.name}](figures/{p['png'].name}) ([SVG](figures/{p['svg'].name}))", ""]
        if f.note:
            parts += [f"_{f.note}_", ""]
    for name, t in tables:
        if t[1]:
            parts += [f"## {name}", "", md_table(t), ""]
    for name, rec in records(col):
        parts += [f"## Record: {name}", "", "```yaml", yaml.safe_dump(rec, sort_keys=False).rstrip(), "```", ""]
    return "\n".join(parts)


_CSS = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
        "table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;"
        "text-align:left}th{background:#f3f3f3}figure{margin:1.5em 0}svg{max-width:100%;height:auto}"
        ".note{color:#666;font-size:12px}pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:12px}")


def _html(title, col, figs, tables, cmps=()) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1><p class='note'>{e(NOTE)}</p>"
             f"<p class='note'>{e(STATS_NOTE)}</p>"]
    for name, sentences, t in cmps:
        parts.append(f"<h2>{e(name)}</h2><ul>" + "".join(f"<li>{e(x)}</li>" for x in sentences) + "</ul>"
                     + html_table(t))
    for f, p in figs:
        parts.append(f"<figure><h2>{e(f.title)}</h2>{_inline_svg(p['svg'])}"
                     + (f"<figcaption class='note'>{e(f.note)}</figcaption>" if f.note else "") + "</figure>")
    for name, t in tables:
        if t[1]:
            parts.append(f"<h2>{e(name)}</h2>{html_table(t)}")
    for name, rec in records(col):
        parts.append(f"<details><summary>Record: {e(name)}</summary><pre>"
                     f"{e(yaml.safe_dump(rec, sort_keys=False))}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
