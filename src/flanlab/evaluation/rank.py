"""Rank classification: score every option of a prompt by the summed log-probability of its tokens.

    reqs = [RankRequest("Premise ... OPTIONS:\\n- yes\\n- no", ("\\nyes", "\\nno"))]
    scores = score(model, tokenizer, "decoder", reqs, batch_size=16)
    scores[0][1].logprob, scores[0][1].n_tokens, scores[0][1].per_char

How the work is shared (nothing is computed twice):
- decoder-only: one row per prompt, laid out `[left pad | prompt | option 1 | option 2 | ...]`. A 4D mask
  lets each option attend to the prompt and to its own earlier tokens only, and its position ids continue
  the prompt's, so every option sees exactly what it would see alone, while the prompt is encoded once.
  The LM head runs only on the columns that predict option tokens (`logits_to_keep`), not on the prompt.
- encoder-decoder: the encoder runs once per prompt; the decoder scores all its options in one batch
  against the shared encoder output.
- requests are sorted by length (longest first) and batched, so padding is small; results come back in
  the caller's order. Left padding + explicit position ids + masks make scores independent of the batch.

The prompt/option token boundary is handled by `encode_pair` (the one place with the whitespace rule).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import FlanlabError


@dataclass(frozen=True)
class RankRequest:
    context: str
    continuations: tuple[str, ...]  # what is scored after the context (the target delimiter included)
    where: str = ""  # "task rte, template 01, example rte:validation:3": for error messages


@dataclass(frozen=True)
class OptionScore:
    logprob: float  # sum of the log-probabilities of the option's tokens
    n_tokens: int
    n_chars: int
    greedy: bool = False  # every option token is the argmax at its position (lm-eval's is_greedy)

    @property
    def per_token(self) -> float:
        return self.logprob / max(self.n_tokens, 1)

    @property
    def per_char(self) -> float:
        return self.logprob / max(self.n_chars, 1)


@dataclass(frozen=True)
class Encoded:
    index: int
    context: list[int]
    options: list[list[int]]

    @property
    def length(self) -> int:
        return len(self.context) + sum(len(o) for o in self.options)


def encode_pair(tokenizer: Any, context: str, continuation: str, kind: str = "decoder") -> tuple[list[int], list[int]]:
    """Token ids of (context, continuation), split as the model sees them in context.

    The whitespace rule (as lm-evaluation-harness): trailing whitespace of the context moves to the
    continuation, so "Answer: " + "yes" is scored as "Answer:" + " yes" (one word-initial token).
    Decoder-only: the joint string is tokenized once and the continuation is whatever follows the
    context's own token count, so the option's tokens are the ones it gets in context. Encoder-decoder:
    the target is its own sequence (no special tokens added).

    >>> encode_pair(tok, "Answer: ", "yes")   # -> ([...ids of "Answer:"], [id of " yes"])
    """
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    if kind == "encoder-decoder":  # encoder input ends with EOS (as training builds it); target alone
        ctx = tokenizer.encode(context)
        if tokenizer.eos_token_id is not None and (not ctx or ctx[-1] != tokenizer.eos_token_id):
            ctx.append(tokenizer.eos_token_id)
        return ctx, tokenizer.encode(continuation, add_special_tokens=False)
    if not context:
        # no context: condition on the BOS (or EOS) token, as lm-eval does
        prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
        return [prefix], tokenizer.encode(continuation)
    ctx = tokenizer.encode(context)
    whole = tokenizer.encode(context + continuation)
    return ctx, whole[len(ctx):]


def encode_requests(tokenizer: Any, kind: str, requests: Sequence[RankRequest], max_length: int) -> list[Encoded]:
    out = []
    for i, req in enumerate(requests):
        if not req.continuations:
            raise FlanlabError(f"{req.where or f'request {i}'}: no options to score")
        ctx, opts = None, []
        for cont in req.continuations:
            c, o = encode_pair(tokenizer, req.context, cont, kind)
            if not o:
                raise FlanlabError(f"{req.where or f'request {i}'}: option {cont!r} tokenizes to nothing "
                                   "(an empty or whitespace-only option cannot be scored)")
            ctx = c if ctx is None else ctx
            opts.append(o)
        longest = max(len(o) for o in opts)
        if longest >= max_length:
            raise FlanlabError(f"{req.where or f'request {i}'}: an option is {longest} tokens long, more than "
                               f"the model's {max_length}-token window")
        if kind == "decoder" and len(ctx) + longest > max_length:
            ctx = ctx[-(max_length - longest):]  # keep the end of the prompt, where the question is
        elif kind == "encoder-decoder" and len(ctx) > max_length:
            ctx = ctx[-max_length:]
        out.append(Encoded(i, ctx, opts))
    return out


def batches(items: list[Encoded], batch_size: int, max_tokens: int | None = None) -> list[list[Encoded]]:
    """Longest first; a batch holds at most `batch_size` requests and about `max_tokens` padded tokens."""
    items = sorted(items, key=lambda e: (-e.length, e.index))
    out: list[list[Encoded]] = []
    for e in items:
        if out and len(out[-1]) < batch_size and (
                max_tokens is None or out[-1][0].length * (len(out[-1]) + 1) <= max_tokens):
            out[-1].append(e)
        else:
            out.append([e])
    return out


def score(model: Any, tokenizer: Any, kind: str, requests: Sequence[RankRequest], *, batch_size: int = 16,
          max_length: int | None = None, max_tokens: int | None = None,
          progress: Callable[[int], None] | None = None) -> list[list[OptionScore]]:
    """Score every continuation of every request; results in request order, options in their order."""
    import torch

    max_length = max_length or model_max_length(model, tokenizer)
    encoded = encode_requests(tokenizer, kind, requests, max_length)
    results: list[list[OptionScore] | None] = [None] * len(encoded)
    run = _decoder_batch if kind == "decoder" else _encoder_decoder_batch
    with torch.inference_mode():
        for batch in batches(encoded, max(1, batch_size), max_tokens):
            for enc, scores in zip(batch, run(model, tokenizer, batch)):
                results[enc.index] = [OptionScore(lp, n, len(c), g) for (lp, n, g), c in
                                      zip(scores, requests[enc.index].continuations)]
            if progress:
                progress(len(batch))
    return results  # type: ignore[return-value]


def model_max_length(model: Any, tokenizer: Any) -> int:
    cfg = model.config
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        v = getattr(cfg, name, None)
        if isinstance(v, int) and v > 0:
            return v
    v = getattr(tokenizer, "model_max_length", None)
    return v if isinstance(v, int) and 0 < v < 1_000_000 else 2048


def _device(model: Any):
    return next(model.parameters()).device


def _layout(batch: list[Encoded], pad_id: int):
    """Row tensors for the packed decoder layout: ids, positions, segment ids, and which columns to score.

    segment: -1 pad, 0 prompt, k+1 option k. `targets` lists (row, column of the predicting logit, token id,
    request-local option index) for every option token.
    """
    import torch

    width_ctx = max(len(e.context) for e in batch)
    width = width_ctx + max(sum(len(o) for o in e.options) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    pos = torch.zeros((len(batch), width), dtype=torch.long)
    seg = torch.full((len(batch), width), -1, dtype=torch.long)
    rows, cols, toks, opt_of = [], [], [], []
    for r, e in enumerate(batch):
        n = len(e.context)
        start = width_ctx - n
        ids[r, start:width_ctx] = torch.tensor(e.context)
        pos[r, start:width_ctx] = torch.arange(n)
        seg[r, start:width_ctx] = 0
        col = width_ctx
        for k, opt in enumerate(e.options):
            m = len(opt)
            ids[r, col:col + m] = torch.tensor(opt)
            pos[r, col:col + m] = torch.arange(n, n + m)
            seg[r, col:col + m] = k + 1
            # token j of the option is predicted by the column before it; token 0 by the prompt's last column
            pred_cols = [width_ctx - 1] + list(range(col, col + m - 1))
            rows += [r] * m
            cols += pred_cols
            toks += opt
            opt_of += [k] * m
            col += m
    return ids, pos, seg, width_ctx, (rows, cols, toks, opt_of)


def _packed_mask(seg, dtype_float, additive: bool):
    """(B, 1, T, T) mask: prompt tokens see earlier prompt tokens; an option sees the prompt and itself."""
    import torch

    t = seg.shape[1]
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    q, k = seg[:, :, None], seg[:, None, :]
    allowed = causal & (((k == 0) & (q >= 0)) | ((k == q) & (q > 0)))
    allowed |= torch.eye(t, dtype=torch.bool) & (q == -1)  # pads see themselves: no all-masked softmax row
    allowed = allowed[:, None]
    if not additive:
        return allowed
    return torch.zeros(allowed.shape, dtype=dtype_float).masked_fill(~allowed, torch.finfo(dtype_float).min)


def _collect(logits, rows, cols, toks, opt_of, batch: list[Encoded]) -> list[list[tuple[float, int, bool]]]:
    """Per option: (summed log-probability, token count, greedy) from the kept logits."""
    import torch

    dev = logits.device
    sel = logits[torch.tensor(rows, device=dev), torch.tensor(cols, device=dev)]  # (N, V): only the needed rows
    if sel.dtype in (torch.float16, torch.bfloat16):
        sel = sel.float()  # reduce in fp32 at least; fp32/fp64 models keep their own precision
    tok = torch.tensor(toks, device=dev)
    lp = sel.gather(1, tok[:, None]).squeeze(1) - torch.logsumexp(sel, dim=-1)
    greedy = sel.argmax(-1) == tok
    out = [[[0.0, 0, True] for _ in e.options] for e in batch]
    for r, k, v, g in zip(rows, opt_of, lp.tolist(), greedy.tolist()):
        acc = out[r][k]
        acc[0] += v
        acc[1] += 1
        acc[2] = acc[2] and g
    return [[(a[0], a[1], a[2]) for a in row] for row in out]


def _decoder_batch(model: Any, tokenizer: Any, batch: list[Encoded]):
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids, pos, seg, width_ctx, (rows, cols, toks, opt_of) = _layout(batch, pad)
    impl = getattr(model.config, "_attn_implementation", "sdpa") or "sdpa"
    dtype = next(model.parameters()).dtype
    mask = _packed_mask(seg, dtype, additive=(impl == "eager"))
    dev = _device(model)
    first = width_ctx - 1  # the first column whose logits we need
    out = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev), use_cache=False,
                logits_to_keep=ids.shape[1] - first)
    return _collect(out.logits, rows, [c - first for c in cols], toks, opt_of, batch)


def _encoder_decoder_batch(model: Any, tokenizer: Any, batch: list[Encoded]):
    import torch

    dev = _device(model)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    enc_ids = _right_pad([e.context for e in batch], pad).to(dev)
    enc_mask = (_right_pad([[1] * len(e.context) for e in batch], 0)).to(dev)
    hidden = model.get_encoder()(input_ids=enc_ids, attention_mask=enc_mask).last_hidden_state
    owner = [r for r, e in enumerate(batch) for _ in e.options]
    opts = [o for e in batch for o in e.options]
    start = model.config.decoder_start_token_id
    start = pad if start is None else start
    dec_in = _right_pad([[start] + o[:-1] for o in opts], pad).to(dev)
    dec_mask = _right_pad([[1] * len(o) for o in opts], 0).to(dev)
    idx = torch.tensor(owner, device=dev)
    out = model(encoder_outputs=(hidden.index_select(0, idx),), attention_mask=enc_mask.index_select(0, idx),
                decoder_input_ids=dec_in, decoder_attention_mask=dec_mask, use_cache=False)
    rows = [i for i, o in enumerate(opts) for _ in o]
    cols = [j for o in opts for j in range(len(o))]
    toks = [t for o in opts for t in o]
    flat = _collect(out.logits, rows, cols, toks, [0] * len(rows), [Encoded(i, [], [o]) for i, o in enumerate(opts)])
    result: list[list[tuple[float, int, bool]]] = [[] for _ in batch]
    for r, s in zip(owner, flat):
        result[r].append(s[0])
    return result


def _right_pad(seqs: list[list[int]], pad: int):
    import torch

    width = max(len(s) for s in seqs)
    return torch.tensor([s + [pad] * (width - len(s)) for s in seqs], dtype=torch.long)
