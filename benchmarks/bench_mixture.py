"""Benchmark: build and pack a mixture of >= 100,000 examples, next to TRL's own dataset preparation.

    python benchmarks/bench_mixture.py                 # n=100000 (and 2n for the memory check), ~10 min on 2 CPUs
    python benchmarks/bench_mixture.py --n 20000       # quicker

Prints ONE JSON line. What is measured, each in a fresh subprocess so that peak memory is its own:

- `ours`: the whole pipeline from the mixture config, through the one data path that `flanlab train`
  reads (`stream.rows`): pools, stream draws, rendering, tokenization (cold disk cache, `stream.warm` over
  `--workers` processes), packing (BFD, 2048-token rows), the seeded shuffle of each window. Then `warm_*`: the
  same again from the disk cache (what a second run or a resumed training pays; `warm_first_row_s`: time to
  the first packed row). At n and 2n: the peak RSS
  must not grow with n (memory holds one chunk per task and one packing window).
- `vs_trl`: the same n rendered examples (prompt, completion) prepared by ours (`stream.rows` over the list
  of pairs: tokenize with the over-long policy, pack, shuffle; one process, no cache) and by TRL's `SFTTrainer._prepare_dataset` (EOS, tokenization, completion-only labels,
  `pack_dataset` bfd at the same max_length; dataset_num_proc=None: one process), in the same process.
  `ratio` = our examples/s / TRL's.
- `flan_full`: packing efficiency of the full FLAN mixture (every catalogue task, examples-proportional
  rates, cap 30,000, maximum 3,000) at the default lengths (1024/256, rows of 2048): per-task length
  distributions measured by rendering + tokenizing each task's bundled samples and, where present, the real
  mirror data (/work/shared/data/hf), then a 50,000-example stream drawn with the mixture's shares and packed.

The corpus: each catalogue task with a bundled train sample gets a synthetic train split of `--rows` rows
in a temporary mirror, cycling its bundled rows (real texts, so real per-task lengths).
Tokenizer: SmolLM2's (flanlab.models) when it resolves, else the tiny test tokenizer.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_HF = Path(__file__).resolve().parents[2] / "shared" / "data" / "hf"
# Public training-set sizes of the FLAN datasets smaller than the rate maximum (3,000); every other task has
# more than 3,000 training examples, so its rate is the maximum whatever its exact size.
SMALL_TRAIN = {"cb": 250, "copa": 400, "rte": 2490, "wnli": 635, "dpr": 1322, "wsc273": 0, "story_cloze": 1871,
               "opinion_abstracts_idebate": 1800, "opinion_abstracts_movies": 2500, "math_dataset": 3000}


def tokenizer():
    try:
        from flanlab.mixtures.stream import load_tokenizer

        return load_tokenizer(None)[0], "smollm2-135m-instruct"
    except Exception as e:  # noqa: BLE001 - any failure falls back to the tiny tokenizer, reported
        from flanlab.testing import tiny_tokenizer

        return tiny_tokenizer(), f"tiny (SmolLM2 unavailable: {type(e).__name__})"


def peak_mb(who=resource.RUSAGE_SELF) -> float:
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


# -- the synthetic corpus --------------------------------------------------------------------------------

def synth_corpus(root: Path, rows: int) -> list[str]:
    from flanlab.tasks import catalogue
    from flanlab.tasks.sources import BUNDLED_DIR, mirror_file

    cat, tasks = catalogue(), []
    for t in cat.tasks.values():
        f = mirror_file(BUNDLED_DIR, t, t.splits.train)
        if f is None or f.suffix != ".jsonl":
            continue
        lines = [ln for ln in f.read_text().splitlines() if ln.strip()]
        out = root / t.source.hub_id / t.source.config / f"{t.splits.train}.jsonl"
        if out.exists():  # tasks sharing a source (e.g. both translation directions) share the file
            tasks.append(t.name)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(out, "w") as fh:
            for i in range(rows):
                fh.write(lines[i % len(lines)] + "\n")
        tasks.append(t.name)
    return tasks


def mixture_config(root: Path, tasks: list[str]):
    from flanlab.mixtures.config import MixtureConfig

    return MixtureConfig(source="mirror", data_dir=str(root), include=tasks, seed=0)


# -- workers (each in its own process) ------------------------------------------------------------------

def worker_ours(root: Path, tasks: list[str], n: int, workers: int) -> dict:
    from flanlab.mixtures.features import TokenStats
    from flanlab.mixtures.mixture import Mixture
    from flanlab.mixtures.packing import PackingStats
    from flanlab.mixtures.stream import FeatureCache, rows, warm

    tok, _ = tokenizer()
    os.environ["FLANLAB_CACHE"] = tempfile.mkdtemp(prefix="bench-cache-")  # cold data cache, after the tokenizer
    cfg = mixture_config(root, tasks)
    t0 = time.perf_counter()
    mix = Mixture(cfg)
    warm(FeatureCache(mix, tok), 0, n, workers=workers)
    stats, pstats = TokenStats(), PackingStats()
    for _ in rows(mix, tok, stop=n, stats=stats, pstats=pstats):
        pass
    cold = time.perf_counter() - t0
    t1 = time.perf_counter()
    p2, first = PackingStats(), None
    for _ in rows(Mixture(cfg), tok, stop=n, pstats=p2):
        first = first or time.perf_counter() - t1
    warm_s = time.perf_counter() - t1
    return {"n": n, "examples": pstats.examples, "tokens": pstats.tokens, "rows": pstats.rows,
            "efficiency": round(pstats.efficiency, 4), "cold_s": round(cold, 2), "warm_s": round(warm_s, 2),
            "warm_first_row_s": round(first, 2),
            "cold_examples_per_s": round(pstats.examples / cold), "cold_tokens_per_s": round(pstats.tokens / cold),
            "warm_examples_per_s": round(p2.examples / warm_s), "warm_tokens_per_s": round(p2.tokens / warm_s),
            "input_truncated": stats.input_truncated, "target_truncated": stats.target_truncated,
            "peak_rss_mb": peak_mb(), "peak_rss_workers_mb": peak_mb(resource.RUSAGE_CHILDREN)}


def worker_vs_trl(root: Path, tasks: list[str], n: int) -> dict:
    from flanlab.mixtures.mixture import Mixture
    from flanlab.mixtures.packing import PackingStats
    from flanlab.mixtures.stream import rows
    from flanlab.testing import TextExample

    tok, _ = tokenizer()
    os.environ["FLANLAB_CACHE"] = tempfile.mkdtemp(prefix="bench-cache-")
    cfg = mixture_config(root, tasks)
    pairs = [(x.inputs, x.targets) for x in Mixture(cfg).stream(0, n)]

    class Pairs:  # the rendered pairs as a finite stream: the data path's uncached branch
        def stream(self, start=0):
            return (TextExample(p, c, i) for i, (p, c) in enumerate(pairs[start:], start))

    t0 = time.perf_counter()
    pstats = PackingStats()
    for _ in rows(Pairs(), tok, cfg=cfg, pstats=pstats):
        pass
    ours = time.perf_counter() - t0
    trl = run_trl(pairs, tok)
    return {"n": len(pairs), "ours_s": round(ours, 2), "ours_examples_per_s": round(len(pairs) / ours),
            "ours_tokens_per_s": round(pstats.tokens / ours), "ours_efficiency": round(pstats.efficiency, 4),
            **trl, "ratio": round((len(pairs) / ours) / trl["trl_examples_per_s"], 2)}


def run_trl(pairs, tok) -> dict:
    """TRL's own preparation (SFTTrainer._prepare_dataset) on prompt/completion pairs: EOS, tokenize,
    completion-only labels, pack_dataset(bfd)."""
    from types import SimpleNamespace

    import datasets
    from trl import SFTConfig, SFTTrainer

    datasets.disable_progress_bars()
    ds = datasets.Dataset.from_dict({"prompt": [p for p, _ in pairs], "completion": [c for _, c in pairs]})
    args = SFTConfig(output_dir=tempfile.mkdtemp(), max_length=2048, packing=True, packing_strategy="bfd",
                     completion_only_loss=True, dataset_num_proc=None, report_to=[], bf16=False,
                     use_cpu=True)
    fake = SimpleNamespace(_tokenizer=tok, chat_template=None, completion_only_loss=True)
    t0 = time.perf_counter()
    out = SFTTrainer._prepare_dataset(fake, ds, tok, args, True, None, "train")
    secs = time.perf_counter() - t0
    lens = out["seq_lengths"]
    tokens = sum(sum(x) for x in lens)
    import trl

    return {"trl_version": trl.__version__, "trl_s": round(secs, 2), "trl_examples_per_s": round(len(pairs) / secs),
            "trl_tokens_per_s": round(tokens / secs), "trl_rows": out.num_rows,
            "trl_efficiency": round(tokens / (out.num_rows * 2048), 4)}


# -- the full FLAN mixture -------------------------------------------------------------------------------

def task_lengths(task, tok, per_task: int = 200) -> list[int]:
    """Token lengths (input EOS target EOS, truncated 1024/256) of a task's rendered examples, random templates."""
    import random

    from flanlab.tasks import catalogue, iter_examples, render
    from flanlab.tasks.sources import mirror_file

    cat, rng = catalogue(), random.Random(task.name)
    tset = cat.templates(task)
    pairs = []
    for source, data_dir in (("bundled", None), ("mirror", SHARED_HF)):
        for role in ("train", "dev", "test"):
            split = getattr(task.splits, role)
            if source == "mirror" and (not SHARED_HF.is_dir() or mirror_file(SHARED_HF, task, split) is None):
                continue
            try:
                for ex in iter_examples(task, role, source=source, data_dir=data_dir, limit=per_task):
                    r = render(task, tset, rng.choice(tset.templates), ex)
                    if r is not None:
                        pairs.append((r.inputs, r.targets))
            except Exception:  # noqa: BLE001 - a split that is absent or does not parse: measure the others
                continue
            if len(pairs) >= per_task:
                break
        if len(pairs) >= per_task:
            break
    if not pairs:
        return []
    xs = tok([p for p, _ in pairs], add_special_tokens=False)["input_ids"]
    ys = tok([t for _, t in pairs], add_special_tokens=False)["input_ids"]
    return [min(len(x), 1024) + min(len(y), 256) + 2 for x, y in zip(xs, ys)]


