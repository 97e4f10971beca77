"""Content-addressed steps: an experiment is a list of steps whose outputs are cached by their inputs.

    s = Step("train", "tune without nli", {"model": "m", "train": {...}}, deps=(mix.id,))
    s.id          # "train-3f2a9c0d1b7e": a hash of kind + inputs + the ids of the steps it depends on
    step_dir(exp_dir, s)                  # runs/<experiment>/steps/train-3f2a9c0d1b7e/
    is_done(exp_dir, s)                   # its run.json says finished

Changing anything a step reads (a config value, a model, an upstream step) changes its id, so a rerun
redoes exactly the steps whose inputs changed and nothing else; a crashed step (run.json not finished)
is redone. Tags (what a step means in the experiment: "n_clusters: 3") are not hashed, so identical
work planned twice under two names runs once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FlanlabError
from ..runs import RECORD

STEP_KINDS = ("mixture", "train", "eval", "prompt_tune", "contamination", "report")
STEP_RECORD = "step.json"


def canonical(obj: Any) -> str:
    """Stable JSON text for hashing: sorted keys, no whitespace differences."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Step:
    kind: str
    label: str
    inputs: dict[str, Any]
    deps: tuple[str, ...] = ()
    tags: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in STEP_KINDS:
            raise FlanlabError(f"unknown step kind {self.kind!r}; known: {', '.join(STEP_KINDS)}")

    @property
    def id(self) -> str:
        digest = hashlib.sha256(canonical({"kind": self.kind, "inputs": self.inputs,
                                           "deps": list(self.deps)}).encode()).hexdigest()
        return f"{self.kind}-{digest[:12]}"

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "label": self.label, "deps": list(self.deps),
                "tags": self.tags, "inputs": self.inputs}


def dedupe(steps: list[Step]) -> list[Step]:
    """Drop repeated steps (same id), keeping the first; check every dependency is planned before use."""
    seen: dict[str, Step] = {}
    for s in steps:
        missing = [d for d in s.deps if d not in seen]
        if missing:
            raise FlanlabError(f"step {s.label!r} depends on {missing}, which is not planned before it")
        seen.setdefault(s.id, s)
    return list(seen.values())


def step_dir(exp_dir: str | Path, step: Step | str) -> Path:
    sid = step if isinstance(step, str) else step.id
    if sid.startswith("report-"):
        return Path(exp_dir) / "report"  # one report per experiment, where people look for it
    return Path(exp_dir) / "steps" / sid


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads((path / RECORD).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_done(exp_dir: str | Path, step: Step) -> bool:
    d = step_dir(exp_dir, step)
    rec = read_record(d)
    if not rec or rec.get("status") != "finished":
        return False
    if step.kind == "report":  # the report folder is reused: it is done only for this very plan
        return (read_step_record(d) or {}).get("id") == step.id
    return True


def read_step_record(d: Path) -> dict[str, Any] | None:
    try:
        return json.loads((d / STEP_RECORD).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def status(exp_dir: str | Path, steps: list[Step]) -> list[dict[str, Any]]:
    """One row per step: id, kind, label, done, wall time of the finished run, directory."""
    rows = []
    for s in steps:
        d = step_dir(exp_dir, s)
        rec = read_record(d) or {}
        done = is_done(exp_dir, s)
        rows.append({"id": s.id, "kind": s.kind, "label": s.label, "done": done,
                     "state": "done" if done else ("failed" if rec.get("status") == "failed" else
                                                   "partial" if rec else "missing"),
                     "wall_seconds": rec.get("wall_seconds") if done else None,
                     "deps": list(s.deps), "tags": s.tags, "dir": str(d)})
    return rows
