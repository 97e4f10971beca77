"""Evaluate a model on catalogue tasks as the FLAN paper did, cell by cell, cached and resumable.

    cfg = EvalConfig(model="smollm2-135m-instruct", tasks=["rte"], limit=50)
    results = evaluate(cfg, run=RunDir.create("runs/eval-rte", "eval", cfg))
    results["tasks"]["rte"]["mean"], results["tasks"]["rte"]["best_dev_template"]

A cell is (model, task, template, split role, shots, mode). Every forward template of each task is scored
on the test role, and on the dev role to pick the best template (the paper's best-dev-template score);
the task's score is the mean and standard deviation over templates. A finished cell is cached
(`cache.CellCache`): a rerun with the same inputs loads it instead of computing, so an interrupted run
resumes where it stopped. A cell that fails (no labels, empty split, missing data, ...) is recorded with
its reason and the others go on. Outputs in the run directory: `results.json` (schema `flanlab.eval/1`,
docs/design.md Stage 4), `cells.jsonl`, `examples/<task>/<template>/<role>-<k>shot.jsonl`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from ..console import err
from ..errors import FlanlabError
from ..paths import cache_dir
from ..runs import check_interrupt
from ..tasks.registry import catalogue
from ..tasks.sources import resolve_source, role_split
from .cache import CellCache, cell_key, file_identity, records_jsonl
from .cell import Cell, role_limit, run_cell
from .config import EvalConfig
from .generation import STOP_RULE

if TYPE_CHECKING:
    from ..runs import RunDir
    from ..tasks.registry import Catalogue
    from .lm import LM

SCHEMA = "flanlab.eval/1"


def plan(cfg: EvalConfig, cat: Catalogue, without_dev: Collection[str] = ()) -> list[Cell]:
    """Every cell of the evaluation, in catalogue order: task x template x role.

    Tasks in `without_dev` (no dev split to read) are scored on the test role only: their best-dev template
    is unavailable, which is not a failure (`evaluation.run.preflight` finds them)."""
    tasks = cat.resolve_tasks(cfg.tasks, cfg.clusters)
    if not tasks:
        raise FlanlabError("no tasks to evaluate: pass --tasks and/or --clusters")
    cells = []
    for task in tasks:
        tset = cat.templates(task)
        if cfg.mode == "natural":
            ids = [tset.get(t).id for t in cfg.templates] if cfg.templates else [t.id for t in tset.forward]
            turned = [t for t in ids if tset.get(t).turned]
            if turned:
                raise FlanlabError(f"task {task.name!r}: template(s) {turned} turn the task around (training only)")
        else:
            ids = [cfg.mode]
        best_dev = cfg.best_dev and len(ids) > 1 and task.name not in without_dev
        roles = ["dev"] if cfg.split == "dev" else (["dev", "test"] if best_dev else ["test"])
        cells += [Cell(task, tid, role, cfg.shots, cfg.mode) for tid in ids for role in roles]
    return cells


def cell_identity(cell: Cell, cfg: EvalConfig, cat: Catalogue, lm: LM) -> dict[str, Any]:
    """Every input that can change the cell's numbers (the cache key is a hash of this)."""
    task, tset = cell.task, cat.templates(cell.task)
    overrides = cfg.split_overrides.get(task.name)
    split = role_split(task, cell.role, overrides)
    _, path = resolve_source(task, split, cfg.source, cfg.data_dir)
    if cell.mode == "natural":
        template: Any = asdict(tset.get(cell.template_id))
    elif cell.mode == "baseline":
        template = {"baseline": tset.baseline, "baseline_options": tset.baseline_options}
    else:
        template = {"plain": tset.plain, "display": task.display_name}
    ident = {"model": lm.fingerprint, "model_kind": lm.kind, "task": task.name, "task_version": task.version,
             "source": [task.source.hub_id, task.source.config], "options": task.options, "metrics": task.metrics,
             "roles": asdict(task.splits.override(**(overrides or {}))), "role": cell.role, "split": split,
             "data": file_identity(path), "limit": role_limit(cfg, cell.role), "template_set": tset.version,
             "template": template, "mode": cell.mode, "shots": cell.shots, "delimiter": cfg.delimiter()}
    if cfg.chat_template:  # absent when off: existing cache keys stay valid
        ident["chat_template"] = True
    if cfg.sample != "first" and role_limit(cfg, cell.role):  # which N examples `limit` keeps
        ident["sample"] = [cfg.sample, cfg.seed]
    if cell.shots:
        ident["fewshot"] = [cfg.fewshot_seed, cfg.fewshot_pool, cfg.fewshot_budget, list(cfg.fewshot_layout()),
                            file_identity(resolve_source(task, role_split(task, "train", overrides), cfg.source,
                                                         cfg.data_dir)[1])]
    if task.is_classification:
        ident["rank_eos"] = cfg.option_eos()
    else:
        ident["decode"] = [cfg.max_new_tokens, cfg.stop_strings(), cfg.num_beams, cfg.do_sample, cfg.temperature,
                           cfg.top_p, cfg.seed, STOP_RULE]
    return ident


