"""Miscellaneous: CoQA, QuAC (also the `conversational_qa` sub-cluster), TREC, CoLA, WiC, DeepMind
mathematics (algebra__linear_1d) and Fix Punctuation.

    python -c "import flanlab.tasks as t; c = t.catalogue(); print([x.name for x in c.tasks_in('misc')])"

Conversational QA (CoQA, QuAC): one example per dialogue, for its LAST turn. The story (or Wikipedia
section) and every earlier question with its answer are rendered as `history`, and the model gives the
next answer. One example per dialogue keeps `preprocess` one row -> one example and puts the
conversational part of the task (resolving "he", "what else?") in every example:
    {"story": "Ann has a cat ...", "questions": ["Who has a cat?", "What colour is it?"],
     "answers": {"input_text": ["Ann", "grey"], ...}}
    -> {"story": "Ann has a cat ...", "history": "Q: Who has a cat?\\nA: Ann",
        "question": "What colour is it?", "target": "grey"}
"""

from __future__ import annotations

import re

from ..task import Row, Source, SplitRoles, TaskSpec, labelled

NO_HISTORY = "(no earlier questions)"
UNANSWERABLE = "unanswerable"  # QuAC's CANNOTANSWER, in words a template can ask for


def _history(questions: list[str], answers: list[str]) -> str:
    turns = [f"Q: {q.strip()}\nA: {a.strip()}" for q, a in zip(questions, answers)]
    return "\n".join(turns) or NO_HISTORY


def coqa_fields(row: Row) -> Row | None:
    """stanfordnlp/coqa: story, questions, answers{input_text, answer_start, answer_end} -> last turn."""
    questions, answers = row["questions"], row["answers"]["input_text"]
    if not questions or len(answers) != len(questions) or not answers[-1].strip():
        return None
    return {"story": row["story"].strip(), "history": _history(questions[:-1], answers[:-1]),
            "question": questions[-1].strip(), "target": answers[-1].strip()}


def _quac_answer(text: str) -> str:
    text = text.strip()
    return UNANSWERABLE if text in ("CANNOTANSWER", "") else text


def _quac_refs(answers, turn: int) -> list[str]:
    """Every annotator's answer for one turn; `answers` is a dict of lists (Hub/JSON) or a list of dicts."""
    if isinstance(answers, dict):
        texts = answers["texts"][turn] if turn < len(answers["texts"]) else []
    else:
        texts = answers[turn]["texts"] if turn < len(answers) else []
    return [_quac_answer(t) for t in texts]


def quac_fields(row: Row) -> Row | None:
    """allenai/quac: background, context, questions, orig_answers{texts}, answers{texts} -> last turn.

    CANNOTANSWER (appended to every context as the span to select when the text has no answer) is cut
    from the context and becomes "unanswerable" in answers.
    """
    questions, orig = row["questions"], row["orig_answers"]["texts"]
    if not questions or len(orig) != len(questions):
        return None
    last = len(questions) - 1
    answers = [_quac_answer(a) for a in orig]
    refs = list(dict.fromkeys([answers[-1], *_quac_refs(row["answers"], last)]))
    context = row["context"].strip()
    if context.endswith("CANNOTANSWER"):
        context = context[: -len("CANNOTANSWER")].strip()
    return {"title": row["wikipedia_page_title"].strip(), "section": row["section_title"].strip(),
            "background": row["background"].strip(), "context": context,
            "history": _history(questions[:-1], answers[:-1]), "question": questions[-1].strip(),
            "target": answers[-1], "references": refs}


def trec_fields(row: Row) -> Row | None:
    """CogComp/trec: {"text": "Who ...?", "coarse_label": 3, "fine_label": 29} -> question + coarse label."""
    return {"question": row["text"].strip(), "label": int(row["coarse_label"])}


def cola_fields(row: Row) -> Row | None:
    """nyu-mll/glue cola: {"sentence": ..., "label": 1, "idx": 0} -> sentence + label; test rows (-1) skipped."""
    if not labelled(row):
        return None
    return {"sentence": row["sentence"], "label": int(row["label"])}


def wic_fields(row: Row) -> Row | None:
    """aps/super_glue wic: word, sentence1, sentence2 (+ offsets), label (0 different, 1 same sense)."""
    if not labelled(row):
        return None
    return {"word": row["word"], "sentence1": row["sentence1"], "sentence2": row["sentence2"],
            "label": int(row["label"])}


def _unbytes(text: str) -> str:
    """The Hub's math_dataset strings are Python bytes reprs: "b'Solve 2*x = 4 for x.\\\\n'" -> "Solve ...".

    Plain strings pass through, so a mirror with clean text works too.
    """
    text = text.strip()
    if len(text) >= 3 and text[:2] in ("b'", 'b"') and text[-1] == text[1]:
        text = text[2:-1]
    return text.replace("\\n", "\n").strip()


