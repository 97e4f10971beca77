"""Run directories: every command writes into `runs/<name>` with a machine-readable record.

    run = RunDir.create("runs/rte-base", command="eval", config=cfg)   # refuses a finished run
    run.write_json("results.json", {...})                             # atomic
    run.append_jsonl("metrics.jsonl", {"step": 1, "loss": 2.3})
    run.finish({"accuracy": 0.61})                                     # run.json status -> finished
    run.stop(exc)                    # failed, or interrupted (Ctrl-C): the record says which

Statuses (`run.json` `status`): running -> finished | partial (some evaluation cells failed) | failed |
interrupted (Ctrl-C or SIGTERM; continue with --resume). A resumed run keeps its `history` of earlier
attempts and the `changes` made to its settings on resume; `params` holds the model's parameter counts.

Files are written atomically (temporary file + rename), so an interrupted run never leaves half a file.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FlanlabError

RECORD = "run.json"
STATUSES = ("running", "finished", "partial", "failed", "interrupted")


def atomic_write_text(path: str | Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | Path, obj: Any) -> None:
    from .console import to_jsonable

    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False) + "\n")


def read_json(path: str | Path) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FlanlabError(f"file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise FlanlabError(f"{path}: not valid JSON ({e})") from None


def git_commit(cwd: str | Path | None = None) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd or Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def environment_record() -> dict[str, Any]:
    """Versions and machine facts that can change a number."""
    from importlib.metadata import PackageNotFoundError, version

    pkgs = {}
    for name in ("flanlab", "torch", "transformers", "accelerate", "datasets", "peft", "tokenizers",
                 "sacrebleu", "rouge-score", "numpy"):
        try:
            pkgs[name] = version(name)
        except PackageNotFoundError:
            pkgs[name] = None
    return {"python": sys.version.split()[0], "platform": platform.platform(), "packages": pkgs,
            "git_commit": git_commit(), "argv": sys.argv}


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunDir:
    path: Path
    record: dict[str, Any] = field(default_factory=dict)
    _t0: float = field(default_factory=time.time)

    @classmethod
    def create(cls, path: str | Path, command: str, config: Any = None, *, resume: bool = False,
               overwrite: bool = False) -> "RunDir":
        """Open a run directory for `command`.

        A finished run is never silently overwritten: it is an error unless `overwrite` (which clears
        the record, not other files) or `resume` (which continues an unfinished run) is given.
        """
        path = Path(path)
        rec_path = path / RECORD
        if rec_path.exists():
            old = read_json(rec_path)
            if old.get("status") == "finished" and not overwrite:
                raise FlanlabError(f"run directory {path} holds a finished {old.get('command')!r} run; "
                                   "choose another --out or pass --overwrite")
            if old.get("status") != "finished" and not (resume or overwrite):
                if any(p.name != RECORD for p in path.iterdir()):
                    raise FlanlabError(f"run directory {path} holds an unfinished run; "
                                       "pass --resume to continue it or --overwrite to start again")
        if path.exists() and not path.is_dir():
            raise FlanlabError(f"run directory {path} is a file; choose another --out")
        old_record = read_json(rec_path) if (resume and rec_path.exists()) else {}
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path=path)
        run.record = {"command": command, "status": "running", "started": _now(),
                      "environment": environment_record()}
        if old_record:  # a resumed run: earlier attempts and setting changes stay on record
            attempt = {k: old_record.get(k) for k in ("started", "finished", "status", "error") if k in old_record}
            run.record["history"] = [*old_record.get("history", []), attempt]
            for k in ("changes", "params"):
                if k in old_record:
                    run.record[k] = old_record[k]
        if config is not None:
            run.save_config(config)
        run._write_record()
        return run

    def save_config(self, config: Any, name: str = "config.yaml") -> None:
        from .config import dump_config

        atomic_write_text(self.path / name, dump_config(config))
        self.record["config"] = name

    def _write_record(self) -> None:
        atomic_write_json(self.path / RECORD, self.record)

    def write_json(self, name: str, obj: Any) -> Path:
        p = self.path / name
        atomic_write_json(p, obj)
        return p

    def append_jsonl(self, name: str, obj: Any) -> None:
        from .console import to_jsonable

        with open(self.path / name, "a", encoding="utf-8") as f:
            f.write(json.dumps(to_jsonable(obj), ensure_ascii=False) + "\n")

    def finish(self, summary: dict[str, Any] | None = None) -> None:
        self.record.update(status="finished", finished=_now(),
                           wall_seconds=round(time.time() - self._t0, 3))
        if summary is not None:
            self.record["summary"] = summary
        self._write_record()

    def fail(self, reason: str, status: str = "failed") -> None:
        self.record.update(status=status, finished=_now(), error=reason)
        self._write_record()

    def stop(self, exc: BaseException) -> None:
        """Record why the run ended early: `interrupted` for Ctrl-C / SIGTERM, `failed` otherwise."""
        if is_interrupt(exc):
            self.fail("interrupted (continue with --resume)", status="interrupted")
        else:
            self.fail(f"{type(exc).__name__}: {exc}")

    def update(self, **fields: Any) -> None:
        """Add fields to run.json now (e.g. `params`, `changes`)."""
        self.record.update(fields)
        self._write_record()


_INTERRUPTED = False


def _on_sigint(signum, frame) -> None:
    global _INTERRUPTED
    _INTERRUPTED = True
    raise KeyboardInterrupt


@contextlib.contextmanager
def remembering_interrupts():
    """Ctrl-C raises KeyboardInterrupt as usual and is also remembered, so that `check_interrupt` acts on one
    that native code took without passing it on (a KeyboardInterrupt raised while a C/Rust extension holds
    the thread can be cleared there: seen as a `flanlab train` that kept training after SIGINT)."""
    import signal
    import threading

    global _INTERRUPTED
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _INTERRUPTED = False
    old = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        _INTERRUPTED = False


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C arrived (under `remembering_interrupts`), even one that was lost."""
    if _INTERRUPTED:
        raise KeyboardInterrupt


def is_interrupt(exc: BaseException) -> bool:
    return isinstance(exc, KeyboardInterrupt) or (isinstance(exc, SystemExit) and exc.code in (130, 143))


def param_counts(model: Any) -> dict[str, int]:
    """Total and trainable parameters of a torch module (for run.json `params`; the report reads these)."""
    total = trainable = 0
    seen: set[int] = set()
    for p in model.parameters():
        if id(p) in seen:
            continue
        seen.add(id(p))
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return {"total": total, "trainable": trainable}
