"""Write catalogue tasks and templates as lm-evaluation-harness tasks, so others can reproduce our numbers.

    flanlab eval export-lm-eval --tasks rte,cb --out lm_eval_tasks/ --data-dir ../shared/data/hf
    lm_eval --model hf --model_args pretrained=DIR --include_path lm_eval_tasks/ --tasks flanlab_rte

For each (task, template) we write `flanlab_<task>_<template>.yaml` and the documents it reads,
`flanlab_<task>_<template>.jsonl`, with the exact prompts flanlab scores (rendered by our templates,
the OPTIONS suffix and the answer join included), so nothing has to be re-implemented in lm-eval's template
language and no Python utils file is needed. A group `flanlab_<task>` averages the task's templates.

The answer join: flanlab's default for instruction prompts puts the EOS token between prompt and answer
(as training does), so the EOS text ends each prompt and `target_delimiter` is empty; in baseline mode the
delimiter is a space, as lm-eval's default. Options are scored followed by the EOS token, as flanlab's rank
classification does by default (`rank_eos`; not in baseline mode): each doc's `choices` are its `options`
with the EOS text appended, which the model's tokenizer turns into the EOS token. Zero-shot only: few-shot
exemplars are our own format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from ..errors import FlanlabError
from ..tasks.render import render
from ..tasks.sources import iter_examples, role_split
from .config import EOS_JOIN

if TYPE_CHECKING:
    from ..tasks.registry import Catalogue

# Our metric -> lm-eval's built-in metric of the same meaning (the others have no built-in counterpart).
MC_METRICS = {"accuracy": ["acc", "acc_norm"], "f1_binary": ["f1"], "mcc": ["mcc"], "exact_match_rank": ["acc"]}
GEN_METRICS = {"exact_match": ["exact_match"], "bleu": ["bleu"], "accuracy": ["exact_match"]}
AGGREGATION = {"f1": "f1", "mcc": "matthews_corrcoef", "bleu": "bleu"}


def _metric_list(task: Any) -> list[dict[str, Any]]:
    table = MC_METRICS if task.is_classification else GEN_METRICS
    names = [m for ours in task.metrics for m in table.get(ours, [])] or (["acc"] if task.is_classification else [])
    return [{"metric": m, "aggregation": AGGREGATION.get(m, "mean"), "higher_is_better": True}
            for m in dict.fromkeys(names)]


def _docs(task, tset, template, mode: str, examples, suffix: str, option_end: str = "") -> list[dict[str, Any]]:
    docs = []
    for ex in examples:
        r = render(task, tset, template, ex, mode=mode)
        if r is None:
            continue
        doc = {"id": r.example_id, "prompt": r.inputs + suffix, "target": r.targets, "references": list(r.references)}
        if r.options is not None:
            doc.update(options=list(r.options), choices=[o + option_end for o in r.options], label=r.label)
        docs.append(doc)
    return docs


def task_yaml(name: str, task: Any, data_file: Path, delimiter: str, meta: dict[str, Any],
              max_gen_toks: int = 256, until: list[str] | None = None) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "task": name, "dataset_path": "json", "dataset_kwargs": {"data_files": {"test": str(data_file.resolve())}},
        "test_split": "test", "doc_to_text": "prompt", "target_delimiter": delimiter,
        "metric_list": _metric_list(task), "metadata": {"version": meta["template_set_version"], "flanlab": meta}}
    if task.is_classification:
        cfg.update(output_type="multiple_choice", doc_to_choice="choices", doc_to_target="label")
    else:
        cfg.update(output_type="generate_until", doc_to_target="target",
                   generation_kwargs={"until": until or [], "max_gen_toks": max_gen_toks, "do_sample": False})
    return cfg


def export(cat: Catalogue, tasks: list[Any], out: str | Path, *, mode: str = "natural", eos_text: str = "",
           delimiter: str | None = None, source: str = "auto", data_dir: str | None = None, limit: int | None = None,
           templates: list[str] | None = None, split_overrides: dict[str, dict[str, str]] | None = None,
           stop: list[str] | None = None, rank_eos: bool | None = None) -> list[dict[str, Any]]:
    """Write the YAML + JSONL files under `out`; returns one row per written lm-eval task.

    rank_eos: options end with the EOS text (default: as `EvalConfig.rank_eos`, on except in baseline mode).
    """
    out = Path(out)
    delim = delimiter if delimiter is not None else (" " if mode == "baseline" else EOS_JOIN)
    suffix, target_delim = (eos_text, "") if delim == EOS_JOIN else ("", delim)
    option_eos = rank_eos if rank_eos is not None else mode != "baseline"
    if delim == EOS_JOIN and not eos_text:
        raise FlanlabError("the EOS join needs the model's EOS token text (--model or --target-delimiter)")
    if option_eos and not eos_text and any(t.is_classification for t in tasks):
        raise FlanlabError("options followed by EOS (rank_eos) need the model's EOS token text (--model, or "
                           "--no-rank-eos)")
    rows = []
    for task in tasks:
        tset = cat.templates(task)
        overrides = (split_overrides or {}).get(task.name)
        examples = list(iter_examples(task, "test", source=source, data_dir=data_dir, limit=limit,
                                      split_overrides=overrides))
        if not examples:
            raise FlanlabError(f"task {task.name!r}: the test split is empty, nothing to export")
        ids = ([tset.get(t).id for t in templates] if templates else [t.id for t in tset.forward]) \
            if mode == "natural" else [mode]
        names = []
        for tid in ids:
            template = tset.get(tid) if mode == "natural" else None
            name = f"flanlab_{task.name}_{tid}"
            docs = _docs(task, tset, template, mode, examples, suffix, eos_text if option_eos else "")
            folder = out / task.name
            folder.mkdir(parents=True, exist_ok=True)
            data = folder / f"{name}.jsonl"
            data.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
            meta = {"task": task.name, "template": tid, "mode": mode, "template_set": tset.name,
                    "template_set_version": tset.version, "task_version": task.version,
                    "split": role_split(task, "test", overrides), "answer_join": delim,
                    "option_eos": option_eos and task.is_classification}
            cfg = task_yaml(name, task, data, target_delim, meta, until=stop)
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
            names.append(name)
            rows.append({"lm_eval_task": name, "task": task.name, "template": tid, "docs": len(docs),
                         "yaml": str(folder / f"{name}.yaml")})
        group = {"group": f"flanlab_{task.name}", "task": names,
                 "aggregate_metric_list": [{"metric": m["metric"], "aggregation": "mean", "weight_by_size": False}
                                           for m in _metric_list(task)],
                 "metadata": {"version": tset.version}}
        (out / task.name / f"_flanlab_{task.name}.yaml").write_text(yaml.safe_dump(group, sort_keys=False))
    return rows


def eos_text_for(model: str) -> str:
    """The EOS token text of a model's tokenizer (loads the tokenizer only, not the weights)."""
    from transformers import AutoTokenizer

    from ..models import resolve_path

    ref = resolve_path(model)
    tok = AutoTokenizer.from_pretrained(ref.path, local_files_only=ref.local_files_only)
    return tok.eos_token or ""
