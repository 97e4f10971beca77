"""Reading comprehension: BoolQ, DROP, MultiRC, OpenBookQA, SQuAD v1.1 and v2.0.

    python -c "import flanlab.tasks as t; c = t.catalogue(); print([x.name for x in c.tasks_in('reading_comprehension')])"

Extractive and abstractive QA tasks produce `target` (the first gold answer) and `references` (every gold
answer, for squad_f1 / exact_match); yes/no and multiple-choice tasks produce an integer `label`:

    {"context": "The Nile ...", "question": "Where ...?", "target": "Egypt", "references": ["Egypt"]}
"""

from __future__ import annotations

from ..task import Row, Source, SplitRoles, TaskSpec, labelled

UNANSWERABLE = "unanswerable"  # SQuAD v2.0's target for questions the passage does not answer


def boolq_fields(row: Row) -> Row | None:
    """{"question": "is ...", "passage": "P", "idx": 0, "label": 1} -> question, passage, label (1 = yes)."""
    if not labelled(row):  # SuperGLUE's test split hides its labels
        return None
    return {"passage": row["passage"], "question": row["question"], "label": int(row["label"])}


def drop_fields(row: Row) -> Row | None:
    """{"passage", "question", "answers_spans": {"spans": ["3"], "types": ["number"]}} -> target "3"."""
    spans = [s for s in row["answers_spans"]["spans"] if s.strip()]
    if not spans:
        return None
    return {"passage": row["passage"], "question": row["question"], "target": spans[0],
            "references": list(dict.fromkeys(spans))}


def multirc_fields(row: Row) -> Row | None:
    """One row per (paragraph, question, candidate answer): label 1 = the candidate is correct ("yes").

    The candidate is called `candidate` because `{answer}` is the gold option text in templates. `group`
    ("paragraph-question" indices) lets metrics (multirc_f1a, exact_match) gather a question's rows.
    """
    if not labelled(row):
        return None
    idx = row["idx"]
    return {"paragraph": row["paragraph"], "question": row["question"], "candidate": row["answer"],
            "label": int(row["label"]), "group": f"{idx['paragraph']}-{idx['question']}"}


def openbookqa_fields(row: Row) -> Row | None:
    """{"question_stem": "Q", "choices": {"text": [...], "label": ["A"..]}, "answerKey": "B"} -> label 1."""
    return _multiple_choice(row["question_stem"], row["choices"], row["answerKey"])


def _multiple_choice(question: str, choices: dict, key: str) -> Row | None:
    if key not in choices["label"]:
        return None  # no usable gold answer
    return {"question": question, "options": [str(t) for t in choices["text"]],
            "label": choices["label"].index(key)}


def squad_fields(row: Row) -> Row | None:
    """{"context", "question", "answers": {"text": ["France"], ...}} -> target "France"; SQuAD v2.0 rows
    with no answer get the target "unanswerable" (and `answerable` False, so question-writing templates
    can leave them out)."""
    texts = [t for t in row["answers"]["text"] if t.strip()]
    out = {"title": row["title"].replace("_", " "), "context": row["context"], "question": row["question"]}
    if not texts:
        return {**out, "target": UNANSWERABLE, "references": [UNANSWERABLE], "answerable": False}
    return {**out, "target": texts[0], "references": list(dict.fromkeys(texts)), "answerable": True}


SQUAD_FIELDS = ("title", "context", "question", "answerable")

TASKS = [
    TaskSpec(
        name="boolq", cluster="reading_comprehension", source=Source("aps/super_glue", "boolq"),
        preprocess=boolq_fields, fields=("passage", "question"), options=("no", "yes"),
        metrics=("accuracy",), display="Reading comprehension: BoolQ",
        description="BoolQ (SuperGLUE): answer a naturally occurring yes/no question about a passage."),
    TaskSpec(
        name="drop", cluster="reading_comprehension", source=Source("ucinlp/drop"), preprocess=drop_fields,
        fields=("passage", "question"), metrics=("squad_f1", "exact_match"),
        display="Reading comprehension: DROP",
        description="DROP: answer questions that need counting, sorting or arithmetic over a passage."),
    TaskSpec(
        name="multirc", cluster="reading_comprehension", source=Source("aps/super_glue", "multirc"),
        preprocess=multirc_fields, fields=("paragraph", "question", "candidate"), options=("no", "yes"),
        metrics=("multirc_f1a", "exact_match"), display="Reading comprehension: MultiRC",
        description="MultiRC (SuperGLUE): is a candidate answer to a multi-sentence question correct?"),
    TaskSpec(
        name="openbookqa", cluster="reading_comprehension", source=Source("allenai/openbookqa", "main"),
        preprocess=openbookqa_fields, fields=("question",), dynamic_options=True, metrics=("accuracy",),
        # OpenBookQA publishes labelled validation and test splits: dev is validation, test is test.
        splits=SplitRoles(train="train", dev="validation", test="test"),
        display="Reading comprehension: OpenBookQA",
        description="OpenBookQA: four-way multiple-choice elementary science questions."),
    TaskSpec(
        name="squad_v1", cluster="reading_comprehension", dataset="squad",
        source=Source("rajpurkar/squad", "plain_text"),
        preprocess=squad_fields, fields=SQUAD_FIELDS, metrics=("squad_f1", "exact_match"),
        template_set="squad_v1", display="Reading comprehension: SQuAD v1.1",
        description="SQuAD v1.1: extract the answer to a question from a Wikipedia paragraph."),
    TaskSpec(
        name="squad_v2", cluster="reading_comprehension", dataset="squad",
        source=Source("rajpurkar/squad_v2", "squad_v2"),
        preprocess=squad_fields, fields=SQUAD_FIELDS, metrics=("squad_f1", "exact_match"),
        template_set="squad_v2", display="Reading comprehension: SQuAD v2.0",
        description="SQuAD v2.0: extract the answer from a paragraph, or say the question is unanswerable."),
]
