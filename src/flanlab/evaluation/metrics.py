"""Metrics: one small function per metric, chosen by name through `METRICS`. Scores are in [0, 1]
(BLEU and ROUGE come 0-100 from their libraries and are divided by 100; correlations are in [-1, 1]).

    items = [Item("Paris", ("Paris", "paris, France")), Item("Lyon", ("Paris",))]
    compute("exact_match", items)          # 0.5
    compute("bleu", items, lang="fr")      # sacrebleu corpus BLEU, tokenizer 13a

An `Item` is one scored example: the prediction (the chosen option's text, or the generated text), every
gold answer, and for classification the predicted and gold option indices. `example_scores` gives the
per-example scores written to the per-example records.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..errors import FlanlabError, UnknownNameError


@dataclass(frozen=True)
class Item:
    prediction: str
    references: tuple[str, ...]
    pred_index: int | None = None
    label: int | None = None
    group: str | None = None  # examples that form one question (MultiRC): exact_match is per group


# -- SQuAD-style answer normalisation -----------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower case, drop punctuation, articles (a, an, the) and extra whitespace (the SQuAD v1.1 script).

    >>> normalize_answer("The  Eiffel-Tower!")
    'eiffeltower'
    """
    s = "".join(ch for ch in s.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", s).split())


def squad_em(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def squad_f1_one(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not p or not g:  # SQuAD v2 no-answer: both empty is a match
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def _best(fn: Callable[[str, str], float], item: Item) -> float:
    return max((fn(item.prediction, g) for g in item.references), default=0.0)


# -- classification -----------------------------------------------------------------------------------

def _pairs(items: Sequence[Item]) -> list[tuple[int, int]]:
    out = []
    for it in items:
        if it.label is None or it.pred_index is None:
            raise FlanlabError("a classification metric needs gold labels and predicted options; "
                               "this split has examples without a label")
        out.append((it.pred_index, it.label))
    return out


def accuracy(items: Sequence[Item]) -> float:
    if items and items[0].label is None:  # generation: the output must equal a gold answer exactly
        return _mean(float(any(it.prediction.strip() == g.strip() for g in it.references)) for it in items)
    return _mean(float(p == g) for p, g in _pairs(items))


def _f1_for(pairs: list[tuple[int, int]], positive: int) -> float:
    tp = sum(1 for p, g in pairs if p == positive and g == positive)
    fp = sum(1 for p, g in pairs if p == positive and g != positive)
    fn = sum(1 for p, g in pairs if p != positive and g == positive)
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def f1_binary(items: Sequence[Item]) -> float:
    """F1 of option 1, the positive class in the Hub's label order (MRPC/QQP "equivalent", MultiRC "yes")."""
    return _f1_for(_pairs(items), 1)


def f1_macro(items: Sequence[Item]) -> float:
    """Mean F1 over the classes that occur as gold or prediction (scikit-learn's convention)."""
    pairs = _pairs(items)
    classes = sorted({c for pair in pairs for c in pair})
    return _mean(_f1_for(pairs, c) for c in classes)


def mcc(items: Sequence[Item]) -> float:
    """Matthews correlation (multi-class form); 0 when a marginal is constant."""
    pairs = _pairs(items)
    n = len(pairs)
    correct = sum(1 for p, g in pairs if p == g)
    pc, tc = Counter(p for p, _ in pairs), Counter(g for _, g in pairs)
    cov = correct * n - sum(pc[k] * tc[k] for k in set(pc) | set(tc))
    den = math.sqrt((n * n - sum(v * v for v in pc.values())) * (n * n - sum(v * v for v in tc.values())))
    return cov / den if den else 0.0


def multirc_f1a(items: Sequence[Item]) -> float:
    """MultiRC F1a: binary F1 over all answer options (option 1, "yes" = the candidate is correct)."""
    return f1_binary(items)


def exact_match(items: Sequence[Item]) -> float:
    """SQuAD-normalised match of the prediction with any gold answer (generation, and ranked options such as
    ReCoRD's entities, where several options can be gold). Classification examples with a `group`: every
    example of the group right (MultiRC's per-question EM)."""
    if items and items[0].label is not None and items[0].group is not None:
        groups: dict[str, bool] = {}
        for (p, g), it in zip(_pairs(items), items):
            groups[it.group] = groups.get(it.group, True) and p == g
        return _mean(float(v) for v in groups.values())
    return _mean(_best(squad_em, it) for it in items)


def squad_f1(items: Sequence[Item]) -> float:
    return _mean(_best(squad_f1_one, it) for it in items)


# -- generation ---------------------------------------------------------------------------------------

def bleu_tokenizer(lang: str | None) -> str:
    """sacrebleu's standard tokenizer for the target language: zh, ja-mecab, ko-mecab, else 13a."""
    return {"zh": "zh", "ja": "ja-mecab", "ko": "ko-mecab"}.get((lang or "").lower(), "13a")


def bleu(items: Sequence[Item], lang: str | None = None) -> float:
    import sacrebleu

    n_refs = max(len(it.references) for it in items)
    # sacrebleu takes one stream per reference position; examples with fewer golds leave None there
    streams = [[it.references[k] if k < len(it.references) else None for it in items] for k in range(n_refs)]
    tokenize = bleu_tokenizer(lang)
    try:
        result = sacrebleu.corpus_bleu([it.prediction for it in items], streams, tokenize=tokenize)
    except (ImportError, RuntimeError) as e:  # ja-mecab / ko-mecab need extra packages
        raise FlanlabError(f"BLEU with tokenizer {tokenize!r} for language {lang!r} failed: {e}; "
                           f"install sacrebleu[{lang}]") from None
    return result.score / 100.0


@lru_cache(maxsize=4)
def _rouge_scorer(kind: str):
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer([kind], use_stemmer=True)


def _rouge_one(kind: str, prediction: str, gold: str) -> float:
    if kind == "rougeLsum":  # summary-level LCS: one sentence per line
        prediction, gold = _sentences(prediction), _sentences(gold)
    return _rouge_scorer(kind).score(gold, prediction)[kind].fmeasure


def _sentences(text: str) -> str:
    return "\n".join(s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s)


def _rouge(kind: str) -> Callable[[Sequence[Item]], float]:
    def fn(items: Sequence[Item]) -> float:
        return _mean(max(_rouge_one(kind, it.prediction, g) for g in it.references) for it in items)

    fn.__name__ = kind
    return fn


def _floats(items: Sequence[Item]) -> tuple[list[float], list[float]]:
    """(predicted, gold) numbers; a prediction that is no number counts as 0 (it cannot be right)."""
    pred, gold = [], []
    for it in items:
        try:
            gold.append(float(it.references[0]))
        except (ValueError, IndexError):
            raise FlanlabError(f"pearson/spearman need numeric gold answers, got {it.references[:1]}") from None
        try:
            pred.append(float(it.prediction.strip()))
        except ValueError:
            pred.append(0.0)
    return pred, gold


def pearson(items: Sequence[Item]) -> float:
    from scipy.stats import pearsonr

    p, g = _floats(items)
    return 0.0 if len(set(p)) < 2 or len(set(g)) < 2 else float(pearsonr(p, g)[0])


def spearman(items: Sequence[Item]) -> float:
    from scipy.stats import spearmanr

    p, g = _floats(items)
    return 0.0 if len(set(p)) < 2 or len(set(g)) < 2 else float(spearmanr(p, g)[0])


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


METRICS: dict[str, Callable[..., float]] = {
    "accuracy": accuracy, "exact_match_rank": accuracy, "f1_binary": f1_binary, "f1_macro": f1_macro,
    "mcc": mcc, "multirc_f1a": multirc_f1a, "exact_match": exact_match, "squad_f1": squad_f1, "bleu": bleu,
    "rouge1": _rouge("rouge1"), "rouge2": _rouge("rouge2"), "rougeL": _rouge("rougeL"),
    "rougeLsum": _rouge("rougeLsum"), "pearson": pearson, "spearman": spearman,
}
ALIASES = {"acc": "accuracy", "f1": "squad_f1", "em": "exact_match", "rouge_l": "rougeL", "rougeL_sum": "rougeLsum",
           "matthews_correlation": "mcc", "sacrebleu": "bleu"}

# Per-example scores for the records (corpus metrics such as BLEU get their sentence-level form).
EXAMPLE: dict[str, Callable[[Item], float]] = {
    "exact_match": lambda it: _best(squad_em, it),
    "squad_f1": lambda it: _best(squad_f1_one, it),
    "rouge1": lambda it: max(_rouge_one("rouge1", it.prediction, g) for g in it.references),
    "rouge2": lambda it: max(_rouge_one("rouge2", it.prediction, g) for g in it.references),
    "rougeL": lambda it: max(_rouge_one("rougeL", it.prediction, g) for g in it.references),
}


def check_metric(name: str) -> str:
    """The canonical name of a metric, or an error listing the known ones."""
    name = ALIASES.get(name, name)
    if name not in METRICS:
        raise UnknownNameError("metric", name, METRICS)
    return name


def compute(name: str, items: Sequence[Item], *, lang: str | None = None) -> float:
    """Corpus-level score of metric `name` over `items`."""
    name = check_metric(name)
    if not items:
        raise FlanlabError(f"metric {name!r}: no examples to score")
    if name == "bleu":
        return bleu(items, lang)
    return METRICS[name](items)


def example_scores(names: Sequence[str], item: Item, lang: str | None = None) -> dict[str, float]:
    """Per-example scores of the metrics that have one (BLEU: sentence BLEU)."""
    out: dict[str, float] = {}
    for name in (check_metric(n) for n in names):
        if name in EXAMPLE:
            out[name] = EXAMPLE[name](item)
        elif name == "bleu":
            import sacrebleu

            out[name] = sacrebleu.sentence_bleu(item.prediction, list(item.references),
                                                tokenize=bleu_tokenizer(lang)).score / 100.0
        elif name in ("accuracy", "exact_match_rank") and item.label is not None:
            out[name] = float(item.pred_index == item.label)
    return out


def target_language(task_name: str) -> str | None:
    """Target language code of a translation task named `<corpus>_<src>_<tgt>` (wmt16_en_ro -> 'ro')."""
    m = re.search(r"_([a-z]{2})_([a-z]{2})$", task_name)
    return m.group(2) if m else None
