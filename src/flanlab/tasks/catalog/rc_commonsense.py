"""Reading comprehension with commonsense: CosmosQA, ReCoRD.

    python -c "import flanlab.tasks as t; c = t.catalogue(); print(c.tasks_in('rc_commonsense'))"
"""

from __future__ import annotations

from ..task import Row, Source, TaskSpec, labelled

BLANK = "_____"


def cosmos_qa_fields(row: Row) -> Row | None:
    """{"context": "...", "question": "Why ...?", "answer0".."answer3": str, "label": 2}
    -> {"context", "question", "options": [answer0..answer3], "label": 2}; test rows (-1) are skipped."""
    if not labelled(row):
        return None
    return {"context": row["context"], "question": row["question"],
            "options": [row[f"answer{i}"] for i in range(4)], "label": int(row["label"])}


def record_passage(text: str) -> str:
    """ReCoRD passages end with "@highlight\\n<line>" blocks (the article's bullet points): show them as
    "- <line>" bullets."""
    body, *highlights = text.split("@highlight\n")
    lines = [body.strip()] + [f"- {h.strip()}" for h in highlights if h.strip()]
    return lines[0] + ("\n\n" + "\n".join(lines[1:]) if len(lines) > 1 else "")


def record_fields(row: Row) -> Row | None:
    """A cloze query over a news passage; the answer is one of the passage's entities.

    Scored by rank classification over the entities (deduplicated, in order of first appearance in the
    passage), so `options` varies per example; `label` is the first gold answer among them and
    `references` lists every gold answer (ReCoRD accepts any; squad_f1/exact_match take the max).
    {"passage": "...", "query": "@placeholder said ...", "entities": [...], "entity_spans": {...},
    "answers": ["Kim"]} -> {"passage", "query": "_____ said ...", "completion": "Kim said ...",
    "options": [...], "label": i, "references": ["Kim"]}; rows without answers (test) are skipped."""
    spans = row["entity_spans"]
    order = sorted(zip(spans["start"], spans["text"])) if spans and spans.get("text") else []
    options = list(dict.fromkeys([t for _, t in order] + sorted(row["entities"])))
    answers = [a for a in row["answers"] if a in options]
    if not answers:
        return None
    return {"passage": record_passage(row["passage"]), "query": row["query"].replace("@placeholder", BLANK),
            "completion": row["query"].replace("@placeholder", answers[0]), "options": options,
            "label": options.index(answers[0]), "references": list(row["answers"])}


TASKS = [
    TaskSpec(
        name="cosmos_qa", cluster="rc_commonsense", source=Source("allenai/cosmos_qa"),
        preprocess=cosmos_qa_fields, fields=("context", "question"), dynamic_options=True,
        metrics=("accuracy",), display="Reading comprehension with commonsense: CosmosQA",
        description="Cosmos QA: commonsense questions about an everyday narrative (4 answers)."),
    TaskSpec(
        name="record", cluster="rc_commonsense", source=Source("aps/super_glue", "record"),
        preprocess=record_fields, fields=("passage", "query", "completion"), dynamic_options=True,
        metrics=("squad_f1", "exact_match"), display="Reading comprehension with commonsense: ReCoRD",
        description="ReCoRD: fill the blank in a follow-up sentence with an entity from a news passage."),
]
