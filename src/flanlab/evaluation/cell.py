"""One evaluation cell: (model, task, template, split role, shots, mode) -> summary + per-example records.

    summary, records = run_cell(Cell(task, "01", "test", 0, "natural"), cfg, cat, lm)
    summary["accuracy"], summary["n"], records[0]["prompt"], records[0]["loglik"]

Classification tasks are scored by rank (`lm.loglikelihood`): every option's summed log-likelihood, each
option followed by the EOS token unless `rank_eos` is off (baseline mode: off by default), the
prediction is the best option; accuracy with per-token and per-character normalised scores is also
recorded. Generative tasks are decoded (`lm.generate`) and scored with the task's metrics.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import FlanlabError
from ..tasks.render import Rendered, render
from ..tasks.sources import iter_examples, role_split
from ..tasks.task import TaskSpec
from .config import EOS_JOIN, EvalConfig
from .generation import GenRequest
from .metrics import Item, check_metric, compute, example_scores, target_language
from .rank import RankRequest

if TYPE_CHECKING:
    from ..tasks.registry import Catalogue
    from .lm import LM


@dataclass(frozen=True)
class Cell:
    task: TaskSpec
    template_id: str  # a template id, or the mode name for the plain modes and baseline
    role: str  # train | dev | test
    shots: int
    mode: str

    @property
    def label(self) -> str:
        return f"{self.task.name}/{self.template_id}/{self.role}-{self.shots}shot"

    @property
    def where(self) -> str:
        return f"task {self.task.name!r}, template {self.template_id!r}, {self.role} split"


def role_limit(cfg: EvalConfig, role: str) -> int | None:
    limits = [x for x in (cfg.limit, cfg.dev_limit if role == "dev" else None) if x]
    return min(limits) if limits else None


def load_examples(cell: Cell, cfg: EvalConfig, role: str | None = None, limit: int | None = None) -> list[dict]:
    role = role or cell.role
    skipped = [0]
    scored = limit is None  # the scored split (test/dev) follows `sample`; a few-shot pool is its first N
    examples = list(iter_examples(cell.task, role, source=cfg.source, data_dir=cfg.data_dir,
                                  limit=role_limit(cfg, role) if scored else limit,
                                  split_overrides=cfg.split_overrides.get(cell.task.name), skipped=skipped,
                                  sample=cfg.sample if scored else "first", seed=cfg.seed))
    if not examples and role == cell.role:
        split = role_split(cell.task, role, cfg.split_overrides.get(cell.task.name))
        why = (f"all {skipped[0]} rows were skipped by the task's preprocess (no gold label in this split?)"
               if skipped[0] else "the split is empty")
        raise FlanlabError(f"{cell.where} ({split!r}): no examples to score: {why}")
    return examples


def _render_all(cell: Cell, cfg: EvalConfig, cat: Catalogue, lm: LM, examples: list[dict]) -> list[tuple[dict, Rendered]]:
    tset = cat.templates(cell.task)
    template = tset.get(cell.template_id) if cell.mode == "natural" else None
    pool = load_examples(cell, cfg, role="train", limit=cfg.fewshot_pool) if cell.shots else []
    out = []
    for ex in examples:
        if cell.shots:
            from ..mixtures.fewshot import build

            cands = [c for c in pool if c.get("id") != ex.get("id")]  # never itself (evaluation-only tasks)
            random.Random(f"{cfg.fewshot_seed}:{ex.get('id')}").shuffle(cands)
            sep, ans = cfg.fewshot_layout()  # exemplars joined as the query's answer is scored
            shot = build(cell.task, tset, template, ex, cands, length=lm.length, k=cell.shots,
                         budget=cfg.fewshot_budget, mode=cell.mode, separator=sep, answer_separator=ans)
            r = shot.rendered if shot is not None else None
        else:
            r = render(cell.task, tset, template, ex, mode=cell.mode)
        if r is not None:
            out.append((ex, r))
    if not out:
        raise FlanlabError(f"{cell.where}: the template's `when` condition excludes all {len(examples)} examples")
    return out


def _joins(cfg: EvalConfig, lm: LM) -> tuple[str, str]:
    """(text appended to the prompt, text put before each answer), from the configured delimiter; with a
    chat template the assistant's opening ends the prompt and the answer follows it directly."""
    if cfg.chat_template:
        return "", ""
    delim = cfg.delimiter()
    if delim == EOS_JOIN:
        return (lm.eos_text if lm.kind == "decoder" else ""), ""
    return "", delim


