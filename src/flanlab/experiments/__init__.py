"""Stage 5: the paper's studies as plans of cached steps, the report, and `flanlab demo`.

    from flanlab.experiments import load_experiment, plan_experiment, run_experiment, write_report
    cfg = load_experiment("configs/experiments/heldout_sweep.yaml")
    plan_experiment(cfg)        # steps: mixture -> train -> eval ... -> report (pure, nothing runs)
    run_experiment(cfg)         # runs what is missing; runs/<name>/report/report.html
"""

from __future__ import annotations

import importlib

_LAZY = {
    "ExperimentConfig": "config", "load_experiment": "config", "KINDS": "config",
    "Step": "steps", "CatalogueFacts": "plans", "plan": "plans", "PLANS": "plans",
    "plan_experiment": "run", "run_experiment": "run", "write_report": "report", "collect": "collect",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(name)
