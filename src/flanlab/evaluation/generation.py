"""Generation for the generative tasks: greedy by default (beam search and sampling as options).

    reqs = [GenRequest("Translate to French: Hello.", max_new_tokens=32, stop=("\\n\\n",))]
    outs = generate(model, tokenizer, "decoder", reqs, batch_size=8)
    outs[0].text, outs[0].stopped      # "Bonjour.", "eos" | "stop" | "length"

A generation ends at EOS, at the first stop string (the text is cut there) or after `max_new_tokens`
(`stopped == "length"`: a generation that never stopped; the runner counts and reports these). Decoder
prompts are left-padded (position ids follow the attention mask), so the output does not depend on the
batch; requests are sorted by length and batched.

Greedy decoding of decoder-only transformers models runs flanlab's own loop (`greedy_decode`) instead of
`model.generate`: one prefill over the length-sorted, left-padded batch (the LM head only on the last
column), then one token per step through the KV cache, and a row that has ended (EOS, a stop string in
its generated text, its own `max_new_tokens`) leaves the batch and the cache at once, so no step is spent
on finished rows or on a batch-mate's longer budget, and waiting prompts take the freed places (the
batch stays full). The running batch's KV cache lives in preallocated buffers (`_SlotLayer`): a step writes
its column in place instead of copying the whole cache, as transformers' `DynamicCache` does at every step,
and rows leave and join inside the buffers. Its tokens are those of `model.generate` (tested);
beam search, sampling, encoder-decoder models and wrapped models (soft prompts) use `model.generate`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import FlanlabError


@dataclass(frozen=True)
class GenRequest:
    context: str
    max_new_tokens: int = 64
    stop: tuple[str, ...] = ()
    where: str = ""


@dataclass(frozen=True)
class Generation:
    text: str
    n_tokens: int
    stopped: str  # "eos", "stop" (a stop string) or "length" (hit max_new_tokens)


@dataclass(frozen=True)
class DecodeOptions:
    num_beams: int = 1
    do_sample: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


# Stop strings count only after the generation's first non-whitespace character: a model that opens its
# answer with a newline is not cut to nothing by a newline stop (GPT-3-style prompts end with "Answer:").
STOP_RULE = "after-leading-whitespace"


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Text before the earliest stop string after any leading whitespace, and whether one was found.

    >>> cut_at_stop("Paris.\\n\\nQuestion: ...", ["\\n\\n"])
    ('Paris.', True)
    >>> cut_at_stop("\\nParis\\nQuestion: ...", ["\\n"])
    ('\\nParis', True)
    """
    lead = len(text) - len(text.lstrip())
    hits = [i for i in (text.find(s, lead) for s in stop if s) if i >= 0]
    return (text[:min(hits)], True) if hits else (text, False)


class StopAfterContent:
    """A transformers stopping criterion: a row is done once its new text, past leading whitespace, contains a
    stop string (transformers' own `stop_strings` also match the prompt's end and a leading newline)."""

    def __init__(self, tokenizer: Any, stop: Sequence[str]):
        self.tokenizer, self.stop, self.start = tokenizer, [s for s in stop if s], None

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        if self.start is None:  # first call: exactly one new token (works for prompts given as embeddings too)
            self.start = input_ids.shape[1] - 1
        texts = self.tokenizer.batch_decode(input_ids[:, self.start:], skip_special_tokens=True)
        return torch.tensor([cut_at_stop(t, self.stop)[1] for t in texts], dtype=torch.bool, device=input_ids.device)


