"""Natural language inference: ANLI (R1-R3), CB, MNLI, QNLI, RTE, SNLI, WNLI.

    python -c "import flanlab.tasks as t; c = t.catalogue(); print([x.name for x in c.tasks_in('nli')])"

Every task maps its rows to `premise`, `hypothesis` (QNLI: `question`, `sentence`) and an integer `label`
that indexes the task's options. The option order follows each dataset's own label encoding on the Hub,
which differs between datasets (CB puts contradiction second, WNLI puts entailment last):

    {"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0}   # MNLI: 0 = entailment
"""

from __future__ import annotations

from ..task import Row, Source, SplitRoles, TaskSpec, labelled

# Label orders on the Hub, as natural answers to "does the premise mean that ...?".
TWO_WAY = ("yes", "no")  # RTE, QNLI: 0 = entailment, 1 = not entailment
THREE_WAY = ("yes", "it is not possible to tell", "no")  # ANLI, MNLI, SNLI: entailment, neutral, contradiction
CB_THREE_WAY = ("yes", "no", "it is not possible to tell")  # CB: entailment, contradiction, neutral
WNLI_TWO_WAY = ("no", "yes")  # WNLI: 0 = not entailment, 1 = entailment


def premise_hypothesis(row: Row) -> Row | None:
    """{"premise": "A.", "hypothesis": "B.", "label": 1} -> the same fields; unlabelled rows (-1) skipped."""
    if not labelled(row):
        return None
    return {"premise": row["premise"], "hypothesis": row["hypothesis"], "label": int(row["label"])}


def qnli_fields(row: Row) -> Row | None:
    """{"question": "Q?", "sentence": "S.", "label": 0, "idx": 3} -> {"question", "sentence", "label"}."""
    if not labelled(row):
        return None
    return {"question": row["question"], "sentence": row["sentence"], "label": int(row["label"])}


def wnli_fields(row: Row) -> Row | None:
    """{"sentence1": "A.", "sentence2": "B.", "label": 1, "idx": 0} -> {"premise", "hypothesis", "label"}."""
    if not labelled(row):  # GLUE's test split hides its labels
        return None
    return {"premise": row["sentence1"], "hypothesis": row["sentence2"], "label": int(row["label"])}


def _anli(rnd: int) -> TaskSpec:
    # ANLI publishes labelled dev and test splits per round, so nothing is carved from train and the test
    # role is the real test split (as in the GPT-3 and FLAN comparisons).
    return TaskSpec(
        name=f"anli_r{rnd}", cluster="nli", dataset="anli", source=Source("facebook/anli", "plain_text"),
        preprocess=premise_hypothesis, fields=("premise", "hypothesis"), options=THREE_WAY,
        metrics=("accuracy",), template_set="anli",
        splits=SplitRoles(train=f"train_r{rnd}", dev=f"dev_r{rnd}", test=f"test_r{rnd}"),
        display=f"Natural language inference: ANLI R{rnd}",
        description=f"Adversarial NLI round {rnd}: entailment, neutral or contradiction on adversarial pairs.")


TASKS = [
    *(_anli(r) for r in (1, 2, 3)),
    TaskSpec(
        name="cb", cluster="nli", source=Source("aps/super_glue", "cb"), preprocess=premise_hypothesis,
        fields=("premise", "hypothesis"), options=CB_THREE_WAY, metrics=("accuracy", "f1_macro"),
        display="Natural language inference: CommitmentBank",
        description="CommitmentBank (SuperGLUE): is the speaker committed to an embedded clause?"),
    TaskSpec(
        name="mnli", cluster="nli", source=Source("nyu-mll/glue", "mnli"), preprocess=premise_hypothesis,
        fields=("premise", "hypothesis"), options=THREE_WAY, metrics=("accuracy",),
        # GLUE's test labels are private: the matched validation split is the test, dev is carved from train.
        splits=SplitRoles(train="train", dev="train", test="validation_matched"),
        display="Natural language inference: MultiNLI",
        description="Multi-genre NLI (GLUE): entailment, neutral or contradiction across ten genres."),
    TaskSpec(
        name="qnli", cluster="nli", source=Source("nyu-mll/glue", "qnli"), preprocess=qnli_fields,
        fields=("question", "sentence"), options=TWO_WAY, metrics=("accuracy",),
        display="Natural language inference: QNLI",
        description="Question NLI (GLUE): does the sentence contain the answer to the question?"),
    TaskSpec(
        name="rte", cluster="nli", source=Source("aps/super_glue", "rte"), preprocess=premise_hypothesis,
        fields=("premise", "hypothesis"), options=TWO_WAY, metrics=("accuracy",),
        display="Natural language inference: RTE",
        description="Recognizing Textual Entailment (SuperGLUE): does the premise entail the hypothesis?"),
    TaskSpec(
        name="snli", cluster="nli", source=Source("stanfordnlp/snli", "plain_text"), preprocess=premise_hypothesis,
        fields=("premise", "hypothesis"), options=THREE_WAY, metrics=("accuracy",),
        # SNLI publishes labelled validation and test splits: test is the test split, dev the validation
        # split. Pairs without a gold label (-1, no annotator majority) are skipped.
        splits=SplitRoles(train="train", dev="validation", test="test"),
        display="Natural language inference: SNLI",
        description="Stanford NLI: does an image caption entail, contradict or leave open a sentence?"),
    TaskSpec(
        name="wnli", cluster="nli", source=Source("nyu-mll/glue", "wnli"), preprocess=wnli_fields,
        fields=("premise", "hypothesis"), options=WNLI_TWO_WAY, metrics=("accuracy",),
        display="Natural language inference: WNLI",
        description="Winograd NLI (GLUE): is the sentence with the pronoun replaced entailed by the original?"),
]
