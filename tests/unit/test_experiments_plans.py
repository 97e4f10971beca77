"""The paper's studies as pure plans: which steps, in which order, with which dependencies and tags."""

from __future__ import annotations

import pytest

from flanlab.errors import FlanlabError, UnknownNameError
from flanlab.experiments.config import ExperimentConfig
from flanlab.experiments.plans import CatalogueFacts, plan
from flanlab.experiments.steps import Step

FACTS = CatalogueFacts(
    cluster_tasks={"nli": ("rte", "cb"), "commonsense": ("copa",), "closed_book_qa": ("arc",),
                   "paraphrase": ("mrpc",), "rc_commonsense": ("cosmos",), "translation": ("t1", "t2", "t3"),
                   "sentiment": ("sst2", "imdb"), "summarization": ("s1", "s2", "s3", "s4"), "misc": ()},
    rules={"nli": ("paraphrase",), "commonsense": ("rc_commonsense",)},
    datasets={"translation": 3, "sentiment": 2, "summarization": 4})


def cfg(kind: str, **kw) -> ExperimentConfig:
    return ExperimentConfig(name="t", kind=kind, **kw)


def kinds(steps: list[Step]) -> list[str]:
    return [s.kind for s in steps]


def test_heldout_sweep_tunes_one_model_per_cluster_and_compares_with_base():
    steps = plan(cfg("heldout_sweep", eval_clusters=["nli", "commonsense"]), FACTS)
    assert steps[-1].kind == "report" and set(steps[-1].deps) == {s.id for s in steps[:-1]}
    mixtures = [s for s in steps if s.kind == "mixture"]
    assert [m.inputs["mixture"]["holdout"] for m in mixtures] == [["nli"], ["commonsense"]]
    evals = [s for s in steps if s.kind == "eval"]
    assert {(e.tags["cluster"], e.tags["variant"], e.inputs["mode"], e.inputs["shots"]) for e in evals} == {
        (c, v, m, k) for c in ("nli", "commonsense")
        for v, m, k in (("tuned", "natural", 0), ("base", "natural", 0), ("base", "baseline", 0), ("base", "baseline", 1))}
    for e in evals:
        if e.tags["variant"] == "tuned":
            (train_id,) = e.deps
            train = next(s for s in steps if s.id == train_id)
            assert train.inputs["mixture"]["holdout"] == e.inputs["clusters"]
    assert kinds(steps).count("contamination") == 2


def test_adding_a_cluster_keeps_every_existing_step_id():
    one = plan(cfg("heldout_sweep", eval_clusters=["nli"]), FACTS)
    two = plan(cfg("heldout_sweep", eval_clusters=["nli", "commonsense"]), FACTS)
    old = {s.id for s in one if s.kind != "report"}
    new = {s.id for s in two if s.kind != "report"}
    assert old < new
    assert {s.inputs.get("mixture", {}).get("holdout", [None])[0] for s in two if s.id in new - old
            and s.kind in ("mixture", "train")} == {"commonsense"}


def test_step_id_changes_with_any_input_and_with_upstream():
    a = plan(cfg("heldout_sweep", eval_clusters=["nli"], baselines=False), FACTS)
    b = plan(cfg("heldout_sweep", eval_clusters=["nli"], baselines=False, train={"steps": 7}), FACTS)
    by_kind = lambda steps: {(s.kind, s.tags.get("variant")): s.id for s in steps}  # noqa: E731
    ka, kb = by_kind(a), by_kind(b)
    assert ka[("mixture", None)] == kb[("mixture", None)]
    assert ka[("train", None)] != kb[("train", None)]
    assert ka[("eval", "tuned")] != kb[("eval", "tuned")]  # its model changed upstream
    assert ka[("eval", "base")] == kb[("eval", "base")]  # the base model's evaluation is untouched


