"""The one data path from a mixture to training rows: tokenize, truncate, cache, pack, shuffle, resume.

    tok, kind = load_tokenizer("smollm2-135m-instruct")
    for row, cursor in rows(mix, tok, kind):            # packed rows (numpy dicts, `packing.build_row`)
        ...                                              # `cursor`: where the row after this one starts
    rows(mix, tok, kind, cursor=saved)                   # after a restart: continue right after that row
    warm(FeatureCache(mix, tok, kind), 0, 100_000, workers=8)   # tokenize ahead, in parallel, onto disk

`flanlab train`, `flanlab mixture pack` and benchmarks/bench_mixture.py all read their rows from `rows`;
the training stage only groups them into optimizer steps (`flanlab.training.data`). In order:

1. Features: `features.tokenize` (input EOS target EOS; the one over-long policy, `on_overlong`).
   A `Mixture` is tokenized per task in chunks of consecutive draws of that task (the k-th draw of a task
   is fixed by the seed, see `mixture`; chunks of 64, 64, 128, 256, then CHUNK draws, so that a short run
   over many tasks does not tokenize 512 draws of each), cached under `paths.data_cache_dir()/mixtures/features/<key>/`,
   where the key covers the task and its version, the template set and its text, the pool (data file, cap),
   the tokenizer (its JSON's hash), lengths, model kind, template mode/choice, few-shot settings and seed. A
   second run (or a training run after `flanlab mixture pack`) reads the chunks; `warm(..., workers=N)`
   tokenizes missing chunks over N processes first. Any other object with `.stream(start)` yielding
   examples with inputs/targets/position/task (tests' `flanlab.testing.ListMixture`, a benchmark's fixed
   list) is tokenized as it streams, TOKENIZE_CHUNK examples per batched call, without a disk cache.
2. Rows: decoder examples are packed (`packing.pack`, best-fit-decreasing within windows of `pack_window`
   examples) when `packing` is on; otherwise (or for encoder-decoder models) each example is its own row.
3. Shuffle: the rows of each packing window come out in an order drawn from (seed, window start), so a
   step does not see only the longest (or shortest) examples of a window.
4. Cursor: each row comes with `Cursor(position, skip)`: restart the stream at mixture position `position`
   and skip `skip` rows to continue right after it (a window is rebuilt identically from its start).

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

from ..paths import data_cache_dir
from .features import F_IN, F_SKIP, F_TG, Features, TokenStats, tokenize, tokenizer_fingerprint
from .packing import PackingStats, pack, single_row

CHUNK = 512  # draws of one task per cached chunk (the first chunks are smaller: `chunk_span`)
FIRST_CHUNK = 64
TOKENIZE_CHUNK = 256  # examples per batched tokenizer call when streaming a mixture without a cache
CACHE_VERSION = 2
F_TEMPLATE = 8  # per-draw flag next to features.F_IN/F_TG/F_SKIP: no template admits the example


def chunk_span(chunk: int) -> tuple[int, int]:
    """(first draw, number of draws) of a task's chunk: 64, 64, 128, 256, then 512 draws each.

    >>> [chunk_span(c) for c in range(6)]
    [(0, 64), (64, 64), (128, 128), (256, 256), (512, 512), (1024, 512)]
    """
    if chunk == 0:
        return 0, FIRST_CHUNK
    if FIRST_CHUNK << (chunk - 1) < CHUNK:
        return FIRST_CHUNK << (chunk - 1), FIRST_CHUNK << (chunk - 1)
    first_full = (CHUNK // FIRST_CHUNK).bit_length()  # the chunk that starts at CHUNK
    return CHUNK * (chunk - first_full + 1), CHUNK


def chunk_of(k: int) -> tuple[int, int]:
    """(chunk, offset in it) of a task's k-th draw (the inverse of `chunk_span`)."""
    if k < FIRST_CHUNK:
        return 0, k
    if k < CHUNK:
        c = k.bit_length() - FIRST_CHUNK.bit_length() + 1
        return c, k - chunk_span(c)[0]
    first_full = (CHUNK // FIRST_CHUNK).bit_length()
    return first_full + k // CHUNK - 1, k % CHUNK


@dataclass(frozen=True)
class Cursor:
    """Where the next unseen row is: restart the stream at `position`, skip `skip` rows."""

    position: int = 0
    skip: int = 0


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
                           c.few_shot.model_dump(), c.tokenizer if c.few_shot.enabled else None, c.seed]
                          + ([True] if c.chat_template else []))  # absent when off: existing keys stay valid
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
        first, size = chunk_span(chunk)
        exs, flags = [], np.zeros(size, dtype=np.int8)
        for i, k in enumerate(range(first, first + size)):
            ex = self.mix.example(task, k)
            if ex is None:
                flags[i] |= F_TEMPLATE
            exs.append(ex)
        kept = [i for i, e in enumerate(exs) if e is not None]
        got: list[int] = []
        feats = tokenize([(exs[i].inputs, exs[i].targets) for i in kept], self.tok, kind=self.kind,
                         max_input_len=c.max_input_len, max_target_len=c.max_target_len,
                         on_overlong=c.on_overlong, flags=got, chat=c.chat_template,
                         meta=[(k, task, exs[i].template_id, repr(exs[i].example_id)) for i in kept])
        feats_by_i: dict[int, Features] = {}
        it = iter(feats)
        for i, fl in zip(kept, got):
            flags[i] |= fl
            if not fl & F_SKIP:
                feats_by_i[i] = next(it)
        return _pack_chunk(feats_by_i, flags, [e.shots if e is not None else 0 for e in exs],
                           [e.template_id if e is not None else "" for e in exs])