def flan_full(tok, n: int = 50_000) -> dict:
    """Packing efficiency of the full FLAN mixture (see the module docstring). Tasks without any sample
    data are reported; `imputed_*` gives each of them its cluster's pooled measured lengths instead."""
    from flanlab.mixtures import rates as R
    from flanlab.tasks import catalogue

    cat = catalogue()
    lengths, rates, missing, no_train = {}, {}, [], []
    for t in cat.tasks.values():
        size = SMALL_TRAIN.get(t.name, 30_000)
        if size == 0:
            no_train.append(t.name)  # no training split at all (WSC273): never in a training mixture
            continue
        rates[t.name] = R.examples_proportional(size, 30_000, 3_000)
        ls = task_lengths(t, tok)
        if ls:
            lengths[t.name] = ls
        else:
            missing.append(t.name)
    by_cluster: dict[str, list[int]] = {}
    for name, ls in lengths.items():
        by_cluster.setdefault(cat.task(name).cluster, []).extend(ls)
    out = {"tasks_measured": len(lengths), "tasks_without_data": missing, "tasks_without_train_split": no_train}
    measured = {k: v for k, v in rates.items() if k in lengths}
    out.update(_simulate(measured, lengths, n, ""))
    imputed = {k: lengths.get(k) or by_cluster.get(cat.task(k).cluster) for k in rates}
    out.update(_simulate({k: v for k, v in rates.items() if imputed[k]}, imputed, n, "imputed_"))
    return out


