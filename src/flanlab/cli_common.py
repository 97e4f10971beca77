"""Options shared by every stage's CLI, so that they read the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import click
import typer
from typer.core import TyperGroup

JSON = typer.Option(False, "--json", help="Print one JSON document on stdout (logs go to stderr).")
CONFIG = typer.Option(None, "--config", "-c", help="YAML config file; CLI options override its values.",
                      exists=False)
SET = typer.Option(None, "--set", help="Override a config value: --set key.sub=value (repeatable).")
DEVICE = typer.Option(None, "--device", help="cpu, cuda, cuda:N or auto (default: CUDA if present).")
OVERWRITE = typer.Option(False, "--overwrite", help="Replace a finished run in the same directory.")
def _check_data_dir(value: Optional[Path]) -> Optional[Path]:
    """A data directory that does not exist, or is a file, is an error (never a silent fall back to the hub)."""
    if value is not None and not Path(value).is_dir():
        why = "is a file, not a directory" if Path(value).exists() else "no such directory"
        raise typer.BadParameter(f"{value}: {why} (a mirror: <dir>/<hub id>/<config>/<split>.jsonl)",
                                 param_hint="'--data-dir' / FLANLAB_DATA_DIR")
    return value


DATA_DIR = typer.Option(None, "--data-dir", envvar="FLANLAB_DATA_DIR", callback=_check_data_dir,
                        help="Local mirror of hub datasets: <dir>/<hub id>/<config>/<split>.jsonl.")
TASKS_FILE = typer.Option(None, "--tasks-file", help="Extra tasks/templates/clusters (YAML or .py).")


class DefaultGroup(TyperGroup):
    """A group that runs `default_command` when the first argument is not a sub-command.

    Lets `flanlab eval MODEL ...` and `flanlab eval export-lm-eval ...` live side by side.
    """

    default_command = "run"

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args.insert(0, self.default_command)
        return super().resolve_command(ctx, args)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args.insert(0, self.default_command)
        return super().parse_args(ctx, args)


OptPath = Optional[Path]
