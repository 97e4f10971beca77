"""Stage 3: instruction tuning (`flanlab train`).

    from flanlab.training import TrainConfig
    from flanlab.training.train import train
    run_path = train(TrainConfig(model="smollm2-135m-instruct", steps=100, mixture={"holdout": ["nli"]}))

Modules: config (TrainConfig), optim (optimizer and schedule builders), data (token-budget steps from the
mixtures stage's rows, collated into model inputs), packed_attention (per-example attention for packed
rows), modeling (peft, the loss), checkpoint (atomic save/resume), train (the loop), export (the final
model and its card), cli (`flanlab train`). Heavy libraries are imported when a function needs them.
"""

from __future__ import annotations

import importlib

_LAZY = {"TrainConfig": "config", "OptimConfig": "config", "BatchConfig": "config", "TuningConfig": "config",
         "CheckpointConfig": "config"}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(name)
