"""Summarization: AESLC, AG News, CNN/DailyMail, Gigaword, Multi-News, Newsroom, Opinion Abstracts
(iDebate and Rotten Tomatoes movies), SAMSum, WikiLingua (English), XSum.

    python -c "import flanlab.tasks as t; c = t.catalogue(); print([x.name for x in c.tasks_in('summarization')])"

Every preprocess maps one row of the Hub's schema to canonical fields, e.g. for XSum
    {"document": "A storm ...", "summary": "Roads closed.", "id": "1"}
    -> {"document": "A storm ...", "target": "Roads closed."}
Generation tasks report ROUGE-1/2/L (the paper averaged the three). These datasets publish test labels,
so the test role is the `test` split (as in the paper); dev is carved from train, so a bundled sample of
train + test serves every role.
"""

from __future__ import annotations

import re

from ..task import Row, Source, SplitRoles, TaskSpec, labelled

ROUGE = ("rouge1", "rouge2", "rougeL")
PUBLIC_TEST = SplitRoles(test="test")
_DATELINE = re.compile(r"^[^\n]{0,80}?\(CNN\)\s*(--\s*)?")


def _clean(text: str) -> str:
    return re.sub(r"[ \t]+", " ", text.replace("\r\n", "\n")).strip()


def aeslc_fields(row: Row) -> Row | None:
    """{"email_body": "Hi all, ...", "subject_line": "Friday meeting"} -> email + target; empty rows skipped."""
    body, subject = _clean(row["email_body"]), " ".join(row["subject_line"].split())
    if not body or not subject:
        return None
    return {"email": body, "target": subject}


def ag_news_fields(row: Row) -> Row | None:
    """{"text": "...", "label": 2} -> text + label (0 World, 1 Sports, 2 Business, 3 Sci/Tech)."""
    if not labelled(row):
        return None
    # The Hub text escapes some characters from the original CSV ("\\" for line breaks, "#36;" for "$").
    text = row["text"].replace("\\", " ").replace("#36;", "$").replace("#39;", "'")
    return {"text": " ".join(text.split()), "label": int(row["label"])}


def cnn_dailymail_fields(row: Row) -> Row | None:
    """{"article": "(CNN) -- ...", "highlights": "One.\\nTwo.", "id": "..."} -> article + target."""
    # Drop the dateline prefix ("LONDON, England (CNN) -- "), as the paper's preprocessing did.
    article = _DATELINE.sub("", row["article"], count=1)
    highlights = " ".join(line.strip() for line in row["highlights"].split("\n") if line.strip())
    if not article.strip() or not highlights:
        return None
    return {"article": article.strip(), "target": highlights}


def gigaword_fields(row: Row) -> Row | None:
    """{"document": "the ...", "summary": "..."} -> text + target.

    Rows with the corpus's placeholders (`UNK` for rare words, `#` for digits) are skipped, as in the
    paper's preprocessing: a model cannot sensibly produce them.
    """
    doc, summary = row["document"].strip(), row["summary"].strip()
    if not doc or not summary or any(m in doc + summary for m in ("UNK", "#")):
        return None
    return {"text": doc, "target": summary}


def multi_news_fields(row: Row) -> Row | None:
    """{"document": "A ... ||||| B ...", "summary": "– Both ..."} -> documents (blank-line separated) + target."""
    docs = [_clean(d) for d in row["document"].split("|||||")]
    summary = row["summary"].strip().lstrip("–").strip()
    docs = [d for d in docs if d]
    if not docs or not summary:
        return None
    return {"documents": "\n\n".join(docs), "target": summary}


def newsroom_fields(row: Row) -> Row | None:
    """{"text": ..., "summary": ..., "title": ..., "url": ..., ...} -> text, title + target (the summary)."""
    if not row["text"].strip() or not row["summary"].strip():
        return None
    return {"text": _clean(row["text"]), "title": row["title"].strip(), "target": row["summary"].strip()}


def _values(seq) -> list[str]:
    """A Sequence({key, value}) column: a dict of lists in the Hub/JSON layout, a list of dicts elsewhere."""
    if isinstance(seq, dict):
        return [str(v) for v in seq["value"]]
    return [str(item["value"]) for item in seq]


def _numbered(items: list[str], limit: int = 10) -> str:
    return "\n".join(f"{i}. {s.strip()}" for i, s in enumerate(items[:limit], 1))


def idebate_fields(row: Row) -> Row | None:
    """{"_debate_name": ..., "_claim": ..., "_argument_sentences": {"key": [...], "value": [...]}, ...}
    -> debate, argument (numbered sentences, at most 10) + target (the claim, the argument's abstract)."""
    sentences = _values(row["_argument_sentences"])
    if not sentences or not row["_claim"].strip():
        return None
    return {"debate": row["_debate_name"].replace("_", " ").strip(), "argument": _numbered(sentences),
            "target": row["_claim"].strip()}


