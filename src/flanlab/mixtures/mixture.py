"""The training mixture as a stream: which task, which example, which template, at every position.

    mix = Mixture(MixtureConfig(holdout=["nli"], source="bundled", seed=0))
    mix.rates()                             # {"boolq": {"n": 9427, "unit": "boolq", "rate": 3000.0, "share": 0.04}, ...}
    mix.cluster_shares()                    # {"translation": {"datasets": 8, "share": 0.16, "paper_share": 0.16}, ...}
    for ex in mix.stream(start=0): ...      # MixExample: a Rendered + cluster, position, shots
    list(mix.stream(start=1000, stop=1010)) # the same ten examples a run from 0 would give there

Exactly reproducible from the seed, resumable from any position, and it never loads a corpus:

- Task at position p: blocks of 4096 positions; block b draws its task ids from rng(seed, b) with the
  mixing shares. Resuming at p replays only the (cheap, vectorised) task draws of earlier blocks.
- Example: the k-th time task t is drawn, it takes row perm_e[k mod n] of its pool (`pool.Pool`, at most
  `cap` examples), where perm_e is a permutation of the pool drawn from rng(seed, t, epoch e = k // n).
- Template: `random` (the paper's default) uses a uniform drawn with that permutation, among the templates
  whose `when` admits the example; `round_robin` takes template k mod T (next admitting one); `fixed` one
  id. An example no template admits is skipped and counted (`stats`), never silently.
- Few-shot (`few_shot.enabled`: up to 16 exemplars, 960 tokens by default): candidates drawn from the
  pool with rng(seed, t, k), never the example itself, assembled by `fewshot.build` within the budget.

The draws of one task depend only on (seed, task, its pool), so caches of rendered/tokenized examples per
task (`flanlab.mixtures.stream`) survive changes to the other tasks of the mixture.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import FlanlabError
from ..tasks.render import Rendered, render
from . import rates as R
from .config import MixtureConfig
from .fewshot import build as build_fewshot
from .holdout import split_tasks
from .pool import Pool, open_pool

BLOCK = 4096
PAPER_CAP, PAPER_RATE_MAX = 30_000, 3_000  # section 3.1: examples per dataset, mixing rate maximum
FEWSHOT_CHECK = 20  # a task whose first N examples all get zero exemplars has a budget too small


class EmptyMixtureError(FlanlabError):
    pass


@dataclass(frozen=True)
class MixExample(Rendered):
    cluster: str = ""
    position: int = -1
    shots: int = 0


@dataclass
class MixStats:
    produced: dict[str, int] = field(default_factory=dict)
    template_skipped: dict[str, int] = field(default_factory=dict)
    shots_reduced: int = 0   # fewer exemplars than k fitted the budget
    shots_zero: int = 0      # no exemplar fitted

    def as_dict(self) -> dict[str, Any]:
        return {"produced": dict(self.produced), "template_skipped": dict(self.template_skipped),
                "shots_reduced": self.shots_reduced, "shots_zero": self.shots_zero}


def _h(name: str) -> int:
    return zlib.crc32(name.encode())


class Mixture:
    def __init__(self, cfg: MixtureConfig | None = None, cat=None, *, length_fn=None):
        from ..tasks import catalogue

        self.cfg = cfg = cfg or MixtureConfig()
        self.cat = cat if cat is not None else catalogue(cfg.tasks_file)
        self.split = split_tasks(self.cat, cfg.holdout, cfg.holdout_tasks, cfg.include)
        self.length_fn = length_fn
        self.stats = MixStats()
        self.skipped_tasks: dict[str, str] = {}
        self._pools: dict[str, Pool] = {}
        self._rates: dict[str, dict[str, Any]] | None = None
        self._epochs: dict[str, tuple[int, np.ndarray, np.ndarray]] = {}
        self._zero_run: dict[str, int] = {}
        if cfg.template_choice == "fixed" and cfg.template_id:
            lacking = [t for t in self.split.train if cfg.template_id not in self.cat.templates(t).by_id]
            if lacking:
                raise FlanlabError(f"template_id {cfg.template_id!r} (template_choice=fixed) is not a template of "
                                   f"task(s) {', '.join(lacking)}")
        if cfg.few_shot.enabled and length_fn is None:  # the budget is in tokens of the configured model
            from .fewshot import token_length
            from .stream import load_tokenizer

            self.length_fn = token_length(load_tokenizer(cfg.tokenizer)[0])

    # -- data ------------------------------------------------------------------------------------------
    def pool(self, task: str) -> Pool:
        if task not in self._pools:
            if self.cat.task(task).evaluation_only:  # the split keeps them out; this guards other callers
                raise FlanlabError(f"task {task!r} is evaluation-only (its only labelled split is its test split): "
                                   "it has no training examples")
            c = self.cfg
            self._pools[task] = open_pool(self.cat.task(task), "train", cap=c.cap, source=c.source,
                                          data_dir=c.data_dir, split_overrides=c.split_overrides.get(task))
        return self._pools[task]

    def count(self, task: str) -> int | None:
        """Training examples of `task` (at most cap); None when its train split is unavailable (skip mode)."""
        if task in self.cfg.counts:
            return min(self.cfg.counts[task], self.cfg.cap)
        try:
            return self.pool(task).n
        except FlanlabError as e:
            if self.cfg.missing_data == "skip":
                self.skipped_tasks[task] = str(e)
                return None
            raise FlanlabError(f"{e} (training task {task!r}; hold it out, or --set missing_data=skip to "
                               "skip tasks without training data, reported in the plan)") from None

    def rates(self) -> dict[str, dict[str, Any]]:
        """task -> {"n", "capped", "rejected", "unit", "rate", "share"} for every training task with examples.

        n: training examples in the pool (at most cap); capped: the split has more; rejected: rows the task's
        preprocess refused (e.g. unlabelled) while the pool was built, counted, never silently dropped;
        unit: what shares one mixing rate (`mixing_unit`: the task's dataset, or the task itself); rate: the
        task's part of its unit's rate (the unit's rate split among its tasks by examples).
        """
        if self._rates is None:
            c = self.cfg
            out: dict[str, dict[str, Any]] = {}
            for t in self.split.train:
                n = self.count(t)
                if n is None:
                    continue
                if n == 0:
                    self.skipped_tasks[t] = "no training examples"
                    continue
                known = t in c.counts
                capped = c.counts[t] > c.cap if known else self.pool(t).capped
                out[t] = {"n": n, "capped": bool(capped), "rejected": None if known else self.pool(t).skipped,
                          "unit": self.unit(t)}
            if not out:
                raise EmptyMixtureError(
                    f"the mixture is empty: none of its {len(self.split.train)} training task(s) has training "
                    f"examples ({len(self.skipped_tasks)} skipped for missing data; see `flanlab mixture plan`)")
            rates = R.unit_rates({t: v["n"] for t, v in out.items()}, {t: v["unit"] for t, v in out.items()},
                                 c.scheme, c.cap, c.rate_max, c.temperature)
            shares = R.shares(rates)
            for t in out:
                out[t]["rate"], out[t]["share"] = rates[t], shares[t]
            self._rates = out
        return self._rates

    def unit(self, task: str) -> str:
        """The mixing unit of `task`: its dataset (the paper's 62) or, with mixing_unit=task, itself."""
        return self.cat.task(task).dataset_name if self.cfg.mixing_unit == "dataset" else task

    def cluster_shares(self) -> dict[str, dict[str, Any]]:
        """Per cluster of the training tasks: datasets, tasks, this mixture's share, and the share the paper's
        protocol gives the same tasks and counts (one rate per dataset, examples-proportional, at most
        PAPER_CAP examples and rate PAPER_RATE_MAX; section 3.1)."""
        rates = self.rates()
        cluster = {t: self.cat.task(t).cluster for t in rates}
        n = {t: min(v["n"], PAPER_CAP) for t, v in rates.items()}
        paper = R.shares(R.unit_rates(n, {t: self.cat.task(t).dataset_name for t in rates},
                                      "examples_proportional", PAPER_CAP, PAPER_RATE_MAX))
        ours = R.cluster_shares({t: v["share"] for t, v in rates.items()}, cluster)
        theirs = R.cluster_shares(paper, cluster)
        out = {}
        for c in ours:
            members = [t for t in rates if cluster[t] == c]
            out[c] = {"datasets": len({self.cat.task(t).dataset_name for t in members}), "tasks": len(members),
                      "share": ours[c], "paper_share": theirs[c]}
        return out

    def plan(self, strict: bool = True) -> list[dict[str, Any]]:
        """One row per catalogue task: status (train / held out / excluded / skipped), reason, n, rate, share.

        strict=False still lists the tasks when the mixture turns out empty (each skipped one with why).
        """
        try:
            rates = self.rates()
        except EmptyMixtureError:
            if strict:
                raise
            rates = {}
        rows = []
        for name, spec in self.cat.tasks.items():
            status, reason = self.split.status(name)
            if status == "train" and name not in rates:
                status, reason = "skipped", self.skipped_tasks.get(name, "")
            r = rates.get(name, {})
            rows.append({"task": name, "cluster": spec.cluster, "status": status, "reason": reason,
                         "dataset": spec.dataset_name, "n": r.get("n"), "capped": r.get("capped", False),
                         "rejected": r.get("rejected"), "rate": r.get("rate"),
                         "share": r.get("share")})
        return rows

    # -- the stream ------------------------------------------------------------------------------------
    def _names_and_cdf(self) -> tuple[list[str], np.ndarray]:
        rates = self.rates()
        names = list(rates)
        cdf = np.cumsum([rates[t]["share"] for t in names])
        cdf[-1] = 1.0
        return names, cdf

    def _block(self, b: int, cdf: np.ndarray) -> np.ndarray:
        u = np.random.default_rng([self.cfg.seed, 1, b]).random(BLOCK)
        return np.minimum(np.searchsorted(cdf, u, side="right"), len(cdf) - 1)

    def task_ids(self, start: int, stop: int) -> tuple[list[str], np.ndarray]:
        """(task names, task index of each position in [start, stop)): the schedule alone, no data read."""
        names, cdf = self._names_and_cdf()
        parts = [self._block(b, cdf) for b in range(start // BLOCK, (max(stop, start + 1) - 1) // BLOCK + 1)]
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        off = start - (start // BLOCK) * BLOCK
        return names, flat[off:off + stop - start]

    def occurrences_before(self, start: int) -> np.ndarray:
        """How many times each task was drawn at positions < start."""
        names, cdf = self._names_and_cdf()
        counts = np.zeros(len(names), dtype=np.int64)
        for b in range(start // BLOCK):
            counts += np.bincount(self._block(b, cdf), minlength=len(names))
        rest = start % BLOCK
        if rest:
            counts += np.bincount(self._block(start // BLOCK, cdf)[:rest], minlength=len(names))
        return counts

    def stream(self, start: int = 0, stop: int | None = None) -> Iterator[MixExample]:
        """Examples at positions start, start+1, ... (stop excluded; None: endless, tasks repeat by epochs)."""
        if start < 0:
            raise FlanlabError(f"stream position must be >= 0 (got {start})")
        names, cdf = self._names_and_cdf()
        counts = self.occurrences_before(start)
        p = start
        while stop is None or p < stop:
            b, off = divmod(p, BLOCK)
            ids = self._block(b, cdf)
            end = BLOCK if stop is None else min(BLOCK, off + stop - p)
            for i in range(off, end):
                t = int(ids[i])
                k = int(counts[t])
                counts[t] += 1
                ex = self.example(names[t], k, b * BLOCK + i)
                if ex is not None:
                    yield ex
            p = b * BLOCK + end

    def take(self, n: int, start: int = 0) -> list[MixExample]:
        return list(self.stream(start, start + n))

    # -- one example -----------------------------------------------------------------------------------
    def _epoch(self, task: str, e: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        cached = self._epochs.get(task)
        if cached is None or cached[0] != e:
            rng = np.random.default_rng([self.cfg.seed, 2, _h(task), e])
            cached = (e, rng.permutation(n), rng.random(n))
            self._epochs[task] = cached
        return cached[1], cached[2]

    def example(self, task: str, k: int, position: int = -1) -> MixExample | None:
        """The k-th example drawn from `task` (None, counted, when no template admits it)."""
        pool = self.pool(task)
        e, j = divmod(k, pool.n)
        perm, u = self._epoch(task, e, pool.n)
        idx = int(perm[j])
        ex = pool.get(idx)
        spec, tset = self.cat.task(task), self.cat.templates(task)
        template = self._template(tset, ex, k, float(u[j])) if self.cfg.template_mode == "natural" else None
        if self.cfg.template_mode == "natural" and template is None:
            self.stats.template_skipped[task] = self.stats.template_skipped.get(task, 0) + 1
            return None
        shots = 0
        if self.cfg.few_shot.enabled:
            r, shots = self._fewshot(spec, tset, template, ex, pool, idx, k)
        else:
            r = render(spec, tset, template, ex, mode=self.cfg.template_mode)
        if r is None:
            self.stats.template_skipped[task] = self.stats.template_skipped.get(task, 0) + 1
            return None
        self.stats.produced[task] = self.stats.produced.get(task, 0) + 1
        return MixExample(**{f: getattr(r, f) for f in Rendered.__dataclass_fields__},
                          cluster=spec.cluster, position=position, shots=shots)

    def _template(self, tset, ex: dict[str, Any], k: int, u: float):
        choice = self.cfg.template_choice
        if choice == "fixed":
            t = tset.get(self.cfg.template_id) if self.cfg.template_id else tset.templates[0]
            return t if t.applies_to(ex) else None
        if choice == "round_robin":
            T = len(tset.templates)
            for d in range(T):
                t = tset.templates[(k + d) % T]
                if t.applies_to(ex):
                    return t
            return None
        ok = [t for t in tset.templates if t.applies_to(ex)]
        return ok[min(int(u * len(ok)), len(ok) - 1)] if ok else None

    def _fewshot(self, spec, tset, template, ex, pool: Pool, idx: int, k: int):
        fs = self.cfg.few_shot
        m = min(pool.n - 1, 8 * fs.k + 16)  # enough candidates when the template's `when` rejects some
        pool_iter = (pool.get(c) for c in _distinct_others(pool.n, idx, m, [self.cfg.seed, 3, _h(spec.name), k]))
        shot = build_fewshot(spec, tset, template, ex, pool_iter, length=self.length_fn, k=fs.k, budget=fs.budget,
                             separator=fs.separator, answer_separator=fs.answer_separator,
                             mode=self.cfg.template_mode)
        if shot is None:
            return None, 0
        if shot.shots < fs.k:
            self.stats.shots_reduced += 1
        if shot.shots == 0 and m > 0:
            self.stats.shots_zero += 1
            self._zero_run[spec.name] = self._zero_run.get(spec.name, 0) + 1
            if self._zero_run[spec.name] >= FEWSHOT_CHECK and self._zero_run[spec.name] == k + 1:
                raise FlanlabError(f"few-shot budget of {fs.budget} tokens is too small for one exemplar of task "
                                   f"{spec.name!r}: its first {FEWSHOT_CHECK} examples got none (raise "
                                   "few_shot.budget or lower max lengths)")
        return shot.rendered, shot.shots


def _distinct_others(n: int, own: int, m: int, seed: list[int]) -> Iterator[int]:
    """Up to m distinct random indices of range(n) other than `own`, drawn lazily (seeded)."""
    if m <= 0:
        return
    rng = np.random.default_rng(seed)
    seen = {own}
    while len(seen) - 1 < m:
        c = int(rng.integers(n))
        if c not in seen:
            seen.add(c)
            yield c
