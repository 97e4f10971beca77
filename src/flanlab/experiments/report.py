"""The report: a self-contained HTML page and a Markdown summary with the paper's tables and figures.

    paths = write_report(["runs/demo"], Path("runs/demo/report"))   # report.html, report.md, figures/
    flanlab report runs/demo runs/other-run --out runs/compare        # several runs side by side

Reads only what runs wrote to disk (results.json, experiment.json, contamination.json, run.json).
Tables: per-dataset results (mean ± std over templates, best-dev template), per-cluster means with the
published numbers, per-template breakdown, contamination, steps with their wall time, and the records
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


# -- tables -------------------------------------------------------------------------------------------

def dataset_table(col: Collected) -> Table:
    """Rows: tasks by cluster; per series: mean ± std over templates and the best-dev-template score."""
    m = merged([s for s in col.series])
    labels = list(m)
    tasks: dict[str, str] = {}
    for v in m.values():
        for t, r in v["tasks"].items():
            tasks.setdefault(t, r.get("cluster", ""))
    head = ["cluster", "task", "metric"] + [h for lab in labels for h in (f"{lab}: mean ± std", f"{lab}: best-dev")]
    rows = []
    for t, c in sorted(tasks.items(), key=lambda kv: (kv[1], kv[0])):
        metric = next((v["tasks"][t].get("metric", "") for v in m.values() if t in v["tasks"]), "")
        row = [c, t, metric]
        for lab in labels:
            r = m[lab]["tasks"].get(t, {})
            row += [mean_std(r), pct(r.get("best_dev"))]
        rows.append(row)
    return head, rows


def cluster_table(col: Collected) -> Table:
    m = merged(col.series)
    clusters = list(dict.fromkeys(c for v in m.values() for c in v["clusters"]))
    refs = [s for s in systems() if any(r.system == s for c in clusters for r in cluster_references(c))]
    head = ["cluster"] + list(m) + [f"published: {s}" for s in refs]
    rows = []
    for c in clusters:
        row = [c] + [pct((v["clusters"].get(c) or {}).get("mean")) for v in m.values()]
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
            row.append(pct(cell.get(metric)) + (f" (n={cell['n']})" if "n" in cell else ""))
        rows.append(row)
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
    ("Results per dataset (zero-/few-shot, scores in %)", dataset_table),
    ("Results per cluster (mean over tasks, %), with published numbers for context", cluster_table),
    ("Per-template breakdown (test split, %)", template_table),
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
    md = _markdown(title, col, figs, tables)
    page = _html(title, col, figs, tables)
    atomic_write_text(out_dir / "report.md", md)
    atomic_write_text(out_dir / "report.html", page)
    return {"html": out_dir / "report.html", "markdown": out_dir / "report.md", "figures": out_dir / "figures"}


def _markdown(title, col, figs, tables) -> str:
    parts = [f"# {title}", "", f"Sources: {', '.join(sorted({s.path for s in col.series}))}", "", NOTE, ""]
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


def _html(title, col, figs, tables) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1><p class='note'>{e(NOTE)}</p>"]
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
