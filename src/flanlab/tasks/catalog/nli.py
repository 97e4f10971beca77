"""Natural language inference: ANLI (R1-R3), CB, MNLI, QNLI, RTE, SNLI, WNLI."""

from __future__ import annotations

from ..task import Row, Source, SplitRoles, TaskSpec


def premise_hypothesis(row: Row) -> Row | None:
    """{"premise": "A.", "hypothesis": "B.", "label": 1} -> the same fields; unlabelled rows (-1) skipped."""
    if row["label"] == -1:
        return None
    return {"premise": row["premise"], "hypothesis": row["hypothesis"], "label": int(row["label"])}


TASKS = [
    TaskSpec(
        name="rte", cluster="nli", source=Source("aps/super_glue", "rte"), preprocess=premise_hypothesis,
        fields=("premise", "hypothesis"), options=("yes", "no"), metrics=("accuracy",),
        display="Natural language inference: RTE",
        description="Recognizing Textual Entailment (SuperGLUE): does the premise entail the hypothesis?"),
]
