"""The README's Python API block runs as written (on a tiny model instead of the default one)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_api_block() -> str:
    text = README.read_text()
    section = text[text.index("### Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_api_runs_every_stage(tiny_llama_dir, tmp_path, monkeypatch, capsys):
    code = python_api_block()
    assert code.count('"smollm2-135m-instruct"') == 1  # the one model name swapped below
    monkeypatch.chdir(tmp_path)
    exec(compile(code.replace('"smollm2-135m-instruct"', repr(str(tiny_llama_dir))), "README.md", "exec"), {})
    for d in ("api-export", "api-tune", "api-eval", "api-report"):
        assert (tmp_path / "runs" / d).is_dir(), d
    assert (tmp_path / "runs" / "api-eval" / "results.json").is_file()
    assert (tmp_path / "runs" / "api-tune" / "model").is_dir()
    out = capsys.readouterr().out
    assert "report.md" in out and "->" in out
