"""`flanlab data`: where each task's data comes from, and mirroring hub datasets for offline machines.

    flanlab data check --data-dir ../shared/data/hf
    flanlab data mirror rte cb --out /scratch/flan-mirror      # on a login node with a network
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_common import DATA_DIR, JSON, TASKS_FILE
from ..console import err, print_json
from ..console import out as stdout  # tables on stdout (pipe into grep); logs on stderr

app = typer.Typer(help="Check data sources and mirror hub datasets for offline use.\n\n"
                  "Example: flanlab data check --data-dir ../shared/data/hf", no_args_is_help=True)


def _split_info(task, role: str, data_dir, source: str) -> dict:
    from ..errors import FlanlabError
    from .sources import count_examples, resolve_source, role_split

    split = role_split(task, role)
    info = {"role": role, "split": split}
    try:
        kind, path = resolve_source(task, split, source, data_dir)
    except FlanlabError as e:
        return {**info, "source": None, "error": str(e)}
    info.update(source=kind, path=str(path) if path else None)
    if kind == "hub":
        return info  # counting would stream the whole split over the network
    skipped = [0]
    try:
        info["examples"] = count_examples(task, role, source=kind, data_dir=data_dir, skipped=skipped)
        info["skipped"] = skipped[0]
    except FlanlabError as e:
        info["error"] = str(e)  # a schema mismatch: the row does not fit the task's preprocess
    return info


@app.command("check")
def check(tasks: Optional[list[str]] = typer.Argument(None, help="Task ids (default: all)."),
          data_dir: Optional[Path] = DATA_DIR,
          source: str = typer.Option("auto", "--source", help="auto, mirror or bundled (hub is not counted)."),
          tasks_file: Optional[list[Path]] = TASKS_FILE, json_: bool = JSON) -> None:
    """Report, for every task, which source each split role would use, its size, and schema mismatches.

    Example: flanlab data check rte cb --data-dir ../shared/data/hf
    """
    from rich.table import Table

    from .registry import catalogue
    from .sources import ROLES

    cat = catalogue(tasks_file or None)
    specs = [cat.task(t) for t in tasks] if tasks else list(cat.tasks.values())
    report = []
    for t in specs:
        report.append({"task": t.name, "roles": [_split_info(t, r, data_dir, source) for r in ROLES]})
    if json_:
        print_json({"data_dir": str(data_dir) if data_dir else None, "tasks": report})
        return
    table = Table(title=f"data sources (data dir: {data_dir or 'none'})")
    for col in ("task", *ROLES):
        table.add_column(col, overflow="fold")
    for r in report:
        cells = []
        for info in r["roles"]:
            if info.get("error"):
                cells.append(f"[red]{info['split']}: {info['error'][:80]}[/red]")
            elif info["source"] == "hub":
                cells.append(f"{info['split']} (hub)")
            else:
                skip = f", {info['skipped']} skipped" if info.get("skipped") else ""
                cells.append(f"{info['split']} ({info['source']}: {info['examples']}{skip})")
        table.add_row(r["task"], *cells)
    stdout.print(table)


@app.command("mirror")
def mirror(tasks: list[str] = typer.Argument(..., help="Task ids to mirror."),
           out: Path = typer.Option(..., "--out", help="Mirror root: <out>/<hub id>/<config>/<split>.jsonl."),
           splits: Optional[list[str]] = typer.Option(None, "--split", help="Only these source splits."),
           tasks_file: Optional[list[Path]] = TASKS_FILE, json_: bool = JSON) -> None:
    """Download hub datasets into the local mirror layout (for offline compute nodes).

    Example: flanlab data mirror rte cb anli_r1 --out /scratch/flan-mirror
    """
    from .mirror import mirror_tasks
    from .registry import catalogue

    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"{out} is a file, not a directory", param_hint="--out")
    written = mirror_tasks(catalogue(tasks_file or None), tasks, out, splits,
                           log=lambda msg: err.print(msg, highlight=False, markup=False))
    if json_:
        print_json({"out": str(out), "splits": written})
