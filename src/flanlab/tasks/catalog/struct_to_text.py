"""Struct to text: CommonGen, DART, E2E NLG, WebNLG (2017).

    python -c "import flanlab.tasks as t; c = t.catalogue(); print([x.name for x in c.tasks_in('struct_to_text')])"

Each task turns structured data (a concept list, subject | predicate | object triples, a slot-value meaning
representation) into one sentence or a few. The structures become one line of text here, so the templates
can quote them inline:

    {"tripleset": [["Ann", "BORN_IN", "Oslo"], ["Ann", "JOB", "pilot"]], ...}
    -> triples = "Ann | BORN_IN | Oslo; Ann | JOB | pilot"

Metrics: ROUGE first, as the paper reports struct-to-text tasks, and BLEU too.
"""

from __future__ import annotations

from ..task import Row, Source, SplitRoles, TaskSpec

METRICS = ("rouge1", "rouge2", "rougeL", "bleu")
TRIPLE_SEP = "; "
GROUP_KEY = "_rows"  # proposed core hook: a grouped row carries all rows of its group under this key


def join_triples(triples: list[str]) -> str:
    """Triples as one line.

    >>> join_triples(["Ann | BORN_IN | Oslo", " Ann | JOB | pilot "])
    'Ann | BORN_IN | Oslo; Ann | JOB | pilot'
    """
    return TRIPLE_SEP.join(t.strip() for t in triples if t.strip())


def group_rows(row: Row) -> list[Row]:
    """The rows that share this row's input: `row[GROUP_KEY]` where the source grouped consecutive rows of
    one-row-per-reference datasets (CommonGen, E2E), else the row alone (its single reference)."""
    return row.get(GROUP_KEY) or [row]


def _with_references(fields: Row, texts: list[str]) -> Row | None:
    refs = [str(t).strip() for t in texts if str(t).strip()]
    if not refs:
        return None  # no gold text: nothing to train on or score against
    return {**fields, "target": refs[0], "references": refs}


def common_gen_fields(row: Row) -> Row | None:
    """{"concept_set_idx": 0, "concepts": ["dog", "ball", "catch"], "target": "The dog catches the ball."}
    -> {"concepts": "dog, ball, catch", "target": "The dog catches the ball.", "references": [...]}

    The Hub has one row per reference (rows of one concept set share `concept_set_idx`): a row alone carries
    its own sentence as the single reference; a row that comes with its group (`GROUP_KEY`) gets every
    sentence of the set. The Hub's test rows have an empty target and are skipped.
    """
    concepts = ", ".join(str(c).strip() for c in row["concepts"])
    return _with_references({"concepts": concepts}, [r["target"] for r in group_rows(row)])


def dart_fields(row: Row) -> Row | None:
    """{"tripleset": [["Ann", "BORN_IN", "Oslo"]], "annotations": {"source": [...], "text": ["Ann was born in
    Oslo."]}, ...} -> {"triples": "Ann | BORN_IN | Oslo", "target": "Ann was born in Oslo.", "references": [...]}
    """
    triples = join_triples([" | ".join(str(part).strip() for part in t) for t in row["tripleset"]])
    return _with_references({"triples": triples}, row["annotations"]["text"])


def e2e_fields(row: Row) -> Row | None:
    """{"meaning_representation": "name[Aroma], food[Thai]", "human_reference": "Aroma serves Thai food."}
    -> {"meaning_representation": "name[Aroma], food[Thai]", "target": "Aroma serves Thai food.", ...}

    One row per reference on the Hub, as for CommonGen.
    """
    return _with_references({"meaning_representation": row["meaning_representation"].strip()},
                            [r["human_reference"] for r in group_rows(row)])


def web_nlg_fields(row: Row) -> Row | None:
    """{"modified_triple_sets": {"mtriple_set": [["Oslo_Airport | cityServed | Oslo"]]}, "lex": {"text":
    ["Oslo Airport serves Oslo."], ...}, ...} -> {"triples": "Oslo Airport | cityServed | Oslo", ...}

    The modified (cleaned) triples are used, with DBpedia's underscores as spaces; test rows of the
    `testdata_no_lex` part have no texts and are skipped.
    """
    sets = row["modified_triple_sets"]["mtriple_set"]
    triples = join_triples([t.replace("_", " ") for t in (sets[0] if sets else [])])
    if not triples:
        return None
    return _with_references({"triples": triples}, row["lex"]["text"])


TASKS = [
    TaskSpec(
        name="common_gen", cluster="struct_to_text", source=Source("allenai/common_gen"),
        preprocess=common_gen_fields, fields=("concepts",), metrics=METRICS, group_by="concept_set_idx",
        # The Hub's test references are withheld (empty targets): the paper's policy, validation as test.
        splits=SplitRoles(train="train", dev="train", test="validation"),
        display="Struct to text: CommonGen",
        description="CommonGen: write an everyday sentence that uses every concept of a given set."),
    TaskSpec(
        name="dart", cluster="struct_to_text", source=Source("Yale-LILY/dart"), preprocess=dart_fields,
        fields=("triples",), metrics=METRICS,
        splits=SplitRoles(train="train", dev="train", test="validation"),
        display="Struct to text: DART",
        description="DART: describe a set of subject | predicate | object triples from tables in text."),
    TaskSpec(
        name="e2e_nlg", cluster="struct_to_text", source=Source("tuetschek/e2e_nlg"), preprocess=e2e_fields,
        fields=("meaning_representation",), metrics=METRICS, group_by="meaning_representation",
        splits=SplitRoles(train="train", dev="train", test="validation"),
        display="Struct to text: E2E NLG",
        description="E2E NLG: describe a restaurant from its slot-value meaning representation."),
    TaskSpec(
        name="web_nlg", cluster="struct_to_text", source=Source("webnlg-challenge/web_nlg", "webnlg_challenge_2017"),
        preprocess=web_nlg_fields, fields=("triples",), metrics=METRICS,
        # WebNLG 2017 calls its validation split `dev`; it serves as test, dev is carved from train.
        splits=SplitRoles(train="train", dev="train", test="dev"),
        display="Struct to text: WebNLG",
        description="WebNLG 2017: verbalise a set of DBpedia triples as fluent text."),
]
