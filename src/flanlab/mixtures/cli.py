"""`flanlab mixture`: plan, sample and export the training mixture.

    flanlab mixture plan --holdout nli                       # which tasks train, which are held out and why
    flanlab mixture plan --holdout nli --json
    flanlab mixture sample --n 5 --holdout nli --source bundled
    flanlab mixture export --out runs/mix-nli --n 100000 --holdout nli --data-dir data/hf
    flanlab mixture export --out runs/mix-trl --n 10000 --format trl-prompt-completion --format torchtune
    flanlab mixture plan -c mix.yaml --set scheme=temperature --set temperature=2
    flanlab mixture pack --n 20000 --holdout nli --source bundled   # tokenize + pack: truncation, efficiency
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ..cli_common import CONFIG, DATA_DIR, JSON, OVERWRITE, SET, TASKS_FILE
from ..console import err, print_json
from ..console import out as stdout  # tables on stdout (pipe into grep); logs on stderr

app = typer.Typer(help="Build the instruction-tuning mixture: leave-cluster-out splits, mixing rates, rendered "
                  "examples, export for any trainer.\n\nExample: flanlab mixture plan --holdout nli",
                  no_args_is_help=True)

HOLDOUT = typer.Option(None, "--holdout", help="Held-out cluster(s): --holdout nli or nli,commonsense.")
SOURCE = typer.Option(None, "--source", help="Data source: auto, hub, mirror or bundled.")
SEED = typer.Option(None, "--seed", help="Seed of the mixture (task, example and template draws).")


def _list(values: Optional[list[str]]) -> Optional[list[str]]:
    if not values:
        return None
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def build(config: Optional[Path], sets: Optional[list[str]], holdout: Optional[list[str]],
          data_dir: Optional[Path], source: Optional[str], tasks_file: Optional[list[Path]], seed: Optional[int]):
    """The resolved MixtureConfig and its Mixture (YAML -> --set -> options)."""
    from ..config import load_config
    from .config import MixtureConfig
    from .mixture import Mixture

    cli: dict[str, Any] = {"holdout": _list(holdout), "data_dir": str(data_dir) if data_dir else None,
                           "source": source, "seed": seed,
                           "tasks_file": [str(p) for p in tasks_file] if tasks_file else None}
    cfg = load_config(MixtureConfig, config, sets, cli)
    return cfg, Mixture(cfg)


def _short(row: dict[str, Any]) -> str:
    """The table's reason: the rule or cause, without its explanation (kept in --json)."""
    if row["status"] == "skipped":
        return "no training data" if "no training examples" not in row["reason"] else "0 examples"
    return row["reason"].split(":")[0]


def _fmt(v: Any, spec: str) -> str:
    return "" if v is None else format(v, spec)


@app.command()
def plan(config: Optional[Path] = CONFIG, set_: Optional[list[str]] = SET, holdout: Optional[list[str]] = HOLDOUT,
         data_dir: Optional[Path] = DATA_DIR, source: Optional[str] = SOURCE,
         tasks_file: Optional[list[Path]] = TASKS_FILE, seed: Optional[int] = SEED, json_: bool = JSON) -> None:
    """Show every task: trains or held out (and the rule that removed it), training examples, rate, share;
    then the share of each cluster next to the share the paper's protocol implies (one rate per dataset).

    Example: flanlab mixture plan --holdout nli --source bundled --set missing_data=skip
    """
    cfg, mix = build(config, set_, holdout, data_dir, source, tasks_file, seed)
    rows = mix.plan(strict=False)  # an empty mixture still shows every task and why, then fails
    empty = not any(r["share"] for r in rows)
    summary = {"train_tasks": sum(1 for r in rows if r["share"]), "held_out_tasks": len(mix.split.held_out),
               "evaluate": mix.split.evaluate, "skipped_tasks": mix.skipped_tasks, "notes": mix.split.notes,
               "examples_per_epoch": sum(r["n"] for r in rows if r["status"] == "train"),
               "rejected_rows": sum(r["rejected"] or 0 for r in rows),
               "clusters": {} if empty else mix.cluster_shares()}
    if json_:
        print_json({"config": cfg, "tasks": rows, "summary": summary})
    else:
        _print_plan(cfg, mix, rows, summary)
    if empty:
        mix.rates()  # raises the empty-mixture error: exit 2 after the plan was shown