def generate(model: Any, tokenizer: Any, kind: str, requests: Sequence[GenRequest], *, batch_size: int = 8,
             options: DecodeOptions | None = None, max_length: int | None = None, max_tokens: int | None = None,
             progress: Callable[[int], None] | None = None) -> list[Generation]:
    """Decode every request; `max_tokens` caps the padded tokens of one prefill forward (greedy loop only)."""
    import torch

    from .rank import model_max_length

    opts = options or DecodeOptions()
    max_length = max_length or model_max_length(model, tokenizer)
    for r in requests:
        if r.max_new_tokens < 1:
            raise FlanlabError(f"{r.where}: max_new_tokens must be at least 1 (got {r.max_new_tokens})")
    encoded = [_encode(tokenizer, kind, r, max_length) for r in requests]
    order = sorted(range(len(requests)), key=lambda i: (-len(encoded[i]), -requests[i].max_new_tokens, i))
    results: list[Generation | None] = [None] * len(requests)
    fast = uses_greedy_loop(model, kind, opts)
    with torch.inference_mode():
        if fast:  # one stream over every request, `batch_size` rows at a time (ended rows are replaced)
            outs = greedy_decode(model, tokenizer, [encoded[i] for i in order], [requests[i] for i in order],
                                 max_tokens, batch_size, progress)
            for i, g in zip(order, outs):
                results[i] = g
            return results  # type: ignore[return-value]
        for start in range(0, len(order), max(1, batch_size)):
            idx = order[start:start + batch_size]
            if opts.do_sample:
                torch.manual_seed(opts.seed + start)
            outs = _generate_batch(model, tokenizer, kind, [encoded[i] for i in idx], [requests[i] for i in idx], opts)
            for i, g in zip(idx, outs):
                results[i] = g
            if progress:
                progress(len(idx))
    return results  # type: ignore[return-value]


def uses_greedy_loop(model: Any, kind: str, opts: DecodeOptions) -> bool:
    """Whether `generate` decodes with `greedy_decode` (greedy, decoder-only, a plain transformers model)."""
    from transformers import PreTrainedModel

    return (kind == "decoder" and opts.num_beams == 1 and not opts.do_sample and not opts.extra
            and isinstance(model, PreTrainedModel))


def _stop_seen(tokenizer: Any, gen: list[int], tail: int, stop: Sequence[str], started: list[bool], r: int) -> bool:
    """Whether row `r`'s generated tokens hold a stop string past leading whitespace (`cut_at_stop`'s rule),
    decoding only the last `tail` tokens once the row has content beyond that window."""
    if started[r] and len(gen) > tail:
        text = tokenizer.decode(gen[-tail:], skip_special_tokens=True)
        return any(s in text for s in stop if s)
    text = tokenizer.decode(gen, skip_special_tokens=True)  # short: whitespace so far, or within the window
    started[r] = started[r] or bool(text.strip())
    return cut_at_stop(text, stop)[1]


def greedy_decode(model: Any, tokenizer: Any, ids: list[list[int]], reqs: list[GenRequest],
                  prefill_tokens: int | None = None, width: int | None = None,
                  progress: Callable[[int], None] | None = None) -> list[Generation]:
    """Greedy decoding of prompts (token ids, longest first) through the KV cache, at most `width` rows at once.

    Prefill: the prompts go through the model in groups of at most `prefill_tokens` padded tokens (None: all
    at once); the groups' caches are written into the running batch's preallocated cache (`_SlotLayer`),
    right-aligned. Decoding: row r stops at EOS,
    when one of its stop strings appears in its generated text, or after its own `max_new_tokens`; ended
    rows leave the batch, the attention mask and the cache before the next step, and waiting prompts take
    their places (prefilled and written in the same way) once a quarter of the rows are free, so the batch
    stays full; cache columns that no row attends to any more are dropped. Models whose cache layers
    cannot be joined by padding (sliding windows, ...) decode `width` rows at a time, one prefill each.
    """
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    width = max(1, width or len(ids))
    layers = DynamicCache(config=model.config).layers
    if not layers or any(type(layer) is not DynamicLayer for layer in layers):
        out: list[Generation] = []
        for s in range(0, len(ids), width):
            out += _greedy(model, tokenizer, ids[s:s + width], reqs[s:s + width], None, width, False, progress)
        return out
    return _greedy(model, tokenizer, ids, reqs, prefill_tokens, width, True, progress)


