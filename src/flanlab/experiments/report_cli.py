"""`flanlab report RUN_DIR...`: tables and figures of the paper from stored results, side by side.

    flanlab report runs/demo                                  # -> runs/demo/report/report.html
    flanlab report runs/heldout-sweep runs/rte-eval --out runs/compare
    flanlab report runs/demo --json                           # paths and the per-cluster table as JSON

Reads only the directories given (evaluation runs and experiments: results.json, experiment.json, run.json);
nothing is recomputed, no folder is searched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_common import JSON
from ..console import err, print_json

COMMAND_SETTINGS = {"help": "Write an HTML + Markdown report (tables, figures) from stored results.\n\n"
                    "Example: flanlab report runs/demo runs/other --out runs/compare"}


def command(run_dirs: list[Path] = typer.Argument(..., help="Experiment or run directories (or folders of them)."),
            out: Optional[Path] = typer.Option(None, "--out", "-o", help="Report directory (default: "
                                               "<first run>/report, or runs/report-compare for several)."),
            title: str = typer.Option("flanlab report", "--title", help="Report title."),
            json_out: bool = JSON) -> None:
    """Write report.html (self-contained), report.md and figures/ (PNG, SVG, JSON) from stored results.

    Example: flanlab report runs/demo runs/other --out runs/compare
    """
    from ..errors import FlanlabError
    from ..runs import RunDir
    from .collect import collect
    from .report import cluster_table, write_report

    collected = collect(run_dirs)  # bad paths fail here, before the report directory exists
    if out is None:
        out = run_dirs[0] / "report" if len(run_dirs) == 1 else Path("runs") / "report-compare"
    if out.exists() and not out.is_dir():
        raise FlanlabError(f"--out {out} is a file, not a directory")
    run = RunDir.create(out, "report", overwrite=True)
    paths = write_report(run_dirs, out, title=title)
    run.finish({k: str(v) for k, v in paths.items()})
    if json_out:
        head, rows = cluster_table(collected)
        figs = paths["figures"]
        print_json({"report": {k: str(v) for k, v in paths.items()},
                    "figures": sorted(p.name for p in figs.glob("*.svg")) if figs.is_dir() else [],
                    "clusters": [dict(zip(head, r)) for r in rows]})
        return
    err.print(f"report: {paths['html']}\nmarkdown: {paths['markdown']}")
