"""Published reference numbers from the FLAN paper, typed in as data with their source.

    for r in cluster_references("nli"): print(r.system, r.value)

Only numbers we could check against a source are here. The report overlays them on our figures and
tables, always labelled "published" with the source, because they come from 137B/175B models on the full
datasets and are context, never a target a 135M-parameter miniature should reach.

Sources:
- FIG1: Wei et al., "Finetuned Language Models Are Zero-Shot Learners", ICLR 2022 (arXiv:2109.01652v5),
  Figure 1 (bottom), "performance on unseen task types" (some secondary write-ups of the paper shift this table's column
  headers so that a "LaMDA-PT" column holds GPT-3 zero-shot: check against the paper itself). Each value is the mean
  over the datasets listed in `datasets`, FLAN averaged over up to 10 templates per dataset. The v1 of the
  paper printed 53.7 for FLAN on closed-book ("open-domain") QA; v5 prints 56.6, used here.
"""

from __future__ import annotations

from dataclasses import dataclass

FIG1_SOURCE = "Wei et al. (ICLR 2022, arXiv:2109.01652v5), Figure 1"


@dataclass(frozen=True)
class Reference:
    system: str  # "FLAN 137B zero-shot", ...
    cluster: str  # our cluster name
    value: float  # in [0, 1], like our scores
    datasets: tuple[str, ...]  # the paper's datasets behind the value
    source: str


_NLI = ("anli_r1", "anli_r2", "anli_r3", "cb", "rte")
_RC = ("boolq", "multirc", "openbookqa")
_CBQA = ("arc_easy", "arc_challenge", "natural_questions", "trivia_qa")

FIG1: tuple[Reference, ...] = tuple(
    Reference(system, cluster, value / 100, datasets, FIG1_SOURCE)
    for cluster, datasets, values in (
        ("nli", _NLI, (42.9, 53.2, 56.2)),
        ("reading_comprehension", _RC, (63.7, 72.6, 77.4)),
        ("closed_book_qa", _CBQA, (49.8, 55.7, 56.6)),
    )
    for system, value in zip(("GPT-3 175B zero-shot", "GPT-3 175B few-shot", "FLAN 137B zero-shot"), values)
)

REFERENCES: tuple[Reference, ...] = FIG1


def cluster_references(cluster: str) -> list[Reference]:
    return [r for r in REFERENCES if r.cluster == cluster]


def systems() -> list[str]:
    return list(dict.fromkeys(r.system for r in REFERENCES))
