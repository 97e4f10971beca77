"""Stage 4: evaluation. Zero-/few-shot scoring of catalogue tasks (rank classification and generation).

    from flanlab.evaluation import EvalConfig, evaluate
    results = evaluate(EvalConfig(model="smollm2-135m-instruct", tasks=["rte"], limit=50))

Heavy imports (torch, transformers) happen inside the functions that need them.
"""

from .config import EvalConfig
from .runner import SCHEMA, evaluate, plan

__all__ = ["EvalConfig", "SCHEMA", "evaluate", "plan"]
