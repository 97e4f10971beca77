"""Generation for the generative tasks: greedy by default (beam search and sampling as options).

    reqs = [GenRequest("Translate to French: Hello.", max_new_tokens=32, stop=("\\n\\n",))]
    outs = generate(model, tokenizer, "decoder", reqs, batch_size=8)
    outs[0].text, outs[0].stopped      # "Bonjour.", "eos" | "stop" | "length"

A generation ends at EOS, at the first stop string (the text is cut there) or after `max_new_tokens`
(`stopped == "length"`: a generation that never stopped; the runner counts and reports these). Decoder
prompts are left-padded (position ids follow the attention mask), so the output does not depend on the
batch; requests are sorted by length and batched.
"""

from __future__ import annotations

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
             options: DecodeOptions | None = None, max_length: int | None = None,
             progress: Callable[[int], None] | None = None) -> list[Generation]:
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
    with torch.inference_mode():
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
