"""The evaluation stage's entry point: check the inputs, own the run directory, score, record the outcome.

    from flanlab.evaluation import EvalConfig, evaluate
    path = evaluate(EvalConfig(model="smollm2-135m-instruct", tasks=["rte"], limit=50, out="runs/rte"))
    results = json.loads((path / "results.json").read_text())
    json.loads((path / "run.json").read_text())["status"]      # finished | partial | failed | interrupted

Like `flanlab.training.train.train`, `evaluate(cfg) -> run dir` is what `flanlab eval` and the experiment
executors call. Everything that can be checked without scoring is checked before the run directory is
created (tasks and templates, device, dtype, data directory, the model's name, few-shot exemplar sources),
so a bad flag leaves nothing behind. Then `run.json` goes `running` -> `finished` (every cell scored),
`partial` (some cells failed), `failed` (every cell failed, or an error) or `interrupted` (Ctrl-C). It
records `params` (the model's total / trainable parameter counts) and `errors` (each distinct cell error
once, with how many cells it hit), so readers (the report, `flanlab experiment`) never open the weights.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..console import err
from ..errors import FlanlabError
from ..runs import RunDir, param_counts
from ..tasks.registry import catalogue
from ..tasks.sources import check_data_dir, resolve_source, role_split
from .config import EvalConfig
from .lm import LM

if TYPE_CHECKING:
    from ..tasks.registry import Catalogue

ERROR_LINES = 5  # distinct errors printed at the end of a run; all are in run.json


def default_out(cfg: EvalConfig) -> Path:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(cfg.model).name or cfg.model).strip("-") or "model"
    return Path("runs") / f"eval-{slug}-{time.strftime('%Y%m%d-%H%M%S')}"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("HF_DATASETS_OFFLINE") == "1"


def split_available(task: Any, role: str, cfg: EvalConfig) -> bool:
    """Whether the split serving `role` can be read: a mirror or bundled file, or the hub when online."""
    try:
        kind, _ = resolve_source(task, role_split(task, role, cfg.split_overrides.get(task.name)), cfg.source,
                                 cfg.data_dir)
    except FlanlabError:
        return False
    return kind != "hub" or not _offline()


def check_device(device: str | None, dtype: str | None = None) -> None:
    from ..device import pick_device, pick_dtype

    dev = pick_device(device)
    pick_dtype(dev, dtype)


def preflight(cfg: EvalConfig, cat: Catalogue) -> set[str]:
    """Check everything that needs no scoring; returns the tasks whose best-dev template cannot be chosen
    (no dev split: an evaluation-only mirror), for which only the test split is scored."""
    from .runner import plan

    check_data_dir(cfg.data_dir)
    check_device(cfg.device, cfg.dtype)
    cells = plan(cfg, cat)  # unknown tasks / templates fail here
    tasks = list(dict.fromkeys(c.task.name for c in cells))
    specs = [cat.task(t) for t in tasks]
    if cfg.shots:
        missing = [t.name for t in specs if not split_available(t, "train", cfg)]
        if missing:
            where = f"under {cfg.data_dir}" if cfg.data_dir else f"from source {cfg.source!r}"
            raise FlanlabError(f"--shots {cfg.shots}: few-shot exemplars come from the training split, which "
                               f"task(s) {', '.join(missing)} do not have {where} (an evaluation-only mirror?); "
                               "use --shots 0, or add the train splits (flanlab data mirror TASK --split train)")
    no_dev: set[str] = set()
    if any(c.role == "dev" for c in cells) and cfg.split != "dev":
        no_dev = {t.name for t in specs if not split_available(t, "dev", cfg)}
    return no_dev


def model_params(lm: Any, name: str) -> dict[str, int] | None:
    """Parameter counts of the scored model: from the loaded module, else from the saved weights' headers."""
    inner = getattr(lm, "_lm", None) or lm
    model = getattr(inner, "model", None)
    if model is not None and hasattr(model, "parameters"):
        return param_counts(model)
    total = safetensors_params(name)
    return {"total": total, "trainable": total} if total else None


def safetensors_params(model_dir: str | Path) -> int | None:
    """Parameters of a saved model from its safetensors headers (no weights are read); None if unknown."""
    import math
    import struct

    d = Path(model_dir)
    files = sorted(d.glob("*.safetensors")) if d.is_dir() else []
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        total += sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    return total or None


