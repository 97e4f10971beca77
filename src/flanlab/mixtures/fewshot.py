"""Few-shot prompts (paper section 4.4), one function for training mixtures and for evaluation.

    shot = build(task, tset, template, example, pool, length=token_length(tok), k=16, budget=960)
    shot.rendered.inputs   # instruct(x1) ⊕ y1 ⊕ ... ⊕ instruct(xk) ⊕ yk ⊕ instruct(x)
    shot.shots             # exemplars that fitted (<= k), shot.exemplar_ids

Layout, with `answer_separator` between an input and its answer and `separator` between exemplars:

    {instruct(x1)}\\n\\n{y1}\\n\\n\\n{instruct(x2)}\\n\\n{y2}\\n\\n\\n{instruct(x)}

Exemplars come from `pool` (the caller's candidates from the training split, in the order to try); the
example itself (same `id`) is never one of them, nor are candidates its template's `when` excludes.
Exemplars are rendered with the example's template and mode. They are added in order while exemplars +
input stay within `budget` tokens, counted exactly on the joined prompt with `length` (a tokenizer's
length function; see `token_length`). When no exemplar fits, `strict=True` raises a FewShotBudgetError
naming the task, template and sizes; otherwise the prompt is zero-shot and `shots == 0` (callers count it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from ..errors import FlanlabError
from ..tasks.render import Rendered, render

LengthFn = Callable[[str], int]


class FewShotBudgetError(FlanlabError):
    pass


@dataclass(frozen=True)
class FewShot:
    rendered: Rendered        # inputs = the whole few-shot prompt; targets = the example's answer
    shots: int
    exemplar_ids: tuple[str, ...]
    requested: int


def token_length(tokenizer) -> LengthFn:
    """Tokens of a text as the model sees it (no special tokens)."""
    def length(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])
    return length


def join(parts: list[tuple[str, str]], query: str, separator: str = "\n\n\n", answer_separator: str = "\n\n") -> str:
    """[(input, answer), ...] + query -> the few-shot prompt."""
    return "".join(f"{x}{answer_separator}{y}{separator}" for x, y in parts) + query


def build(task, tset, template, example: dict[str, Any], pool: Iterable[dict[str, Any]], *, length: LengthFn,
          k: int = 16, budget: int = 960, separator: str = "\n\n\n", answer_separator: str = "\n\n",
          mode: str = "natural", strict: bool = False) -> FewShot | None:
    """Few-shot prompt for `example` (see the module docstring); None if the template excludes the example."""
    if k < 0 or budget < 1:
        raise FlanlabError(f"few-shot needs k >= 0 and budget >= 1 (got k={k}, budget={budget})")
    query = render(task, tset, template, example, mode=mode)
    if query is None:
        return None
    own = str(example.get("id", ""))
    q_len = length(query.inputs)
    parts: list[tuple[str, str]] = []
    ids: list[str] = []
    used = q_len
    first_need = None
    for cand in pool:
        if len(parts) >= k:
            break
        cid = str(cand.get("id", ""))
        if cid == own or cid in ids:
            continue
        r = render(task, tset, template, cand, mode=mode)
        if r is None:
            continue
        need = length(r.inputs) + length(r.targets) + length(answer_separator) + length(separator)
        first_need = need if first_need is None else first_need
        if used + need > budget:
            break
        parts.append((r.inputs, r.targets))
        ids.append(cid)
        used += need
    prompt = join(parts, query.inputs, separator, answer_separator)
    while parts and length(prompt) > budget:  # piecewise counts can differ from the joined text's
        parts.pop()
        ids.pop()
        prompt = join(parts, query.inputs, separator, answer_separator)
    if k > 0 and not parts and strict:
        raise FewShotBudgetError(
            f"few-shot budget of {budget} tokens is too small for one exemplar: task {task.name!r}, template "
            f"{query.template_id!r}, example {own!r}: its input takes {q_len} tokens"
            + (f", the first exemplar {first_need}" if first_need is not None else ", and no exemplar is available"))
    return FewShot(replace(query, inputs=prompt), len(parts), tuple(ids), k)
