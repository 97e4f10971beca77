"""The demo experiment: the paper's Figure 7 at its small-scale end, on one model, within minutes on a CPU.

    cfg, info = demo_config(quick=True, model="smollm2-135m-instruct", out=Path("runs/demo-quick"))
    summary = run_demo(cfg)               # runs the steps (cached), returns the table and the comparisons
    summary["sets"]["held_in"]["tuned_vs_untuned"]   # {"diff", "ci95", "p", "n"}: paired over examples

What it shows (paper section 4.2, Figure 7): instruction tuning improves the tasks it trains on (held-in,
scored on examples never trained on, every template) and, for a model this small, does not help the
held-out clusters. One tuning run on the held-in tasks (NLI held out, paraphrase with it by the paper's
rule; `train_tasks` for a broader mixture) and three models on both sets: the tuned model and the untuned model with instructions (the same prompts), and the
untuned model with GPT-3-style continuation prompts (the paper's baseline column, EvalConfig mode
"baseline").

Data: without a data directory, the bundled samples (a smoke run: 40 rows per split, so the numbers are
noise). With the real mirror (`--data-dir`, Hub layout), the tuning mixture reads, for each tuned task, a
labelled split that no evaluation of the demo reads (`MIRROR_TRAIN_SPLITS`: the mirror has mostly
validation/test splits): each held-in task trains on the labelled split that is not its test role (SST-2:
test, scored on validation; ARC-Easy: validation, scored on test), and a 13-gram check confirms it.
Scored examples are a seeded random sample of each split (EvalConfig `sample: random`), the same for the
three models. The recipe (learning rate, steps, tuning tasks) was chosen by the sweep in LOG.md
(2026-12-02, demo recipe, clean sweep).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FlanlabError
from .config import ExperimentConfig
from .steps import Step

HOLDOUT = ["nli"]  # held out (paraphrase goes with it by the paper's rule)


@dataclass(frozen=True)
class Budget:
    steps: int
    lr: float
    tokens: int  # per optimizer step
    held_in: tuple[str, ...]
    held_out: tuple[str, ...] | None  # None: every NLI task with data
    held_in_limit: int  # examples per held-in task (every forward template)
    held_out_limit: int  # examples per held-out task


# Recipe from the sweep (LOG.md, "demo recipe, clean sweep"): Adafactor at a constant 1e-4 for 40 steps of 1,024
# tokens on the held-in tasks' own training data. On the real mirror (4 templates x 30 examples scored at steps
# 0/20/40/60) this lifts SST-2 45.8 -> 76.7% and ARC-Easy 19.2 -> 36.7% at step 40 with no constant answers;
# 60 steps add nothing (68.3 / 33.3), the same 40 steps spread over the mirror's 10-task mixture teach less
# (LOG.md), the paper's 3e-5 for 24 steps does not move SST-2 off chance, and 1e-3 collapses onto the first
# option. `--quick` is too short to move the model (a smoke run of the pipeline). Example counts sized for 2
# idle cores (~190 training tokens/s, ~10 scored SST-2 prompts/s): full ~12 min, quick ~2.5 min.
BUDGETS: dict[str, Budget] = {
    "quick": Budget(steps=4, lr=3e-5, tokens=1024, held_in=("sst2",), held_out=("rte",),
                    held_in_limit=24, held_out_limit=8),
    "full": Budget(steps=40, lr=1e-4, tokens=1024, held_in=("sst2", "arc_easy"), held_out=("rte", "cb"),
                   held_in_limit=60, held_out_limit=30),
}

# Real mirror: the split each tuned task trains on (7 clusters). Each held-in task trains on the labelled split
# that is not its test role (SST-2 trains on test and is scored on validation; ARC-Easy trains on validation and
# is scored on test), so no scored example was trained on (demo_config checks it); the others train on any
# labelled split (they are not evaluated here). Tasks with long inputs (squad,
# imdb, yelp) are left out: in a 1,024-token step they left ~80 target tokens (LOG.md, demo recipe sweep).
MIRROR_TRAIN_SPLITS: dict[str, str] = {
    "sst2": "test", "arc_easy": "validation", "arc_challenge": "validation", "boolq": "validation", "piqa": "validation",
    "copa": "validation", "winogrande": "validation", "story_cloze": "validation", "common_gen": "validation",
    "e2e_nlg": "validation",
}


def demo_config(*, quick: bool, model: str, out: Path, data_dir: str | None = None, steps: int | None = None,
                limit: int | None = None, lr: float | None = None, held_in_limit: int | None = None,
                held_out_limit: int | None = None, train_tasks: list[str] | None = None) -> tuple[ExperimentConfig, dict[str, Any]]:
    """The demo as an experiment config (kind "demo") and what it will do, in words for the CLI.

    `limit` sets both evaluation limits (0: every example); `held_in_limit` / `held_out_limit` one of them.
    `train_tasks`: the tuning mixture (default: the held-in tasks, the swept recipe); on a mirror, tasks of
    MIRROR_TRAIN_SPLITS (each reads a split the demo never scores), on the bundled samples their train splits.
    """
    from ..tasks import catalogue
    from ..tasks.sources import BUNDLED_DIR, mirror_file

    b = BUDGETS["quick" if quick else "full"]
    cat = catalogue()
    root = Path(data_dir) if data_dir else BUNDLED_DIR
    source = "mirror" if data_dir else "bundled"
    held_out = [t.name for t in cat.tasks_in("nli") if mirror_file(root, t, t.splits.test)
                and (b.held_out is None or t.name in b.held_out)]
    if not held_out:
        raise FlanlabError(f"--data-dir {root}: no NLI task has a test split there "
                           f"({', '.join(b.held_out or ['any'])} wanted)")
    held_in = [t for t in b.held_in if mirror_file(root, cat.task(t), cat.task(t).splits.test)]
    if not held_in:
        raise FlanlabError(f"--data-dir {root}: none of the held-in tasks {', '.join(b.held_in)} has its "
                           f"{'/'.join(cat.task(t).splits.test for t in b.held_in)} split there")
    mixture: dict[str, Any] = {"source": source, "missing_data": "skip", "max_input_len": 384,
                               "max_target_len": 64, "seq_len": 512, "data_dir": data_dir}
    wanted = list(train_tasks or held_in)
    if data_dir:
        unknown = [t for t in wanted if t not in MIRROR_TRAIN_SPLITS]
        if unknown:
            raise FlanlabError(f"demo training tasks {unknown}: only {', '.join(MIRROR_TRAIN_SPLITS)} have a "
                               "split the demo does not evaluate")
        trained = [t for t in wanted if mirror_file(root, cat.task(t), MIRROR_TRAIN_SPLITS[t])]
        missing = [t for t in held_in if t not in trained]
        if missing:
            raise FlanlabError(f"--data-dir {root}: held-in task(s) {missing} have no "
                               f"{'/'.join(MIRROR_TRAIN_SPLITS[t] for t in missing)} split to train on")
        for t in held_in:  # a held-in task never trains on the split it is scored on
            if MIRROR_TRAIN_SPLITS[t] == cat.task(t).splits.test:
                raise FlanlabError(f"demo: held-in task {t} would train on {MIRROR_TRAIN_SPLITS[t]}, the split it is "
                                   "scored on (MIRROR_TRAIN_SPLITS)")
        mixture["split_overrides"] = {t: {"train": MIRROR_TRAIN_SPLITS[t]} for t in trained}
    else:
        trained = wanted
    mixture["include"] = trained

    def pick(own: int | None, default: int) -> int | None:
        return (own or None) if own is not None else (default if limit is None else (limit or None))

    n_in, n_out = pick(held_in_limit, b.held_in_limit), pick(held_out_limit, b.held_out_limit)
    # a seeded random subset of each scored split: the first N of an ordered file are a biased sample (the
    # mirror's first 60 SST-2 validation examples are 35% positive, and a model answering one constant option
    # scored 65% on them)
    ev = {"source": source, "data_dir": data_dir, "limit": n_out, "sample": "random", "best_dev": False,
          "batch_size": 16}
    cfg = ExperimentConfig(
        name=out.name, runs_dir=str(out.parent), kind="demo", models=[model], eval_clusters=list(HOLDOUT),
        eval_tasks=held_out, held_in_tasks=held_in, held_in_eval={"limit": n_in}, baselines=True, mixture=mixture,
        train={"steps": steps or b.steps, "batch": {"tokens": b.tokens, "micro_rows": 2},
               "optim": {"lr": lr or b.lr}, "checkpoint": {"every": 0}, "log_every": 1},
        eval=ev, contamination={"max_eval_examples": n_out})
    info = {"source": source, "held_in": held_in, "held_out": held_out, "train_tasks": trained,
            "steps": cfg.train["steps"], "lr": cfg.train["optim"]["lr"], "tokens": b.tokens,
            "held_in_limit": n_in, "held_out_limit": n_out}
    return cfg, info


# -- plan ---------------------------------------------------------------------------------------------

SERIES = {"tuned": "FLAN-style tuned", "untuned-instructions": "untuned (instructions)",
          "untuned-baseline": "untuned (GPT-3-style prompt)"}
VARIANTS = tuple(SERIES)


def plan_demo(cfg: ExperimentConfig, facts: Any) -> list[Step]:
    """mixture -> tune -> {tuned, untuned with instructions, untuned with baseline prompts} x {held-in, held-out}."""
    from .plans import _with_contamination, eval_step, mixture_step, train_step

    removed = facts.removed_by(cfg.eval_clusters)
    clash = [t for t in cfg.held_in_tasks if facts.cluster_of(t) in removed]
    if clash:
        raise FlanlabError(f"held_in_tasks {clash} are in held-out clusters ({', '.join(sorted(removed))})")
    held_in_clusters = sorted({facts.cluster_of(t) for t in cfg.held_in_tasks})
    held_in_cfg = cfg.model_copy(update={"eval_tasks": list(cfg.held_in_tasks),
                                         "eval": {**cfg.eval, **cfg.held_in_eval}})
    steps: list[Step] = []
    for model in cfg.models:
        mix = mixture_step(cfg, list(cfg.eval_clusters))
        tr = train_step(cfg, model, mix)
        steps += [mix, tr]
        for which, c, clusters in (("held_in", held_in_cfg, held_in_clusters), ("held_out", cfg, cfg.eval_clusters)):
            for variant, ref, mode in (("tuned", tr, "natural"), ("untuned-instructions", model, "natural"),
                                       ("untuned-baseline", model, "baseline")):
                steps.append(eval_step(c, facts, ref, list(clusters), mode=mode, variant=variant, set=which,
                                       series=f"{SERIES[variant]}, {which.replace('_', '-')}",
                                       label=f"eval {variant} {model} on {which.replace('_', '-')} "
                                             f"{'+'.join(c.eval_tasks)} ({mode})"))
        steps += _with_contamination(cfg, facts, mix, list(cfg.eval_clusters))
        # the held-in tasks too: their scored examples must share no n-gram span with what the model tuned on
        held_in_contam = held_in_cfg.model_copy(update={"contamination": cfg.contamination.model_copy(
            update={"max_eval_examples": cfg.held_in_eval.get("limit")})})
        steps += _with_contamination(held_in_contam, facts, mix, held_in_clusters, list(cfg.held_in_tasks))
    return steps


# -- results ------------------------------------------------------------------------------------------

def _read_demo(exp_dir: Path) -> tuple[dict[tuple[str, str], dict[str, Any]], dict[str, dict[str, Any]]]:
    """What the demo's finished steps wrote (experiments.collect): (set, variant) -> results.json of each eval
    step, and task -> {examples, checked, contaminated, tuned_on_task} from its contamination steps."""
    from .collect import collect

    got = collect([exp_dir])
    results = {(s.tags["set"], s.tags["variant"]): s.results for s in got.series
               if s.tags.get("set") and s.tags.get("variant") in VARIANTS}
    contam = {row["task"]: {k: row[k] for k in ("examples", "checked", "contaminated", "tuned_on_task")}
              for c in got.contamination for row in c["tasks"]}
    return results, contam


def demo_results(exp_dir: Path, *, n_boot: int | None = None) -> dict[str, Any]:
    """Per set (held-in, held-out): a row per task with each model's mean ± std over templates, 95% interval
    and n, the set means, and paired comparisons (tuned vs each untuned model) over the same examples, all
    from the evaluation stage's results.json (per-example scores, constant-cell flags; evaluation.stats)."""
    from ..evaluation import stats

    boot = {"n_boot": n_boot} if n_boot else {}
    res, contam = _read_demo(exp_dir)
    sets: dict[str, Any] = {}
    for which in ("held_in", "held_out"):
        by = {v: res[(which, v)] for v in VARIANTS if (which, v) in res}
        if not by:
            continue
        tasks = sorted(set().union(*(r["tasks"] for r in by.values())))
        const = {v: stats.constant_cells(r) for v, r in by.items()}
        rows, means = [], {v: [] for v in by}
        for task in tasks:
            row: dict[str, Any] = {"task": task, "metric": next(r["tasks"][task]["metric"] for r in by.values()
                                                               if task in r["tasks"])}
            for v, r in by.items():
                t = r["tasks"].get(task)
                if not t:
                    continue
                row[v] = {"mean": t["mean"], "std": t["std"], "ci95": t.get("ci95"), "n": t.get("n"),
                          "templates": len(t["templates"]), "constant": sorted(x for k, x in const[v] if k == task)}
                if t["mean"] is not None:
                    means[v].append(t["mean"])
            rows.append(row)
        comparisons = {}
        for other in ("untuned-instructions", "untuned-baseline"):
            if "tuned" not in by or other not in by:
                continue
            group = stats.compare_group(by[other], by["tuned"], tasks, which, **boot)
            if group:
                per_task = {t: c for t in tasks
                            if (c := stats.compare_task(by[other]["tasks"].get(t) or {}, by["tuned"]["tasks"].get(t) or {},
                                                        t, **boot))}
                comparisons[f"tuned_vs_{other.replace('-', '_')}"] = {**group, "tasks": per_task}
        big = [r["task"] for r in rows if ((r.get("tuned") or {}).get("n") or 0) >= COLLAPSE_MIN_EXAMPLES]
        sets[which] = {"tasks": rows, "mean": {v: (sum(m) / len(m) if m else None) for v, m in means.items()},
                       **comparisons, "collapsed": stats.check_collapse(by["tuned"], big) if "tuned" in by else [], "constant_cells": {v: [list(x) for x in c] for v, c in const.items()},
                       "cells": {v: sum(len(t["templates"]) for t in r["tasks"].values()) for v, r in by.items()},
                       "contamination": {t: contam[t] for t in tasks if t in contam}}
    return {"experiment": str(exp_dir), "sets": sets}


COLLAPSE_MIN_EXAMPLES = 10  # one answer to fewer examples than this is not evidence of a collapse


def collapsed(results: dict[str, Any]) -> list[str]:
    """Held-in tasks (of at least COLLAPSE_MIN_EXAMPLES examples) on which the tuned model answers one constant
    option to every example on at least half its templates (evaluation.stats.check_collapse), as
    "task (k/m templates constant)"."""
    return list(results["sets"].get("held_in", {}).get("collapsed", []))


def run_demo(cfg: ExperimentConfig) -> dict[str, Any]:
    """Run the demo's steps (finished ones are reused) and return the run summary plus `demo_results`."""
    from .run import run_experiment

    summary = run_experiment(cfg)
    return {**summary, **demo_results(cfg.directory)}
