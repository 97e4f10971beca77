"""`flanlab eval`: zero-/few-shot evaluation on catalogue tasks, and export to lm-evaluation-harness.

    flanlab eval smollm2-135m-instruct --tasks rte,cb --data-dir ../shared/data/hf --limit 100
    flanlab eval runs/tuned/model --clusters nli --shots 4 --json
    flanlab eval smollm2-135m-instruct --tasks rte --mode baseline        # GPT-3-style prompts, untuned model
    flanlab eval export-lm-eval --tasks rte --out lm_eval_tasks/ --data-dir ../shared/data/hf
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..cli_common import CONFIG, DATA_DIR, DEVICE, JSON, OVERWRITE, SET, TASKS_FILE, DefaultGroup
from ..console import err, print_json
from ..console import out as stdout

app = typer.Typer(cls=DefaultGroup, no_args_is_help=True,
                  help="Evaluate a model zero-/few-shot on catalogue tasks (rank classification and generation), "
                       "cached per cell.\n\nExample: flanlab eval smollm2-135m-instruct --tasks rte --limit 50")

MODE = typer.Option(None, "--mode", help="natural (instructions), baseline (GPT-3-style prompts), no_template, "
                    "dataset_name.")


@app.command("run")
def run(
    model: Optional[str] = typer.Argument(None, help="Alias, local dir, gguf:PATH or hub id."),
    tasks: Optional[str] = typer.Option(None, "--tasks", help="Comma-separated task names."),
    clusters: Optional[str] = typer.Option(None, "--clusters", help="Comma-separated cluster names."),
    templates: Optional[str] = typer.Option(None, "--templates", help="Only these template ids (e.g. 01,03)."),
    shots: Optional[int] = typer.Option(None, "--shots", help="Few-shot exemplars from the training split."),
    mode: Optional[str] = MODE,
    split: Optional[str] = typer.Option(None, "--split", help="test (with dev for the best template) or dev."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most N examples per task and split."),
    sample: Optional[str] = typer.Option(None, "--sample", help="Which N examples --limit keeps: first (default) "
                                         "or random (seeded; unbiased when the file is ordered)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Requests per forward pass (16)."),
    best_dev: Optional[bool] = typer.Option(None, "--best-dev/--no-best-dev", help="Score dev to pick a template."),
    source: Optional[str] = typer.Option(None, "--source", help="auto, hub, mirror or bundled."),
    data_dir: Optional[Path] = DATA_DIR,
    tasks_file: Optional[list[Path]] = TASKS_FILE,
    device: Optional[str] = DEVICE,
    dtype: Optional[str] = typer.Option(None, "--dtype", help="fp32, bf16, fp16 or auto."),
    cache: Optional[bool] = typer.Option(None, "--cache/--no-cache", help="Reuse finished cells (default on)."),
    chat_template: Optional[bool] = typer.Option(None, "--chat-template/--no-chat-template",
                                                 help="Wrap prompts in the model's own chat template (off)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run directory (default runs/eval-<model>-<time>)."),
    overwrite: bool = OVERWRITE,
    resume: bool = typer.Option(False, "--resume", help="Continue the unfinished run in --out (finished cells "
                                "come from the cache)."),
    config: Optional[Path] = CONFIG,
    set_: Optional[list[str]] = SET,
    json_: bool = JSON,
) -> None:
    """Evaluate MODEL on tasks and clusters (the default command: `flanlab eval MODEL ...`).

    Writes results.json, cells.jsonl and per-example records into the run directory. Exits 1 when a cell
    failed (run.json: partial or failed), 130 when interrupted (continue with --resume --out DIR).

    Example: flanlab eval smollm2-135m-instruct --tasks rte --data-dir ../shared/data/hf --limit 50
    """
    from ..config import load_config
    from ..runs import read_json
    from .config import EvalConfig
    from .run import evaluate

    cli = {"model": model, "tasks": tasks, "clusters": clusters, "templates": templates, "shots": shots,
           "mode": mode, "split": split, "limit": limit, "sample": sample, "batch_size": batch_size, "best_dev": best_dev,
           "source": source, "data_dir": str(data_dir) if data_dir else None, "device": device, "dtype": dtype,
           "cache": cache, "chat_template": chat_template, "out": str(out) if out else None,
           "tasks_file": [str(p) for p in tasks_file] if tasks_file else None}
    if resume and out is None:
        raise typer.BadParameter("--resume continues the run in --out DIR; pass --out", param_hint="--resume")
    cfg = load_config(EvalConfig, config, set_, cli, section="eval")
    path = evaluate(cfg, resume=resume, overwrite=overwrite)
    results = read_json(path / "results.json")
    status = read_json(path / "run.json").get("status")
    if json_:
        print_json({"run_dir": str(path), "status": status, **results})
    else:
        _table(results, path)
    if status != "finished":
        raise typer.Exit(1)


def _fmt(x: Optional[float]) -> str:
    return "-" if x is None else f"{x:.4f}"


def _table(results: dict, path: Path) -> None:
    from rich.table import Table

    from .stats import constant_cells

    table = Table(title=f"{results['model']} ({results['mode']}, {results['shots']}-shot)")
    for col in ("task", "metric", "mean", "95% CI", "n", "std", "best dev tmpl", "best-dev score", "templates",
                "constant", "failed"):
        table.add_column(col)
    const = constant_cells(results)
    for name, t in results["tasks"].items():
        k = sum(1 for task, _ in const if task == name)
        table.add_row(name, t["metric"], _fmt(t["mean"]), _fmt_ci(t.get("ci95")), str(t.get("n", "-")),
                      _fmt(t["std"]), t["best_dev_template"] or "-", _fmt(t["best_dev"]), str(len(t["templates"])),
                      f"[red]{k}[/red]" if k else "0", str(len(t["failed"])))
    if len(results.get("clusters", {})) > 1 or any(len(c["tasks"]) > 1 for c in results.get("clusters", {}).values()):
        for name, c in results["clusters"].items():
            table.add_row(f"[bold]cluster {name}[/bold]", "", _fmt(c["mean"]), _fmt_ci(c.get("ci95")),
                          str(c.get("n", "-")), "", "", _fmt(c.get("best_dev")), "", "", "")
    stdout.print(table)
    err.print("95% CI: percentile bootstrap over the n examples of the scored split (mean over templates); "
              "std: over templates", highlight=False, markup=False)
    d = results.get("degenerate")
    if d and d["cells"]:
        err.print(f"[red]degenerate output:[/red] {d['cells']} of {d['total']} cells ({100 * d['share']:.0f}%) "
                  f"predict one constant answer for every example: "
                  f"{', '.join(f'{t}/{tid}' for t, tid in const)}", highlight=False)
    c = results["cells"]
    err.print(f"{c['total']} cells ({c['cached']} from cache, {c['failed']} failed); results: {path / 'results.json'}",
              highlight=False, markup=False)


def _fmt_ci(ci: Optional[list]) -> str:
    return "-" if not ci else f"[{ci[0]:.4f}, {ci[1]:.4f}]"


@app.command("export-lm-eval")
def export_lm_eval(
    tasks: Optional[str] = typer.Option(None, "--tasks", help="Comma-separated task names."),
    clusters: Optional[str] = typer.Option(None, "--clusters", help="Comma-separated cluster names."),
    out: Path = typer.Option(..., "--out", help="Folder for the task YAML and JSONL files."),
    templates: Optional[str] = typer.Option(None, "--templates", help="Only these template ids."),
    mode: str = typer.Option("natural", "--mode", help="natural, baseline, no_template or dataset_name."),
    model: str = typer.Option("smollm2-135m-instruct", "--model", help="Whose EOS token joins prompt and answer."),
    target_delimiter: Optional[str] = typer.Option(None, "--target-delimiter", help="Instead of the EOS join."),
    rank_eos: Optional[bool] = typer.Option(None, "--rank-eos/--no-rank-eos", help="Options end with the EOS "
                                            "token (default: yes, except in baseline mode)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="At most N examples per task."),
    source: str = typer.Option("auto", "--source", help="auto, hub, mirror or bundled."),
    data_dir: Optional[Path] = DATA_DIR,
    tasks_file: Optional[list[Path]] = TASKS_FILE,
    json_: bool = JSON,
) -> None:
    """Write tasks x templates as lm-evaluation-harness task YAMLs with the exact prompts flanlab scores.

    Example: flanlab eval export-lm-eval --tasks rte --out lm_eval_tasks/ --data-dir ../shared/data/hf
    """
    from ..tasks.registry import catalogue
    from .config import EvalConfig
    from .export_lm_eval import eos_text_for, export

    cfg = EvalConfig(tasks=tasks or [], clusters=clusters or [], templates=templates or [], mode=mode)
    cat = catalogue([str(p) for p in tasks_file] if tasks_file else None)
    specs = cat.resolve_tasks(cfg.tasks, cfg.clusters)
    if not specs:
        from ..errors import FlanlabError

        raise FlanlabError("no tasks to export: pass --tasks and/or --clusters")
    option_eos = rank_eos if rank_eos is not None else mode != "baseline"
    needs_eos = (target_delimiter is None and mode != "baseline") or option_eos
    rows = export(cat, specs, out, mode=mode, eos_text=eos_text_for(model) if needs_eos else "",
                  delimiter=target_delimiter, source=source, data_dir=str(data_dir) if data_dir else None,
                  limit=limit, templates=cfg.templates, rank_eos=option_eos)
    if json_:
        print_json({"out": str(out), "tasks": rows})
        return
    for r in rows:
        err.print(f"{r['lm_eval_task']}: {r['docs']} docs -> {r['yaml']}", highlight=False)
    err.print(f"run: lm_eval --model hf --model_args pretrained=MODEL_DIR --include_path {out} "
              f"--tasks {','.join('flanlab_' + s.name for s in specs)}", highlight=False)
