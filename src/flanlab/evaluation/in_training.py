"""Held-out scores at training checkpoints: the scorer behind `flanlab train --eval-every N`.

    evaluator = checkpoint_evaluator(cfg)              # cfg: TrainConfig; None when cfg.eval.every == 0
    path = train(cfg, evaluator=evaluator)              # metrics.jsonl gets {"step", "eval": {...}} rows

The paper evaluates only the final checkpoint; this gives the curve in between, cheaply: rank
classification only (no generation), the first `eval.templates` forward templates of each task, the first
`eval.limit` test examples (the same subset at every checkpoint, so points are comparable), no dev role,
no cell cache. The numbers are those `flanlab eval` gives for the same model, templates and `--limit`
(tests/integration/test_train_eval_during.py), so the curve's last point matches a final evaluation of that
subset. Training never imports this module: the CLI injects it (flanlab.hooks), training calls the
`Evaluator` it receives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import FlanlabError


def eval_tasks(cfg: Any, cat: Any) -> list[str]:
    """cfg.eval.tasks (task or cluster names), else the held-out classification tasks of the mixture."""
    from ..mixtures.holdout import resolve_names, split_tasks

    m = cfg.mixture
    if cfg.eval.tasks:
        clusters, tasks = resolve_names(cat, cfg.eval.tasks)
        names = [t.name for t in cat.resolve_tasks(tasks, clusters)]
    else:
        split = split_tasks(cat, m.holdout, m.holdout_tasks, m.include)
        names = [t for t in split.evaluate if cat.task(t).is_classification]
        if not names:
            raise FlanlabError("eval.every: the mixture holds out no classification task to score; name tasks "
                               "with --eval-tasks (e.g. --eval-tasks rte,cb)")
    generation = [n for n in names if not cat.task(n).is_classification]
    if generation:
        raise FlanlabError(f"eval.tasks: {', '.join(generation)} {'is a generation task' if len(generation) == 1 else 'are generation tasks'}; "
                           "scoring during training is rank classification only (evaluate generation after "
                           "training with flanlab eval)")
    return names


def checkpoint_evaluator(cfg: Any, cat: Any = None) -> Callable[[Any, Any, str, int], dict[str, Any]] | None:
    """The `Evaluator` for TrainConfig `cfg` (None when cfg.eval.every is 0). Bad task names, generation
    tasks and prompt tuning are refused here, before any training."""
    from ..tasks import catalogue
    from .config import EvalConfig

    e = cfg.eval
    if not e.every:
        return None
    if cfg.tuning.method == "prompt":
        raise FlanlabError("eval.every: not available with tuning.method=prompt (the soft prompt is scored after "
                           "training: flanlab eval RUN/adapter)")
    cat = cat or catalogue(cfg.mixture.tasks_file or None)
    m = cfg.mixture
    configs = []
    for name in eval_tasks(cfg, cat):
        ids = [t.id for t in cat.templates(cat.task(name)).forward][:e.templates]
        configs.append(EvalConfig(model=cfg.model, tasks=[name], templates=ids, limit=e.limit, best_dev=False,
                                  cache=False, batch_size=e.batch_size, source=m.source, data_dir=m.data_dir,
                                  tasks_file=list(m.tasks_file), split_overrides=m.split_overrides))

    def evaluate_checkpoint(model: Any, tokenizer: Any, kind: str, step: int) -> dict[str, Any]:
        from .lm import HFLM
        from .runner import cluster_results, evaluate

        lm = HFLM(model, tokenizer, kind, name=f"{cfg.model}@step-{step}", batch_size=e.batch_size,
                  fingerprint=f"training:{id(model)}:{step}")
        tasks: dict[str, dict] = {}
        for ecfg in configs:
            res = evaluate(ecfg, lm=lm, cat=cat, show_progress=False)
            tasks.update(res["tasks"])
        failed = {t: r["failed"] for t, r in tasks.items() if r["mean"] is None}
        if failed:
            t, why = next(iter(failed.items()))
            raise FlanlabError(f"evaluation at step {step}: task {t!r} could not be scored: "
                               f"{'; '.join(f'{k}: {v}' for k, v in why.items())}")
        clusters = cluster_results(tasks)
        means = [r["mean"] for r in tasks.values()]
        return {"tasks": {t: r["mean"] for t, r in tasks.items()},
                "clusters": {c: v["mean"] for c, v in clusters.items()},
                "mean": sum(means) / len(means),
                "templates": {t: sorted(r["templates"]) for t, r in tasks.items()},
                "n": {t: max(v["test"]["n"] for v in r["templates"].values()) for t, r in tasks.items()}}

    return evaluate_checkpoint
