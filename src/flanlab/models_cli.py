"""`flanlab models`: list and prepare models.

    flanlab models list
    flanlab models prepare smollm2-135m-instruct
    flanlab models show runs/tuned/model --json
    flanlab models push runs/flan-nli me/flan-nli --results runs/eval-nli --dry-run runs/flan-nli-upload
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .cli_common import JSON
from .console import err, print_json
from .console import out as stdout  # tables on stdout (pipe into grep); logs on stderr

app = typer.Typer(help="List, prepare and publish models (aliases, converted GGUF files, local directories).\n\n"
                  "Example: flanlab models prepare smollm2-135m-instruct", no_args_is_help=True)


@app.command("list")
def list_(json_: bool = JSON) -> None:
    """Show the aliases and the models converted into flanlab's cache.

    Example: flanlab models list --json
    """
    from rich.table import Table

    from .models import list_models
    from .paths import models_cache_dir

    rows = list_models()
    if json_:
        print_json({"cache": str(models_cache_dir()), "models": rows})
        return
    t = Table(title=f"models (cache: {models_cache_dir()})")
    for col in ("name", "kind", "source", "prepared", "description"):
        t.add_column(col)
    for r in rows:
        t.add_row(r["name"], r["kind"], r["source"], "yes" if r["prepared"] else "no", r["description"])
    stdout.print(t)


@app.command("prepare")
def prepare_(name: str = typer.Argument(..., help="An alias (smollm2-135m-instruct) or gguf:PATH."),
             json_: bool = JSON) -> None:
    """Convert an alias or GGUF file once into the cache, so that later loads take seconds.

    Example: flanlab models prepare smollm2-135m-instruct
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from .models import prepare

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=False) as prog:
        task = prog.add_task(f"preparing {name}", total=None)
        path = prepare(name, progress=lambda msg: prog.update(task, description=f"{name}: {msg}"))
    if json_:
        print_json({"name": name, "path": str(path)})
    else:
        err.print(f"[green]ready:[/green] {name} -> {path}")


@app.command("show")
def show(name: str = typer.Argument(..., help="Model name: alias, gguf:PATH, directory or hub id."),
         json_: bool = JSON) -> None:
    """Resolve a model name and show where it loads from and its kind (decoder / encoder-decoder).

    Example: flanlab models show smollm2-135m-instruct --json
    """
    from .models import resolve_path

    ref = resolve_path(name)
    info = {"name": ref.name, "path": ref.path, "kind": ref.kind, "source": ref.source}
    if json_:
        print_json(info)
    else:
        for k, v in info.items():
            err.print(f"{k:>6}: {v}")


@app.command("push")
def push_(run_dir: Path = typer.Argument(..., help="A `flanlab train` run directory (or its model/ or adapter/)."),
          repo_id: str = typer.Argument(..., help="Hub repository, <user or organisation>/<name>."),
          results: Optional[list[Path]] = typer.Option(None, "--results", help="Evaluation run directories or "
                                                       "results.json files for the card's evaluation table (repeat)."),
          adapter: bool = typer.Option(False, "--adapter", help="Upload adapter/ (peft) instead of model/."),
          base_model: Optional[str] = typer.Option(None, "--base-model", help="Hub id of the base model, when the "
                                                   "run started from a local directory."),
          dry_run: Optional[Path] = typer.Option(None, "--dry-run", help="Write exactly what would be uploaded "
                                                 "into this new directory and upload nothing."),
          private: bool = typer.Option(False, "--private", help="Create the repository private."),
          revision: Optional[str] = typer.Option(None, "--revision", help="Branch to commit to."),
          message: Optional[str] = typer.Option(None, "--message", help="Commit message."),
          json_: bool = JSON) -> None:
    """Publish a trained model (or adapter) on the Hugging Face Hub with its model card and evaluation.

    Example: flanlab models push runs/flan-nli me/flan-nli --results runs/eval-nli --dry-run runs/upload
    """
    from .hub import push

    out = push(run_dir, repo_id, adapter=adapter, results=list(results or []), base_model=base_model,
               dry_run=dry_run, private=private, revision=revision, commit_message=message)
    if json_:
        print_json(out)
    elif out["dry_run"]:
        err.print(f"[green]dry run:[/green] {len(out['files'])} files for {repo_id} in {out['dry_run']} "
                  "(nothing uploaded)")
    else:
        err.print(f"[green]pushed[/green] {len(out['files'])} files -> {out['url']}")
