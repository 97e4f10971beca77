"""Read what runs wrote to disk: results.json files and experiment records, nothing else.

    runs = collect(["runs/demo", "runs/rte-base"])     # experiment dirs, eval run dirs, or folders of them
    for r in runs: print(r.label, r.results["clusters"])

An experiment directory contributes one `Series` per finished eval/prompt-tune step, labelled and tagged
from its `experiment.json`; a bare eval run directory contributes one, labelled from its results. With
several experiments, labels are prefixed with the experiment name so they stay apart side by side.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FlanlabError

RESULTS = "results.json"
EXPERIMENT = "experiment.json"


@dataclass
class Series:
    label: str
    results: dict[str, Any]
    tags: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    experiment: str = ""
    kind: str = ""  # experiment kind, "" for a bare run

    @property
    def tasks(self) -> dict[str, Any]:
        return self.results.get("tasks", {})

    @property
    def clusters(self) -> dict[str, Any]:
        return self.results.get("clusters", {})


@dataclass
class Collected:
    series: list[Series] = field(default_factory=list)
    experiments: list[dict[str, Any]] = field(default_factory=list)  # experiment records
    contamination: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)  # run.json of bare runs

    def kinds(self) -> set[str]:
        return {s.kind for s in self.series if s.kind}


def _read(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise FlanlabError(f"cannot read {path}: {e}") from None


def _bare_label(res: dict[str, Any], path: Path) -> str:
    shots = res.get("shots", 0)
    mode = res.get("mode", "natural")
    return f"{Path(str(res.get('model', path.name))).name} ({mode}, {shots}-shot)"


def _from_experiment(d: Path, out: Collected) -> None:
    rec = _read(d / EXPERIMENT)
    out.experiments.append({**rec, "path": str(d)})
    for s in rec.get("steps", []):
        sd = Path(s.get("dir") or d / "steps" / s["id"])
        if not sd.is_absolute() and not sd.exists():
            sd = d / "steps" / s["id"]
        if s["kind"] in ("eval", "prompt_tune") and (sd / RESULTS).is_file():
            tags = s.get("tags", {})
            out.series.append(Series(tags.get("series") or s["label"], _read(sd / RESULTS), tags, str(sd),
                                      rec.get("name", d.name), rec.get("kind", "")))
        elif s["kind"] == "contamination" and (sd / "contamination.json").is_file():
            out.contamination.append({**_read(sd / "contamination.json"), "experiment": rec.get("name"),
                                      "label": s["label"]})


def _find(path: Path, depth: int = 3) -> list[Path]:
    if (path / EXPERIMENT).is_file() or (path / RESULTS).is_file():
        return [path]
    if depth == 0 or not path.is_dir():
        return []
    found: list[Path] = []
    for p in sorted(x for x in path.iterdir() if x.is_dir() and x.name not in ("steps", "report")):
        found += _find(p, depth - 1)
    return found


def collect(paths: list[str | Path]) -> Collected:
    """Every result under `paths` (experiment directories, run directories, or folders holding them)."""
    out = Collected()
    for p in map(Path, paths):
        if not p.exists():
            raise FlanlabError(f"run directory not found: {p}")
        found = _find(p)
        if not found:
            raise FlanlabError(f"{p}: no {RESULTS} or {EXPERIMENT} found (looked 3 levels deep)")
        for d in found:
            if (d / EXPERIMENT).is_file():
                _from_experiment(d, out)
            else:
                res = _read(d / RESULTS)
                out.series.append(Series(_bare_label(res, d), res, {"variant": "run"}, str(d)))
                if (d / "run.json").is_file():
                    out.runs.append({**_read(d / "run.json"), "path": str(d)})
    if not out.series:
        raise FlanlabError(f"no finished evaluation results under {', '.join(map(str, paths))}")
    names = {s.experiment for s in out.series if s.experiment}
    if len(names) > 1 or (names and any(not s.experiment for s in out.series)):
        for s in out.series:
            s.label = f"{s.experiment or 'run'}: {s.label}"
    _dedupe_labels(out.series)
    return out


def _dedupe_labels(series: list[Series]) -> None:
    """Same label twice (e.g. one per held-out cluster) stays one column when the tasks do not collide."""
    seen: dict[str, set[str]] = {}
    for s in series:
        tasks = set(s.tasks)
        if s.label in seen and seen[s.label] & tasks:
            n = 2
            while f"{s.label} #{n}" in seen:
                n += 1
            s.label = f"{s.label} #{n}"
        seen.setdefault(s.label, set()).update(tasks)


VARIANTS = ("tuned", "untuned-baseline", "untuned-instructions")  # CONTRACTS.md B; ablations add their names


def variant_of(s: Series) -> str:
    """A series' variant (CONTRACTS.md B); records written before variants said "base" for every untuned eval."""
    v = s.tags.get("variant", "")
    if v == "base" and "mode" in s.tags:
        return "untuned-baseline" if s.tags["mode"] == "baseline" else "untuned-instructions"
    return v


def merged(series: list[Series]) -> dict[str, dict[str, Any]]:
    """label -> {"tasks": {...}, "clusters": {...}} merging series that share a label (disjoint tasks)."""
    out: dict[str, dict[str, Any]] = {}
    for s in series:
        m = out.setdefault(s.label, {"tasks": {}, "clusters": {}, "tags": dict(s.tags)})
        m["tasks"].update(s.tasks)
        m["clusters"].update(s.clusters)
    return out
