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
        for v, m, k in (("tuned", "natural", 0), ("untuned-instructions", "natural", 0),
                        ("untuned-baseline", "baseline", 0), ("untuned-baseline", "baseline", 1))}
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
    assert ka[("eval", "untuned-baseline")] == kb[("eval", "untuned-baseline")]  # the untuned model's is untouched


def test_num_clusters_adds_clusters_in_decreasing_number_of_datasets_when_asked():
    steps = plan(cfg("num_clusters", eval_clusters=["nli", "commonsense", "closed_book_qa"], cluster_order="size"),
                 FACTS)
    mixes = [s.inputs["mixture"] for s in steps if s.kind == "mixture"]
    assert [m["include"] for m in mixes] == [["summarization"], ["summarization", "translation"],
                                             ["summarization", "translation", "sentiment"]]
    assert all(m["holdout"] == ["closed_book_qa", "commonsense", "nli"] for m in mixes)
    ns = [s.tags["n_clusters"] for s in steps if s.kind == "eval" and "n_clusters" in s.tags]
    assert ns == [0, 1, 2, 3]


def test_num_clusters_refuses_a_held_out_tuning_cluster():
    with pytest.raises(FlanlabError, match="paraphrase"):
        plan(cfg("num_clusters", eval_clusters=["nli"], tuning_clusters=["translation", "paraphrase"]), FACTS)


def test_model_scale_shares_one_mixture_across_models():
    steps = plan(cfg("model_scale", models=["small", "large"], eval_clusters=["nli"]), FACTS)
    assert kinds(steps).count("mixture") == 1 and kinds(steps).count("train") == 2
    evals = [s for s in steps if s.kind == "eval"]
    assert {(e.tags["model"], e.tags["variant"], e.tags["scale_rank"]) for e in evals} == {
        (m, v, r) for m, r in (("small", 0), ("large", 1))
        for v in ("tuned", "untuned-baseline", "untuned-instructions")}


def test_instructions_ablation_modes_and_evaluations():
    steps = plan(cfg("instructions", eval_clusters=["nli"]), FACTS)
    modes = [s.inputs["mixture"]["template_mode"] for s in steps if s.kind == "mixture"]
    assert modes == ["natural", "no_template", "dataset_name"]
    evals = {(s.tags["finetune"], s.inputs["mode"]) for s in steps if s.kind == "eval"}
    assert evals == {("none", "baseline"), ("none", "natural"), ("natural", "natural"), ("no_template", "natural"),
                     ("dataset_name", "natural"), ("dataset_name", "dataset_name")}


def test_figure8_instruction_ablation_uses_figure5_leave_one_cluster_out_models():
    """Section 4.3 (Figure 8): evaluated on Figure 5's held-out clusters, each cluster with its own
    leave-one-cluster-out model as in Figure 5; a joint hold-out only when asked. The scale study (section 4.2)
    keeps the joint split: NLI, closed-book QA and commonsense held out together. The plan says which."""
    from flanlab.experiments.config import FIGURE5_CLUSTERS
    from flanlab.experiments.plans import protocol

    facts = CatalogueFacts(cluster_tasks={**FACTS.cluster_tasks, "reading_comprehension": ("boolq",),
                                          "translation": ("t1",)}, rules=FACTS.rules)
    assert FIGURE5_CLUSTERS == ("nli", "reading_comprehension", "closed_book_qa", "translation")
    c = cfg("instructions", eval_clusters=list(FIGURE5_CLUSTERS), instruction_modes=["natural", "no_template"])
    steps = plan(c, facts)
    mixes = [s.inputs["mixture"] for s in steps if s.kind == "mixture"]
    assert [(m["holdout"], m["template_mode"]) for m in mixes] == [
        ([cl], tm) for cl in FIGURE5_CLUSTERS for tm in ("natural", "no_template")]
    by_id = {s.id: s for s in steps}
    tuned = [s for s in steps if s.kind == "eval" and s.tags["finetune"] != "none"]
    assert len(tuned) == 8
    for e in tuned:  # each cluster is scored only by a model that never saw it
        (train,) = [by_id[d] for d in e.deps]
        assert train.inputs["mixture"]["holdout"] == e.inputs["clusters"] == e.tags["holdout"]
        assert e.tags["variant"] == {"natural": "tuned", "no_template": "no-template"}[e.tags["finetune"]]
    assert "own leave-one-cluster-out models" in " ".join(protocol(c, facts))

    joint = plan(cfg("instructions", eval_clusters=list(FIGURE5_CLUSTERS), instructions_holdout="joint",
                     instruction_modes=["natural"]), facts)
    assert [s.inputs["mixture"]["holdout"] for s in joint if s.kind == "mixture"] == [sorted(FIGURE5_CLUSTERS)]
    assert "joint hold-out" in " ".join(protocol(joint_cfg := cfg("instructions", instructions_holdout="joint"),
                                                 facts)) and joint_cfg.eval_clusters == ["nli"]

    scale = cfg("model_scale", models=["s", "l"], eval_clusters=["nli", "closed_book_qa", "commonsense"])
    mixes = [s.inputs["mixture"] for s in plan(scale, FACTS) if s.kind == "mixture"]
    assert [m["holdout"] for m in mixes] == [["closed_book_qa", "commonsense", "nli"]]
    assert "joint hold-out" in " ".join(protocol(scale, FACTS))


