"""The CLI: help for every command with an example, user errors exit 2 in one line, README and CI agree."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from flanlab.cli import STAGES, app, main

ROOT = Path(__file__).resolve().parents[2]


def _commands():
    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        out.append((path, cmd))
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*path, name])

    walk(root, [])
    return out


def test_stages_are_registered_in_pipeline_order():
    root = typer.main.get_command(app)
    registered = list(root.commands)
    stage_names = [name for name, _ in STAGES]
    assert set(registered) == set(stage_names)
    groups = [n for n in registered if hasattr(root.commands[n], "commands")]
    assert groups == [n for n in stage_names if n in groups]  # typer lists single commands first


@pytest.mark.parametrize("path", [p for p, _ in _commands()], ids=lambda p: " ".join(p) or "flanlab")
def test_every_command_has_help_with_an_example(path, capsys):
    code = main([*path, "--help"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Example" in out or "example" in out, f"flanlab {' '.join(path)} --help shows no example"


def test_user_error_exits_2_in_one_line():
    r = subprocess.run([sys.executable, "-m", "flanlab", "tasks", "show", "rtee"], capture_output=True, text=True)
    assert r.returncode == 2
    assert "unknown task 'rtee'" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "flanlab", "--debug", "tasks", "show", "rtee"], capture_output=True,
                       text=True)
    assert r.returncode == 2 and "Traceback" in r.stderr


def test_json_output_is_one_document_on_stdout():
    import json

    r = subprocess.run([sys.executable, "-m", "flanlab", "tasks", "list", "--cluster", "nli", "--json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert {t["task"] for t in doc["tasks"]} >= {"rte", "cb"}


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    return [b.strip() for b in blocks if b.strip().startswith("python3 -m venv")]


def test_readme_has_two_setup_commands_and_ci_runs_the_test_one():
    cmds = _readme_commands()
    assert len(cmds) == 2
    main_job, tests = cmds
    assert main_job.endswith("flanlab demo") and "pip install torch==2.13.0" in main_job
    assert "pytest" in tests and "pip install torch==2.13.0" in tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in [line.strip() for line in ci]
    assert 'torch>=' in (ROOT / "pyproject.toml").read_text()
