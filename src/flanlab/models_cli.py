"""`flanlab models`: list and prepare models.

    flanlab models list
    flanlab models prepare smollm2-135m-instruct
    flanlab models show runs/tuned/model --json
"""

from __future__ import annotations

import typer

from .cli_common import JSON
from .console import err, print_json
from .console import out as stdout  # tables on stdout (pipe into grep); logs on stderr

app = typer.Typer(help="List and prepare models (aliases, converted GGUF files, local directories).\n\n"
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