def cell_errors(path: Path) -> list[dict[str, Any]]:
    """Each distinct reason a cell failed, with its count and the cells it hit (from cells.jsonl)."""
    f = path / "cells.jsonl"
    rows = [json.loads(x) for x in f.read_text().splitlines() if x.strip()] if f.is_file() else []
    failed = [r for r in rows if r.get("status") != "ok"]
    # the same failure on every template of a task is one error: the template is named in `cells`
    key = lambda r: re.sub(r"template '[^']*', ", "", r.get("reason", "?"))  # noqa: E731
    counts = Counter(key(r) for r in failed)
    cells: dict[str, list[str]] = {}
    for r in failed:
        cells.setdefault(key(r), []).append(f"{r['task']}/{r['template']}/{r['role']}")
    return [{"error": e, "count": n, "cells": cells[e]} for e, n in counts.most_common()]


def print_errors(errors: list[dict[str, Any]], total: int, path: Path) -> None:
    if not errors:
        return
    n = sum(e["count"] for e in errors)
    err.print(f"{n} of {total} cells failed:", style="yellow", highlight=False, markup=False)
    for e in errors[:ERROR_LINES]:
        err.print(f"  {e['count']} x {e['error']}", highlight=False, markup=False, soft_wrap=True)
    if len(errors) > ERROR_LINES:
        err.print(f"  ... {len(errors) - ERROR_LINES} more distinct errors in {path / 'run.json'}",
                  highlight=False, markup=False)


def headline(results: dict) -> dict:
    return {"tasks": {t: {"metric": v["metric"], "mean": v["mean"], "best_dev": v["best_dev"]}
                      for t, v in results["tasks"].items()},
            "clusters": {c: v.get("mean") for c, v in results.get("clusters", {}).items()},
            "cells": results["cells"]}


def default_lm(cfg: EvalConfig) -> LM:
    from .generation import DecodeOptions
    from .lm import lazy_hflm

    decode = DecodeOptions(cfg.num_beams, cfg.do_sample, cfg.temperature, cfg.top_p, cfg.seed)
    return lazy_hflm(cfg.model, device=cfg.device, dtype=cfg.dtype, batch_size=cfg.batch_size, decode=decode,
                     max_tokens=cfg.max_batch_tokens)


def evaluate(cfg: EvalConfig, *, lm: LM | None = None, cat: Catalogue | None = None, command: str = "eval",
             resume: bool = False, overwrite: bool = False, show_progress: bool = True) -> Path:
    """Evaluate as `cfg` says into its run directory (`cfg.out`, default runs/eval-<model>-<time>); returns it.

    Bad input raises FlanlabError before the directory exists. `resume` continues an unfinished run in the
    same directory (finished cells come from the cell cache); `overwrite` replaces a finished one. Failed
    cells do not raise: run.json says `partial` or `failed` and lists each distinct error with its count.
    """
    from . import runner

    cat = cat or catalogue(cfg.tasks_file)
    no_dev = preflight(cfg, cat)
    if lm is None:
        lm = default_lm(cfg)  # resolves the model name (kind, fingerprint) without loading the weights
    path = Path(cfg.out) if cfg.out else default_out(cfg)
    if resume and not (path / "run.json").is_file():
        raise FlanlabError(f"--resume: {path} holds no run to continue (no run.json); drop --resume to start one")
    run = RunDir.create(path, command=command, config=cfg, resume=resume, overwrite=overwrite)
    try:  # from here on, any stop (Ctrl-C included) is recorded in run.json
        if no_dev:
            names = sorted(no_dev)
            run.update(best_dev_unavailable=names)
            err.print(f"warning: best-dev template unavailable for {len(names)} task(s) without a dev split "
                      f"({', '.join(names[:6])}{', ...' if len(names) > 6 else ''}): their score is the mean over "
                      "templates on the test split", style="yellow", highlight=False, markup=False, soft_wrap=True)
        err.print(f"evaluating {cfg.model} -> {path}", highlight=False, markup=False)
        results = runner.evaluate(cfg, lm=lm, run=run, cat=cat, show_progress=show_progress, without_dev=no_dev)
        params = model_params(lm, cfg.model)
    except BaseException as e:
        run.stop(e)
        raise
    errors = cell_errors(path)
    cells = results["cells"]
    run.update(params=params, errors=errors)
    if cells["failed"] == 0:
        run.finish(headline(results))
    else:
        status = "failed" if cells["failed"] >= cells["total"] else "partial"
        run.record["summary"] = headline(results)
        run.fail(f"{cells['failed']} of {cells['total']} cells failed ({len(errors)} distinct error(s))", status)
    print_errors(errors, cells["total"], path)
    return path


def status_of(path: str | Path) -> str:
    from ..runs import read_json

    return read_json(Path(path) / "run.json").get("status", "?")