def test_few_shot_evaluates_each_tuned_model_at_each_k():
    steps = plan(cfg("few_shot", eval_clusters=["nli", "commonsense"], shots=[0, 4]), FACTS)
    assert sorted((s.tags["cluster"], s.inputs["shots"]) for s in steps if s.kind == "eval") == [
        ("commonsense", 0), ("commonsense", 4), ("nli", 0), ("nli", 4)]


def test_section44_few_shot_flan_is_tuned_and_evaluated_with_exemplars():
    """Section 4.4: exemplars are used "during training and inference": few-shot FLAN is tuned on few-shot
    prompts (k <= 16, under 960 tokens) and scored with exemplars, next to zero-shot FLAN scored zero-shot;
    both held out as in section 3. One budget serves training and evaluation."""
    steps = plan(cfg("few_shot", eval_clusters=["nli"], shots=[0, 16], mixture={"max_input_len": 1024}), FACTS)
    by_id = {s.id: s for s in steps}
    evals = {s.inputs["shots"]: s for s in steps if s.kind == "eval"}
    zero_train, few_train = by_id[evals[0].deps[0]], by_id[evals[16].deps[0]]
    assert zero_train.id != few_train.id
    assert not zero_train.inputs["mixture"].get("few_shot")
    fs = few_train.inputs["mixture"]["few_shot"]
    assert fs["enabled"] and fs["k"] == 16 and fs["budget"] == 960
    assert few_train.inputs["mixture"]["holdout"] == zero_train.inputs["mixture"]["holdout"] == ["nli"]
    assert few_train.inputs["mixture"]["tokenizer"] == "smollm2-135m-instruct"  # tokens of the tuned model
    assert evals[16].inputs["eval"]["fewshot_budget"] == 960 and evals[16].inputs["mode"] == "natural"
    assert (evals[0].tags["variant"], evals[16].tags["variant"]) == ("tuned", "tuned-few-shot")
    from flanlab.mixtures.config import MixtureConfig

    MixtureConfig.model_validate(few_train.inputs["mixture"])  # the mixture stage accepts it as planned
    # exemplars at inference only, when asked: the zero-shot model is scored with exemplars
    inf = plan(cfg("few_shot", eval_clusters=["nli"], shots=[0, 4], fewshot_training="zero_shot"), FACTS)
    assert len({s.deps[0] for s in inf if s.kind == "eval"}) == 1
    # bad input: a budget the mixture would truncate, or two different budgets
    with pytest.raises(FlanlabError, match=r"fewshot_budget \(960\) exceeds mixture.max_input_len \(384\)"):
        plan(cfg("few_shot", eval_clusters=["nli"], mixture={"max_input_len": 384}), FACTS)
    with pytest.raises(FlanlabError, match="one budget for training and inference"):
        plan(cfg("few_shot", eval_clusters=["nli"], fewshot_budget=300, eval={"fewshot_budget": 200},
                 mixture={"max_input_len": 384}), FACTS)


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


def test_section3_untuned_baseline_is_gpt3_style_prompts_with_instructions_as_an_extra_series():
    """Section 3: "we report zero- and few-shot results for LaMDA-PT using the same prompts as GPT-3 (as LaMDA-PT
    is not suited to natural instructions without instruction tuning)". Every study's untuned comparison is the
    GPT-3-style prompt (variant untuned-baseline); the untuned model with instructions is an extra series
    (untuned-instructions) that can be turned off, and untuned_mode: natural makes it the main one."""
    from flanlab.experiments.plans import protocol

    for kind in ("heldout_sweep", "num_clusters", "model_scale", "instructions"):
        c = cfg(kind, eval_clusters=["nli"], baselines=False, max_clusters=1)
        untuned = [s for s in plan(c, FACTS) if s.kind == "eval" and s.tags["variant"].startswith("untuned")]
        assert [(s.tags["variant"], s.inputs["mode"]) for s in untuned] == [
            ("untuned-baseline", "baseline"), ("untuned-instructions", "natural")], kind
        assert all(s.inputs["shots"] == 0 and "model" in s.inputs and "base" in s.inputs["model"] for s in untuned)
        assert len({s.tags["series"] for s in untuned}) == 2
        assert "GPT-3-style prompts" in protocol(c, FACTS)[0]
        off = plan(cfg(kind, eval_clusters=["nli"], baselines=False, max_clusters=1, untuned_instructions=False),
                   FACTS)
        assert [s.tags["variant"] for s in off if s.kind == "eval" and s.tags["variant"].startswith("untuned")] == [
            "untuned-baseline"], kind
    ncl = plan(cfg("num_clusters", eval_clusters=["nli"], max_clusters=1), FACTS)
    zero = [s for s in ncl if s.kind == "eval" and "n_clusters" in s.tags and s.tags["n_clusters"] == 0]
    assert [s.inputs["mode"] for s in zero] == ["baseline"]  # Figure 6's 0 point is the paper's baseline
    natural = plan(cfg("heldout_sweep", eval_clusters=["nli"], baselines=False, untuned_mode="natural"), FACTS)
    assert [s.tags["variant"] for s in natural if s.kind == "eval"] == ["tuned", "untuned-instructions"]