def _failed(cell: Cell, e: BaseException) -> dict[str, Any]:
    reason = str(e) if isinstance(e, FlanlabError) else f"{type(e).__name__}: {e}"
    if cell.role == "dev" and cell.mode == "natural":
        reason += " (the dev split only picks the best template: --no-best-dev scores the test split alone)"
    return {"task": cell.task.name, "template": cell.template_id, "role": cell.role, "shots": cell.shots,
            "mode": cell.mode, "status": "failed", "reason": reason}


def evaluate(cfg: EvalConfig, lm: LM | None = None, run: RunDir | None = None, cat: Catalogue | None = None, show_progress: bool = True,
             without_dev: Collection[str] = ()) -> dict:
    """Run (or load from the cache) every cell and aggregate; writes into `run` (a RunDir) when given.

    This is the scoring loop; `flanlab.evaluation.run.evaluate` is the stage's entry point (checks, run
    record, status)."""
    from .lm import lazy_hflm
    from .generation import DecodeOptions

    t0 = time.time()
    cat = cat or catalogue(cfg.tasks_file)
    cells = plan(cfg, cat, without_dev)
    if lm is None:
        decode = DecodeOptions(cfg.num_beams, cfg.do_sample, cfg.temperature, cfg.top_p, cfg.seed)
        lm = lazy_hflm(cfg.model, device=cfg.device, dtype=cfg.dtype, batch_size=cfg.batch_size, decode=decode,
                       max_tokens=cfg.max_batch_tokens)
    cache = CellCache(cfg.cache_dir or cache_dir() / "eval-cells", enabled=cfg.cache)
    summaries = []
    if run is not None:  # a resumed run directory: cells.jsonl is rewritten (finished cells come from the cache)
        (run.path / "cells.jsonl").unlink(missing_ok=True)
    with _progress(show_progress) as bar:
        cells_bar = bar.add_task("cells", total=len(cells))
        for cell in cells:
            check_interrupt()  # a Ctrl-C that native code swallowed
            summary, records = _one_cell(cell, cfg, cat, lm, cache, bar)
            summaries.append(summary)
            if run is not None:
                _write_cell(run, summary, records)
            bar.advance(cells_bar)
    results = aggregate(cfg, lm, cat, summaries)
    if without_dev:
        results["best_dev_unavailable"] = sorted(without_dev)
    results["wall_seconds"] = round(time.time() - t0, 3)
    if run is not None:
        run.write_json("results.json", results)
    return results


def _one_cell(cell: Cell, cfg: EvalConfig, cat: Catalogue, lm: LM, cache: CellCache, bar: Any):
    try:
        key = cell_key(cell_identity(cell, cfg, cat, lm))
        hit = cache.load(key)
        if hit is not None:
            summary, records = hit
            return _with_columns({**summary, "cached": True}, records), records
        ex_bar = bar.add_task(f"  {cell.label}", total=None)
        try:
            summary, records = run_cell(cell, cfg, cat, lm, progress=lambda n: bar.advance(ex_bar, n))
        finally:
            bar.remove_task(ex_bar)
        summary["key"] = key
        cache.save(key, summary, records)
        return _with_columns({**summary, "cached": False}, records), records
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # a bad cell is reported with its reason; the others go on
        return _failed(cell, e), []  # each distinct reason is reported once, with its count, at the end


