"""`flanlab demo`: a real miniature of the paper's Figure 1, offline, on a laptop CPU.

    flanlab demo --quick                        # ~3 minutes on 2 CPU cores (what CI runs)
    flanlab demo                                # ~10-15 minutes: 24 tuning steps, 4 NLI tasks x 10 templates
    flanlab demo --data-dir ../shared/data/hf   # the same on the real datasets (a local Hub mirror)

Holds out natural language inference (and paraphrase, by the paper's rule), instruction-tunes the embedded
SmolLM2-135M-Instruct on the other clusters' bundled samples for a small step budget, evaluates the tuned
model zero-shot on the held-out NLI tasks over every forward template against the untuned model with
GPT-3-style prompts (the paper's baseline) and with the instruction templates, and writes the report. It is an experiment like any other (kind heldout_sweep, runs/demo[-quick]/): a rerun reuses the
finished steps; --fresh starts over.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Optional

import typer

from ..cli_common import DATA_DIR, JSON
from ..console import err, print_json
from ..console import out as stdout  # tables on stdout (pipe into grep); logs on stderr

COMMAND_SETTINGS = {"help": "Run the main job: hold out NLI, tune the default model on the other clusters, "
                    "evaluate tuned vs untuned zero-shot on NLI, write the report.\n\nExample: flanlab demo --quick"}

# Budgets sized from measurements on 2 CPU cores (LOG.md, 2026-11-23): steps x tokens per step for tuning,
# test examples per task (all 10 forward templates each). Estimated on an idle machine: --quick ~2.3 min,
# full ~10 min, both including the one-time GGUF conversion; the machine was shared when measured.
# `tasks`: the NLI tasks evaluated (None: every one with data); `best_dev`: also score the dev split to pick
# the best template (the paper's second number), which costs one more pass over dev examples.
BUDGETS: dict[str, dict[str, Any]] = {
    "quick": {"steps": 4, "tokens": 1024, "limit": 5, "dev_limit": 2, "best_dev": False, "tasks": ["rte", "cb"]},
    "full": {"steps": 24, "tokens": 1024, "limit": 12, "dev_limit": 4, "best_dev": True, "tasks": None},
}
REAL_DATA_LIMIT = 100
DEMO_LR = 1e-3  # examples per NLI task with --data-dir unless --limit says otherwise


def nli_eval_tasks(cat, source: str, data_dir: str | None) -> list[str]:
    """The held-out NLI tasks whose test split the chosen source has."""
    from ..tasks.sources import BUNDLED_DIR, mirror_file

    root = Path(data_dir) if source == "mirror" else BUNDLED_DIR
    tasks = [t.name for t in cat.tasks_in("nli") if mirror_file(root, t, t.splits.test)]
    if not tasks:
        raise typer.BadParameter(f"no NLI task has a test split under {root}", param_hint="--data-dir")
    return tasks


MIN_REAL_TRAIN_TASKS = 3  # fewer real training tasks than this is no instruction-tuning mixture


def train_source(cat, data_dir: str | None) -> tuple[str, list[str]]:
    """('mirror', tasks) if the mirror has train splits for enough tasks outside the held-out clusters, else
    ('bundled', the few it has): evaluation mirrors usually hold dev/test splits only."""
    from ..mixtures import split_tasks
    from ..tasks.sources import mirror_file

    if not data_dir:
        return "bundled", []
    train = split_tasks(cat, holdout=["nli"]).train
    have = [t for t in train if mirror_file(Path(data_dir), cat.task(t), cat.task(t).splits.train)]
    return ("mirror" if len(have) >= MIN_REAL_TRAIN_TASKS else "bundled"), have


def demo_config(*, quick: bool, model: str, out: Path, data_dir: str | None, steps: int | None,
                limit: int | None):
    from ..tasks import catalogue
    from .config import ExperimentConfig

    b = dict(BUDGETS["quick" if quick else "full"])
    cat = catalogue()
    eval_source = "mirror" if data_dir else "bundled"
    tune_source, real_train = train_source(cat, data_dir)
    if data_dir:
        b["limit"] = REAL_DATA_LIMIT
    if limit is not None:
        b["limit"] = limit or None
    mixture = {"source": tune_source, "missing_data": "skip", "max_input_len": 384, "max_target_len": 64,
               "seq_len": 512, "data_dir": data_dir if tune_source == "mirror" else None}
    tasks = nli_eval_tasks(cat, eval_source, data_dir)
    if b["tasks"] and not data_dir:
        tasks = [t for t in tasks if t in b["tasks"]] or tasks
    cfg = ExperimentConfig(
        name=out.name, runs_dir=str(out.parent), kind="heldout_sweep", models=[model], eval_clusters=["nli"],
        eval_tasks=tasks, baselines=False, mixture=mixture,
        # lr 1e-3 (Adafactor, constant), not the paper's 3e-5: that was for a 137B model over 30k steps; at
        # 3e-5 a 135M model moved by a few dozen steps changes no prediction at all (LOG.md, 2026-11-23).
        train={"steps": steps or b["steps"], "batch": {"tokens": b["tokens"], "micro_rows": 2},
               "optim": {"lr": DEMO_LR},
               "checkpoint": {"every": 0}, "log_every": 1},
        eval={"source": eval_source, "data_dir": data_dir, "limit": b["limit"], "dev_limit": b["dev_limit"],
              "best_dev": b["best_dev"], "batch_size": 16},
        contamination={"max_eval_examples": b["limit"]})
    return cfg, tune_source, real_train


def results_table(summary: dict[str, Any], exp_dir: Path) -> list[dict[str, Any]]:
    """One row per NLI task: the untuned model with GPT-3-style prompts (the paper's baseline, `base_*`), the
    untuned model with instructions, the tuned model's mean over templates, std, best-dev score, and the gain
    over the baseline."""
    from .collect import collect, variant_of

    col = collect([exp_dir])
    by = {variant_of(s): s for s in col.series}
    base, instr, tuned = by.get("untuned-baseline"), by.get("untuned-instructions"), by.get("tuned")
    from ..evaluation.stats import compare_task, constant_cells

    rows = []
    for task in sorted(set((base.tasks if base else {})) | set((tuned.tasks if tuned else {}))):
        b = (base.tasks.get(task) if base else None) or {}
        i = (instr.tasks.get(task) if instr else None) or {}
        t = (tuned.tasks.get(task) if tuned else None) or {}
        paired = compare_task(b, t, task) if b and t else None
        rows.append({"task": task, "metric": t.get("metric") or b.get("metric"),
                     "templates": len(t.get("templates", {})),
                     "base_mean": b.get("mean"), "base_std": b.get("std"),
                     "untuned_instructions_mean": i.get("mean"), "untuned_instructions_std": i.get("std"),
                     "tuned_mean": t.get("mean"), "tuned_std": t.get("std"), "tuned_best_dev": t.get("best_dev"),
                     "gain": None if b.get("mean") is None or t.get("mean") is None else t["mean"] - b["mean"],
                     # issue 12: intervals, sample size, the paired test, constant-output cells
                     "n": t.get("n", b.get("n")), "base_ci95": b.get("ci95"), "tuned_ci95": t.get("ci95"),
                     "untuned_instructions_ci95": i.get("ci95"),
                     "gain_ci95": paired["ci95"] if paired else None, "p": paired["p"] if paired else None,
                     "test": paired["test"] if paired else None,
                     "within_noise": paired["within_noise"] if paired else None,
                     "base_constant": sum(1 for x, _ in constant_cells(base.results) if x == task) if base else 0,
                     "untuned_instructions_constant":
                         sum(1 for x, _ in constant_cells(instr.results) if x == task) if instr else 0,
                     "tuned_constant": sum(1 for x, _ in constant_cells(tuned.results) if x == task) if tuned else 0})
    return rows


def collapsed_tasks(exp_dir: Path, held_out: list[str]) -> list[str]:
    """Tasks outside the held-out clusters (held-in: seen in tuning) on which the tuned model gives one constant
    answer to every example on most templates (stats.check_collapse); empty when none or none evaluated."""
    from ..evaluation.stats import check_collapse
    from .collect import collect

    out = []
    for s in collect([exp_dir]).series:
        if s.tags.get("variant") == "tuned":
            held_in = [t for t, r in s.tasks.items() if r.get("cluster") not in held_out]
            out += check_collapse(s.results, held_in)
    return out


def _print_table(rows: list[dict[str, Any]], title: str, console: Any = None) -> None:
    from rich.table import Table

    from ..evaluation.stats import fmt_ci

    f = lambda v: "–" if v is None else f"{100 * v:.1f}"  # noqa: E731
    const = lambda k: f" [red]⚠{k} const[/red]" if k else ""  # noqa: E731
    t = Table(title=title, title_justify="left")
    for c in ("task", "n", "templates", "untuned, GPT-3-style prompt [95% CI]", "untuned, instructions (mean ± std)",
              "tuned (mean ± std) [95% CI]", "tuned best-dev", "gain [95% CI]", "p"):
        t.add_column(c, justify="left" if c == "task" else "right")
    for r in rows:
        gain = r["gain"]
        style = "" if gain is None or r.get("within_noise") else ("green" if gain > 0 else "red")
        g = f"{'+' if gain and gain > 0 else ''}{f(gain)} {fmt_ci(r.get('gain_ci95'))}"
        t.add_row(r["task"], str(r.get("n") or "–"), str(r["templates"]),
                  f"{f(r['base_mean'])} {fmt_ci(r.get('base_ci95'))}" + const(r.get("base_constant")),
                  f"{f(r['untuned_instructions_mean'])} ± {f(r['untuned_instructions_std'])}"
                  + const(r.get("untuned_instructions_constant")),
                  f"{f(r['tuned_mean'])} ± {f(r['tuned_std'])} {fmt_ci(r.get('tuned_ci95'))}"
                  + const(r.get("tuned_constant")), f(r["tuned_best_dev"]),
                  f"[{style}]{g}[/{style}]" if style else g,
                  "–" if r.get("p") is None else f"{r['p']:.3g}" + (" (noise)" if r.get("within_noise") else ""))
    (console or stdout).print(t)
    err.print("n: test examples per task; ± std over templates; 95% CI: bootstrap over examples; gain: tuned minus "
              "the untuned model on GPT-3-style prompts, paired on the same examples (p: paired bootstrap, McNemar "
              "for single-template accuracy; '(noise)': the interval includes 0); const: templates answering one "
              "constant option for every example", highlight=False, markup=False)


def command(quick: bool = typer.Option(False, "--quick", help="The ~3-minute variant (what CI runs)."),
            data_dir: Optional[str] = DATA_DIR,
            model: str = typer.Option("smollm2-135m-instruct", "--model", help="Base model to tune."),
            out: Optional[Path] = typer.Option(None, "--out", help="Experiment directory (default: runs/demo, "
                                               "runs/demo-quick)."),
            steps: Optional[int] = typer.Option(None, "--steps", help="Tuning steps (default: the measured budget)."),
            limit: Optional[int] = typer.Option(None, "--limit", help="Evaluation examples per task (0: all)."),
            fresh: bool = typer.Option(False, "--fresh", help="Delete the demo directory first and redo every step."),
            json_out: bool = JSON) -> None:
    """Hold out NLI, instruction-tune on the other clusters, evaluate tuned vs untuned zero-shot, write the report.

    Example: flanlab demo --quick
    """
    import time

    from ..models import resolve_path
    from .run import run_experiment

    t0 = time.time()
    out = out or Path("runs") / ("demo-quick" if quick else "demo")
    if fresh and out.exists():
        shutil.rmtree(out)
    err.print(f"[bold]flanlab demo{' --quick' if quick else ''}[/bold]: hold out NLI, tune {model} on the other "
              "clusters, compare tuned vs untuned (GPT-3-style prompts) zero-shot on the held-out NLI tasks", highlight=False)
    err.print("preparing the model (the embedded GGUF is converted once into the cache) ...", highlight=False)
    resolve_path(model, progress=lambda msg: err.print(f"  model: {msg}", highlight=False))
    cfg, tune_source, real_train = demo_config(quick=quick, model=model, out=out, data_dir=data_dir,
                                               steps=steps, limit=limit)
    if data_dir:
        tuning = (f"the real train splits of {', '.join(real_train)}" if tune_source == "mirror" else
                  f"the bundled samples: {data_dir} has train splits for {len(real_train)} task(s) outside "
                  f"NLI/paraphrase ({', '.join(real_train) or 'none'}), fewer than {MIN_REAL_TRAIN_TASKS}")
        err.print(f"tuning on {tuning}; evaluating on the real test splits of {', '.join(cfg.eval_tasks)}",
                  highlight=False)
    err.print(f"evaluating on {', '.join(cfg.eval_tasks)} (every forward template, "
              f"{cfg.eval.get('limit') or 'all'} examples per task); tuning {cfg.train['steps']} steps of "
              f"{cfg.train['batch']['tokens']} tokens", highlight=False)
    summary = run_experiment(cfg)
    rows = results_table(summary, cfg.directory)
    report = Path(summary["report"]) / "report.html"
    wall = time.time() - t0
    if json_out:
        print_json({"results": rows, "report": str(report), "markdown": str(report.with_suffix(".md")),
                    "experiment": str(cfg.directory), "executed": summary["executed"], "wall_seconds": round(wall, 1)})
    _print_table(rows, f"Zero-shot on held-out NLI (scores in %, {cfg.models[0]}, {cfg.train['steps']} tuning steps)",
                 err if json_out else stdout)  # stdout holds exactly one JSON document with --json
    err.print(f"finished in {wall:.0f}s ({len(summary['executed'])} step(s) run, the others were cached)\n"
              f"report: {report}", highlight=False)
    collapsed = collapsed_tasks(cfg.directory, list(cfg.eval_clusters))
    if collapsed:
        from ..errors import FlanlabError

        raise FlanlabError(f"the tuned model has collapsed on tasks seen in tuning: {', '.join(collapsed)}: it "
                           "gives one constant answer to every example, so its scores are no result (lower the "
                           "learning rate or the steps; see the report's degenerate-output table)")
