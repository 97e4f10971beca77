"""Run an experiment: plan its steps, skip the finished ones, run the rest through the real stages.

    cfg = load_experiment("configs/experiments/heldout_sweep.yaml")
    summary = run_experiment(cfg)          # runs/<name>/experiment.json, steps/<kind>-<hash>/, report/

Each step runs in its own directory through the stage that owns the work: the mixture stage (rates and
the hold-out split), `flanlab.training.train`, `flanlab.evaluation.runner.evaluate`; a step is done when
its run.json says finished. Rerunning after a crash, or after adding one more held-out cluster, runs only
the missing steps. The experiment record (`experiment.json`) keeps the resolved config, the plan with
each step's tags, package versions, git commit, seeds and the wall time of every step.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..console import err
from ..errors import FlanlabError
from ..runs import atomic_write_json, environment_record, read_json
from . import executors
from .config import ExperimentConfig
from .plans import CatalogueFacts, plan, protocol
from .steps import STEP_RECORD, Step, is_done, status, step_dir

RECORD = "experiment.json"


def catalogue_for(cfg: ExperimentConfig):
    from ..tasks import catalogue

    files = [f for f in (cfg.mixture.get("tasks_file"), cfg.eval.get("tasks_file")) if f]
    return catalogue(files)


def plan_experiment(cfg: ExperimentConfig) -> list[Step]:
    return plan(cfg, CatalogueFacts.from_catalogue(catalogue_for(cfg)))


def plan_protocol(cfg: ExperimentConfig) -> list[str]:
    """The protocol choices of the plan in words (which split, order, evaluation set, baseline)."""
    return protocol(cfg, CatalogueFacts.from_catalogue(catalogue_for(cfg)))


def write_record(cfg: ExperimentConfig, steps: list[Step], extra: dict[str, Any] | None = None,
                 notes: list[str] | None = None) -> Path:
    exp = cfg.directory
    old = read_json(exp / RECORD) if (exp / RECORD).is_file() else {}
    rec = {"schema": "flanlab.experiment/1", "name": cfg.name, "kind": cfg.kind,
           "protocol": notes if notes is not None else old.get("protocol", []),
           "config": cfg.model_dump(mode="json"), "environment": environment_record(),
           "seeds": {"experiment": cfg.seed, "mixture": cfg.mixture.get("seed", cfg.seed),
                     "train": cfg.train.get("seed", cfg.seed), "eval": cfg.eval.get("seed", cfg.seed)},
           "steps": [{**s.to_json(), **{k: v for k, v in row.items() if k in ("state", "wall_seconds", "dir")}}
                     for s, row in zip(steps, status(exp, steps))],
           "history": old.get("history", [])}
    if extra:
        rec["history"] = rec["history"] + [extra]
    atomic_write_json(exp / RECORD, rec)
    return exp / RECORD


def run_step(step: Step, exp_dir: Path, cfg: ExperimentConfig) -> float:
    """Run one step in its directory; returns its wall time in seconds."""
    d = step_dir(exp_dir, step)
    d.mkdir(parents=True, exist_ok=True)
    atomic_write_json(d / STEP_RECORD, step.to_json())
    t0 = time.time()
    executors.EXECUTORS[step.kind](step, d, exp_dir, cfg)
    if not is_done(exp_dir, step):
        raise FlanlabError(f"step {step.id} ({step.label}) ended without a finished run.json in {d}")
    return time.time() - t0


def run_experiment(cfg: ExperimentConfig, *, only: str | None = None, dry_run: bool = False) -> dict[str, Any]:
    """Run every missing step (or only steps whose id/kind starts with `only`); return a summary."""
    facts = CatalogueFacts.from_catalogue(catalogue_for(cfg))
    steps, notes = plan(cfg, facts), protocol(cfg, facts)
    exp = cfg.directory
    exp.mkdir(parents=True, exist_ok=True)
    write_record(cfg, steps, notes=notes)
    todo = [s for s in steps if not is_done(exp, s) and (only is None or s.id.startswith(only))]
    err.print(f"[bold]experiment {cfg.name}[/bold] ({cfg.kind}): {len(steps)} steps, "
              f"{len(steps) - len(todo)} done, {len(todo)} to run  ->  {exp}", highlight=False)
    for n in notes:
        err.print(f"  protocol: {n}", highlight=False)
    ran: list[dict[str, Any]] = []
    t_start = time.time()
    for i, s in enumerate(todo, 1):
        if dry_run:
            break
        err.print(f"[cyan]step {i}/{len(todo)}[/cyan] {s.kind}: {s.label}  [dim]{s.id}[/dim]", highlight=False)
        try:
            wall = run_step(s, exp, cfg)
        except BaseException as e:
            write_record(cfg, steps, {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "failed": s.id,
                                      "error": f"{type(e).__name__}: {e}"[:500], "ran": ran})
            raise
        ran.append({"id": s.id, "wall_seconds": round(wall, 2)})
        err.print(f"  done in {wall:.1f}s", highlight=False)
    write_record(cfg, steps, {"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "ran": ran,
                              "wall_seconds": round(time.time() - t_start, 2)} if ran else None)
    return {"experiment": cfg.name, "kind": cfg.kind, "dir": str(exp), "executed": [r["id"] for r in ran],
            "steps": status(exp, steps), "report": str(step_dir(exp, steps[-1]))}
