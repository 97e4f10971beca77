"""Callbacks a later stage offers to an earlier one, injected by the CLI (which sits above every stage), so
that stage imports keep flowing one way (docs/design.md).

    hooks.train_evaluator = checkpoint_evaluator        # flanlab/cli.py: evaluation at training checkpoints
    evaluator = hooks.make_train_evaluator(cfg)          # flanlab train: None when nothing was injected
"""

from __future__ import annotations

from typing import Any, Callable

# TrainConfig -> training.train.Evaluator | None (flanlab.evaluation.in_training.checkpoint_evaluator)
train_evaluator: Callable[[Any], Any] | None = None


def make_train_evaluator(cfg: Any) -> Any:
    """The injected evaluator for `cfg`, or None (then `train` refuses cfg.eval.every with a clear error)."""
    return train_evaluator(cfg) if train_evaluator is not None and cfg.eval.every else None
