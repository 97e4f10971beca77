"""Commonsense reasoning: COPA, HellaSwag, PIQA, StoryCloze (all multiple choice over per-example options).

    python -c "import flanlab.tasks as t; c = t.catalogue(); print(c.tasks_in('commonsense'))"
"""

from __future__ import annotations

import re

from ..task import Row, Source, SplitRoles, TaskSpec, labelled

_COPA_ASK = {"cause": "What was the cause of this?", "effect": "What happened as a result?"}


_COPA_CONNECTIVE = {"cause": "because", "effect": "so"}


def _lower_first(text: str) -> str:
    """"He left." -> "he left." ("I" and names stay: a second letter in upper case, or "I ")."""
    if text[:2] in ("I ", "I'") or text[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def copa_fields(row: Row) -> Row | None:
    """{"premise": "The ice melted.", "choice1": "A.", "choice2": "B.", "question": "cause", "label": 1}
    -> {"premise", "question": "cause", "ask": "What was the cause of this?", "stem": "The ice melted because",
    "options": ["A.", "B."], "completions": ["a.", "b."], "label": 1}; unlabelled test rows (-1) are skipped.

    `stem` + " " + a completion is one sentence (the GPT-3-style baseline: "The ice melted because the sun
    came out."); the instruction templates show the options as they are."""
    if not labelled(row):
        return None
    question = row["question"]
    options = [row["choice1"], row["choice2"]]
    return {"premise": row["premise"], "question": question, "ask": _COPA_ASK[question],
            "stem": row["premise"].rstrip().rstrip(".") + " " + _COPA_CONNECTIVE[question],
            "options": options, "completions": [_lower_first(o) for o in options], "label": int(row["label"])}


def clean_wikihow(text: str) -> str:
    """HellaSwag's WikiHow rows carry markup ("[header] Step one. [title] Do X."): drop it, keep the words."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[[a-z]+\]", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def hellaswag_fields(row: Row) -> Row | None:
    """{"activity_label": "Baking", "ctx": "A man mixes flour. he", "endings": [4 x str], "label": "2"}
    -> {"activity", "context", "options": [4 endings], "label": 2}; test rows (label "") are skipped.

    The label is a string on the Hub ('0'-'3')."""
    if row["label"] in ("", None, -1):
        return None
    return {"activity": row["activity_label"], "context": clean_wikihow(row["ctx"]),
            "options": [clean_wikihow(e) for e in row["endings"]], "label": int(row["label"])}


def piqa_fields(row: Row) -> Row | None:
    """{"goal": "Open a jar.", "sol1": "A.", "sol2": "B.", "label": 0} -> {"goal", "options": ["A.", "B."],
    "label": 0}; unlabelled test rows (-1) are skipped."""
    if not labelled(row):
        return None
    return {"goal": row["goal"], "options": [row["sol1"], row["sol2"]], "label": int(row["label"])}


def story_cloze_fields(row: Row) -> Row | None:
    """Four story sentences and two candidate endings; `answer_right_ending` is 1 or 2 on the Hub.

    -> {"context": "S1 S2 S3 S4", "options": [quiz1, quiz2], "label": answer_right_ending - 1}"""
    if row["answer_right_ending"] not in (1, 2):
        return None
    context = " ".join(row[f"input_sentence_{i}"].strip() for i in range(1, 5))
    return {"context": context, "options": [row["sentence_quiz1"], row["sentence_quiz2"]],
            "label": int(row["answer_right_ending"]) - 1}


TASKS = [
    TaskSpec(
        name="copa", cluster="commonsense", source=Source("aps/super_glue", "copa"), preprocess=copa_fields,
        fields=("premise", "question", "ask", "stem"), dynamic_options=True, metrics=("accuracy",), version=2,
        display="Commonsense reasoning: COPA",
        description="Choice of Plausible Alternatives: pick the more plausible cause or effect of a premise."),
    TaskSpec(
        name="hellaswag", cluster="commonsense", source=Source("Rowan/hellaswag"),
        preprocess=hellaswag_fields, fields=("activity", "context"), dynamic_options=True,
        metrics=("accuracy",), display="Commonsense reasoning: HellaSwag",
        description="HellaSwag: choose the most plausible continuation of an everyday scene (4 endings)."),
    TaskSpec(
        name="piqa", cluster="commonsense", source=Source("ybisk/piqa", "plain_text"), preprocess=piqa_fields,
        fields=("goal",), dynamic_options=True, metrics=("accuracy",),
        display="Commonsense reasoning: PIQA",
        description="Physical Interaction QA: pick the solution that achieves a physical goal."),
    TaskSpec(
        name="story_cloze", cluster="commonsense", source=Source("LSDSem/story_cloze", "2016"),
        preprocess=story_cloze_fields, fields=("context",), dynamic_options=True, metrics=("accuracy",),
        # The Hub has no train split for StoryCloze 2016, only the labelled validation and test sets
        # (1871 stories each): validation serves as train (with dev carved from it), test as test.
        splits=SplitRoles(train="validation", dev="validation", test="test"),
        display="Commonsense reasoning: StoryCloze",
        description="StoryCloze 2016: choose the right ending of a four-sentence story."),
]
# COPA: label 0 = choice1, 1 = choice2. PIQA: 0 = sol1, 1 = sol2. HellaSwag: '0'-'3' index into endings.
