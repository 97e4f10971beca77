"""From a Mixture to tokenized, packed, model-ready batches: cached on disk, built in parallel.

    tok = load_tokenizer("smollm2-135m-instruct")
    for row in packed_rows(mix, tok, start=0):            # dicts from packing.build_row
        ...
    for batch, resume in batches(mix, tok, batch_size=8):  # torch tensors + where to resume after them
        loss = model(**batch, use_cache=False).loss
    # after a restart: batches(mix, tok, batch_size=8, resume=resume)

Tokenized examples are cached per task in chunks of CHUNK consecutive draws of that task (the k-th draw of a
task is fixed by the seed, see `mixture`), under `paths.data_cache_dir()/mixtures/features/<key>/`, where the
key covers the task and its version, the template set and its version, the pool (data file, cap), the
tokenizer (its JSON's hash), lengths, model kind, template mode/choice, few-shot settings and seed. A second
run reads the chunks (seconds); `warm(..., workers=N)` tokenizes missing chunks over N processes first.
Memory holds one chunk per task plus one packing window, whatever the number of examples.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FlanlabError
from ..paths import data_cache_dir
from .features import Features, TokenStats, tokenize, tokenizer_fingerprint
from .packing import PackingStats, collate, pack, single_row

CHUNK = 512
CACHE_VERSION = 1
F_IN, F_TG, F_SKIP, F_TEMPLATE = 1, 2, 4, 8  # per-draw flags


def load_tokenizer(name: str | None = None):
    """(tokenizer, kind) of a model name (flanlab.models resolution; no weights loaded)."""
    from transformers import AutoTokenizer

    from ..models import DEFAULT_MODEL, resolve_path

    ref = resolve_path(name or DEFAULT_MODEL)
    tok = AutoTokenizer.from_pretrained(ref.path, local_files_only=ref.local_files_only)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok, ref.kind


@dataclass
class Chunk:
    ids: np.ndarray        # flat token ids of the kept draws
    starts: np.ndarray     # offsets into ids, len = draws + 1 (skipped draws have length 0)
    n_prompt: np.ndarray
    tgt: np.ndarray        # encoder-decoder targets, flat (empty for decoder)
    tgt_starts: np.ndarray
    flags: np.ndarray
    shots: np.ndarray
    templates: list[str]


class FeatureCache:
    """Chunks of tokenized draws per task for one (mixture, tokenizer, kind) combination."""

    def __init__(self, mix, tokenizer, kind: str = "decoder", *, use_disk: bool = True):
        self.mix, self.tok, self.kind, self.use_disk = mix, tokenizer, kind, use_disk
        self.fingerprint = tokenizer_fingerprint(tokenizer)
        self._mem: dict[str, tuple[int, Chunk]] = {}
        self._keys: dict[str, str] = {}

    def key(self, task: str) -> str:
        if task not in self._keys:
            self._keys[task] = self._key(task)
        return self._keys[task]

    def _key(self, task: str) -> str:
        c, spec = self.mix.cfg, self.mix.cat.task(task)
        tset, pool = self.mix.cat.templates(task), self.mix.pool(task)
        # the templates' own text too: an edited template without a version bump must not hit a stale cache
        texts = hashlib.sha256(repr((tset.templates, tset.plain, spec.display_name)).encode()).hexdigest()[:12]
        blob = json.dumps([CACHE_VERSION, task, spec.version, tset.name, tset.version, texts, str(pool.path), pool.n,
                           c.cap, c.split_overrides.get(task), self.fingerprint, c.max_input_len, c.max_target_len,
                           self.kind, c.on_overlong, c.template_mode, c.template_choice, c.template_id,
                           c.few_shot.model_dump(), c.tokenizer if c.few_shot.enabled else None, c.seed])
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def path(self, task: str, chunk: int) -> Path:
        return data_cache_dir() / "mixtures" / "features" / self.key(task) / f"{task}-{chunk}.npz"

    def get(self, task: str, chunk: int) -> Chunk:
        hit = self._mem.get(task)
        if hit is not None and hit[0] == chunk:
            return hit[1]
        p = self.path(task, chunk) if self.use_disk else None
        if p is not None and p.is_file():
            z = np.load(p)
            ch = Chunk(z["ids"], z["starts"], z["n_prompt"], z["tgt"], z["tgt_starts"], z["flags"], z["shots"],
                       json.loads(str(z["templates"])))
        else:
            ch = self.build(task, chunk)
            if p is not None:
                save_chunk(p, ch)
        self._mem[task] = (chunk, ch)
        return ch

    def build(self, task: str, chunk: int) -> Chunk:
        c = self.mix.cfg
        exs, flags = [], np.zeros(CHUNK, dtype=np.int8)
        for i, k in enumerate(range(chunk * CHUNK, (chunk + 1) * CHUNK)):
            ex = self.mix.example(task, k)
            if ex is None:
                flags[i] |= F_TEMPLATE
            exs.append(ex)
        kept = [i for i, e in enumerate(exs) if e is not None]
        feats_by_i: dict[int, Features] = {}
        pairs = [(exs[i].inputs, exs[i].targets) for i in kept]
        meta = [(i, task, exs[i].template_id) for i in kept]
        flagged = _tokenize_flags(pairs, self.tok, self.kind, c, meta)
        for i, (f, fl) in zip(kept, flagged):
            flags[i] |= fl
            if f is not None:
                feats_by_i[i] = f
        return _pack_chunk(feats_by_i, flags, [e.shots if e is not None else 0 for e in exs],
                           [e.template_id if e is not None else "" for e in exs])


def _tokenize_flags(pairs, tok, kind, c, meta) -> list[tuple[Features | None, int]]:
    """Tokenize with the config's limits, returning each pair's features (None: skipped) and flags."""
    if not pairs:
        return []
    # tokenize untruncated (one batched call), then cut: the flags record what was cut, for the reports
    full = tokenize(pairs, tok, kind=kind, max_input_len=10**9, max_target_len=10**9, meta=meta,
                    chat=getattr(c, "chat_template", False))
    out = []
    for (pos, task, tid), f in zip(meta, full):
        if kind == "decoder":
            n_in, n_tg = f.n_prompt - 1, len(f.input_ids) - f.n_prompt - 1
        else:
            n_in, n_tg = len(f.input_ids) - 1, len(f.target_ids) - 1
        fl = (F_IN if n_in > c.max_input_len else 0) | (F_TG if n_tg > c.max_target_len else 0)
        if fl and c.on_overlong == "error":
            which, n, lim = ("input", n_in, c.max_input_len) if fl & F_IN else ("target", n_tg, c.max_target_len)
            raise FlanlabError(f"task {task!r}, template {tid!r}: an example's {which} has {n} tokens, more than "
                               f"the limit {lim} (raise it, or --set on_overlong=truncate|skip)")
        if fl and c.on_overlong == "skip":
            out.append((None, fl | F_SKIP))
            continue
        if fl:
            f = _truncate(f, kind, n_in, n_tg, c.max_input_len, c.max_target_len)
        out.append((f, fl))
    return out


def _truncate(f: Features, kind: str, n_in: int, n_tg: int, max_in: int, max_tg: int) -> Features:
    if kind == "decoder":
        bos = f.n_prompt - 1 - n_in
        x = f.input_ids[:bos + min(n_in, max_in)]
        eos = f.input_ids[-1]
        y = f.input_ids[f.n_prompt:f.n_prompt + min(n_tg, max_tg)]
        return Features(x + [eos] + y + [eos], len(x) + 1, None, f.position, f.task, f.template_id)
    eos = f.input_ids[-1]
    return Features(f.input_ids[:min(n_in, max_in)] + [eos], 0, f.target_ids[:min(n_tg, max_tg)] + [eos],
                    f.position, f.task, f.template_id)


def _pack_chunk(feats: dict[int, Features], flags: np.ndarray, shots: list[int], templates: list[str]) -> Chunk:
    lens = np.zeros(CHUNK, dtype=np.int64)
    tlens = np.zeros(CHUNK, dtype=np.int64)
    for i, f in feats.items():
        lens[i] = len(f.input_ids)
        tlens[i] = len(f.target_ids) if f.target_ids is not None else 0
    starts = np.concatenate([[0], np.cumsum(lens)])
    tstarts = np.concatenate([[0], np.cumsum(tlens)])
    ids = np.zeros(starts[-1], dtype=np.int32)
    tgt = np.zeros(tstarts[-1], dtype=np.int32)
    n_prompt = np.zeros(CHUNK, dtype=np.int32)
    for i, f in feats.items():
        ids[starts[i]:starts[i + 1]] = f.input_ids
        n_prompt[i] = f.n_prompt
        if f.target_ids is not None:
            tgt[tstarts[i]:tstarts[i + 1]] = f.target_ids
    return Chunk(ids, starts, n_prompt, tgt, tstarts, flags, np.asarray(shots, dtype=np.int16), templates)


def save_chunk(path: Path, ch: Chunk) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez(tmp, ids=ch.ids, starts=ch.starts, n_prompt=ch.n_prompt, tgt=ch.tgt, tgt_starts=ch.tgt_starts,
             flags=ch.flags, shots=ch.shots, templates=json.dumps(ch.templates))
    os.replace(tmp, path)


# -- streams ------------------------------------------------------------------------------------------------

def feature_stream(mix, tokenizer, kind: str = "decoder", *, start: int = 0, stop: int | None = None,
                   cache: FeatureCache | None = None, stats: TokenStats | None = None) -> Iterator[Features]:
    """Tokenized examples at stream positions start.. (skips counted in `stats`, never silent)."""
    cache = cache or FeatureCache(mix, tokenizer, kind)
    stats = stats if stats is not None else TokenStats()
    names, _ = mix._names_and_cdf()
    counts = mix.occurrences_before(start)
    pos = start
    while stop is None or pos < stop:
        end = pos + 4096 if stop is None else min(stop, pos + 4096)
        _, ids = mix.task_ids(pos, end)
        for off, t in enumerate(ids.tolist()):
            k = int(counts[t])
            counts[t] += 1
            task = names[t]
            f = _feature(cache.get(task, k // CHUNK), k % CHUNK, pos + off, task, stats)
            if f is not None:
                yield f
        pos = end


def _feature(ch: Chunk, i: int, position: int, task: str, stats: TokenStats) -> Features | None:
    fl = int(ch.flags[i])
    if fl & F_TEMPLATE:
        stats.template_skipped += 1
        return None
    if fl & F_SKIP:
        stats.skipped_overlong += 1
        return None
    if fl & (F_IN | F_TG):
        stats.input_truncated += bool(fl & F_IN)
        stats.target_truncated += bool(fl & F_TG)
        stats.per_task_truncated[task] = stats.per_task_truncated.get(task, 0) + 1
    ids = ch.ids[ch.starts[i]:ch.starts[i + 1]].tolist()
    tgt = ch.tgt[ch.tgt_starts[i]:ch.tgt_starts[i + 1]].tolist() if ch.tgt_starts[-1] else None
    stats.examples += 1
    n_p = int(ch.n_prompt[i])
    if tgt is None:
        stats.input_tokens += n_p
        stats.target_tokens += len(ids) - n_p
    else:
        stats.input_tokens += len(ids)
        stats.target_tokens += len(tgt)
    return Features(ids, n_p, tgt, position, task, ch.templates[i])


def packed_rows(mix, tokenizer, kind: str = "decoder", *, start: int = 0, stop: int | None = None,
                skip_rows: int = 0, cache: FeatureCache | None = None, stats: TokenStats | None = None,
                pstats: PackingStats | None = None) -> Iterator[dict[str, Any]]:
    """Rows for training: packed (cfg.packing, decoder) or one example per row. Each row has `resume`."""
    c = mix.cfg
    feats = feature_stream(mix, tokenizer, kind, start=start, stop=stop, cache=cache, stats=stats)
    if c.packing and kind == "decoder":
        rows = pack(feats, c.seq_len, pad_id=_pad_id(tokenizer), method=c.pack_method, window=c.pack_window,
                    stats=pstats)
    else:
        rows = _single_rows(feats, pstats)
    for n, row in enumerate(rows):
        if n >= skip_rows:
            yield row


def _single_rows(feats, pstats):
    for f in feats:
        row = single_row(f)
        row["resume"] = (f.position + 1, -1)
        if pstats is not None:
            pstats.rows += 1
            pstats.examples += 1
            pstats.tokens += row["n_tokens"]
            pstats.slots += row["n_tokens"]
        yield row


def _pad_id(tok) -> int:
    return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id


def batches(mix, tokenizer, kind: str = "decoder", *, batch_size: int, resume: tuple[int, int] | None = None,
            stop: int | None = None, mask: str = "4d", dtype=None, **kw: Any):
    """(batch, resume) pairs; pass `resume` back after a restart to continue with the next batch.

    Packed rows resume at (window start, rows of that window already used); unpacked rows at a position.
    Padded (unpacked) batches are sized to their longest row.
    """
    start, skip = (resume[0], resume[1] + 1) if resume else (0, 0)
    if resume and resume[1] < 0:
        start, skip = resume[0], 0
    buf: list[dict[str, Any]] = []
    for row in packed_rows(mix, tokenizer, kind, start=start, stop=stop, skip_rows=skip, **kw):
        buf.append(row)
        if len(buf) == batch_size:
            yield collate(buf, kind, pad_id=_pad_id(tokenizer), mask=mask, dtype=dtype), buf[-1]["resume"]
            buf = []
    if buf:
        yield collate(buf, kind, pad_id=_pad_id(tokenizer), mask=mask, dtype=dtype), buf[-1]["resume"]


# -- parallel warm-up -------------------------------------------------------------------------------------

_WORK: FeatureCache | None = None


def _work(job: tuple[str, int]) -> tuple[str, int]:
    task, chunk = job
    assert _WORK is not None
    save_chunk(_WORK.path(task, chunk), _WORK.build(task, chunk))
    return job


def _open_pool(task: str) -> str | None:
    from ..errors import FlanlabError as _E

    try:
        _WORK.mix.pool(task)  # writes the pool's spool and index into the disk cache
    except _E as e:  # the parent raises it properly (or skips the task) when it opens the pool itself
        return str(e)
    return None


def open_pools(cache: FeatureCache, workers: int) -> None:
    """Stream every training task's pool into the cache over `workers` processes (first runs only)."""
    global _WORK
    import multiprocessing as mp

    mix = cache.mix
    todo = [t for t in mix.split.train if t not in mix._pools and t not in mix.cfg.counts]
    if workers > 1 and len(todo) > 1:
        _WORK = cache
        with mp.get_context("fork").Pool(min(workers, len(todo)), initializer=_forget_handles) as p:
            p.map(_open_pool, todo)
    mix.rates()


