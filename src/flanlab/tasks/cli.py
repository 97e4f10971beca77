"""`flanlab tasks`: browse the catalogue.

    flanlab tasks list --cluster nli
    flanlab tasks show rte --template 03 --n 2 --source bundled
    flanlab tasks clusters --json
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_common import DATA_DIR, JSON, TASKS_FILE
from ..console import err, print_json
from ..console import out as stdout  # tables on stdout (pipe into grep); logs on stderr

app = typer.Typer(help="Browse the task catalogue: tasks, clusters, templates rendered on real examples.\n\n"
                  "Example: flanlab tasks show rte --n 2", no_args_is_help=True)


def _cat(tasks_file: Optional[list[Path]]):
    from .registry import catalogue

    return catalogue(tasks_file or None)


@app.command("list")
def list_(cluster: Optional[str] = typer.Option(None, "--cluster", help="Only this cluster."),
          data_dir: Optional[Path] = DATA_DIR, tasks_file: Optional[list[Path]] = TASKS_FILE,
          json_: bool = JSON) -> None:
    """List tasks: id, cluster, type, metric, number of templates, sources available.

    Example: flanlab tasks list --cluster nli
    """
    from rich.table import Table

    from .sources import available_sources

    cat = _cat(tasks_file)
    tasks = cat.tasks_in(cluster) if cluster else list(cat.tasks.values())
    rows = []
    for t in tasks:
        ts = cat.templates(t)
        rows.append({"task": t.name, "cluster": t.cluster, "dataset": t.dataset_name, "type": t.kind,
                     "evaluation_only": t.evaluation_only,
                     "metrics": list(t.metrics), "templates": len(ts.templates),
                     "turned": len(ts.templates) - len(ts.forward),
                     "sources": available_sources(t, data_dir), "hub": f"{t.source.hub_id}:{t.source.config}"})
    if json_:
        print_json({"tasks": rows, "count": len(rows),
                    "datasets": len({r["dataset"] for r in rows})})
        return
    table = Table(title=f"{len(rows)} tasks, {len({r['dataset'] for r in rows})} datasets")
    for col in ("task", "cluster", "type", "metric", "templates", "sources"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["task"], r["cluster"], r["type"] + (" (eval only)" if r["evaluation_only"] else ""),
                      r["metrics"][0],
                      f"{r['templates']} ({r['turned']} turned)", ", ".join(r["sources"]))
    stdout.print(table)


@app.command("clusters")
def clusters(tasks_file: Optional[list[Path]] = TASKS_FILE, json_: bool = JSON) -> None:
    """List the task clusters, their tasks and the hold-out rules.

    Example: flanlab tasks clusters
    """
    from rich.table import Table

    cat = _cat(tasks_file)
    rows = []
    for c in cat.clusters.values():
        tasks = [t.name for t in cat.tasks_in(c.name)]
        also = sorted({a for r in cat.rules if r.cluster == c.name for a in r.also})
        rows.append({"cluster": c.name, "title": c.title, "parent": c.parent, "tasks": tasks,
                     "datasets": len({cat.task(t).dataset_name for t in tasks}), "holding_out_also_removes": also})
    if json_:
        print_json({"clusters": rows})
        return
    table = Table(title="task clusters")
    for col in ("cluster", "title", "datasets", "tasks", "hold-out also removes"):
        table.add_column(col, overflow="fold")
    for r in rows:
        title = r["title"] + (f" (inside {r['parent']})" if r["parent"] else "")
        table.add_row(r["cluster"], title, str(r["datasets"]), ", ".join(r["tasks"]),
                      ", ".join(r["holding_out_also_removes"]))
    stdout.print(table)


@app.command("show")
def show(task: str = typer.Argument(..., help="Task id, e.g. rte."),
         template: Optional[str] = typer.Option(None, "--template", "-t", help="Only this template id."),
         n: int = typer.Option(1, "--n", min=1, help="Number of examples to render."),
         split: str = typer.Option("test", "--split", help="Split role (train, dev, test) or a source split "
                                   "name such as validation."),
         source: str = typer.Option("auto", "--source", help="auto, hub, mirror or bundled."),
         mode: str = typer.Option("natural", "--mode", help="natural, no_template, dataset_name, baseline."),
         data_dir: Optional[Path] = DATA_DIR, tasks_file: Optional[list[Path]] = TASKS_FILE,
         json_: bool = JSON) -> None:
    """Render real examples of a task with each of its templates, with options and targets.

    Example: flanlab tasks show rte --template 01 --n 2 --source bundled
    """
    from rich.panel import Panel

    from .render import render
    from .sources import ROLES, iter_examples

    cat = _cat(tasks_file)
    spec = cat.task(task)
    tset = cat.templates(spec)
    templates = [tset.get(template)] if template else list(tset.templates)
    role, overrides = (split, None) if split in ROLES else ("test", {"test": split})
    examples = list(iter_examples(spec, role, source=source, data_dir=data_dir, limit=n,
                                  split_overrides=overrides))
    out = []
    for ex in examples:
        for tp in (templates if mode == "natural" else [None]):
            r = render(spec, tset, tp, ex, mode=mode)
            if r is None:
                continue
            out.append({"task": r.task, "template": r.template_id, "turned": r.turned, "example": r.example_id,
                        "inputs": r.inputs, "targets": r.targets, "options": r.options})
    if json_:
        print_json({"task": spec.name, "template_set": tset.name, "version": tset.version,
                    "evaluation_only": spec.evaluation_only, "splits": _roles(spec), "renderings": out})
        return
    err.print(f"[bold]{spec.name}[/bold] ({spec.cluster}, {spec.kind}) - {spec.description}")
    err.print(f"splits: {', '.join(f'{k}={v}' for k, v in _roles(spec).items())}", highlight=False)
    if spec.evaluation_only:
        err.print("[yellow]evaluation only[/yellow]: its only labelled split is its test split, so it never "
                  "enters a training mixture", highlight=False)
    for r in out:
        title = f"{r['task']}/{r['template']}{' (turned around)' if r['turned'] else ''}  {r['example']}"
        body = _escape(r["inputs"]) + f"\n\n[bold green]target:[/bold green] {_escape(r['targets'])}"
        err.print(Panel(body, title=_escape(title), title_align="left"), highlight=False)


def _roles(spec) -> dict[str, str]:
    r = spec.splits
    roles = {"train": r.train, "dev": r.dev + (f" (every {r.dev_every}th row)" if r.carved else ""), "test": r.test}
    if spec.evaluation_only:
        roles["train"] = "none (evaluation only)"
    return roles


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