def _pack_chunk(feats: dict[int, Features], flags: np.ndarray, shots: list[int], templates: list[str]) -> Chunk:
    size = len(flags)
    lens = np.zeros(size, dtype=np.int64)
    tlens = np.zeros(size, dtype=np.int64)
    for i, f in feats.items():
        lens[i] = len(f.input_ids)
        tlens[i] = len(f.target_ids) if f.target_ids is not None else 0
    starts = np.concatenate([[0], np.cumsum(lens)])
    tstarts = np.concatenate([[0], np.cumsum(tlens)])
    ids = np.zeros(starts[-1], dtype=np.int32)
    tgt = np.zeros(tstarts[-1], dtype=np.int32)
    n_prompt = np.zeros(size, dtype=np.int32)
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

def _is_mixture(mix) -> bool:
    from .mixture import Mixture

    return isinstance(mix, Mixture)


def _config(mix, cfg):
    if cfg is not None:
        return cfg
    if getattr(mix, "cfg", None) is not None:
        return mix.cfg
    from .config import MixtureConfig

    return MixtureConfig()


def feature_stream(mix, tokenizer, kind: str = "decoder", cfg=None, start: int = 0, *, stop: int | None = None,
                   cache: FeatureCache | None = None, stats: TokenStats | None = None) -> Iterator[Features]:
    """Tokenized examples at stream positions start.. (skips counted in `stats`, never silent).

    A `Mixture` goes through its disk cache (its own config decides lengths and the over-long policy);
    anything else with `.stream(start)` is tokenized as it streams with `cfg` (default: `MixtureConfig()`).
    """
    stats = stats if stats is not None else TokenStats()
    if _is_mixture(mix):
        yield from _cached_features(mix, tokenizer, kind, start, stop, cache or FeatureCache(mix, tokenizer, kind),
                                    stats)
        return
    c = _config(mix, cfg)
    kw = dict(kind=kind, max_input_len=c.max_input_len, max_target_len=c.max_target_len, on_overlong=c.on_overlong,
              stats=stats, chat=c.chat_template)
    chunk: list[Any] = []
    for ex in mix.stream(start):
        if stop is not None and ex.position >= stop:
            break
        chunk.append(ex)
        if len(chunk) == TOKENIZE_CHUNK:
            yield from _tokenize_examples(chunk, tokenizer, kw)
            chunk = []
    if chunk:
        yield from _tokenize_examples(chunk, tokenizer, kw)