def run_cell(cell: Cell, cfg: EvalConfig, cat: Catalogue, lm: LM, progress: Any = None) -> tuple[dict, list[dict]]:
    t0 = time.time()
    metrics = [check_metric(m) for m in cell.task.metrics]
    examples = load_examples(cell, cfg)
    pairs = _render_all(cell, cfg, cat, lm, examples)
    if cfg.chat_template:
        pairs = [(ex, replace(r, inputs=lm.chat_prompt(r.inputs))) for ex, r in pairs]
    suffix, prefix = _joins(cfg, lm)
    split = role_split(cell.task, cell.role, cfg.split_overrides.get(cell.task.name))
    base = {"task": cell.task.name, "template": cell.template_id, "role": cell.role, "split": split,
            "shots": cell.shots, "mode": cell.mode}
    if cell.task.is_classification:
        records, items, extra = _classify(cell, pairs, suffix, prefix, lm, progress, base, cfg.option_eos())
    else:
        records, items, extra = _generate(cell, cfg, pairs, suffix, lm, progress, base)
    lang = target_language(cell.task.name)
    scores = {m: compute(m, items, lang=lang) for m in metrics}
    for rec, it in zip(records, items):
        rec["scores"] = example_scores(metrics, it, lang)
    summary = {**base, "status": "ok", "metric": metrics[0], "metrics": scores, "n": len(items),
               "n_examples": len(examples), "excluded_by_template": len(examples) - len(pairs), **extra,
               "seconds": round(time.time() - t0, 3)}
    return summary, records


def _classify(cell, pairs, suffix, prefix, lm, progress, base, eos: bool):
    reqs = [RankRequest(r.inputs + suffix, tuple(prefix + o for o in r.options), f"{cell.where}, example {r.example_id}",
                        eos=eos) for _, r in pairs]
    scores = lm.loglikelihood(reqs, progress)
    records, items = [], []
    right_tok = right_chr = 0
    for (ex, r), req, opts in zip(pairs, reqs, scores):
        pred = _argmax([s.logprob for s in opts])
        pred_tok, pred_chr = _argmax([s.per_token for s in opts]), _argmax([s.per_char for s in opts])
        right_tok += pred_tok == r.label
        right_chr += pred_chr == r.label
        items.append(Item(r.options[pred], tuple(r.references), pred, r.label, ex.get("group")))
        records.append({**base, "example_id": r.example_id, "prompt": req.context, "options": list(r.options),
                        "continuations": list(req.continuations), "option_eos": eos, "loglik": [s.logprob for s in opts],
                        "n_tokens": [s.n_tokens for s in opts], "greedy": [s.greedy for s in opts],
                        "prediction": r.options[pred], "pred_index": pred, "pred_index_per_token": pred_tok,
                        "pred_index_per_char": pred_chr, "label": r.label, "target": r.targets,
                        "references": list(r.references)})
    n = len(items)
    return records, items, {"accuracy_per_token": right_tok / n, "accuracy_per_char": right_chr / n}


def target_budget(cfg: EvalConfig, lm: LM, pairs: list[tuple[dict, Rendered]]) -> int:
    """The cell's generation length: 1.25x its longest reference + 8 tokens, at most cfg.max_new_tokens."""
    longest = max(lm.length(g) for _, r in pairs for g in (r.references or (r.targets,)))
    return max(1, min(cfg.max_new_tokens, math.ceil(1.25 * longest) + 8))


def _generate(cell, cfg, pairs, suffix, lm, progress, base):
    budget = target_budget(cfg, lm, pairs)
    stop = cfg.stop_strings()
    reqs = [GenRequest(r.inputs + suffix, budget, stop, f"{cell.where}, example {r.example_id}") for _, r in pairs]
    outs = lm.generate(reqs, progress)
    records, items = [], []
    for (ex, r), req, g in zip(pairs, reqs, outs):
        items.append(Item(g.text, tuple(r.references or (r.targets,))))
        records.append({**base, "example_id": r.example_id, "prompt": req.context, "generated": g.text,
                        "stopped": g.stopped, "n_generated_tokens": g.n_tokens, "prediction": g.text,
                        "target": r.targets, "references": list(r.references)})
    unstopped = sum(1 for g in outs if g.stopped == "length")
    extra: dict[str, Any] = {"max_new_tokens": budget, "n_unstopped": unstopped}
    if unstopped:
        extra["warnings"] = [f"{unstopped} of {len(outs)} generations never stopped (no EOS or stop string within "
                             f"{budget} tokens); their text was cut there"]
    return records, items, extra


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=lambda i: (values[i], -i))  # ties: the first option
