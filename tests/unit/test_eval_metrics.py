"""Metric functions against known values and the reference libraries (sacrebleu, rouge-score, scipy)."""

from __future__ import annotations

import math

import pytest

from flanlab.errors import FlanlabError
from flanlab.evaluation.metrics import (Item, bleu_tokenizer, check_metric, compute, example_scores, normalize_answer,
                                        squad_f1_one, target_language)


def cls(pairs, group=None):
    return [Item(str(p), (str(g),), p, g, group[i] if group else None) for i, (p, g) in enumerate(pairs)]


@pytest.mark.parametrize("text,expected", [
    ("The Eiffel Tower", "eiffel tower"),
    ("  an apple, a pear!  ", "apple pear"),
    ("Theater", "theater"),           # 'the' only as a word
    ("U.S.A.", "usa"),
    ("A", ""),
    ("Hello   World\n", "hello world"),
])
def test_squad_normalisation(text, expected):
    assert normalize_answer(text) == expected


def test_exact_match_and_f1_take_the_best_gold():
    items = [Item("the Eiffel tower", ("Eiffel Tower", "tower")), Item("Paris France", ("Paris",)),
             Item("Lyon", ("Paris", "City of Light"))]
    assert compute("exact_match", items) == pytest.approx(1 / 3)
    # Paris France vs Paris: precision 1/2, recall 1 -> 2/3
    assert compute("squad_f1", items) == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert squad_f1_one("", "") == 1.0 and squad_f1_one("a", "x") == 0.0  # no-answer cases


def test_classification_metrics_known_values():
    pairs = [(1, 1), (1, 0), (0, 0), (0, 0), (1, 1), (0, 1)]
    items = cls(pairs)
    assert compute("accuracy", items) == pytest.approx(4 / 6)
    # positive class 1: tp=2, fp=1, fn=1 -> 2*2/(4+1+1)
    assert compute("f1_binary", items) == pytest.approx(4 / 6)
    # class 0: tp=2, fp=1, fn=1 -> 2/3; macro = 2/3
    assert compute("f1_macro", items) == pytest.approx(2 / 3)
    # mcc = (tp*tn - fp*fn)/sqrt(...) = (2*2 - 1*1)/sqrt(3*3*3*3) = 1/3
    assert compute("mcc", items) == pytest.approx(1 / 3)
    assert compute("mcc", cls([(1, 1), (1, 0)])) == 0.0  # constant prediction


def test_mcc_matches_the_textbook_formula_on_three_classes():
    pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (2, 0), (0, 0), (2, 2)]
    # Gorodkin's R_K by hand: c=5, s=8, p=(3,2,3), t=(3,2,3)
    c, s, p, t = 5, 8, [3, 2, 3], [3, 2, 3]
    expected = (c * s - sum(a * b for a, b in zip(p, t))) / math.sqrt((s * s - sum(a * a for a in p)) * (s * s - sum(b * b for b in t)))
    assert compute("mcc", cls(pairs)) == pytest.approx(expected)


def test_multirc_f1a_and_per_question_exact_match():
    pairs = [(1, 1), (0, 0), (1, 0), (1, 1), (0, 1)]
    items = cls(pairs, group=["q1", "q1", "q2", "q3", "q3"])
    assert compute("multirc_f1a", items) == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert compute("exact_match", items) == pytest.approx(1 / 3)  # only q1 has every option right


def test_bleu_matches_sacrebleu_with_the_language_tokenizer():
    import sacrebleu

    preds = ["the cat sat on the mat", "a dog barked loudly"]
    refs = [("the cat sat on a mat",), ("the dog barked", "a dog barked very loudly")]
    items = [Item(p, r) for p, r in zip(preds, refs)]
    expected = sacrebleu.corpus_bleu(preds, [[r[0] for r in refs], [None, refs[1][1]]], tokenize="13a").score / 100
    assert compute("bleu", items, lang="de") == pytest.approx(expected)
    assert 0 < expected < 1
    zh = [Item("我喜欢猫", ("我喜欢猫和狗",))]
    assert compute("bleu", zh, lang="zh") == pytest.approx(
        sacrebleu.corpus_bleu(["我喜欢猫"], [["我喜欢猫和狗"]], tokenize="zh").score / 100)
    assert bleu_tokenizer("ja") == "ja-mecab" and bleu_tokenizer("fr") == "13a" and bleu_tokenizer(None) == "13a"
    assert target_language("wmt16_en_ro") == "ro" and target_language("rte") is None


def test_rouge_matches_rouge_score_with_stemming():
    from rouge_score import rouge_scorer

    preds, golds = ["the cats were running home", "nothing alike"], ["the cat runs home quickly", "totally different"]
    items = [Item(p, (g,)) for p, g in zip(preds, golds)]
    sc = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for kind in ("rouge1", "rouge2", "rougeL"):
        expected = sum(sc.score(g, p)[kind].fmeasure for p, g in zip(preds, golds)) / 2
        assert compute(kind, items) == pytest.approx(expected)
    assert compute("rouge1", items[:1]) > 0.5  # stemming: cats~cat, running~runs


def test_correlations_match_scipy():
    from scipy.stats import pearsonr, spearmanr

    pred, gold = [1, 2, 3, 5, 4], [1.2, 2.5, 2.9, 4.0, 4.8]
    items = [Item(str(p), (str(g),), p, round(g)) for p, g in zip(pred, gold)]
    assert compute("pearson", items) == pytest.approx(pearsonr(pred, gold)[0])
    assert compute("spearman", items) == pytest.approx(spearmanr(pred, gold)[0])
    items.append(Item("not a number", ("3.0",)))
    assert math.isfinite(compute("pearson", items))


def test_unknown_metric_and_empty_input():
    with pytest.raises(FlanlabError, match="unknown metric 'acuracy'.*accuracy"):
        check_metric("acuracy")
    with pytest.raises(FlanlabError, match="no examples"):
        compute("accuracy", [])
    assert check_metric("acc") == "accuracy"


def test_classification_metric_without_labels_is_an_error():
    with pytest.raises(FlanlabError, match="without a label"):
        compute("f1_binary", [Item("yes", ("yes",), 0, None)])


def test_example_scores():
    it = Item("the Eiffel tower", ("Eiffel Tower",))
    s = example_scores(["exact_match", "squad_f1", "rouge1", "bleu"], it, lang="fr")
    assert s["exact_match"] == 1.0 and s["squad_f1"] == 1.0 and s["rouge1"] > 0.5 and 0 <= s["bleu"] <= 1
    assert example_scores(["accuracy"], Item("no", ("yes",), 1, 0)) == {"accuracy": 0.0}


def test_ranked_options_with_several_golds_use_squad_match():
    """ReCoRD: the chosen entity counts when it matches any gold (aliases), not only the labelled option."""
    items = [Item("the Obama", ("Obama", "Barack Obama"), 2, 0), Item("Paris", ("London",), 1, 0)]
    assert compute("exact_match", items) == pytest.approx(0.5)
    assert compute("squad_f1", items) == pytest.approx(0.5)