def math_fields(row: Row) -> Row | None:
    """deepmind/math_dataset: {"question": "b'Solve 3*k = 12 for k.\\\\n'", "answer": "b'4\\\\n'"} -> clean text."""
    question, answer = _unbytes(row["question"]), _unbytes(row["answer"])
    if not question or not answer:
        return None
    return {"question": question, "target": answer}


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')]?\s+(?=[\"'(A-Z0-9])")
_ABBREVIATION = re.compile(r"(\b(Mr|Mrs|Ms|Dr|St|Prof|Gen|Col|Sgt|Capt|Lt|No|Jr|Sr|Inc|Ltd|Co|vs)|\b[A-Z])\.$")


def first_sentence(text: str) -> str:
    """The first sentence of the first non-empty line; does not split after "Mr." or "U.S."."""
    line = next((ln.strip() for ln in text.split("\n") if ln.strip()), "")
    out, rest = "", line
    while rest:
        m = _SENTENCE_END.search(rest)
        if not m:
            return (out + rest).strip()
        out, rest = out + rest[: m.end()], rest[m.end():]
        if not _ABBREVIATION.search(out.rstrip()):
            return out.strip()
    return out.strip()


def strip_punctuation(sentence: str) -> str:
    """ "Mr. O'Neill's dog, Rex, barked." -> "mr oneills dog rex barked" (apostrophes join, others split)."""
    text = re.sub(r"['\u2019]", "", sentence)
    text = re.sub(r"[^\w\s]", " ", text)
    return " ".join(text.lower().split())


def fix_punctuation_fields(row: Row) -> Row | None:
    """XSum {"document": ..., "summary": ..., "id": ...} -> {"text": stripped first sentence, "target": it}.

    Sentences of 4 to 60 words whose stripping changes something are kept.
    """
    sentence = first_sentence(row["document"])
    stripped = strip_punctuation(sentence)
    if not 4 <= len(stripped.split()) <= 60 or stripped == sentence:
        return None
    return {"text": stripped, "target": sentence}


def _task(name: str, source: Source, preprocess, fields: tuple[str, ...], display: str, description: str,
          **kw) -> TaskSpec:
    return TaskSpec(name=name, cluster="misc", source=source, preprocess=preprocess, fields=fields,
                    display=f"Miscellaneous: {display}", description=description, **kw)


QA_METRICS = ("squad_f1", "exact_match")

TASKS = [
    # CoQA's test answers are private: test = validation, dev carved from train (the default roles).
    _task("coqa", Source("stanfordnlp/coqa"), coqa_fields, ("story", "history", "question"), "CoQA",
          "CoQA: answer the next question of a conversation about a story.", metrics=QA_METRICS),
    _task("quac", Source("allenai/quac", "plain_text"), quac_fields,
          ("title", "section", "background", "context", "history", "question"), "QuAC",
          "QuAC: answer the next question of a conversation about a Wikipedia section.", metrics=QA_METRICS),
    # TREC has labelled train and test splits (no validation).
    _task("trec", Source("CogComp/trec"), trec_fields, ("question",), "TREC",
          "TREC question classification: what kind of answer does a question ask for (coarse classes)?",
          options=("abbreviation", "entity", "description", "person or group", "location", "number"),
          splits=SplitRoles(test="test")),
    _task("cola", Source("nyu-mll/glue", "cola"), cola_fields, ("sentence",), "CoLA",
          "Corpus of Linguistic Acceptability: is a sentence grammatical?",
          options=("unacceptable", "acceptable"), metrics=("mcc", "accuracy"), turnable=False),
    _task("wic", Source("aps/super_glue", "wic"), wic_fields, ("word", "sentence1", "sentence2"), "WiC",
          "Word in Context: is a word used with the same meaning in two sentences?", options=("no", "yes")),
    # One config, as in the paper: linear equations in one variable. Labelled train and test splits.
    _task("math_dataset", Source("deepmind/math_dataset", "algebra__linear_1d"), math_fields, ("question",),
          "Mathematics", "DeepMind mathematics (algebra, linear equations in one variable): give the answer.",
          metrics=("exact_match",), splits=SplitRoles(test="test"), turnable=False),
    # No Hub dataset exists for this task: it is derived from plain text. The paper took English sentences
    # from ParaCrawl EN-DA, which has only a train split; we take the first sentence of XSum's BBC articles
    # instead, which has real train/test splits (and a local mirror of the test split). Only sentences from
    # the split of the role are used, so a held-out XSum test article never reaches training. BLEU is
    # case- and punctuation-sensitive (ROUGE is not), so it is the metric.
    _task("fix_punctuation", Source("EdinburghNLP/xsum"), fix_punctuation_fields, ("text",), "Fix Punctuation",
          "Restore punctuation and casing of a sentence (derived from XSum article sentences).",
          metrics=("bleu",), splits=SplitRoles(test="test"), turnable=False),
]