def _with_columns(summary: dict, records: list[dict]) -> dict:
    """The cell's per-example columns for the statistics (stats.cell_columns) and its constant-output flag;
    derived from the records, so cached cells get them too (the cache itself is unchanged)."""
    from .metrics import target_language
    from .stats import cell_columns, is_constant

    cols = cell_columns(summary["metric"], records, target_language(summary["task"]))
    return {**summary, "constant": is_constant(cols["pred"]), "per_example": cols}


def _write_cell(run: RunDir, summary: dict, records: list[dict]) -> None:
    from ..runs import atomic_write_text

    run.append_jsonl("cells.jsonl", {k: v for k, v in summary.items() if k != "per_example"})
    if records:
        name = f"examples/{summary['task']}/{summary['template']}/{summary['role']}-{summary['shots']}shot.jsonl"
        atomic_write_text(run.path / name, records_jsonl(records))


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..console import plain_progress

    if enabled and plain_progress():
        return PlainProgress()
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, disable=not enabled, transient=False)


class PlainProgress:
    """Evaluation progress as plain stderr lines (stderr is no terminal): every FLANLAB_PROGRESS_INTERVAL
    seconds and at the end, `eval cells 12/90 examples 340 (55.1/s) ETA 0:01:10 rte/01/test-0shot`."""

    def __init__(self):
        from ..console import Ticker

        self._ticker, self._t0 = Ticker(), time.monotonic()
        self._tasks: dict[int, list] = {}  # id -> [description, total, completed]
        self._examples = 0
        self._ticker.due()

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add_task(self, description: str, total: int | None = None) -> int:
        self._next = getattr(self, "_next", -1) + 1
        self._tasks[self._next] = [description.strip(), total, 0]
        return self._next

    def remove_task(self, task_id: int) -> None:
        self._tasks.pop(task_id, None)

    def advance(self, task_id: int, n: int = 1) -> None:
        from ..console import fmt_eta, plain

        t = self._tasks.get(task_id)
        if t is None:
            return
        t[2] += n
        if task_id != 0:
            self._examples += n
        cells = self._tasks.get(0)
        last = task_id == 0 and cells is not None and cells[2] >= (cells[1] or 0)
        if cells is None or not (self._ticker.due() or last):
            return
        secs = time.monotonic() - self._t0
        eta = secs / cells[2] * (cells[1] - cells[2]) if cells[2] and cells[1] else None
        current = next((d for k, (d, _, _) in self._tasks.items() if k != 0), "")
        plain(f"eval cells {cells[2]}/{cells[1]} examples {self._examples} "
              f"({self._examples / secs if secs else 0:.1f}/s) ETA {fmt_eta(eta)} {current}".rstrip())


# -- aggregation (pure) ----------------------------------------------------------------------------------

def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / len(values))  # population std over templates


def task_result(task: Any, summaries: list[dict], split_overrides: dict | None = None,
                replicates: dict[str, Any] | None = None) -> dict[str, Any]:
    """One task's entry of results.json from its cell summaries (see docs/design.md, Stage 4).

    With per-example columns in the summaries (runner._with_columns): `n`, `ci95` and `per_example` of the
    task, `ci95` and `constant` per template and role (evaluation/stats.py); the task's bootstrap
    replicates go into `replicates[task name]` for the cluster interval."""
    from . import stats

    primary = task.metrics[0]
    templates: dict[str, dict] = {}
    failed: dict[str, str] = {}
    cols: dict[str, list[dict]] = {}
    for s in summaries:
        if s.get("status") != "ok":
            failed[s["template"]] = "; ".join(x for x in (failed.get(s["template"]), f"{s['role']}: {s['reason']}") if x)
            continue
        entry = {**s["metrics"], "n": s["n"]}
        for k in ("accuracy_per_token", "accuracy_per_char", "n_unstopped", "constant"):
            if k in s:
                entry[k] = s[k]
        if s.get("per_example"):
            cols.setdefault(s["role"], []).append((entry, s["per_example"]))
        templates.setdefault(s["template"], {})[s["role"]] = entry
    scored_role = "test" if any("test" in v for v in templates.values()) else "dev"
    task_reps: dict[str, Any] = {}
    for role, pairs in cols.items():  # one pass of resamples per role, shared by its templates
        ids, per, task_reps[role] = stats.role_replicates([c for _, c in pairs],
                                                          seed=stats.derive_seed(stats.SEED, task.name, role))
        for (entry, _), reps in zip(pairs, per):
            entry["ci95"] = stats.summary_ci(reps)
    scores = [v[scored_role][primary] for v in templates.values() if scored_role in v]
    mean, std = _mean_std([x for x in scores if x is not None])
    best_tid, best = best_dev_template(templates, primary)
    out = {"cluster": task.cluster, "metric": primary, "metrics": list(task.metrics), "kind": task.kind,
           "split_roles": {"dev": task.splits.dev, "test": task.splits.test}, "split_overrides": split_overrides or {},
           "templates": templates, "mean": mean, "std": std, "scored_role": scored_role,
           "best_dev_template": best_tid, "best_dev": best, "failed": failed}
    scored = [c for _, c in cols.get(scored_role) or []]
    if scored:
        reps = task_reps[scored_role]
        pe = stats.per_example_mean(scored)
        out.update(n=len({i for c in scored for i in c["ids"]}), ci95=stats.summary_ci(reps), per_example=pe)
        if replicates is not None:
            replicates[task.name] = reps
    else:
        out.update(n=max((v[scored_role]["n"] for v in templates.values() if scored_role in v), default=0),
                   ci95=None)
    return out


