"""`flanlab demo`: the paper's Figure 7 at 135M, offline, on a laptop CPU (the plan is experiments/demo.py).

    flanlab demo --quick                        # smoke run on the bundled samples (~3 minutes on 2 cores)
    flanlab demo --data-dir ../shared/data/hf   # tunes and evaluates on the real datasets (a local Hub mirror)
    flanlab demo                                # the full budget on the bundled samples (a smoke run too)

Holds out NLI (and paraphrase, by the paper's rule), instruction-tunes the embedded SmolLM2-135M-Instruct
on the held-in tasks (SST-2, ARC-Easy; --train-tasks for another mixture), and scores three models on the
held-in tasks (on examples never trained on) and on the held-out NLI tasks, every forward template: the tuned model, the untuned model with the same
instructions, and the untuned model with GPT-3-style prompts (the paper's baseline). Tuned vs untuned is
compared on the same examples (paired bootstrap, 95% interval). The data comes from --data-dir (or
FLANLAB_DATA_DIR) only: without it the bundled 40-row samples are used and the numbers are noise.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Optional

import typer

from ..cli_common import DATA_DIR, JSON
from ..console import err, print_json
from ..console import out as stdout  # tables on stdout (pipe into grep); logs on stderr

COMMAND_SETTINGS = {"help": "Run the main job: hold out NLI, tune the default model on held-in tasks, "
                    "compare tuned vs untuned on held-in and held-out tasks, write the report.\n\n"
                    "Example: flanlab demo --quick"}


def _f(v: float | None) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def _cell(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("mean") is None:
        return "–"
    const = len(entry.get("constant") or [])
    flag = f" [red]const {const}/{entry['templates']}[/red]" if const else ""
    spread = f" ± {_f(entry['std'])}" if (entry.get("templates") or 0) > 1 else ""
    ci = f" [{_f(entry['ci95'][0])}, {_f(entry['ci95'][1])}]" if entry.get("ci95") else ""
    return f"{_f(entry['mean'])}{spread}{ci}{flag}"


def _cmp(c: dict[str, Any] | None) -> str:
    if not c:
        return "–"
    lo, hi = c["ci95"]
    style = "green" if lo > 0 else ("red" if hi < 0 else "yellow")
    return f"[{style}]{100 * c['diff']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] p={c['p']:.3f}[/{style}]"


def print_tables(res: dict[str, Any], title: str, console: Any = None) -> None:
    from rich.table import Table

    names = {"held_in": "held-in (tuned on; unseen examples)", "held_out": "held-out NLI (never tuned on)"}
    for which, st in res["sets"].items():
        t = Table(title=f"{title}: {names[which]}", title_justify="left")
        for c in ("task", "n", "templates", "tuned", "untuned (instructions)", "untuned (GPT-3 prompt)",
                  "tuned − untuned (95% CI)"):
            t.add_column(c, justify="left" if c == "task" else "right")
        per_task = (st.get("tuned_vs_untuned_instructions") or {}).get("tasks", {})
        for r in st["tasks"]:
            tuned = r.get("tuned") or {}
            t.add_row(r["task"], str(tuned.get("n", "–")), str(tuned.get("templates", "–")), _cell(r.get("tuned")),
                      _cell(r.get("untuned-instructions")), _cell(r.get("untuned-baseline")), _cmp(per_task.get(r["task"])))
        m = st["mean"]
        t.add_row("[bold]mean[/bold]", str((st.get("tuned_vs_untuned_instructions") or {}).get("n", "–")), "",
                  _f(m.get("tuned")), _f(m.get("untuned-instructions")), _f(m.get("untuned-baseline")),
                  _cmp(st.get("tuned_vs_untuned_instructions")))
        (console or stdout).print(t)
        if st.get("contamination"):
            parts = [f"{task} {c['contaminated']}/{c['checked']}" for task, c in st["contamination"].items()]
            dirty = any(c["contaminated"] for c in st["contamination"].values())
            (console or stdout).print(f"{'[red]' if dirty else ''}scored examples sharing a 13-gram with the tuning "
                                      f"data: {', '.join(parts)}{'[/red]' if dirty else ''}", highlight=False)
    err.print("scores in %, mean ± std over templates [95% CI: bootstrap over examples]; n = examples per model "
              "(each scored with every template); tuned − untuned: paired bootstrap over examples; const k/m: k templates answered one option to every "
              "example", highlight=False, markup=False)


def command(quick: bool = typer.Option(False, "--quick", help="The ~3-minute variant (what CI runs)."),
            data_dir: Optional[str] = DATA_DIR,
            model: str = typer.Option("smollm2-135m-instruct", "--model", help="Base model to tune."),
            out: Optional[Path] = typer.Option(None, "--out", help="Experiment directory (default: runs/demo, "
                                               "runs/demo-quick)."),
            steps: Optional[int] = typer.Option(None, "--steps", help="Tuning steps (default: the swept recipe)."),
            lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: the swept recipe)."),
            limit: Optional[int] = typer.Option(None, "--limit", help="Evaluation examples per task (0: all)."),
            train_tasks: Optional[str] = typer.Option(None, "--train-tasks", help="Comma-separated tuning tasks "
                                                      "(default: the held-in tasks, the swept recipe)."),
            fresh: bool = typer.Option(False, "--fresh", help="Delete the demo directory first and redo every step."),
            json_out: bool = JSON) -> None:
    """Hold out NLI, instruction-tune on the held-in tasks, compare tuned vs untuned zero-shot, write the report.

    Example: flanlab demo --quick
    """
    import time

    from ..models import resolve_path
    from .demo import collapsed, demo_config, run_demo

    t0 = time.time()
    out = out or Path("runs") / ("demo-quick" if quick else "demo")
    cfg, info = demo_config(quick=quick, model=model, out=out, data_dir=data_dir, steps=steps, limit=limit, lr=lr,
                            train_tasks=[t.strip() for t in train_tasks.split(",") if t.strip()] if train_tasks else None)
    if fresh and out.exists():
        shutil.rmtree(out)
    err.print(f"[bold]flanlab demo{' --quick' if quick else ''}[/bold]: hold out NLI, tune {model} on "
              f"{', '.join(info['train_tasks'])}, compare tuned vs untuned on held-in and held-out tasks", highlight=False)
    err.print("preparing the model (the embedded GGUF is converted once into the cache) ...", highlight=False)
    resolve_path(model, progress=lambda msg: err.print(f"  model: {msg}", highlight=False))
    if data_dir:
        err.print(f"data: the real datasets under {data_dir}; tuning on {', '.join(info['train_tasks'])} "
                  "(each on a split the demo never scores)", highlight=False)
    else:
        err.print("data: the bundled samples (40 rows per split): a smoke run, the scores are noise; pass "
                  "--data-dir (or FLANLAB_DATA_DIR) with a local Hub mirror for real numbers", highlight=False)
    err.print(f"tuning {info['steps']} steps of {info['tokens']} tokens at lr {info['lr']:g}; held-in "
              f"{', '.join(info['held_in'])} ({info['held_in_limit'] or 'all'} examples each), held-out "
              f"{', '.join(info['held_out'])} ({info['held_out_limit'] or 'all'} examples each), every forward "
              "template", highlight=False)
    res = run_demo(cfg)
    report = Path(res["report"]) / "report.html"
    wall = time.time() - t0
    bad = collapsed(res)
    if json_out:
        print_json({"info": info, "sets": res["sets"], "report": str(report), "markdown": str(report.with_suffix(".md")),
                    "experiment": str(cfg.directory), "executed": res["executed"], "collapsed": bad,
                    "wall_seconds": round(wall, 1)})
    print_tables(res, f"{cfg.models[0]}, {info['steps']} tuning steps",
                 err if json_out else stdout)  # stdout holds exactly one JSON document with --json
    err.print(f"finished in {wall:.0f}s ({len(res['executed'])} step(s) run, the others were cached)\n"
              f"report: {report}", highlight=False)
    if bad:
        what = f"the tuned model answers one constant option to every held-in example on {', '.join(bad)}"
        if quick:  # a smoke run: its few steps need not move a 135M model (docs/demo.md)
            err.print(f"[yellow]warning:[/yellow] {what}: --quick is a smoke run of the pipeline, not a result; "
                      "run the full demo with --data-dir for one", highlight=False)
        else:
            err.print(f"[red]error:[/red] {what}: the tuned model is collapsed, its scores are not a result "
                      "(lower --lr, or change the number of steps)", highlight=False)
            raise typer.Exit(1)
