"""Stage 4: evaluation. Zero-/few-shot scoring of catalogue tasks (rank classification and generation).

    from flanlab.evaluation import EvalConfig, evaluate
    path = evaluate(EvalConfig(model="smollm2-135m-instruct", tasks=["rte"], limit=50, out="runs/rte"))
    # path/results.json (scores), path/run.json (status, params, errors)

`evaluate` (evaluation.run) is the stage's entry point: it owns the run directory and its record.
`runner.evaluate` is the scoring loop underneath (cells, cache, aggregation) and returns the results dict.
Heavy imports (torch, transformers) happen inside the functions that need them.
"""

from .config import EvalConfig
from .run import evaluate
from .runner import SCHEMA, plan

__all__ = ["EvalConfig", "SCHEMA", "evaluate", "plan"]
