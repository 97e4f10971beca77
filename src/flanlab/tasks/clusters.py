"""Task clusters and the hold-out rules of the paper, as data.

The paper's 12 clusters (Figure 3), plus named sub-clusters where an experiment needs a finer grain
(the number-of-clusters ablation separates conversational QA from miscellaneous). The extra hold-out
rules (section 2.4) are data too: holding out one cluster also removes the related clusters named here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cluster:
    name: str
    title: str
    parent: str | None = None  # a sub-cluster sits inside a paper cluster
    members: tuple[str, ...] = ()  # for sub-clusters: the tasks they group


@dataclass(frozen=True)
class HoldoutRule:
    """Holding out `cluster` also removes every task of the clusters in `also`."""

    cluster: str
    also: tuple[str, ...]
    reason: str


CLUSTERS: tuple[Cluster, ...] = (
    Cluster("nli", "Natural language inference"),
    Cluster("reading_comprehension", "Reading comprehension"),
    Cluster("closed_book_qa", "Closed-book QA"),
    Cluster("commonsense", "Commonsense reasoning"),
    Cluster("coreference", "Coreference resolution"),
    Cluster("rc_commonsense", "Reading comprehension with commonsense"),
    Cluster("sentiment", "Sentiment analysis"),
    Cluster("paraphrase", "Paraphrase detection"),
    Cluster("struct_to_text", "Struct to text"),
    Cluster("translation", "Translation"),
    Cluster("summarization", "Summarization"),
    Cluster("misc", "Miscellaneous"),
    Cluster("conversational_qa", "Conversational QA", parent="misc", members=("coqa", "quac")),
)

HOLDOUT_RULES: tuple[HoldoutRule, ...] = (
    HoldoutRule("rc_commonsense", ("reading_comprehension", "commonsense"),
                "reading comprehension with commonsense overlaps both reading comprehension and commonsense"),
    HoldoutRule("reading_comprehension", ("rc_commonsense",),
                "reading comprehension with commonsense contains reading comprehension"),
    HoldoutRule("commonsense", ("rc_commonsense",),
                "reading comprehension with commonsense contains commonsense reasoning"),
    HoldoutRule("nli", ("paraphrase",), "NLI and paraphrase are held out together (both are entailment-like)"),
    HoldoutRule("paraphrase", ("nli",), "NLI and paraphrase are held out together (both are entailment-like)"),
)

PAPER_CLUSTERS = tuple(c.name for c in CLUSTERS if c.parent is None)
