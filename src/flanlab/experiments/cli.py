"""`flanlab experiment`: run a declared experiment as a plan of cached steps, or show the plan.

    flanlab experiment plan configs/experiments/heldout_sweep.yaml          # steps, done / missing
    flanlab experiment plan configs/experiments/num_clusters.yaml --json
    flanlab experiment run configs/experiments/heldout_sweep.yaml --set train.steps=20
    flanlab experiment run configs/experiments/heldout_sweep.yaml --set "eval_clusters=[nli, closed_book_qa]"

Rerunning after a crash, or after adding a held-out cluster, runs only the steps that are missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_common import JSON, SET
from ..console import err, print_json
from ..console import out as stdout  # tables on stdout (pipe into grep); logs on stderr

app = typer.Typer(help="Run the paper's studies as plans of cached steps (mixture -> train -> eval -> report)."
                  "\n\nExample: flanlab experiment run configs/experiments/heldout_sweep.yaml",
                  no_args_is_help=True)

CONFIG_ARG = typer.Argument(..., help="Experiment YAML (see configs/experiments/).")


def _load(config: Path, overrides: Optional[list[str]]):
    from .config import load_experiment

    return load_experiment(config, overrides=overrides)


def _print_plan(rows: list[dict], title: str) -> None:
    from rich.table import Table

    t = Table(title=title, title_justify="left")
    for c in ("step", "kind", "what", "state", "wall s"):
        t.add_column(c)
    for r in rows:
        style = "green" if r["done"] else ("red" if r["state"] == "failed" else "yellow")
        t.add_row(r["id"], r["kind"], r["label"], f"[{style}]{r['state']}[/{style}]",
                  "" if r["wall_seconds"] is None else f"{r['wall_seconds']:.1f}")
    stdout.print(t)


@app.command("plan")
def plan_cmd(config: Path = CONFIG_ARG, set_: Optional[list[str]] = SET, json_out: bool = JSON) -> None:
    """Show an experiment's steps and which are done or missing.

    Example: flanlab experiment plan configs/experiments/heldout_sweep.yaml --json
    """
    from .run import plan_experiment, plan_protocol
    from .steps import status

    cfg = _load(config, set_)
    rows = status(cfg.directory, plan_experiment(cfg))
    notes = plan_protocol(cfg)
    if json_out:
        print_json({"experiment": cfg.name, "kind": cfg.kind, "dir": str(cfg.directory), "protocol": notes,
                    "steps": rows, "done": sum(r["done"] for r in rows), "missing": sum(not r["done"] for r in rows)})
        return
    _print_plan(rows, f"{cfg.name} ({cfg.kind}) -> {cfg.directory}")
    for n in notes:
        err.print(f"protocol: {n}", highlight=False)
    err.print(f"{sum(r['done'] for r in rows)} done, {sum(not r['done'] for r in rows)} missing")


@app.command("run")
def run_cmd(config: Path = CONFIG_ARG, set_: Optional[list[str]] = SET,
            only: Optional[str] = typer.Option(None, "--only", help="Run only steps whose id starts with this "
                                               "(e.g. 'eval' or 'train-3f2a')."),
            json_out: bool = JSON) -> None:
    """Run every missing step of an experiment, then write its report (runs/<name>/report/).

    Example: flanlab experiment run configs/experiments/heldout_sweep.yaml --set train.steps=20
    """
    from .run import run_experiment

    cfg = _load(config, set_)
    summary = run_experiment(cfg, only=only)
    if json_out:
        print_json(summary)
        return
    _print_plan(summary["steps"], f"{cfg.name}: {len(summary['executed'])} step(s) run")
    err.print(f"report: {Path(summary['report']) / 'report.html'}")