def _tokenize_examples(items: list[Any], tokenizer, kw: dict[str, Any]) -> list[Features]:
    meta = [(r.position, r.task, r.template_id) for r in items]
    return tokenize([(r.inputs, r.targets) for r in items], tokenizer, meta=meta, **kw)


def _cached_features(mix, tokenizer, kind, start, stop, cache: FeatureCache, stats: TokenStats) -> Iterator[Features]:
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
            c, i = chunk_of(k)
            f = _feature(cache.get(task, c), i, pos + off, task, stats)
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


def rows_from(features: Iterator[Features], *, packed: bool, seq_len: int, pad_id: int, window: int,
              cursor: Cursor = Cursor(), method: str = "bfd", seed: int = 0,
              pstats: PackingStats | None = None) -> Iterator[tuple[dict[str, Any], Cursor]]:
    """Rows (packed, or one example each) with the cursor just after each row; `cursor.skip` rows skipped.

    `features` must start at `cursor.position`. Packed rows come window by window in a seeded order
    (`shuffled_windows`); an example longer than `seq_len` is an error (the config's lengths rule it out).
    """
    if packed:
        rows = shuffled_windows(pack(features, seq_len, pad_id=pad_id, method=method, window=window,
                                     on_too_long="error", stats=pstats), seed)
    else:
        rows = ((_single(f, pstats), Cursor(f.position + 1, 0)) for f in features)
    for i, item in enumerate(rows):
        if i >= cursor.skip:
            yield item


def _single(f: Features, pstats: PackingStats | None) -> dict[str, Any]:
    row = single_row(f)
    if pstats is not None:
        pstats.rows += 1
        pstats.examples += 1
        pstats.tokens += row["n_tokens"]
        pstats.slots += row["n_tokens"]
    return row


def shuffled_windows(rows: Iterator[dict[str, Any]], seed: int) -> Iterator[tuple[dict[str, Any], Cursor]]:
    """The rows of each packing window in a seeded random order, each with the cursor after it.

    Best-fit-decreasing emits a window's rows from the longest examples to the shortest, and length goes
    with the task, so steps taken in that order would each see a few tasks only. The order depends only
    on (seed, window start), so a resumed run replays it.
    """
    def emit(buf: list[dict[str, Any]], start: int):
        order = np.random.default_rng([seed, start]).permutation(len(buf))
        for k, i in enumerate(order):
            yield buf[i], Cursor(start, k + 1)

    buf: list[dict[str, Any]] = []
    for row in rows:
        if buf and row["resume"][0] != buf[0]["resume"][0]:
            yield from emit(buf, buf[0]["resume"][0])
            buf = []
        buf.append(row)
    if buf:
        yield from emit(buf, buf[0]["resume"][0])


def rows(mix, tokenizer, kind: str = "decoder", cursor: Cursor = Cursor(), *, cfg=None, packed: bool | None = None,
         stop: int | None = None, cache: FeatureCache | None = None, stats: TokenStats | None = None,
         pstats: PackingStats | None = None) -> Iterator[tuple[dict[str, Any], Cursor]]:
    """Training rows of `mix` from `cursor`, each with the cursor after it (see the module docstring).

    `cfg` (a MixtureConfig; default: the mixture's own) gives lengths, packing and seed; `packed` overrides
    whether rows are packed (default: `cfg.packing` for decoder models); `stop` ends the stream at a position.
    """
    c = _config(mix, cfg)
    packed = (c.packing and kind == "decoder") if packed is None else packed
    feats = feature_stream(mix, tokenizer, kind, c, cursor.position, stop=stop, cache=cache, stats=stats)
    return rows_from(feats, packed=packed, seq_len=c.seq_len, pad_id=pad_id(tokenizer), window=c.pack_window,
                     cursor=cursor, method=c.pack_method, seed=c.seed, pstats=pstats)


def pad_id(tok) -> int:
    return tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id


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
            for ch in range(chunk_of(int(lo[t]))[0], chunk_of(int(hi[t]) - 1)[0] + 1):
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
