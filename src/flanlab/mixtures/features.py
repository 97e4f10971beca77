"""Text -> token features: batched fast tokenization, EOS joining, truncation that is counted.

    stats = TokenStats()
    feats = tokenize([("Is it true?", "yes")], tok, kind="decoder", stats=stats)
    feats[0].input_ids   # [... input ..., EOS, ... target ..., EOS]
    feats[0].n_prompt    # tokens before the target: labels are -100 there (input and its EOS)

Decoder-only: `input EOS target EOS` in one sequence, loss on the target tokens and the final EOS.
With `chat=True` (a chat model's own template, `mixtures.chat`): `chat prompt | completion` instead, the
template's special tokens in place of the EOS joins, loss on the completion (target and end of turn).
Encoder-decoder: `input EOS` and `target EOS` as separate sequences (`target_ids`).
A BOS is prepended only when the tokenizer itself adds one (Llama-style tokenizers).

Inputs longer than `max_input_len` (1024) and targets longer than `max_target_len` (256) are cut at the
end (`on_overlong="truncate"`, counted in `TokenStats`), skipped and counted (`"skip"`), or refused with
an error naming the task, template and example (`"error"`). Nothing is dropped silently. `tokenize` is the
one place with this policy: the cached mixture stream (`flanlab.mixtures.stream`) calls it too, and records
per example what it did (`flags`: F_IN, F_TG, F_SKIP).

`IGNORE` (-100) is the label of tokens without a loss, for the whole code base (transformers' convention).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import FlanlabError

KINDS = ("decoder", "encoder-decoder")
OVERLONG = ("truncate", "skip", "error")
IGNORE = -100  # label of a token without a loss (prompt tokens, padding)
F_IN, F_TG, F_SKIP = 1, 2, 4  # per-example flags: input cut, target cut, skipped as over-long


@dataclass(slots=True)
class Features:
    input_ids: list[int]            # decoder: [BOS] input EOS target EOS; encoder-decoder: input EOS
    n_prompt: int = 0               # decoder: leading tokens without loss
    target_ids: list[int] | None = None  # encoder-decoder: target EOS
    position: int = -1              # stream position of the example
    task: str = ""
    template_id: str = ""


@dataclass
class TokenStats:
    """What tokenization did; reported next to every mixture build."""

    examples: int = 0
    input_truncated: int = 0
    target_truncated: int = 0
    skipped_overlong: int = 0
    template_skipped: int = 0       # draws no template admits (counted by the stream)
    input_tokens: int = 0
    target_tokens: int = 0
    per_task_truncated: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"examples": self.examples, "input_truncated": self.input_truncated,
                "target_truncated": self.target_truncated, "skipped_overlong": self.skipped_overlong, "template_skipped": self.template_skipped,
                "input_tokens": self.input_tokens, "target_tokens": self.target_tokens,
                "per_task_truncated": dict(sorted(self.per_task_truncated.items()))}


def special_ids(tokenizer) -> tuple[list[int], int]:
    """(BOS prefix the tokenizer adds by itself, EOS id)."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise FlanlabError(f"tokenizer {getattr(tokenizer, 'name_or_path', '?')!r} has no EOS token; "
                           "flanlab joins input and target with EOS")
    bos = tokenizer.bos_token_id
    with_special = tokenizer("x", add_special_tokens=True)["input_ids"]
    adds_bos = bos is not None and len(with_special) > 0 and with_special[0] == bos and bos != eos
    return ([bos] if adds_bos else []), eos


def encode(tokenizer, texts: list[str]) -> list[list[int]]:
    """Token ids of texts without special tokens, in one batched call.

    Fast tokenizers go straight to the Rust backend's `encode_batch_fast` (no offsets computed): the same
    ids as `tokenizer(texts, add_special_tokens=False)`, tested, at a fraction of the Python overhead.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None) if getattr(tokenizer, "is_fast", False) else None
    if backend is not None and hasattr(backend, "encode_batch_fast"):
        return [e.ids for e in backend.encode_batch_fast(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def tokenizer_fingerprint(tokenizer) -> str:
    """A stable identity for cache keys: name, vocabulary size and a hash of the tokenizer's JSON."""
    import hashlib

    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    blob = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    h = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return f"{getattr(tokenizer, 'name_or_path', '') or 'tok'}:{len(tokenizer)}:{h}"


