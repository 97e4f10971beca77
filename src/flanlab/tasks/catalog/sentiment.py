"""Sentiment analysis: IMDB, Sentiment140, SST-2, Yelp polarity (negative / positive).

    python -c "import flanlab.tasks as t; c = t.catalogue(); print(c.tasks_in('sentiment'))"
"""

from __future__ import annotations

from ..task import Row, Source, SplitRoles, TaskSpec, labelled

POLARITY = ("negative", "positive")


def review_fields(row: Row) -> Row | None:
    """IMDB: {"text": "...", "label": 1} -> {"text", "label": 1}; the unsupervised split (-1) is skipped."""
    if not labelled(row):
        return None
    return {"text": row["text"], "label": int(row["label"])}


def sst2_fields(row: Row) -> Row | None:
    """{"idx": 0, "sentence": "a gem of a film .", "label": 1} -> {"text", "label": 1}; hidden test (-1) skipped."""
    if not labelled(row):
        return None
    return {"text": row["sentence"], "label": int(row["label"])}


def yelp_fields(row: Row) -> Row | None:
    """{"text": "Great tacos.\\\\nWill return.", "label": 1} -> {"text": "Great tacos.\\nWill return.", "label": 1}.

    The Hub text keeps the CSV's escaped line breaks (a backslash and an 'n'): turn them into newlines."""
    if not labelled(row):
        return None
    return {"text": row["text"].replace("\\n", "\n").strip(), "label": int(row["label"])}


def sent140_fields(row: Row) -> Row | None:
    """{"text": "...", "sentiment": 4, ...} -> {"text", "label": 1}.

    Sentiment140 scores polarity 0 (negative), 2 (neutral, test split only) or 4 (positive); neutral
    tweets are skipped so the task stays binary like the other sentiment datasets."""
    polarity = {0: 0, 4: 1}.get(int(row["sentiment"]))
    if polarity is None:
        return None
    return {"text": row["text"], "label": polarity}


TASKS = [
    TaskSpec(
        name="imdb", cluster="sentiment", source=Source("stanfordnlp/imdb", "plain_text"),
        preprocess=review_fields, fields=("text",), options=POLARITY, metrics=("accuracy",),
        # The Hub has train/test (25k each, labelled) and an unlabelled split; no validation.
        splits=SplitRoles(test="test"), template_set="movie_review",
        display="Sentiment analysis: IMDB", description="IMDB movie reviews: is the review positive or negative?"),
    TaskSpec(
        name="sent140", cluster="sentiment", source=Source("stanfordnlp/sentiment140", "sentiment140"),
        preprocess=sent140_fields, fields=("text",), options=POLARITY, metrics=("accuracy",),
        # The Hub has train (1.6M, automatically labelled from emoticons) and a small hand-labelled test.
        splits=SplitRoles(test="test"),
        display="Sentiment analysis: Sentiment140", description="Sentiment140 tweets: positive or negative?"),
    TaskSpec(
        name="sst2", cluster="sentiment", source=Source("stanfordnlp/sst2"), preprocess=sst2_fields,
        fields=("text",), options=POLARITY, metrics=("accuracy",), template_set="movie_review",
        display="Sentiment analysis: SST-2",
        description="Stanford Sentiment Treebank (binary): is the movie-review sentence positive or negative?"),
    TaskSpec(
        name="yelp_polarity", cluster="sentiment", source=Source("fancyzhx/yelp_polarity", "plain_text"),
        preprocess=yelp_fields, fields=("text",), options=POLARITY, metrics=("accuracy",),
        # The Hub has train (560k) and test (38k), no validation.
        splits=SplitRoles(test="test"), template_set="yelp",
        display="Sentiment analysis: Yelp polarity", description="Yelp reviews: positive or negative?"),
]
# Every task here: label 0 = negative, 1 = positive (Yelp's classes '1'/'2' are stored as 0/1 on the Hub).
