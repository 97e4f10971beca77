"""Closed-book QA: ARC (Easy, Challenge), Natural Questions (open), TriviaQA (no context).

    python -c "import flanlab.tasks as t; c = t.catalogue(); print([x.name for x in c.tasks_in('closed_book_qa')])"

ARC is multiple choice with per-question options; NQ and TriviaQA are answered by generation and scored
against every gold answer (`references`):

    {"question": "who wrote hamlet", "target": "William Shakespeare",
     "references": ["William Shakespeare", "Shakespeare"]}
"""

from __future__ import annotations

from ..task import Row, Source, SplitRoles, TaskSpec


def arc_fields(row: Row) -> Row | None:
    """{"question": "Q", "choices": {"text": [...], "label": ["A", ...]}, "answerKey": "C"} -> label 2.

    Some ARC questions label their choices "1".."4" instead of "A".."D"; the key is looked up either way.
    """
    labels = [str(x) for x in row["choices"]["label"]]
    if row["answerKey"] not in labels:
        return None  # no usable gold answer
    return {"question": row["question"], "options": [str(t) for t in row["choices"]["text"]],
            "label": labels.index(row["answerKey"])}


def nq_open_fields(row: Row) -> Row | None:
    """{"question": "who ...", "answer": ["A", "B"]} -> target "A", references ["A", "B"]."""
    answers = [a for a in row["answer"] if a.strip()]
    if not answers:
        return None
    return {"question": row["question"], "target": answers[0], "references": list(dict.fromkeys(answers))}


def triviaqa_fields(row: Row) -> Row | None:
    """{"question": "Q", "answer": {"value": "Onion", "aliases": ["Onion", "Onions"], ...}} -> target "Onion",
    references: the value and every alias (TriviaQA counts any alias as correct)."""
    value = row["answer"]["value"]
    # the Hub's unlabelled test split fills the answer with "<unk>" (or "") and no aliases
    refs = [a for a in [value, *row["answer"]["aliases"]] if a and a.strip() and a != "<unk>"]
    if not refs:
        return None
    return {"question": row["question"], "target": refs[0], "references": list(dict.fromkeys(refs))}


def _arc(level: str, config: str) -> TaskSpec:
    return TaskSpec(
        name=f"arc_{level.lower()}", cluster="closed_book_qa", dataset="arc",
        source=Source("allenai/ai2_arc", config), preprocess=arc_fields, fields=("question",),
        dynamic_options=True, metrics=("accuracy",), template_set="arc",
        # ARC publishes labelled validation and test splits: dev is validation, test is test.
        splits=SplitRoles(train="train", dev="validation", test="test"),
        display=f"Closed-book QA: ARC ({level})",
        description=f"AI2 Reasoning Challenge, {level} set: multiple-choice grade-school science questions.")


TASKS = [
    _arc("Easy", "ARC-Easy"),
    _arc("Challenge", "ARC-Challenge"),
    TaskSpec(
        name="nq_open", cluster="closed_book_qa",
        source=Source("google-research-datasets/nq_open", "nq_open"), preprocess=nq_open_fields,
        fields=("question",), metrics=("exact_match",), display="Closed-book QA: Natural Questions",
        description="Natural Questions (open): answer a real search-engine question without a document."),
    TaskSpec(
        name="triviaqa", cluster="closed_book_qa", source=Source("mandarjoshi/trivia_qa", "rc.nocontext"),
        preprocess=triviaqa_fields, fields=("question",), metrics=("exact_match",),
        display="Closed-book QA: TriviaQA",
        description="TriviaQA (no context): answer a trivia question from memory; any alias counts."),
]
