"""Leave-cluster-out splits: every hold-out rule of the paper (as data), reasons, errors, no leaks."""

from __future__ import annotations

import pytest
from mixture_toys import toy_catalogue

from flanlab.errors import FlanlabError, UnknownNameError
from flanlab.mixtures.holdout import HoldoutSplit, check_no_overlap, split_tasks
from flanlab.tasks import PAPER_CLUSTERS


@pytest.fixture(scope="module")
def cat():
    # two toy tasks in every paper cluster; coqa/quac give the conversational QA sub-cluster its members
    tasks = {f"{c}_{i}": (c, "cls") for c in PAPER_CLUSTERS for i in (1, 2)}
    tasks.update({"coqa": ("misc", "gen"), "quac": ("misc", "gen")})
    return toy_catalogue(tasks, with_conv_qa=True)


def of(split, cluster):
    return {t for t in split.held_out if t.startswith(cluster + "_")}


def test_cluster_held_out_with_reason(cat):
    s = split_tasks(cat, holdout=["sentiment"])
    assert set(s.held_out) == {"sentiment_1", "sentiment_2"}
    assert s.held_out["sentiment_1"] == "in held-out cluster 'sentiment'"
    assert s.evaluate == ["sentiment_1", "sentiment_2"]
    assert len(s.train) == len(cat.tasks) - 2 and "sentiment_1" not in s.train


def test_nli_removes_paraphrase_and_back(cat):
    s = split_tasks(cat, holdout=["nli"])
    assert set(s.held_out) == {"nli_1", "nli_2", "paraphrase_1", "paraphrase_2"}
    assert s.held_out["paraphrase_1"].startswith("rule nli -> paraphrase: NLI and paraphrase")
    assert s.evaluate == ["nli_1", "nli_2"]  # the rule removes from training, it does not add eval tasks
    s = split_tasks(cat, holdout=["paraphrase"])
    assert set(s.held_out) == {"nli_1", "nli_2", "paraphrase_1", "paraphrase_2"}
    assert s.held_out["nli_2"].startswith("rule paraphrase -> nli")


def test_rc_commonsense_removes_both_parents(cat):
    s = split_tasks(cat, holdout=["rc_commonsense"])
    assert of(s, "reading_comprehension") == {"reading_comprehension_1", "reading_comprehension_2"}
    assert of(s, "commonsense") == {"commonsense_1", "commonsense_2"}
    assert "rule rc_commonsense -> reading_comprehension" in s.held_out["reading_comprehension_1"]


@pytest.mark.parametrize("parent", ["reading_comprehension", "commonsense"])
def test_parent_removes_rc_commonsense_but_rules_do_not_chain(cat, parent):
    s = split_tasks(cat, holdout=[parent])
    assert of(s, "rc_commonsense") == {"rc_commonsense_1", "rc_commonsense_2"}
    other = "commonsense" if parent == "reading_comprehension" else "reading_comprehension"
    assert not of(s, other), "rc_commonsense's own rule must not fire: it was removed, not held out"


def test_sub_cluster_and_named_tasks(cat):
    s = split_tasks(cat, holdout=["conversational_qa"])
    assert set(s.held_out) == {"coqa", "quac"} and "misc_1" in s.train
    s = split_tasks(cat, holdout_tasks=["misc_2"])
    assert s.held_out == {"misc_2": "held out by name"}


def test_dataset_siblings_are_removed():
    cat = toy_catalogue({"anli_r1": ("nli", "cls", "anli"), "anli_r2": ("nli", "cls", "anli"),
                         "sst": ("sentiment", "cls")})
    s = split_tasks(cat, holdout_tasks=["anli_r1"])
    assert s.train == ["sst"]
    assert s.held_out["anli_r2"] == "same dataset 'anli' as held-out task 'anli_r1'"


def test_include_restricts_training(cat):
    s = split_tasks(cat, holdout=["nli"], include=["sentiment", "misc_1", "nli_1"])
    assert s.train == ["sentiment_1", "sentiment_2", "misc_1"]
    assert "nli_1" in s.held_out and s.excluded["closed_book_qa_1"] == "not in include"