def _greedy(model, tokenizer, ids, reqs, prefill_tokens, width, join, progress) -> list[Generation]:
    eos = tokenizer.eos_token_id
    arg = _cache_arg(model)
    # a stop string that was not in the text before this step ends in this step's token: decoding the last
    # len(stop) + 2 tokens finds it (the text is cut at the first stop of the whole text in _finish)
    tail = [max((len(x) for x in r.stop), default=0) + 2 for r in reqs]
    started = [False] * len(reqs)  # the row's text has content past leading whitespace (STOP_RULE)
    gen: list[list[int]] = [[] for _ in ids]
    waiting = 0  # the next prompt to start

    def start(n: int) -> list[tuple]:
        nonlocal waiting
        idx = list(range(waiting, min(len(ids), waiting + n)))
        waiting += len(idx)
        groups = _prefill_groups([len(ids[i]) for i in idx], prefill_tokens if join else None)
        return [(*_prefill(model, tokenizer, arg, [ids[idx[k]] for k in g]), [idx[k] for k in g]) for g in groups]

    batch = _Batch(model, width, join)
    batch.add(start(width))
    while True:
        keep = []
        for j, (r, t) in enumerate(zip(batch.rows, batch.nxt.tolist())):
            gen[r].append(t)
            req = reqs[r]
            ended = t == eos or len(gen[r]) >= req.max_new_tokens or (
                bool(req.stop) and _stop_seen(tokenizer, gen[r], tail[r], req.stop, started, r))
            if not ended:
                keep.append(j)
        if progress and len(keep) < len(batch.rows):
            progress(len(batch.rows) - len(keep))
        if not keep:
            if waiting >= len(ids):
                break
            batch = _Batch(model, width, join)
            batch.add(start(width))
            continue
        batch.keep(keep)
        batch.step(arg)
        free = width - len(batch.rows)
        if join and waiting < len(ids) and free >= max(1, width // 4):
            batch.add(start(free))
    return [_finish(tokenizer, g, r) for g, r in zip(gen, reqs)]


class _Batch:
    """The rows `_greedy` is decoding: their KV cache, attention mask, last positions, next tokens, request indices.

    With `join` the cache is a `DynamicCache` of `_SlotLayer`s (see there): a step appends in place, rows leave and
    join without rebuilding the cache; otherwise it is the prefill's own `DynamicCache` (one prefill, rows only
    leave)."""

    def __init__(self, model: Any, width: int, join: bool):
        self.width, self.join, self.model = width, join, model
        self.cache = self.mask = self.last = self.nxt = None
        self.rows: list[int] = []

    def add(self, parts: list[tuple]) -> None:
        """Join prefilled groups (cache, mask, last positions, next tokens, request indices), right-aligned."""
        import torch
        import torch.nn.functional as F
        from transformers import DynamicCache

        if not self.join:
            (self.cache, self.mask, self.last, self.nxt, self.rows), = parts
            return
        if self.cache is None:
            n = len(parts[0][0].layers)
            self.cache = DynamicCache()
            self.cache.layers = [_slot_layer(self.width) for _ in range(n)]
        for cache, *_ in parts:
            for mine, theirs in zip(self.cache.layers, cache.layers):
                mine.add(theirs.keys, theirs.values)
        held = [] if self.mask is None else [(None, self.mask, self.last, self.nxt, self.rows)]
        every = held + list(parts)
        cols = self.cache.layers[0].end - self.cache.layers[0].start
        self.mask = torch.cat([F.pad(p[1], (cols - p[1].shape[1], 0)) for p in every])
        self.last, self.nxt = torch.cat([p[2] for p in every]), torch.cat([p[3] for p in every])
        self.rows = [r for p in every for r in p[4]]

    def keep(self, keep: list[int]) -> None:
        """Only rows `keep` (ascending positions) go on; leading columns no remaining row attends to are dropped."""
        import torch

        if len(keep) == len(self.rows):
            return
        sel = torch.tensor(keep, device=self.mask.device)
        self.mask, self.last, self.nxt = self.mask[sel], self.last[sel], self.nxt[sel]
        self.rows = [self.rows[j] for j in keep]
        if not self.join:
            self.cache.batch_select_indices(sel)
            return
        unused = int(self.mask.any(0).int().argmax())  # leading columns every remaining row ignores
        for layer in self.cache.layers:
            layer.keep(keep, unused)
        self.mask = self.mask[:, unused:]

    def step(self, arg: str) -> None:
        """One token for every row: the next tokens in, their successors (argmax) out."""
        import torch

        self.mask = torch.cat([self.mask, self.mask.new_ones((len(self.rows), 1))], dim=1)
        self.last = self.last + 1
        self.nxt = self.model(input_ids=self.nxt[:, None], attention_mask=self.mask, position_ids=self.last[:, None],
                              use_cache=True, logits_to_keep=1, **{arg: self.cache}).logits[:, -1].argmax(-1)


SPARE_COLUMNS = 128  # columns a `_SlotLayer` allocates beyond what it holds (steps before the next reallocation)


class _SlotLayer:
    """One layer's KV cache in `_greedy`'s running batch, kept in preallocated buffers (`_slot_layer` mixes it
    into transformers' `DynamicLayer`, the type a cache layer must have).

    `keys`/`values` are views `[:rows, :, start:end]` of buffers `[width, heads, columns, dim]`: a decoding step
    writes its token's column in place (a `DynamicLayer` concatenates, copying the whole cache every step), a
    row that leaves is overwritten by moving the later rows down, dropped leading columns only move `start`,
    and joining rows are written into free row slots, right-aligned to `end` (their columns left of their
    prompt hold finite leftovers the attention mask hides). The buffers are reallocated, with `spare` more
    columns, only when a step or a join runs out of columns.
    """

    is_sliding = False
    is_compileable = False
    is_initialized = True

    def __init__(self, width: int, spare: int):
        self.width, self.spare = width, spare
        self.kb = self.vb = self.keys = self.values = None
        self.rows = self.start = self.end = 0

    def _view(self) -> None:
        self.keys = self.kb[:self.rows, :, self.start:self.end]
        self.values = self.vb[:self.rows, :, self.start:self.end]

    def _realloc(self, like, columns: int, end: int) -> None:
        """New zeroed buffers of `columns` columns holding the current view so that it ends at column `end`."""
        import torch

        kb = torch.zeros(self.width, like.shape[1], columns, like.shape[3], dtype=like.dtype, device=like.device)
        vb = torch.zeros_like(kb)
        n = self.end - self.start
        if self.rows and n:
            kb[:self.rows, :, end - n:end] = self.keys
            vb[:self.rows, :, end - n:end] = self.values
        self.kb, self.vb, self.start, self.end = kb, vb, end - n, end

    def update(self, key_states, value_states, *args, **kwargs):
        q = key_states.shape[-2]
        if self.end + q > self.kb.shape[2]:
            n = self.end - self.start
            self._realloc(key_states, n + q + self.spare, n)
        self.kb[:self.rows, :, self.end:self.end + q] = key_states
        self.vb[:self.rows, :, self.end:self.end + q] = value_states
        self.end += q
        self._view()
        return self.keys, self.values

    def add(self, keys, values) -> None:
        """Append rows (their prefill cache, `[m, heads, w, dim]`), right-aligned to `end`."""
        m, w = keys.shape[0], keys.shape[2]
        if self.kb is None or w > self.end:  # no room left of `end` for this prompt: re-lay the buffers out
            n = self.end - self.start
            self._realloc(keys, max(n, w) + self.spare, max(n, w))
        self.kb[self.rows:self.rows + m, :, self.end - w:self.end] = keys
        self.vb[self.rows:self.rows + m, :, self.end - w:self.end] = values
        self.rows += m
        self.start = min(self.start, self.end - w)
        self._view()

    def keep(self, keep: list[int], drop: int) -> None:
        """Keep rows `keep` (ascending), moved down in place, and drop `drop` leading columns."""
        s, e = self.start, self.end
        for j, r in enumerate(keep):
            if j != r:
                self.kb[j, :, s:e] = self.kb[r, :, s:e]
                self.vb[j, :, s:e] = self.vb[r, :, s:e]
        self.rows = len(keep)
        self.start += drop
        self._view()

    # what `transformers` asks of a cache layer during a forward
    def get_seq_length(self) -> int:
        return self.end - self.start

    def get_mask_sizes(self, query_length) -> tuple[int, int]:  # an int; `cache_position` before transformers 5
        q = query_length if isinstance(query_length, int) else int(query_length.shape[0])
        return self.end - self.start + q, 0

    def get_max_length(self) -> int:
        return -1


@functools.cache
def _slot_layer_class() -> type:
    from transformers.cache_utils import DynamicLayer

    return type("SlotLayer", (_SlotLayer, DynamicLayer), {})


def _slot_layer(width: int) -> Any:
    """A `_SlotLayer` that transformers takes for a cache layer (a `DynamicLayer` subclass, made on first use:
    this module does not import transformers)."""
    return _slot_layer_class()(width, SPARE_COLUMNS)


def _prefill_groups(lengths: list[int], max_tokens: int | None) -> list[list[int]]:
    """Consecutive rows (lengths in descending order) in groups of at most max_tokens padded tokens."""
    groups: list[list[int]] = []
    for i, n in enumerate(lengths):
        if groups and (max_tokens is None or (len(groups[-1]) + 1) * lengths[groups[-1][0]] <= max_tokens):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _prefill(model: Any, tokenizer: Any, arg: str, ids: list[list[int]]):
    """One left-padded forward over the prompts: (cache, attention mask, last positions, next tokens)."""
    import torch
    from transformers import DynamicCache

    dev = next(model.parameters()).device
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(x) for x in ids)
    inp = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=dev)
    mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=dev)
    pos = (mask.cumsum(-1) - 1).clamp(min=0)
    cache = DynamicCache(config=model.config)
    logits = model(input_ids=inp, attention_mask=mask, position_ids=pos, use_cache=True, logits_to_keep=1,
                   **{arg: cache}).logits
    return cache, mask, pos[:, -1], logits[:, -1].argmax(-1)


