"""Read what runs wrote to disk: results.json files and experiment records, nothing else.

    runs = collect(["runs/demo", "runs/rte-base"])     # experiment dirs and eval run dirs, by name
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
METRICS = "metrics.jsonl"


@dataclass
class Series:
    label: str
    results: dict[str, Any]
    tags: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    experiment: str = ""
    kind: str = ""  # experiment kind, "" for a bare run
    params: dict[str, int] | None = None  # the scored model's parameter counts, from the run's run.json

    @property
    def tasks(self) -> dict[str, Any]:
        return self.results.get("tasks", {})

    @property
    def clusters(self) -> dict[str, Any]:
        return self.results.get("clusters", {})


@dataclass
class Curve:
    """Held-out scores over training steps, from the eval rows of a train run's metrics.jsonl (--eval-every)."""

    label: str
    steps: list[int]
    tasks: dict[str, list[float | None]]  # task -> score at each step
    mean: list[float | None]
    path: str = ""


@dataclass
class Collected:
    series: list[Series] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)
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
                                      rec.get("name", d.name), rec.get("kind", ""), _params(sd)))
        elif s["kind"] == "train" and (sd / METRICS).is_file():
            curve = read_curve(sd, s["label"])
            if curve is not None:
                out.curves.append(curve)
        elif s["kind"] == "contamination" and (sd / "contamination.json").is_file():
            out.contamination.append({**_read(sd / "contamination.json"), "experiment": rec.get("name"),
                                      "label": s["label"]})


def read_curve(d: Path, label: str) -> Curve | None:
    """The eval rows ({"step", "eval": {...}}) of `d`/metrics.jsonl as a Curve; None when there are none."""
    rows = []
    for n, line in enumerate((d / METRICS).read_text().splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise FlanlabError(f"cannot read {d / METRICS} line {n}: {e}") from None
            if isinstance(row.get("eval"), dict):
                rows.append(row)
    if not rows:
        return None
    rows.sort(key=lambda r: r["step"])
    tasks = list(dict.fromkeys(t for r in rows for t in r["eval"].get("tasks", {})))
    return Curve(label, [r["step"] for r in rows], {t: [r["eval"]["tasks"].get(t) for r in rows] for t in tasks},
                 [r["eval"].get("mean") for r in rows], str(d))


def _params(d: Path) -> dict[str, int] | None:
    rec = d / "run.json"
    return _read(rec).get("params") if rec.is_file() else None


def _kind_of(p: Path) -> str:
    """'experiment', 'run' (an evaluation) or 'train' (a training run, for its held-out curve) for a directory
    `flanlab report` may read; an error naming the path otherwise.

    Only directories given by name are read (an experiment directory brings its own steps): a folder is not
    searched, so unrelated results below it never slip into a report."""
    if not p.exists():
        raise FlanlabError(f"run directory not found: {p}")
    if not p.is_dir():
        raise FlanlabError(f"{p} is a file, not a run or experiment directory")
    if (p / EXPERIMENT).is_file():
        return "experiment"
    if (p / RESULTS).is_file():
        return "run"
    if (p / METRICS).is_file():
        return "train"
    inside = sorted(x.name for x in p.iterdir() if x.is_dir() and ((x / RESULTS).is_file() or (x / EXPERIMENT).is_file()))
    hint = f"; it holds run directories ({', '.join(inside[:4])}{', ...' if len(inside) > 4 else ''}): pass them by name" \
        if inside else ""
    raise FlanlabError(f"{p}: no {RESULTS} or {EXPERIMENT}: not a flanlab evaluation run or experiment directory{hint}")


def collect(paths: list[str | Path]) -> Collected:
    """Every result of `paths`: experiment directories (all their steps) and evaluation run directories."""
    out = Collected()
    for d in map(Path, paths):
        kind = _kind_of(d)
        if kind == "experiment":
            _from_experiment(d, out)
        elif kind == "train":  # a train run: its held-out curve, if it was evaluated
            curve = read_curve(d, d.name)
            if curve is not None:
                out.curves.append(curve)
                if (d / "run.json").is_file():
                    out.runs.append({**_read(d / "run.json"), "path": str(d)})
        else:
            res = _read(d / RESULTS)
            out.series.append(Series(_bare_label(res, d), res, {"variant": "run"}, str(d), params=_params(d)))
            if (d / "run.json").is_file():
                out.runs.append({**_read(d / "run.json"), "path": str(d)})
    if not out.series and not out.curves:
        raise FlanlabError(f"no finished evaluation results (results.json, or eval rows in a train run's "
                           f"{METRICS}) in {', '.join(map(str, paths))}")
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
