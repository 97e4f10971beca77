"""Coreference resolution: DPR, Winogrande, WSC273, posed as sentence completion (as the paper does).

    python -c "import flanlab.tasks as t; c = t.catalogue(); print(c.tasks_in('coreference'))"

The paper (section 4.1, "commonsense reasoning and coreference resolution tasks that are formulated as
finishing an incomplete sentence or paragraph") poses these as completions: the sentence is cut where the
pronoun (DPR, WSC273) or the blank (Winogrande) stands, and each option is the rest of the sentence with
that candidate filled in. The options are the continuations, not the candidates' names:

    {"sentence": "The trophy did not fit in the suitcase because _ was too big.", "option1": "the trophy",
     "option2": "the suitcase", "answer": "1"}
    -> {"context": "The trophy did not fit in the suitcase because",
        "options": ["the trophy was too big.", "the suitcase was too big."], "label": 0}

`context + " " + option` is the whole sentence with the candidate in place (a candidate starting with "the",
"a" or "an" is lower-cased mid-sentence and capitalised at a sentence start; a possessive pronoun, "his",
"its", "their", becomes "<candidate>'s"). DPR gives no pronoun position: the pronoun's first whole-word
occurrence after both candidates is taken (docs/protocol.md, "Completion tasks"). All three share one template
set (`templates/coreference_completion.yaml`); none can be turned around (`turnable=False`).
"""

from __future__ import annotations

import re

from ..task import Row, Source, SplitRoles, TaskSpec, labelled

POSSESSIVE = {"his", "its", "their", "theirs", "hers", "whose"}
_DETERMINERS = ("the ", "a ", "an ")


def _cased(candidate: str, sentence_start: bool) -> str:
    if sentence_start:
        return candidate[:1].upper() + candidate[1:]
    if candidate.lower().startswith(_DETERMINERS):
        return candidate[:1].lower() + candidate[1:]
    return candidate


def completion(text: str, start: int, end: int, candidates: list[str], possessive: bool = False) -> Row:
    """Cut `text` at [start, end) (the pronoun or blank): the context before it, and per candidate the
    continuation with the candidate in its place.

    >>> completion("Ann thanked Bea because she helped.", 24, 27, ["Ann", "Bea"])
    {'context': 'Ann thanked Bea because', 'options': ['Ann helped.', 'Bea helped.']}
    """
    context, rest = text[:start].rstrip(), text[end:]
    at_start = not context or context[-1] in ".!?"
    suffix = "'s" if possessive else ""
    return {"context": context, "options": [_cased(c.strip(), at_start) + suffix + rest for c in candidates]}


def pronoun_span(sentence: str, pronoun: str, candidates: list[str]) -> tuple[int, int] | None:
    """Where the pronoun is: its first whole-word occurrence after the first mentions of both candidates
    (DPR gives no position; the resolved pronoun follows both), else its last occurrence; None if absent.

    >>> pronoun_span("The dog bit the postman because he stepped on its tail.", "he", ["The dog", "the postman"])
    (32, 34)
    """
    pat = re.compile(r"\b" + re.escape(pronoun) + r"\b")
    hits = [m.span() for m in pat.finditer(sentence)] or \
        [m.span() for m in re.finditer(pat.pattern, sentence, re.IGNORECASE)]
    if not hits:
        return None
    low = sentence.lower()
    after = max((low.find(c.lower()) + len(c) for c in candidates if c.lower() in low), default=0)
    return next((h for h in hits if h[0] >= after), hits[-1])


def dpr_fields(row: Row) -> Row | None:
    """{"sentence": "Ann thanked Bea because she helped.", "pronoun": "she", "candidates": ["Ann", "Bea"],
    "label": 1} -> {"context": "Ann thanked Bea because", "options": ["Ann helped.", "Bea helped."], "label": 1}.
    Rows without a label, or whose pronoun is not in the sentence, are skipped."""
    if not labelled(row):
        return None
    span = pronoun_span(row["sentence"], row["pronoun"], list(row["candidates"]))
    if span is None:
        return None
    return {**completion(row["sentence"], *span, list(row["candidates"]), row["pronoun"].lower() in POSSESSIVE),
            "label": int(row["label"])}


def winogrande_fields(row: Row) -> Row | None:
    """{"sentence": "The cup fell off the shelf because _ was tilted.", "option1": "the cup", "option2":
    "the shelf", "answer": "2"} -> {"context": "The cup fell off the shelf because", "options": ["the cup was
    tilted.", "the shelf was tilted."], "label": 1}; test rows (answer "") are skipped. The answer is the
    string '1' or '2' on the Hub."""
    if row["answer"] not in ("1", "2") or "_" not in row["sentence"]:
        return None
    at = row["sentence"].index("_")
    return {**completion(row["sentence"], at, at + 1, [row["option1"], row["option2"]]),
            "label": int(row["answer"]) - 1}


def wsc273_fields(row: Row) -> Row | None:
    """{"text": "The ball broke the window because it was made of thin glass.", "pronoun": "it", "pronoun_loc":
    34, "options": ["the ball", "the window"], "label": 1} -> {"context": "The ball broke the window because",
    "options": ["the ball was made of thin glass.", "the window was made of thin glass."], "label": 1}."""
    if not labelled(row):
        return None
    text, pronoun, at = row["text"], row["pronoun"], int(row.get("pronoun_loc", -1))
    if at < 0 or text[at:at + len(pronoun)].lower() != pronoun.lower():
        span = pronoun_span(text, pronoun, list(row["options"]))
        if span is None:
            return None
        at = span[0]
    return {**completion(text, at, at + len(pronoun), list(row["options"]), pronoun.lower() in POSSESSIVE),
            "label": int(row["label"])}


TASKS = [
    TaskSpec(
        name="dpr", cluster="coreference", source=Source("community-datasets/definite_pronoun_resolution",
                                                         "plain_text"),
        preprocess=dpr_fields, fields=("context",), dynamic_options=True, metrics=("accuracy",),
        # The Hub has train (1322) and test (564), both labelled, and no validation split.
        splits=SplitRoles(test="test"), template_set="coreference_completion", turnable=False,
        display="Coreference: Definite Pronoun Resolution", version=2,
        description="Definite Pronoun Resolution: finish the sentence with the right referent of the pronoun."),
    TaskSpec(
        name="winogrande", cluster="coreference", source=Source("allenai/winogrande", "winogrande_xl"),
        preprocess=winogrande_fields, fields=("context",), dynamic_options=True, metrics=("accuracy",),
        template_set="coreference_completion", turnable=False, display="Coreference: Winogrande", version=2,
        description="Winogrande (XL): finish the sentence with the option that belongs in its blank."),
    TaskSpec(
        name="wsc273", cluster="coreference", source=Source("ErnestSDavis/winograd_wsc", "wsc273"),
        preprocess=wsc273_fields, fields=("context",), dynamic_options=True, metrics=("accuracy",),
        # WSC273 has only a test split on the Hub (273 schemas): it is evaluation-only and never trains (as in
        # the paper, which lists it among the datasets it evaluates). Its dev role (template choice) is every
        # 10th test row, and its train role, the other rows, serves only as few-shot exemplars at evaluation.
        splits=SplitRoles(train="test", dev="test", test="test"), template_set="coreference_completion",
        evaluation_only=True, turnable=False, display="Coreference: Winograd Schema Challenge (WSC273)",
        version=2, description="Winograd Schema Challenge, 273 schemas: finish the sentence with the right "
                               "referent of the pronoun."),
]
# DPR: label 0 = candidates[0], 1 = candidates[1]. WSC273: label indexes `options`. Winogrande: answer '1'/'2'.