def _print_plan(cfg, mix, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title=f"mixture: {summary['train_tasks']} training tasks, holdout "
                  f"{', '.join(cfg.holdout + cfg.holdout_tasks) or 'none'} ({cfg.scheme}, cap {cfg.cap}, "
                  f"max rate {cfg.rate_max})")
    for col in ("task", "dataset", "cluster", "status", "reason", "#train", "rate", "share"):
        table.add_column(col, justify="right" if col in ("#train", "rate", "share") else "left")
    for r in rows:
        n = "" if r["n"] is None else f"{r['n']}{'+' if r['capped'] else ''}"
        table.add_row(r["task"], r["dataset"] if r["dataset"] != r["task"] else "", r["cluster"], r["status"],
                      _short(r), n, _fmt(r["rate"], ".1f"), "" if r["share"] is None else f"{100 * r['share']:.2f}%")
    stdout.print(table)
    if summary["clusters"]:
        ct = Table(title=f"shares per cluster (one mixing rate per {cfg.mixing_unit}); paper: one rate per dataset, "
                   "examples-proportional, cap 30,000, rate max 3,000 (section 3.1)")
        for col in ("cluster", "datasets", "tasks", "share", "paper"):
            ct.add_column(col, justify="left" if col == "cluster" else "right")
        for c, v in summary["clusters"].items():
            ct.add_row(c, str(v["datasets"]), str(v["tasks"]), f"{100 * v['share']:.1f}%",
                       f"{100 * v['paper_share']:.1f}%")
        stdout.print(ct)
    err.print(f"{summary['examples_per_epoch']} training examples in one pass over the pools; evaluate on: "
              f"{', '.join(summary['evaluate']) or '-'}; {summary['rejected_rows']} source rows rejected by "
              "preprocess (--json: per task, and the full reasons)", highlight=False)
    for note in mix.split.notes:
        err.print(f"[yellow]note:[/yellow] {note}", highlight=False)


@app.command()
def sample(config: Optional[Path] = CONFIG, set_: Optional[list[str]] = SET, holdout: Optional[list[str]] = HOLDOUT,
           data_dir: Optional[Path] = DATA_DIR, source: Optional[str] = SOURCE,
           tasks_file: Optional[list[Path]] = TASKS_FILE, seed: Optional[int] = SEED,
           n: int = typer.Option(5, "--n", min=1, help="How many examples."),
           start: int = typer.Option(0, "--start", help="Stream position of the first example."),
           json_: bool = JSON) -> None:
    """Print rendered examples of the mixture stream, exactly as training sees them.

    Example: flanlab mixture sample --n 5 --holdout nli --source bundled --set missing_data=skip
    """
    _, mix = build(config, set_, holdout, data_dir, source, tasks_file, seed)
    xs = mix.take(n, start=start)
    if json_:
        from .export import record

        print_json({"examples": [record(x) for x in xs], "stats": mix.stats.as_dict()})
        return
    for x in xs:
        err.rule(f"#{x.position}  {x.task}/{x.template_id}  ({x.cluster}{', turned' if x.turned else ''}"
                 f"{f', {x.shots} shots' if x.shots else ''})")
        err.print(x.inputs, highlight=False, markup=False)
        err.print(f"[bold]-> {x.targets}[/bold]", highlight=False)


FORMAT = typer.Option(None, "--format", "-f", help="Export format, repeatable: jsonl (default; with --hf a "
                      "datasets directory too), trl-prompt-completion, trl-messages, torchtune.")