def test_unknown_names_are_errors_with_suggestions():
    with pytest.raises(UnknownNameError, match="did you mean: nli"):
        plan(cfg("heldout_sweep", eval_clusters=["nlii"]), FACTS)
    with pytest.raises(FlanlabError, match="no task in the evaluation clusters"):
        plan(cfg("heldout_sweep", eval_clusters=["nli"], eval_tasks=["copa"]), FACTS)


def test_figure6_number_of_clusters_order_and_evaluation_set():
    """Section 4.1, Figure 6: clusters are added in the figure's order (summarization, translation, reading
    comprehension, sentiment, data-to-text, coreference, conversational QA; misc is never added) and the
    evaluation set is exactly the caption's: commonsense (COPA, HellaSwag, PIQA, StoryCloze), NLI (ANLI R1-R3,
    QNLI, RTE, SNLI, WNLI), closed-book QA (ARC-e, ARC-c, NQ, TriviaQA)."""
    from flanlab.experiments.plans import protocol
    from flanlab.tasks import catalogue

    facts = CatalogueFacts.from_catalogue(catalogue())
    c = cfg("num_clusters", eval_clusters=["nli", "closed_book_qa", "commonsense"], max_clusters=7)
    steps = plan(c, facts)
    mixes = [s.inputs["mixture"] for s in steps if s.kind == "mixture"]
    paper = ["summarization", "translation", "reading_comprehension", "sentiment", "struct_to_text", "coreference",
             "conversational_qa"]
    assert [m["include"] for m in mixes] == [paper[:n] for n in range(1, 8)]
    assert "misc" not in mixes[-1]["include"]
    evals = [s for s in steps if s.kind == "eval"]
    assert [e.tags["n_clusters"] for e in evals if "n_clusters" in e.tags] == list(range(8))
    figure6 = {"copa", "hellaswag", "piqa", "story_cloze", "anli_r1", "anli_r2", "anli_r3", "qnli", "rte", "snli",
               "wnli", "arc_easy", "arc_challenge", "nq_open", "triviaqa"}
    assert all(set(e.inputs["tasks"]) == figure6 for e in evals)  # no CB, no MNLI
    (cont,) = [s for s in steps if s.kind == "contamination"]
    assert set(cont.inputs["tasks"]) == figure6
    # the real mixture trains conversational QA (CoQA, QuAC) but no other misc task
    from flanlab.mixtures import split_tasks

    split = split_tasks(catalogue(), holdout=mixes[-1]["holdout"], include=mixes[-1]["include"])
    assert {"coqa", "quac"} <= set(split.train) and not {"trec", "cola", "wic"} & set(split.train)
    notes = " ".join(protocol(c, facts))
    assert "Figure 6's order" in notes and "conversational_qa" in notes
    # narrowing stays inside the caption's set; a task outside it (CB) is an error unless eval_set: clusters
    narrowed = plan(cfg("num_clusters", eval_clusters=["nli", "closed_book_qa", "commonsense"],
                        eval_tasks=["rte", "copa"], max_clusters=1), facts)
    assert {tuple(s.inputs["tasks"]) for s in narrowed if s.kind == "eval"} == {("rte", "copa")}
    with pytest.raises(FlanlabError, match=r"\['cb'\] are not in Figure 6's evaluation set"):
        plan(cfg("num_clusters", eval_clusters=["nli"], eval_tasks=["rte", "cb"]), facts)
    assert plan(cfg("num_clusters", eval_clusters=["nli"], eval_tasks=["rte", "cb"], eval_set="clusters",
                    max_clusters=1), facts)


def test_facts_from_the_real_catalogue_follow_the_paper_order():
    from flanlab.tasks import catalogue

    facts = CatalogueFacts.from_catalogue(catalogue())
    order = facts.by_size(facts.removed_by(["nli", "closed_book_qa", "commonsense"]))
    assert order[:2] == ["summarization", "translation"]
    assert not {"nli", "paraphrase", "commonsense", "rc_commonsense", "closed_book_qa"} & set(order)
