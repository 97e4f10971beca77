"""The `flanlab` command line: one group per pipeline stage.

    flanlab --help
    flanlab tasks list --cluster nli
    flanlab mixture plan --holdout nli
    flanlab train --config configs/train/smoke.yaml
    flanlab eval smollm2-135m-instruct --clusters nli
    flanlab demo --quick

The CLI is thin: each stage owns a `cli.py` exposing `app` (a typer group) or `command` (one function),
registered here in pipeline order. A stage that is not there is not registered. User errors
(`FlanlabError`) print one line and exit 2; `--debug` shows the traceback.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click
import typer

try:  # typer >= 0.20 vendors its own click; older releases use click itself
    from typer._click.exceptions import ClickException as _VendoredClickException
except ImportError:  # pragma: no cover
    _VendoredClickException = click.ClickException
_CLICK_ERRORS = (click.ClickException, _VendoredClickException)
_EXITS = tuple({click.exceptions.Exit, typer.Exit})
_ABORTS = tuple({click.exceptions.Abort, typer.Abort})

from .console import err
from .errors import FlanlabError
from .runs import remembering_interrupts

# (name in the CLI, module, help shown when the module offers none)
STAGES = [
    ("tasks", "flanlab.tasks.cli"),
    ("data", "flanlab.tasks.data_cli"),
    ("mixture", "flanlab.mixtures.cli"),
    ("train", "flanlab.training.cli"),
    ("eval", "flanlab.evaluation.cli"),
    ("experiment", "flanlab.experiments.cli"),
    ("report", "flanlab.experiments.report_cli"),
    ("models", "flanlab.models_cli"),
    ("demo", "flanlab.experiments.demo_cli"),
]

app = typer.Typer(
    name="flanlab",
    help="Instruction-tune language models on task mixtures and measure zero-shot performance on held-out "
    "task clusters, as in FLAN (Wei et al., ICLR 2022).\n\nExample: flanlab demo --quick",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_DEBUG = False


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback on errors."),
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True,
                                 callback=lambda v: _print_version() if v else None),
) -> None:
    global _DEBUG
    _DEBUG = debug or bool(os.environ.get("FLANLAB_DEBUG"))


def _print_version() -> None:
    from . import __version__

    typer.echo(f"flanlab {__version__}")
    raise typer.Exit()


def _register() -> None:
    for name, module in STAGES:
        if importlib.util.find_spec(module) is None:
            continue
        mod = importlib.import_module(module)
        if hasattr(mod, "app"):
            app.add_typer(mod.app, name=name)
        elif hasattr(mod, "command"):
            app.command(name=name, **getattr(mod, "COMMAND_SETTINGS", {}))(mod.command)


_register()


def _inject_hooks() -> None:
    """Cross-stage callbacks (flanlab.hooks): the evaluation stage scores checkpoints for `flanlab train`."""
    from . import hooks

    if importlib.util.find_spec("flanlab.evaluation.in_training") is not None:
        from .evaluation.in_training import checkpoint_evaluator

        hooks.train_evaluator = checkpoint_evaluator


_inject_hooks()

INTERRUPTED = "interrupted; continue with --resume"


def _interrupted() -> int:
    err.print(INTERRUPTED, style="red", highlight=False, markup=False)
    return 130


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI; user errors print one line and exit 2, Ctrl-C exits 130.

    typer (>= 0.20) turns KeyboardInterrupt into `Exit(130)` and, outside standalone mode, returns exit
    codes instead of raising them: the code returned here is the command's own.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    global _DEBUG
    _DEBUG = "--debug" in argv or bool(os.environ.get("FLANLAB_DEBUG"))
    cmd = typer.main.get_command(app)
    try:
        with remembering_interrupts():
            rv = cmd.main(args=argv, prog_name="flanlab", standalone_mode=False)
    except _EXITS as e:
        rv = e.exit_code
    except _ABORTS:
        return _interrupted()
    except _CLICK_ERRORS as e:
        e.show()
        return e.exit_code
    except FlanlabError as e:
        if _DEBUG:
            err.print_exception()
        err.print("error:", style="bold red", end=" ")
        err.print(str(e), highlight=False, markup=False, soft_wrap=True)  # no markup: `pip install 'flanlab[tracking]'` stays
        return e.exit_code
    except KeyboardInterrupt:
        return _interrupted()
    code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
    return _interrupted() if code == 130 else code


def run() -> None:  # pragma: no cover - console script shim
    sys.exit(main())