@app.command()
def export(out: Path = typer.Option(..., "--out", "-o", help="Run directory to write."),
           n: Optional[int] = typer.Option(None, "--n", min=1, help="Examples (default: one pass over the capped pools)."),
           format_: Optional[list[str]] = FORMAT,
           config: Optional[Path] = CONFIG, set_: Optional[list[str]] = SET, holdout: Optional[list[str]] = HOLDOUT,
           data_dir: Optional[Path] = DATA_DIR, source: Optional[str] = SOURCE,
           tasks_file: Optional[list[Path]] = TASKS_FILE, seed: Optional[int] = SEED,
           hf: bool = typer.Option(True, "--hf/--no-hf", help="With jsonl: also write a Hugging Face dataset "
                                   "(save_to_disk)."),
           separator: str = typer.Option("\n", "--separator", help="trl-prompt-completion: text ending each prompt."),
           overwrite: bool = OVERWRITE, json_: bool = JSON) -> None:
    """Write the rendered mixture for other trainers: TRL (prompt/completion or conversational messages),
    torchtune (instruct_dataset columns input/output, plus its config section) or plain JSONL with
    inputs, targets, task, cluster, template_id (and a datasets.load_from_disk directory).

    Example: flanlab mixture export --out runs/mix-nli --n 10000 --holdout nli --format trl-prompt-completion
    """
    from .export import check_formats, export_mixture

    formats = check_formats(_list(format_))
    cfg, mix = build(config, set_, holdout, data_dir, source, tasks_file, seed)
    summary = export_mixture(cfg, out, formats=formats, n=n, hf=hf, separator=separator, overwrite=overwrite,
                             mixture=mix)
    if json_:
        print_json(summary)
    else:
        err.print(f"wrote {summary['examples']} examples to " + ", ".join(summary["files"].values()), highlight=False)


@app.command("pack")
def pack_(config: Optional[Path] = CONFIG, set_: Optional[list[str]] = SET, holdout: Optional[list[str]] = HOLDOUT,
          data_dir: Optional[Path] = DATA_DIR, source: Optional[str] = SOURCE,
          tasks_file: Optional[list[Path]] = TASKS_FILE, seed: Optional[int] = SEED,
          n: int = typer.Option(2000, "--n", min=1, help="Stream positions to tokenize and pack."),
          tokenizer: Optional[str] = typer.Option(None, "--tokenizer", help="Model whose tokenizer to use "
                                                  "(default: the mixture's `tokenizer`, else the default model)."),
          workers: int = typer.Option(0, "--workers", min=0, help="Tokenizer processes (0: one per CPU)."),
          json_: bool = JSON) -> None:
    """Tokenize and pack the first N examples exactly as training will (the same rows, from the same data
    path); report truncation, skips, packing efficiency.

    The tokenized chunks stay in the disk cache, and `flanlab train` reads that cache: a training run on the
    same mixture with the same tokenizer starts at once.

    Example: flanlab mixture pack --n 20000 --holdout nli --source bundled --set missing_data=skip
    """
    import time

    from .features import TokenStats
    from .packing import PackingStats
    from .stream import FeatureCache, load_tokenizer, rows, warm

    cfg, mix = build(config, set_, holdout, data_dir, source, tasks_file, seed)
    tok, kind = load_tokenizer(tokenizer or cfg.tokenizer)
    t0 = time.perf_counter()
    cache = FeatureCache(mix, tok, kind)
    built = warm(cache, 0, n, workers=workers)
    stats, pstats = TokenStats(), PackingStats()
    for _ in rows(mix, tok, kind, stop=n, cache=cache, stats=stats, pstats=pstats):
        pass
    secs = time.perf_counter() - t0
    report = {"positions": n, "kind": kind, "tokenizer": tokenizer or cfg.tokenizer or "default",
              "packed": cfg.packing and kind == "decoder", "seq_len": cfg.seq_len, "seconds": round(secs, 2),
              "chunks_built": built, "tokenization": stats.as_dict(), "packing": pstats.as_dict()}
    if json_:
        print_json(report)
        return
    err.print(f"{stats.examples} examples -> {pstats.rows} rows ({'packed, ' + str(cfg.seq_len) + ' tokens' if report['packed'] else 'unpacked'}) "
              f"in {secs:.1f}s; packing efficiency {pstats.efficiency:.3f}; truncated inputs {stats.input_truncated}, "
              f"targets {stats.target_truncated}; skipped: {stats.skipped_overlong} over-long, "
              f"{stats.template_skipped} without a template, {pstats.skipped_too_long} longer than a row",
              highlight=False)