def _forget_handles() -> None:
    # pools opened in the parent share file offsets with it after fork: each worker opens its own
    for p in _WORK.mix._pools.values():
        p._fh = None


def needed_chunks(cache: FeatureCache, start: int, stop: int) -> list[tuple[str, int]]:
    """(task, chunk) pairs that positions [start, stop) read and the disk cache lacks."""
    names, _ = cache.mix._names_and_cdf()
    lo, hi = cache.mix.occurrences_before(start), cache.mix.occurrences_before(stop)
    jobs = []
    for t, name in enumerate(names):
        if hi[t] > lo[t]:
            for ch in range(int(lo[t]) // CHUNK, (int(hi[t]) - 1) // CHUNK + 1):
                if not cache.path(name, ch).is_file():
                    jobs.append((name, ch))
    return jobs


def warm(cache: FeatureCache, start: int, stop: int, workers: int = 0, progress=None) -> int:
    """Tokenize every missing chunk of positions [start, stop) into the disk cache, over `workers`
    processes (0: os.cpu_count()). Returns the number of chunks built."""
    global _WORK
    import multiprocessing as mp

    workers = workers or os.cpu_count() or 1
    open_pools(cache, workers)
    jobs = needed_chunks(cache, start, stop)
    if not jobs:
        return 0
    _WORK = cache
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if workers == 1 or len(jobs) == 1:
        for j in jobs:
            _work(j)
            if progress:
                progress(j)
        return len(jobs)
    with mp.get_context("fork").Pool(workers, initializer=_forget_handles) as p:
        for j in p.imap_unordered(_work, jobs):
            if progress:
                progress(j)
    return len(jobs)