def movies_fields(row: Row) -> Row | None:
    """{"_movie_name": "the_movie", "_critics": {"key": [...], "value": [...]}, "_critic_consensus": ...}
    -> movie, reviews (numbered, at most 10) + target (the critics' consensus)."""
    reviews = _values(row["_critics"])
    if not reviews or not row["_critic_consensus"].strip():
        return None
    return {"movie": row["_movie_name"].replace("_", " ").strip().title(), "reviews": _numbered(reviews),
            "target": row["_critic_consensus"].strip()}


def samsum_fields(row: Row) -> Row | None:
    """{"id": "1", "dialogue": "Ann: Hi\\r\\nBob: Hey", "summary": "..."} -> dialogue + target."""
    dialogue = _clean(row["dialogue"])
    if not dialogue or not row["summary"].strip():
        return None
    return {"dialogue": dialogue, "target": row["summary"].strip()}


def wiki_lingua_fields(row: Row) -> Row | None:
    """GEM/wiki_lingua "en": {"source": ..., "target": ..., "references": [...], ...} -> text + target."""
    if not row["source"].strip() or not row["target"].strip():
        return None
    refs = [r for r in (row.get("references") or []) if r.strip()] or [row["target"]]
    return {"text": _clean(row["source"]), "target": row["target"].strip(), "references": refs}


def xsum_fields(row: Row) -> Row | None:
    """{"document": "...", "summary": "One sentence.", "id": "3"} -> document + target."""
    if not row["document"].strip() or not row["summary"].strip():
        return None
    return {"document": _clean(row["document"]), "target": row["summary"].strip()}


def _task(name: str, source: Source, preprocess, fields: tuple[str, ...], display: str, description: str,
          **kw) -> TaskSpec:
    kw.setdefault("metrics", ROUGE)
    kw.setdefault("splits", PUBLIC_TEST)
    return TaskSpec(name=name, cluster="summarization", source=source, preprocess=preprocess, fields=fields,
                    display=f"Summarization: {display}", description=description, **kw)


TASKS = [
    _task("aeslc", Source("Yale-LILY/aeslc"), aeslc_fields, ("email",), "AESLC",
          "Annotated Enron Subject Line Corpus: write the subject line of an email."),
    # The paper lists AG News under summarization (title generation or topic classification); its labels
    # are classes, so this is topic classification over the 4 classes. The Hub has train and test only.
    _task("ag_news", Source("fancyzhx/ag_news"), ag_news_fields, ("text",), "AG News",
          "AG News: classify a news item into one of four topics.",
          options=("World", "Sports", "Business", "Science and technology"), metrics=("accuracy",)),
    _task("cnn_dailymail", Source("abisee/cnn_dailymail", "3.0.0"), cnn_dailymail_fields, ("article",),
          "CNN/DailyMail", "CNN/DailyMail: write the highlights of a news article."),
    _task("gigaword", Source("Harvard/gigaword"), gigaword_fields, ("text",), "Gigaword",
          "Gigaword: write a headline for the first sentence of a news article."),
    _task("multi_news", Source("alexfabbri/multi_news"), multi_news_fields, ("documents",), "Multi-News",
          "Multi-News: summarize several news articles about one event."),
    # lil-lab/newsroom needs a manual download (the Hub loader reads a local data_dir after the dataset's
    # licence form), so it is declared for completeness and served from a local mirror in practice.
    _task("newsroom", Source("lil-lab/newsroom"), newsroom_fields, ("text", "title"), "Newsroom",
          "Newsroom: write the summary of a news article (manual download)."),
    # Opinion Abstracts (Wang and Ling, 2016) has no Hub dataset: these sources are MIRROR-ONLY, laid out
    # like TFDS opinion_abstracts/<config> in the Hub's JSON convention (a Sequence of {key, value} is a
    # dict of lists). TFDS ships only a train split; the paper tested on its last 500 rows, so a mirror
    # provides test.jsonl with those rows and train.jsonl with the rest.
    _task("opinion_abstracts_idebate", Source("opinion_abstracts", "idebate"), idebate_fields,
          ("debate", "argument"), "Opinion Abstracts iDebate",
          "iDebate arguments: state the claim an argument makes (mirror-only source)."),
    _task("opinion_abstracts_movies", Source("opinion_abstracts", "rotten_tomatoes"), movies_fields,
          ("movie", "reviews"), "Opinion Abstracts Rotten Tomatoes",
          "Rotten Tomatoes: write the critics' consensus from reviews (mirror-only source)."),
    _task("samsum", Source("Samsung/samsum", "samsum"), samsum_fields, ("dialogue",), "SAMSum",
          "SAMSum: summarize a chat conversation."),
    _task("wiki_lingua_en", Source("GEM/wiki_lingua", "en"), wiki_lingua_fields, ("text",), "WikiLingua English",
          "WikiLingua (English): summarize the steps of a how-to guide."),
    _task("xsum", Source("EdinburghNLP/xsum"), xsum_fields, ("document",), "XSum",
          "XSum: write a one-sentence summary of a BBC article."),
]