def _cache_arg(model: Any) -> str:
    """The forward's name for the KV cache: `cache` (transformers >= 5.24), else `past_key_values`."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _encode(tokenizer: Any, kind: str, r: GenRequest, max_length: int) -> list[int]:
    ids = tokenizer.encode(r.context)
    eos = tokenizer.eos_token_id
    if kind == "encoder-decoder" and eos is not None and (not ids or ids[-1] != eos):
        ids.append(eos)  # the encoder input ends with EOS, as training builds it
    if not ids:
        raise FlanlabError(f"{r.where}: the prompt tokenizes to nothing")
    room = max_length if kind == "encoder-decoder" else max_length - r.max_new_tokens
    if room < 1:
        raise FlanlabError(f"{r.where}: max_new_tokens={r.max_new_tokens} leaves no room for the prompt in the "
                           f"model's {max_length}-token window")
    return ids[-room:]


def _generate_batch(model: Any, tokenizer: Any, kind: str, ids: list[list[int]], reqs: list[GenRequest],
                    opts: DecodeOptions) -> list[Generation]:
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(x) for x in ids)
    left = kind == "decoder"  # decoder prompts end where generation starts: pad on the left
    rows = [([pad] * (width - len(x)) + x) if left else (x + [pad] * (width - len(x))) for x in ids]
    mask = [([0] * (width - len(x)) + [1] * len(x)) if left else ([1] * len(x) + [0] * (width - len(x))) for x in ids]
    dev = next(model.parameters()).device
    stop = sorted({s for r in reqs for s in r.stop if s})
    kw: dict[str, Any] = dict(max_new_tokens=max(r.max_new_tokens for r in reqs), num_beams=opts.num_beams,
                              do_sample=opts.do_sample, pad_token_id=pad, eos_token_id=tokenizer.eos_token_id)
    if opts.do_sample:
        kw.update(temperature=opts.temperature, top_p=opts.top_p)
    else:  # keep the model's sampling defaults out of greedy/beam decoding (no warnings, no surprises)
        kw.update(temperature=None, top_p=None, top_k=None)
    if stop:
        from transformers import StoppingCriteriaList

        kw.update(stopping_criteria=StoppingCriteriaList([StopAfterContent(tokenizer, stop)]))
    kw.update(opts.extra)
    out = model.generate(input_ids=torch.tensor(rows, device=dev), attention_mask=torch.tensor(mask, device=dev), **kw)
    new = out[:, width:] if left else out[:, 1:]  # decoder: drop the prompt; enc-dec: drop the start token
    return [_finish(tokenizer, row.tolist(), r) for row, r in zip(new, reqs)]


def _finish(tokenizer: Any, tokens: list[int], req: GenRequest) -> Generation:
    eos = tokenizer.eos_token_id
    tokens = tokens[:req.max_new_tokens]  # a batch generates up to its longest request's budget
    hit_eos = eos in tokens
    if hit_eos:  # generate pads a finished row after its EOS: everything from the EOS on goes
        tokens = tokens[:tokens.index(eos)]
    pad = tokenizer.pad_token_id
    while req.stop and tokens and tokens[-1] == pad and not hit_eos:  # a row a stop string ended is padded after
        tokens.pop()
    text, hit_stop = cut_at_stop(tokenizer.decode(tokens, skip_special_tokens=True), req.stop)
    # ended early without EOS: a stop string did it (possibly one spanning the prompt's end)
    early = bool(req.stop) and len(tokens) < req.max_new_tokens
    stopped = "eos" if hit_eos else "stop" if (hit_stop or early) else "length"
    return Generation(text.strip(), len(tokens), stopped)