def test_num_clusters_adds_clusters_in_decreasing_number_of_datasets():
    steps = plan(cfg("num_clusters", eval_clusters=["nli", "commonsense", "closed_book_qa"]), FACTS)
    mixes = [s.inputs["mixture"] for s in steps if s.kind == "mixture"]
    assert [m["include"] for m in mixes] == [["summarization"], ["summarization", "translation"],
                                             ["summarization", "translation", "sentiment"]]
    assert all(m["holdout"] == ["closed_book_qa", "commonsense", "nli"] for m in mixes)
    ns = [s.tags["n_clusters"] for s in steps if s.kind == "eval"]
    assert ns == [0, 1, 2, 3]


def test_num_clusters_refuses_a_held_out_tuning_cluster():
    with pytest.raises(FlanlabError, match="paraphrase"):
        plan(cfg("num_clusters", eval_clusters=["nli"], tuning_clusters=["translation", "paraphrase"]), FACTS)


def test_model_scale_shares_one_mixture_across_models():
    steps = plan(cfg("model_scale", models=["small", "large"], eval_clusters=["nli"]), FACTS)
    assert kinds(steps).count("mixture") == 1 and kinds(steps).count("train") == 2
    evals = [s for s in steps if s.kind == "eval"]
    assert {(e.tags["model"], e.tags["variant"], e.tags["scale_rank"]) for e in evals} == {
        ("small", "tuned", 0), ("small", "base", 0), ("large", "tuned", 1), ("large", "base", 1)}


def test_instructions_ablation_modes_and_evaluations():
    steps = plan(cfg("instructions", eval_clusters=["nli"]), FACTS)
    modes = [s.inputs["mixture"]["template_mode"] for s in steps if s.kind == "mixture"]
    assert modes == ["natural", "no_template", "dataset_name"]
    evals = {(s.tags["finetune"], s.inputs["mode"]) for s in steps if s.kind == "eval"}
    assert evals == {("none", "natural"), ("natural", "natural"), ("no_template", "natural"),
                     ("dataset_name", "natural"), ("dataset_name", "dataset_name")}


def test_few_shot_evaluates_each_tuned_model_at_each_k():
    steps = plan(cfg("few_shot", eval_clusters=["nli", "commonsense"], shots=[0, 4]), FACTS)
    assert sorted((s.tags["cluster"], s.inputs["shots"]) for s in steps if s.kind == "eval") == [
        ("commonsense", 0), ("commonsense", 4), ("nli", 0), ("nli", 4)]


def test_prompt_tuning_holds_out_the_tasks_cluster_and_covers_both_budgets():
    steps = plan(cfg("prompt_tuning", prompt_tuning={"tasks": ["rte", "copa"], "examples": [None, 32]}), FACTS)
    pts = [s for s in steps if s.kind == "prompt_tune"]
    assert len(pts) == 8
    for p in pts:
        assert p.inputs["mixture"]["include"] == [p.tags["task"]]
        if p.tags["variant"] == "tuned":
            train = next(s for s in steps if s.id == p.deps[0])
            assert train.inputs["mixture"]["holdout"] == [FACTS.cluster_of(p.tags["task"])]
    assert {p.inputs["mixture"].get("cap") for p in pts} == {None, 32}


def test_unknown_names_are_errors_with_suggestions():
    with pytest.raises(UnknownNameError, match="did you mean: nli"):
        plan(cfg("heldout_sweep", eval_clusters=["nlii"]), FACTS)
    with pytest.raises(FlanlabError, match="no task in the evaluation clusters"):
        plan(cfg("heldout_sweep", eval_clusters=["nli"], eval_tasks=["copa"]), FACTS)


def test_facts_from_the_real_catalogue_follow_the_paper_order():
    from flanlab.tasks import catalogue

    facts = CatalogueFacts.from_catalogue(catalogue())
    order = facts.by_size(facts.removed_by(["nli", "closed_book_qa", "commonsense"]))
    assert order[:2] == ["summarization", "translation"]
    assert not {"nli", "paraphrase", "commonsense", "rc_commonsense", "closed_book_qa"} & set(order)
