"""Coreference resolution: DPR, Winogrande, WSC273 (pick the referent of a pronoun or blank).

    python -c "import flanlab.tasks as t; c = t.catalogue(); print(c.tasks_in('coreference'))"

None of these can sensibly be turned around (`turnable=False`): the input is the whole task.
"""

from __future__ import annotations

from ..task import Row, Source, SplitRoles, TaskSpec


def dpr_fields(row: Row) -> Row | None:
    """{"sentence": "Ann thanked Bea because she helped.", "pronoun": "she", "candidates": ["Ann", "Bea"],
    "label": 1} -> {"text", "pronoun", "options": candidates, "label": 1}."""
    if row["label"] == -1:
        return None
    return {"text": row["sentence"], "pronoun": row["pronoun"], "options": list(row["candidates"]),
            "label": int(row["label"])}


def winogrande_fields(row: Row) -> Row | None:
    """{"sentence": "The cup fell off the shelf because _ was tilted.", "option1": "cup", "option2":
    "shelf", "answer": "2"} -> {"sentence", "options": ["cup", "shelf"], "label": 1}; test rows (answer "")
    are skipped. The answer is the string '1' or '2' on the Hub."""
    if row["answer"] not in ("1", "2"):
        return None
    return {"sentence": row["sentence"], "options": [row["option1"], row["option2"]],
            "label": int(row["answer"]) - 1}


def wsc273_fields(row: Row) -> Row | None:
    """{"text": "...", "pronoun": "it", "options": ["the trophy", "the suitcase"], "label": 0}
    -> {"text", "pronoun", "options", "label"} (DPR's fields, so both share one template set)."""
    if row["label"] == -1:
        return None
    return {"text": row["text"], "pronoun": row["pronoun"], "options": list(row["options"]),
            "label": int(row["label"])}


TASKS = [
    TaskSpec(
        name="dpr", cluster="coreference", source=Source("community-datasets/definite_pronoun_resolution",
                                                         "plain_text"),
        preprocess=dpr_fields, fields=("text", "pronoun"), dynamic_options=True, metrics=("accuracy",),
        # The Hub has train (1322) and test (564), both labelled, and no validation split.
        splits=SplitRoles(test="test"), template_set="pronoun_resolution", turnable=False,
        display="Coreference: Definite Pronoun Resolution",
        description="Definite Pronoun Resolution: which of two candidates does the pronoun refer to?"),
    TaskSpec(
        name="winogrande", cluster="coreference", source=Source("allenai/winogrande", "winogrande_xl"),
        preprocess=winogrande_fields, fields=("sentence",), dynamic_options=True, metrics=("accuracy",),
        turnable=False, display="Coreference: Winogrande",
        description="Winogrande (XL): which of two options fills the blank in the sentence?"),
    TaskSpec(
        name="wsc273", cluster="coreference", source=Source("ErnestSDavis/winograd_wsc", "wsc273"),
        preprocess=wsc273_fields, fields=("text", "pronoun"), dynamic_options=True, metrics=("accuracy",),
        # WSC273 has only a test split on the Hub (273 schemas): it is evaluation-only and never trains (as in
        # the paper, which lists it among the datasets it evaluates). Its dev role (template choice) is every
        # 10th test row, and its train role, the other rows, serves only as few-shot exemplars at evaluation.
        splits=SplitRoles(train="test", dev="test", test="test"), template_set="pronoun_resolution",
        evaluation_only=True, turnable=False, display="Coreference: Winograd Schema Challenge (WSC273)",
        description="Winograd Schema Challenge, 273 schemas: which candidate does the pronoun refer to?"),
]
# DPR: label 0 = candidates[0], 1 = candidates[1]. WSC273: label indexes `options`.
