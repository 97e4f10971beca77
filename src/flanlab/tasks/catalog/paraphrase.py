"""Paraphrase detection: MRPC, QQP, PAWS, STS-B.

    python -c "import flanlab.tasks as t; c = t.catalogue(); print(c.tasks_in('paraphrase'))"
"""

from __future__ import annotations

import math

from ..task import Row, Source, SplitRoles, TaskSpec, labelled

YES_NO = ("no", "yes")  # label 0 = not a paraphrase / not duplicate, 1 = paraphrase / duplicate
STSB_OPTIONS = ("0", "1", "2", "3", "4", "5")


def sentence_pair(row: Row) -> Row | None:
    """MRPC, PAWS: {"sentence1": "A.", "sentence2": "B.", "label": 1} -> the same fields; -1 skipped."""
    if not labelled(row):
        return None
    return {"sentence1": row["sentence1"], "sentence2": row["sentence2"], "label": int(row["label"])}


def qqp_fields(row: Row) -> Row | None:
    """{"question1": "How ...?", "question2": "What ...?", "label": 0, "idx": 3} -> the same fields
    without idx; the hidden test split (-1) is skipped."""
    if not labelled(row):
        return None
    return {"question1": row["question1"], "question2": row["question2"], "label": int(row["label"])}


def stsb_fields(row: Row) -> Row | None:
    """{"sentence1": ..., "sentence2": ..., "label": 3.6} -> {..., "label": 4, "references": ["3.6"]}.

    STS-B is a 0-5 similarity regression; as in the paper it is classified over the rounded scores
    "0".."5" (half up: 2.5 -> 3). `references` keeps the gold float so pearson/spearman can compare the
    predicted class with it. The hidden test split (-1.0) is skipped."""
    score = float(row["label"])
    if score < 0:
        return None
    return {"sentence1": row["sentence1"], "sentence2": row["sentence2"],
            "label": min(5, int(math.floor(score + 0.5))), "references": [f"{score:g}"]}


TASKS = [
    TaskSpec(
        name="mrpc", cluster="paraphrase", source=Source("nyu-mll/glue", "mrpc"), preprocess=sentence_pair,
        fields=("sentence1", "sentence2"), options=YES_NO, metrics=("accuracy", "f1_binary"),
        # GLUE MRPC's test labels are public (the Hub builds test from the labelled MSR corpus) and the
        # offline mirror holds test only, so test = test and dev is carved from train.
        splits=SplitRoles(test="test"), template_set="paraphrase_pair",
        display="Paraphrase: MRPC",
        description="Microsoft Research Paraphrase Corpus: do the sentences mean the same?"),
    TaskSpec(
        name="qqp", cluster="paraphrase", source=Source("nyu-mll/glue", "qqp"), preprocess=qqp_fields,
        fields=("question1", "question2"), options=YES_NO, metrics=("accuracy", "f1_binary"),
        display="Paraphrase: QQP", description="Quora Question Pairs: do the two questions ask the same thing?"),
    TaskSpec(
        name="paws", cluster="paraphrase", source=Source("google-research-datasets/paws", "labeled_final"),
        preprocess=sentence_pair, fields=("sentence1", "sentence2"), options=YES_NO, metrics=("accuracy",),
        template_set="paraphrase_pair", display="Paraphrase: PAWS",
        description="PAWS (Wiki, labelled final): are two sentences with high word overlap paraphrases?"),
    TaskSpec(
        name="stsb", cluster="paraphrase", source=Source("nyu-mll/glue", "stsb"), preprocess=stsb_fields,
        fields=("sentence1", "sentence2"), options=STSB_OPTIONS, metrics=("pearson", "spearman", "accuracy"),
        display="Paraphrase: STS-B",
        description="Semantic Textual Similarity Benchmark: how similar are two sentences, 0 to 5?"),
]