def _check_args(kind: str, max_input_len: int, max_target_len: int, on_overlong: str) -> None:
    if kind not in KINDS:
        raise FlanlabError(f"unknown model kind {kind!r}; known: {', '.join(KINDS)}")
    if on_overlong not in OVERLONG:
        raise FlanlabError(f"unknown on_overlong {on_overlong!r}; known: {', '.join(OVERLONG)}")
    if max_input_len < 1 or max_target_len < 1:
        raise FlanlabError(f"max_input_len ({max_input_len}) and max_target_len ({max_target_len}) must be >= 1")


def tokenize(pairs: Sequence[tuple[str, str]], tokenizer, *, kind: str = "decoder", max_input_len: int = 1024,
             max_target_len: int = 256, on_overlong: str = "truncate", stats: TokenStats | None = None,
             meta: Sequence[tuple] | None = None, flags: list[int] | None = None,
             chat: bool = False) -> list[Features]:
    """Tokenize (inputs, targets) pairs in one batched call each; `meta` = (position, task, template_id[,
    example name for messages]). `chat`: render each pair with the tokenizer's chat template first
    (decoder-only models).

    Returns one Features per kept pair (a skipped pair is counted in `stats.skipped_overlong`). `flags`, if
    given, receives one entry per pair: F_IN / F_TG (cut), F_SKIP (skipped), 0 (untouched).
    """
    _check_args(kind, max_input_len, max_target_len, on_overlong)
    stats = stats if stats is not None else TokenStats()
    if not pairs:
        return []
    bos, eos = special_ids(tokenizer)
    if chat:
        if kind != "decoder":
            raise FlanlabError("chat_template applies to decoder-only chat models, not encoder-decoder models")
        from .chat import chat_pair

        pairs = [chat_pair(tokenizer, x, y) for x, y in pairs]
    enc_in = encode(tokenizer, [p[0] for p in pairs])
    enc_tg = encode(tokenizer, [p[1] for p in pairs])
    out: list[Features] = []
    for i, (x, y) in enumerate(zip(enc_in, enc_tg)):
        pos, task, tid = meta[i][:3] if meta is not None else (i, "", "")
        cut_x, cut_y = len(x) > max_input_len, len(y) > max_target_len
        fl = (F_IN if cut_x else 0) | (F_TG if cut_y else 0)
        if fl:
            if on_overlong == "error":
                which, n, lim = ("input", len(x), max_input_len) if cut_x else ("target", len(y), max_target_len)
                name = meta[i][3] if meta is not None and len(meta[i]) > 3 else f"at position {pos}"
                raise FlanlabError(f"task {task!r}, template {tid!r}, example {name}: {which} has {n} tokens, more "
                                   f"than the limit {lim} (raise max_{which}_len, or set on_overlong=truncate|skip)")
            if on_overlong == "skip":
                stats.skipped_overlong += 1
                if flags is not None:
                    flags.append(fl | F_SKIP)
                continue
            stats.input_truncated += cut_x
            stats.target_truncated += cut_y
            stats.per_task_truncated[task] = stats.per_task_truncated.get(task, 0) + 1
            x, y = x[:max_input_len], y[:max_target_len]
        if flags is not None:
            flags.append(fl)
        stats.examples += 1
        stats.input_tokens += len(x)
        stats.target_tokens += len(y)
        if chat:  # the template's own tokens delimit the turns
            out.append(Features(x + y, len(x), None, pos, task, tid))
        elif kind == "decoder":
            prompt = bos + x + [eos]
            out.append(Features(prompt + y + [eos], len(prompt), None, pos, task, tid))
        else:
            out.append(Features(x + [eos], 0, y + [eos], pos, task, tid))
    return out


def tokenize_rendered(items: Sequence[Any], tokenizer, **kw: Any) -> list[Features]:
    """Tokenize `MixExample`s / `Rendered`s (anything with inputs, targets; position and task if present)."""
    pairs = [(r.inputs, r.targets) for r in items]
    meta = [(getattr(r, "position", i), r.task, r.template_id) for i, r in enumerate(items)]
    return tokenize(pairs, tokenizer, meta=meta, **kw)
