"""Stage 2: from the task catalogue to training batches.

    from flanlab.tasks import catalogue
    from flanlab.mixtures import MixtureConfig, Mixture, split_tasks
    cat = catalogue()
    split = split_tasks(cat, holdout=["nli"])            # train tasks, held-out tasks with reasons
    mix = Mixture(MixtureConfig(holdout=["nli"], source="bundled"), cat)
    mix.rates()                                           # task -> rate, share
    for ex in mix.stream(start=0): ...                    # rendered examples, reproducible, resumable

Tokenization with the one over-long policy (`features.tokenize`), packing (`packing.pack`), the single data
path to training rows (`stream.rows`: disk cache, packing, shuffle, resumable `stream.Cursor`; `flanlab
train` and `flanlab mixture pack` both read it), exports for other trainers (`export.export_mixture`),
few-shot prompts (`fewshot.build`, also used by evaluation). Modules import torch/transformers lazily.
"""

from __future__ import annotations

import importlib

_LAZY = {
    "split_tasks": "holdout", "HoldoutSplit": "holdout",
    "MixtureConfig": "config", "FewShotConfig": "config",
    "Mixture": "mixture", "MixExample": "mixture",
    "examples_proportional": "rates", "equal": "rates", "temperature": "rates",
    "Features": "features", "TokenStats": "features", "tokenize": "features",
    "pack": "packing", "PackingStats": "packing",
    "build": "fewshot",
    "rows": "stream", "Cursor": "stream", "FeatureCache": "stream", "load_tokenizer": "stream",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(name)
