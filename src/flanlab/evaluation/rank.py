"""Rank classification: score every option of a prompt by the summed log-probability of its tokens.

    reqs = [RankRequest("Premise ... OPTIONS:\\n- yes\\n- no", ("\\nyes", "\\nno"))]
    scores = score(model, tokenizer, "decoder", reqs, batch_size=16)
    scores[0][1].logprob, scores[0][1].n_tokens, scores[0][1].per_char

How the work is shared (nothing is computed twice):
- decoder-only: one row per prompt, laid out `[left pad | prompt | trie nodes ...]`, where the trie is built
  over the prompt's options (their in-context token ids), so leading tokens that options share get one
  column: options "a b c", "a b d", "a" -> nodes a, b, c, d. A 4D mask lets a node attend to the prompt, its
  ancestors and itself; its position id is len(prompt) + depth, so every token sees exactly what it would
  see in a separate forward of prompt + option, while the prompt and each shared prefix are encoded once.
  A node's log-probability is computed once, from its parent's column (the prompt's last column for a first
  token); an option's score sums the nodes on its path. The LM head runs only on the prompt's last column
  and the nodes that have children (`logits_to_keep`), not on the prompt or on leaves.
- encoder-decoder: the encoder runs once per prompt; the decoder scores all its options in one batch
  against the shared encoder output.
- requests are sorted by length (longest first) and batched, so padding is small; results come back in
  the caller's order. Left padding + explicit position ids + masks make scores independent of the batch.

The prompt/option token boundary is handled by `encode_pair` (the one place with the whitespace rule).
With `RankRequest.eos`, the EOS token id is appended to every option's tokens (an option is scored as a
whole answer, `option EOS`, the way training targets end); its log-probability counts in the option's score
and `n_tokens`, not in `n_chars`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..errors import FlanlabError


@dataclass(frozen=True)
class RankRequest:
    context: str
    continuations: tuple[str, ...]  # what is scored after the context (the target delimiter included)
    where: str = ""
    # score every continuation followed by the EOS token, as FLAN's training targets end: the option is then a
    # whole answer, so "no" is not favoured over "no, not at all" for being its prefix
    eos: bool = False  # "task rte, template 01, example rte:validation:3": for error messages


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
class Trie:
    """The options of one prompt as a token trie, one node per distinct (prefix, token).

    Nodes are numbered internal first (nodes with children: the ones whose column predicts a token), then
    leaves; a parent always comes before its children, so the layout's mask stays lower-triangular.
    options [[5, 6, 7], [5, 6, 8], [5]] -> tokens [5, 6, 7, 8], parent [-1, 0, 1, 1], depth [0, 1, 2, 2],
    paths [[0, 1, 2], [0, 1, 3], [0]], n_internal 2.
    """
    tokens: list[int]
    parent: list[int]  # -1: the node's token is predicted by the prompt's last column
    depth: list[int]  # 0 for an option's first token
    paths: list[list[int]]  # per option (duplicates included), its nodes in token order
    n_internal: int

    def sees(self):
        """(m, m) bool numpy array: node i attends to node j (j is i or an ancestor of i).

        One vectorised row operation per node (row i = its parent's row + itself; parents come first),
        instead of m^2 Python index pairs: on long options the layout was ~40% of scoring a tiny model.
        """
        import numpy as np

        m = len(self.tokens)
        out = np.eye(m, dtype=bool)
        for i, p in enumerate(self.parent):
            if p >= 0:
                out[i] |= out[p]
        return out


def build_trie(options: Sequence[Sequence[int]]) -> Trie:
    """The token trie of one prompt's options (see `Trie`); identical options share one path."""
    child: dict[tuple[int, int], int] = {}  # (parent node, token) -> node, in insertion order
    tokens, parent, paths = [], [], []
    for opt in options:
        node, path = -1, []
        for t in opt:
            if (node, t) not in child:
                child[node, t] = len(tokens)
                tokens.append(t)
                parent.append(node)
            node = child[node, t]
            path.append(node)
        paths.append(path)
    # internal nodes first: the columns the LM head must see are then one contiguous block after the prompt
    internal = {p for p in parent if p >= 0}
    order = sorted(range(len(tokens)), key=lambda i: (i not in internal, i))
    new = {old: k for k, old in enumerate(order)}
    par = [new[parent[i]] if parent[i] >= 0 else -1 for i in order]
    depth: list[int] = []
    for p in par:
        depth.append(depth[p] + 1 if p >= 0 else 0)
    return Trie([tokens[i] for i in order], par, depth, [[new[n] for n in path] for path in paths], len(internal))


@dataclass(frozen=True)
class Encoded:
    index: int
    context: list[int]
    options: list[list[int]]
    shared: bool = True  # decoder layout, options share a trie; False: one decoder row per option (enc-dec)

    @cached_property
    def trie(self) -> Trie:
        return build_trie(self.options)

    @property
    def length(self) -> int:
        """Columns this request needs: the prompt plus one per trie node (or per option token, unshared)."""
        if not self.shared:
            return len(self.context) + sum(len(o) for o in self.options)
        return len(self.context) + len(self.trie.tokens)


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
        eos = _eos_id(tokenizer, req) if req.eos else None
        for cont in req.continuations:
            c, o = encode_pair(tokenizer, req.context, cont, kind)
            if not o:
                raise FlanlabError(f"{req.where or f'request {i}'}: option {cont!r} tokenizes to nothing "
                                   "(an empty or whitespace-only option cannot be scored)")
            ctx = c if ctx is None else ctx
            opts.append(o + [eos] if eos is not None else o)
        longest = max(len(o) for o in opts)
        if longest >= max_length:
            raise FlanlabError(f"{req.where or f'request {i}'}: an option is {longest} tokens long, more than "
                               f"the model's {max_length}-token window")
        if kind == "decoder" and len(ctx) + longest > max_length:
            ctx = ctx[-(max_length - longest):]  # keep the end of the prompt, where the question is
        elif kind == "encoder-decoder" and len(ctx) > max_length:
            ctx = ctx[-max_length:]
        out.append(Encoded(i, ctx, opts, shared=kind == "decoder"))
    return out


def _eos_id(tokenizer: Any, req: RankRequest) -> int:
    eos = tokenizer.eos_token_id
    if eos is None:
        raise FlanlabError(f"{req.where or 'rank request'}: the tokenizer has no EOS token to end the options with "
                           "(--set rank_eos=false scores the options alone)")
    return int(eos)


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
    """Row tensors for the packed decoder layout: ids, positions, the (B, 1, T, T) bool mask, the columns the
    LM head keeps, and the targets.

    Columns: `[left pad | prompt | trie nodes | right pad]`, the prompts right-aligned at `width_ctx`.
    The targets (rows, cols, toks) hold (row, column of the predicting logit, token id) for every trie node,
    row after row, in node order.
    """
    import torch

    width_ctx = max(len(e.context) for e in batch)
    width = width_ctx + max(len(e.trie.tokens) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    pos = torch.zeros((len(batch), width), dtype=torch.long)
    allowed = torch.eye(width, dtype=torch.bool).repeat(len(batch), 1, 1)  # pads see themselves: no empty row
    rows, cols, toks = [], [], []
    for r, e in enumerate(batch):
        n, trie = len(e.context), e.trie
        start, m = width_ctx - n, len(trie.tokens)
        ids[r, start:width_ctx] = torch.tensor(e.context)
        pos[r, start:width_ctx] = torch.arange(n)
        allowed[r, start:width_ctx, start:width_ctx] = torch.ones(n, n, dtype=torch.bool).tril()
        ids[r, width_ctx:width_ctx + m] = torch.tensor(trie.tokens)
        pos[r, width_ctx:width_ctx + m] = n + torch.tensor(trie.depth)
        allowed[r, width_ctx:width_ctx + m, start:width_ctx] = True  # every node sees the whole prompt
        allowed[r, width_ctx:width_ctx + m, width_ctx:width_ctx + m] = torch.from_numpy(trie.sees())
        rows += [r] * m
        cols += [width_ctx + p if p >= 0 else width_ctx - 1 for p in trie.parent]
        toks += trie.tokens
    # the head sees the prompt's last column and the internal nodes (numbered first), never the leaves
    keep = torch.arange(width_ctx - 1, width_ctx + max(e.trie.n_internal for e in batch))
    return ids, pos, allowed[:, None], keep, (rows, cols, toks)


def _additive(allowed, dtype_float):
    """Eager attention adds the mask to the scores: 0 where allowed, the dtype's minimum elsewhere."""
    import torch

    return torch.zeros(allowed.shape, dtype=dtype_float).masked_fill(~allowed, torch.finfo(dtype_float).min)


def _token_logprobs(logits, rows, cols, toks) -> tuple[list[float], list[bool]]:
    """Log-probability of each (row, column, token) target, and whether the token is the argmax there."""
    import torch

    dev = logits.device
    sel = logits[torch.tensor(rows, device=dev), torch.tensor(cols, device=dev)]  # (N, V): only the needed rows
    if sel.dtype in (torch.float16, torch.bfloat16):
        sel = sel.float()  # reduce in fp32 at least; fp32/fp64 models keep their own precision
    tok = torch.tensor(toks, device=dev)
    lp = sel.gather(1, tok[:, None]).squeeze(1) - torch.logsumexp(sel, dim=-1)
    return lp.tolist(), (sel.argmax(-1) == tok).tolist()


def _sum_paths(lp: list[float], greedy: list[bool], paths: list[list[int]]) -> list[tuple[float, int, bool]]:
    """Per option: (summed log-probability, token count, greedy) over its nodes, in token order."""
    out = []
    for path in paths:
        total = 0.0
        for i in path:
            total += lp[i]
        out.append((total, len(path), all(greedy[i] for i in path)))
    return out


def _decoder_batch(model: Any, tokenizer: Any, batch: list[Encoded]):
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids, pos, allowed, keep, (rows, cols, toks) = _layout(batch, pad)
    impl = getattr(model.config, "_attn_implementation", "sdpa") or "sdpa"
    mask = _additive(allowed, next(model.parameters()).dtype) if impl == "eager" else allowed
    dev = _device(model)
    out = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=pos.to(dev), use_cache=False,
                logits_to_keep=keep.to(dev))
    lp, greedy = _token_logprobs(out.logits, rows, [c - int(keep[0]) for c in cols], toks)
    result, at = [], 0
    for e in batch:
        m = len(e.trie.tokens)
        result.append(_sum_paths(lp[at:at + m], greedy[at:at + m], e.trie.paths))
        at += m
    return result


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
    lp, greedy = _token_logprobs(out.logits, rows, cols, toks)
    flat, at = [], 0
    for o in opts:  # the flat targets are option after option, so each option's path is a range
        flat.append(_sum_paths(lp, greedy, [list(range(at, at + len(o)))])[0])
        at += len(o)
    result: list[list[tuple[float, int, bool]]] = [[] for _ in batch]
    for r, s in zip(owner, flat):
        result[r].append(s)
    return result


def _right_pad(seqs: list[list[int]], pad: int):
    import torch

    width = max(len(s) for s in seqs)
    return torch.tensor([s + [pad] * (width - len(s)) for s in seqs], dtype=torch.long)