def best_dev_template(templates: dict[str, dict], metric: str) -> tuple[str | None, float | None]:
    """The template with the best dev score (ties: the first), and its test score."""
    best_tid, best_dev = None, None
    for tid, roles in templates.items():
        dev = roles.get("dev", {}).get(metric)
        if dev is not None and "test" in roles and (best_dev is None or dev > best_dev):
            best_tid, best_dev = tid, dev
    return best_tid, (templates[best_tid]["test"][metric] if best_tid else None)


def cluster_results(tasks: dict[str, dict], replicates: dict[str, Any] | None = None) -> dict[str, dict]:
    """Per cluster: the mean over its tasks, and (given the tasks' bootstrap replicates) its 95% interval from
    the stratified bootstrap (each task's examples resampled on their own) and `n`, its examples in all."""
    from .stats import summary_ci

    out: dict[str, dict] = {}
    for name, t in tasks.items():
        out.setdefault(t["cluster"], {"tasks": []})["tasks"].append(name)
    for c in out.values():
        means = [tasks[n]["mean"] for n in c["tasks"] if tasks[n]["mean"] is not None]
        bests = [tasks[n]["best_dev"] for n in c["tasks"] if tasks[n]["best_dev"] is not None]
        c["mean"] = sum(means) / len(means) if means else None
        c["best_dev"] = sum(bests) / len(bests) if bests else None
        c["n"] = sum(tasks[n].get("n") or 0 for n in c["tasks"] if tasks[n]["mean"] is not None)
        reps = [replicates[n] for n in c["tasks"] if tasks[n]["mean"] is not None and n in (replicates or {})]
        c["ci95"] = summary_ci(reps) if len(reps) == len(means) and reps else None
    return out


def aggregate(cfg: EvalConfig, lm: LM, cat: Catalogue, summaries: list[dict]) -> dict[str, Any]:
    by_task: dict[str, list[dict]] = {}
    for s in summaries:
        by_task.setdefault(s["task"], []).append(s)
    from . import stats

    reps: dict[str, Any] = {}
    tasks = {name: task_result(cat.task(name), ss, cfg.split_overrides.get(name), reps)
             for name, ss in by_task.items()}
    n_failed = sum(1 for s in summaries if s.get("status") != "ok")
    out = {"schema": SCHEMA, "model": cfg.model if lm is None else lm.name, "model_kind": getattr(lm, "kind", None),
           "model_fingerprint": getattr(lm, "fingerprint", None), "shots": cfg.shots, "mode": cfg.mode,
           "rank_eos": cfg.option_eos(), "chat_template": cfg.chat_template,
           "split": cfg.split, "limit": cfg.limit, "sample": cfg.sample, "tasks": tasks,
           "clusters": cluster_results(tasks, reps),
           "cells": {"total": len(summaries), "failed": n_failed,
                     "cached": sum(1 for s in summaries if s.get("cached"))},
           "stats": {"interval": "percentile bootstrap over examples", "level": stats.LEVEL,
                     "n_boot": stats.N_BOOT, "seed": stats.SEED}}
    out["degenerate"] = stats.degenerate_summary(out)
    return out