def _simulate(rates: dict[str, float], lengths: dict[str, list[int]], n: int, prefix: str) -> dict:
    """Draw n examples with the rates' shares and each task's lengths; pack them in windows of 2000."""
    import numpy as np

    from flanlab.mixtures import rates as R
    from flanlab.mixtures.packing import assign_bins

    shares = R.shares(rates)
    names = list(shares)
    rng = np.random.default_rng(0)
    draws = rng.choice(len(names), size=n, p=[shares[k] for k in names])
    seq = [lengths[names[i]][rng.integers(len(lengths[names[i]]))] for i in draws]
    out = {f"{prefix}tasks": len(names), f"{prefix}mean_example_tokens": round(float(np.mean(seq)), 1),
           f"{prefix}max_example_tokens": int(max(seq))}
    for seq_len, method in ((2048, "bfd"), (2048, "first_fit"), (1282, "bfd")):
        used = slots = 0
        for i in range(0, n, 2000):
            win = seq[i:i + 2000]
            used += sum(win)
            slots += len(assign_bins(win, seq_len, method)) * seq_len
        out[f"{prefix}efficiency_{method}_{seq_len}"] = round(used / slots, 4)
    return out


# -- driver ----------------------------------------------------------------------------------------------

def sub(kind: str, root: Path, tasks: list[str], n: int, workers: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--root", str(root), "--tasks", ",".join(tasks),
           "--n", str(n), "--workers", str(workers)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"worker {kind} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rows", type=int, default=5_000, help="Synthetic train rows per task.")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker", default=None)
    ap.add_argument("--root", default=None)
    ap.add_argument("--tasks", default="")
    a = ap.parse_args()
    if a.worker:
        root, tasks = Path(a.root), a.tasks.split(",")
        res = worker_ours(root, tasks, a.n, a.workers) if a.worker == "ours" else worker_vs_trl(root, tasks, a.n)
        print(json.dumps(res))
        return
    tok, tok_name = tokenizer()
    with tempfile.TemporaryDirectory(prefix="bench-mirror-") as d:
        root = Path(d)
        tasks = synth_corpus(root, a.rows)
        small = sub("ours", root, tasks, a.n, a.workers)
        large = sub("ours", root, tasks, 2 * a.n, a.workers)
        vs = sub("vs_trl", root, tasks, a.n, a.workers)
    result = {"benchmark": "mixture", "tokenizer": tok_name, "tasks": len(tasks), "n": a.n,
              "examples_per_s": small["cold_examples_per_s"], "tokens_per_s": small["cold_tokens_per_s"],
              "packing_efficiency": small["efficiency"], "peak_rss_mb": small["peak_rss_mb"],
              "peak_rss_mb_at_2n": large["peak_rss_mb"],
              "memory_growth_2n_over_n": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
              "ratio_vs_trl": vs["ratio"], "ours": small, "ours_2n": large, "vs_trl": vs,
              "flan_full": flan_full(tok)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