def test_errors(cat):
    with pytest.raises(UnknownNameError, match="unknown cluster 'nlii'; did you mean: nli"):
        split_tasks(cat, holdout=["nlii"])
    with pytest.raises(UnknownNameError, match="unknown task 'misc_9'"):
        split_tasks(cat, holdout_tasks=["misc_9"])
    with pytest.raises(UnknownNameError, match="unknown task or cluster"):
        split_tasks(cat, include=["nope"])
    with pytest.raises(FlanlabError, match="the mixture is empty"):
        split_tasks(cat, holdout=list(PAPER_CLUSTERS))
    with pytest.raises(FlanlabError, match="the mixture is empty"):
        split_tasks(cat, holdout=["nli"], include=["paraphrase"])


def test_overlap_check_raises(cat):
    s = split_tasks(cat, holdout=["nli"])
    s.train.append("nli_1")
    with pytest.raises(FlanlabError, match="overlaps: \\['nli_1'\\]"):
        check_no_overlap(cat, s)
    # a dataset split across clusters: the sibling rule removes it, a hand-made split is refused
    leak = toy_catalogue({"a": ("nli", "cls", "shared"), "b": ("sentiment", "cls", "shared"),
                          "c": ("misc", "cls")})
    assert split_tasks(leak, holdout=["sentiment"]).train == ["c"]
    with pytest.raises(FlanlabError, match="leaks dataset 'shared'"):
        check_no_overlap(leak, HoldoutSplit(train=["a"], held_out={"b": "x"}))


def test_real_catalogue_rules_apply():
    """The built-in catalogue: NLI held out removes every paraphrase task it has."""
    from flanlab.tasks import catalogue

    cat = catalogue()
    para = [t.name for t in cat.tasks_in("paraphrase")]
    if not para or not cat.tasks_in("nli"):
        pytest.skip("the catalogue has no NLI or paraphrase tasks yet")
    s = split_tasks(cat, holdout=["nli"])
    assert all(t in s.held_out for t in para)
    assert not set(s.train) & set(s.held_out)


# -- WSC273 is a test set: evaluation-only tasks never train (paper section 2.4 / Appendix B) -----------------

def test_section_2_4_wsc273_test_set_never_enters_a_training_mixture():
    """The paper evaluates on WSC273's 273 schemas, its only labelled split, so it can never be trained on:
    no hold-out, include or default mixture puts it in training, and naming it in `include` is an error."""
    from flanlab.mixtures.config import MixtureConfig
    from flanlab.mixtures.mixture import Mixture
    from flanlab.tasks import catalogue

    real = catalogue()
    assert [t.name for t in real.tasks.values() if t.evaluation_only] == ["wsc273"]
    for holdout in ([], ["nli"], ["commonsense"]):
        s = split_tasks(real, holdout=holdout)
        assert "wsc273" not in s.train and s.excluded["wsc273"].startswith("evaluation only")
    s = split_tasks(real, include=["coreference"])  # a cluster leaves its evaluation-only task out
    assert s.train == ["dpr", "winogrande"]
    assert split_tasks(real, holdout=["coreference"]).held_out["wsc273"] == "in held-out cluster 'coreference'"
    with pytest.raises(FlanlabError, match="'wsc273' in `include`: evaluation-only"):
        split_tasks(real, include=["wsc273", "dpr"])
    with pytest.raises(FlanlabError, match="'wsc273' in `include`: evaluation-only"):
        Mixture(MixtureConfig(include=["wsc273"], counts={"wsc273": 273}), real)
    plan = {r["task"]: r for r in Mixture(MixtureConfig(counts={t: 100 for t in real.tasks}), real).plan()}
    assert plan["wsc273"]["status"] == "excluded" and plan["wsc273"]["share"] is None
    with pytest.raises(FlanlabError, match="'wsc273' is evaluation-only"):
        Mixture(MixtureConfig(), real).pool("wsc273")


def test_evaluation_only_task_from_a_tasks_file(cat, tmp_path):
    from flanlab.tasks.registry import build_catalogue

    f = tmp_path / "t.yaml"
    f.write_text("tasks:\n  - {name: my_test_set, cluster: sentiment, source: me/x, fields: {text: t}, label: y,\n"
                 "     options: [a, b], template_set: movie_review, evaluation_only: true}\n")
    mine = build_catalogue([f])
    assert mine.task("my_test_set").evaluation_only
    with pytest.raises(FlanlabError, match="'my_test_set' in `include`"):
        split_tasks(mine, include=["my_test_set"])
