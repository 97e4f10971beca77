"""The evaluation runner on toy tasks with the deterministic fake LM: protocol, cache, failures, few-shot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from flanlab.errors import FlanlabError
from flanlab.evaluation.cell import Cell, run_cell
from flanlab.evaluation.config import EvalConfig
from flanlab.testing import FakeLM
from flanlab.evaluation.runner import best_dev_template, evaluate, plan, task_result

TOY = {
    "tasks": [
        {"name": "toy_nli", "cluster": "nli", "source": {"hub_id": "toy/nli"}, "label": "label",
         "fields": {"premise": "premise", "hypothesis": "hypothesis"}, "options": ["yes", "no"],
         "metrics": ["accuracy", "f1_binary"]},
        {"name": "toy_qa", "cluster": "closed_book_qa", "source": {"hub_id": "toy/qa"}, "fields": {"question": "question"},
         "target": "answers", "metrics": ["exact_match", "squad_f1"]},
        {"name": "toy_hidden", "cluster": "nli", "source": {"hub_id": "toy/hidden"}, "label": "label",
         "fields": {"premise": "premise", "hypothesis": "hypothesis"}, "options": ["yes", "no"], "template_set": "toy_nli"},
        {"name": "toy_badmetric", "cluster": "closed_book_qa", "source": {"hub_id": "toy/qa"}, "template_set": "toy_qa",
         "fields": {"question": "question"}, "target": "answers", "metrics": ["exact_mtch"]},
    ],
    "template_sets": [
        {"name": "toy_nli", "plain": "{premise}\n{hypothesis}", "baseline": "{premise}\nQuestion: {hypothesis}?\nAnswer:",
         "baseline_options": ["True", "False"],
         "templates": [{"id": "01", "input": "{premise}\nDoes it follow that {hypothesis}?"},
                       {"id": "02", "input": "Premise: {premise}\nHypothesis: {hypothesis}\nEntailed?"},
                       {"id": "03", "input": "{hypothesis} Is that implied by: {premise}"},
                       {"id": "09", "turned": True, "input": "Write a hypothesis for: {premise}", "target": "{hypothesis}"}]},
        {"name": "toy_qa", "plain": "{question}", "baseline": "Q: {question}\nA:",
         "templates": [{"id": "01", "input": "Answer the question: {question}"},
                       {"id": "02", "input": "{question} The answer is?"}]},
    ],
}


def write_toy(root: Path, n: int = 30) -> tuple[Path, Path]:
    """A tasks file and a Hub-layout mirror: toy_nli and toy_qa with train + validation, toy_hidden unlabelled."""
    files = root / "toy_tasks.yaml"
    files.write_text(yaml.safe_dump(TOY))
    data = root / "hf"
    rows = {
        "nli": [{"premise": f"Fact number {i} about animals.", "hypothesis": f"Claim {i % 7}.", "label": i % 2}
                for i in range(n)],
        "qa": [{"question": f"What is {i} plus one?", "answers": [str(i + 1), f"number {i + 1}"]} for i in range(n)],
        "hidden": [{"premise": f"P{i}.", "hypothesis": f"H{i}.", "label": -1} for i in range(n)],
    }
    for name, rs in rows.items():
        d = data / "toy" / name / "default"
        d.mkdir(parents=True, exist_ok=True)
        for split in ("train", "validation"):
            text = "".join(json.dumps(r) + "\n" for r in rs)
            (d / f"{split}.jsonl").write_text(text.replace("Fact", "Train fact") if split == "train" else text)
    return files, data


@pytest.fixture()
def toy(tmp_path):
    files, data = write_toy(tmp_path)
    from flanlab.tasks.registry import catalogue

    base = dict(tasks_file=[str(files)], data_dir=str(data), source="mirror", cache_dir=str(tmp_path / "cells"))
    return catalogue([str(files)]), base, tmp_path


def test_plan_covers_every_forward_template_and_both_roles(toy):
    cat, base, _ = toy
    cells = plan(EvalConfig(tasks=["toy_nli", "toy_qa"], **base), cat)
    labels = {c.label for c in cells}
    assert "toy_nli/01/dev-0shot" in labels and "toy_nli/03/test-0shot" in labels
    assert not any("/09/" in c.label for c in cells)  # turned-around templates are training only
    assert len(cells) == (3 + 2) * 2
    assert {c.label for c in plan(EvalConfig(tasks=["toy_nli"], mode="baseline", **base), cat)} == {
        "toy_nli/baseline/test-0shot"}
    with pytest.raises(FlanlabError, match="turn the task around"):
        plan(EvalConfig(tasks=["toy_nli"], templates=["09"], **base), cat)


def test_evaluate_writes_the_results_schema(toy):
    cat, base, _ = toy
    res = evaluate(EvalConfig(tasks=["toy_nli", "toy_qa"], **base), lm=FakeLM(answers={"What is 3 ": "4"}),
                   cat=cat, show_progress=False)
    assert res["schema"] == "flanlab.eval/1" and res["cells"] == {"total": 10, "failed": 0, "cached": 0}
    nli = res["tasks"]["toy_nli"]
    assert nli["metric"] == "accuracy" and nli["kind"] == "classification"
    assert set(nli["templates"]) == {"01", "02", "03"}
    tests = [v["test"]["accuracy"] for v in nli["templates"].values()]
    assert nli["mean"] == pytest.approx(sum(tests) / 3)
    assert nli["templates"]["01"]["dev"]["n"] == 3 and nli["templates"]["01"]["test"]["n"] == 30
    assert nli["best_dev"] == nli["templates"][nli["best_dev_template"]]["test"]["accuracy"]
    qa = res["tasks"]["toy_qa"]
    assert qa["metric"] == "exact_match" and 0 < qa["templates"]["01"]["test"]["exact_match"] < 1
    assert res["clusters"]["nli"]["tasks"] == ["toy_nli"]


def test_best_dev_template_selection():
    templates = {"01": {"dev": {"acc": 0.5}, "test": {"acc": 0.9}},
                 "02": {"dev": {"acc": 0.7}, "test": {"acc": 0.6}},
                 "03": {"dev": {"acc": 0.7}, "test": {"acc": 0.1}},   # tie on dev: the first wins
                 "04": {"test": {"acc": 0.99}}}                        # no dev score: never chosen
    assert best_dev_template(templates, "acc") == ("02", 0.6)
    assert best_dev_template({"01": {"test": {"acc": 1.0}}}, "acc") == (None, None)


def test_task_result_mean_std_and_failures(toy):
    cat, _, _ = toy
    ok = lambda t, role, v: {"task": "toy_nli", "template": t, "role": role, "status": "ok", "n": 10,
                             "metrics": {"accuracy": v, "f1_binary": v}}
    summaries = [ok("01", "dev", 0.2), ok("01", "test", 0.4), ok("02", "dev", 0.8), ok("02", "test", 0.6),
                 {"task": "toy_nli", "template": "03", "role": "test", "status": "failed", "reason": "boom"}]
    r = task_result(cat.task("toy_nli"), summaries)
    assert r["mean"] == pytest.approx(0.5) and r["std"] == pytest.approx(0.1)
    assert r["best_dev_template"] == "02" and r["best_dev"] == pytest.approx(0.6)
    assert r["failed"] == {"03": "test: boom"}


def test_cache_resume_after_interruption_and_instant_rerun(toy):
    cat, base, _ = toy
    cfg = EvalConfig(tasks=["toy_nli"], **base)

    class Interrupting(FakeLM):
        """Stops (like Ctrl-C) in the third cell: 01/dev (3 requests) and 01/test (30) are finished."""

        invocations = 0

        def loglikelihood(self, requests, progress=None):
            self.invocations += 1
            if self.invocations == 3:
                raise KeyboardInterrupt
            return super().loglikelihood(requests, progress)

    first = Interrupting()
    with pytest.raises(KeyboardInterrupt):
        evaluate(cfg, lm=first, cat=cat, show_progress=False)
    assert first.calls == 33
    second = FakeLM()
    res = evaluate(cfg, lm=second, cat=cat, show_progress=False)
    assert res["cells"] == {"total": 6, "failed": 0, "cached": 2}
    assert second.calls == 3 * 33 - 33  # only the unfinished cells are computed
    third = FakeLM()
    again = evaluate(cfg, lm=third, cat=cat, show_progress=False)
    assert third.calls == 0 and again["cells"]["cached"] == 6
    assert again["tasks"] == res["tasks"]
    # a changed input misses the cache
    evaluate(cfg.model_copy(update={"limit": 5}), lm=third, cat=cat, show_progress=False)
    assert third.calls > 0


def test_bad_cells_fail_with_a_reason_while_others_complete(toy):
    cat, base, _ = toy
    res = evaluate(EvalConfig(tasks=["toy_nli", "toy_hidden", "toy_badmetric"], **base),
                   lm=FakeLM(fail_on="Entailed?"), cat=cat, show_progress=False)
    nli = res["tasks"]["toy_nli"]
    assert "RuntimeError: fake failure" in nli["failed"]["02"] and set(nli["templates"]) == {"01", "03"}
    hidden = res["tasks"]["toy_hidden"]
    assert hidden["mean"] is None and "no gold label" in hidden["failed"]["01"]
    assert "unknown metric 'exact_mtch'" in res["tasks"]["toy_badmetric"]["failed"]["01"]


def test_empty_split_is_reported(toy):
    cat, base, tmp = toy
    (Path(base["data_dir"]) / "toy" / "qa" / "default" / "validation.jsonl").write_text("")
    res = evaluate(EvalConfig(tasks=["toy_qa"], best_dev=False, **base), lm=FakeLM(), cat=cat, show_progress=False)
    assert "the split is empty" in res["tasks"]["toy_qa"]["failed"]["01"]


def test_generation_that_never_stops_is_counted(toy):
    cat, base, _ = toy
    cfg = EvalConfig(tasks=["toy_qa"], templates=["01"], limit=4, **base)
    summary, records = run_cell(Cell(cat.task("toy_qa"), "01", "test", 0, "natural"), cfg, cat, FakeLM(never_stop=True))
    assert summary["n_unstopped"] == 4 and "never stopped" in summary["warnings"][0]
    assert all(r["stopped"] == "length" for r in records)


def test_per_example_records(toy):
    cat, base, _ = toy
    cfg = EvalConfig(tasks=["toy_nli"], limit=3, **base)
    summary, records = run_cell(Cell(cat.task("toy_nli"), "01", "test", 0, "natural"), cfg, cat, FakeLM())
    r = records[0]
    assert r["prompt"].endswith("OPTIONS:\n- yes\n- no</s>")  # EOS join for decoder models, as training
    assert r["options"] == ["yes", "no"] and len(r["loglik"]) == 2 and len(r["n_tokens"]) == 2
    assert r["prediction"] == r["options"][r["pred_index"]] and r["label"] == 0 and r["target"] == "yes"
    assert r["scores"]["accuracy"] == float(r["pred_index"] == 0)
    assert summary["metrics"]["accuracy"] == pytest.approx(sum(x["scores"]["accuracy"] for x in records) / 3)
    base_cfg = EvalConfig(tasks=["toy_nli"], limit=3, mode="baseline", **base)
    _, brecs = run_cell(Cell(cat.task("toy_nli"), "baseline", "test", 0, "baseline"), base_cfg, cat, FakeLM())
    assert brecs[0]["prompt"].endswith("Answer:") and brecs[0]["continuations"] == [" True", " False"]


def test_few_shot_prompts_use_training_exemplars(toy):
    cat, base, _ = toy
    cfg = EvalConfig(tasks=["toy_nli"], limit=3, shots=2, **base)
    _, records = run_cell(Cell(cat.task("toy_nli"), "01", "test", 2, "natural"), cfg, cat, FakeLM())
    for r in records:
        parts = r["prompt"].split("\n\n\n")
        assert len(parts) == 3  # two exemplars + the query
        query_premise = r["prompt"].rsplit("\n\n\n", 1)[1].split("\n")[0]
        assert all(p.split("\n\n")[-1] in ("yes", "no") for p in parts[:2])  # each exemplar ends with its answer
        assert all(query_premise not in p for p in parts[:2])  # never the example itself
    assert records[0]["prompt"] != records[1]["prompt"]
    again = run_cell(Cell(cat.task("toy_nli"), "01", "test", 2, "natural"), cfg, cat, FakeLM())[1]
    assert [r["prompt"] for r in again] == [r["prompt"] for r in records]  # seeded: reproducible


def test_section_2_3_cells_score_options_with_eos_by_default(toy, tiny_tok):
    """Rank classification (paper section 2.3) scores `option EOS` for instruction prompts, as FLAN's targets
    end; GPT-3-style baseline prompts score the option alone (GPT-3's protocol); `rank_eos` overrides both,
    and the setting keys the cell cache (a cached cell of the other setting is never reused)."""
    from flanlab.evaluation.lm import HFLM
    from flanlab.evaluation.rank import RankRequest, score
    from flanlab.evaluation.runner import cell_identity
    from flanlab.testing import tiny_model

    cat, base, _ = toy
    model = tiny_model("llama").eval()
    lm = HFLM(model, tiny_tok, "decoder", "tiny")
    cell = Cell(cat.task("toy_nli"), "01", "test", 0, "natural")
    for rank_eos, expect in ((None, True), (False, False), (True, True)):
        cfg = EvalConfig(tasks=["toy_nli"], limit=2, rank_eos=rank_eos, **base)
        _, records = run_cell(cell, cfg, cat, lm)
        r = records[0]
        assert r["option_eos"] is expect
        ref = score(model, tiny_tok, "decoder", [RankRequest(r["prompt"], tuple(r["continuations"]), eos=expect)])[0]
        assert r["loglik"] == pytest.approx([s.logprob for s in ref], abs=1e-6)
    keys = {cell_identity(cell, EvalConfig(tasks=["toy_nli"], rank_eos=v, **base), cat, lm)["rank_eos"]
            for v in (None, False)}
    assert keys == {True, False}
    bcell = Cell(cat.task("toy_nli"), "baseline", "test", 0, "baseline")
    assert run_cell(bcell, EvalConfig(tasks=["toy_nli"], limit=2, mode="baseline", **base), cat, lm)[1][0][
        "option_eos"] is False


def test_section44_baseline_few_shot_exemplars_are_joined_as_the_query_is_scored(toy):
    """Section 4.4 / GPT-3-style few-shot baselines: each exemplar's answer follows its prompt exactly as the
    query's answer is scored (the baseline delimiter ' '), demonstrations apart by a blank line; natural-mode
    few-shot keeps the layout of the mixtures' few-shot training prompts."""
    cat, base, _ = toy
    cfg = EvalConfig(tasks=["toy_nli"], limit=3, shots=2, mode="baseline", **base)
    assert cfg.fewshot_layout() == ("\n\n", " ")
    _, records = run_cell(Cell(cat.task("toy_nli"), "baseline", "test", 2, "baseline"), cfg, cat, FakeLM())
    for r in records:
        *shots, query = r["prompt"].split("\n\n")
        assert len(shots) == 2 and query.endswith("Answer:")
        assert all(s.endswith(("Answer: True", "Answer: False")) for s in shots)  # " " + baseline option
        assert r["continuations"] == [" True", " False"]
    from flanlab.mixtures.config import FewShotConfig

    fs = FewShotConfig()
    assert EvalConfig(shots=2).fewshot_layout() == (fs.separator, fs.answer_separator)
    assert EvalConfig(shots=2, mode="baseline", target_delimiter=" => ").fewshot_layout() == ("\n\n", " => ")


def test_the_lm_protocol_is_what_the_stage_boundary_checks():
    """HFLM, the lazy loader and the test double all satisfy evaluation.lm.LM; a model object does not."""
    from flanlab.evaluation.lm import HFLM, LM, LazyLM
    from flanlab.testing import tiny_model, tiny_tokenizer

    assert isinstance(FakeLM(), LM)
    assert isinstance(HFLM(tiny_model("llama"), tiny_tokenizer(), "decoder", "tiny"), LM)
    assert isinstance(LazyLM("x", lambda: FakeLM(), "decoder", "fp"), LM)
    assert not isinstance(tiny_model("llama"), LM)


def test_adapters_do_not_import_the_lm_module():
    """The adapter loader is below the LM wrapper: evaluation.adapters never imports evaluation.lm."""
    import ast
    import inspect

    import flanlab.evaluation.adapters as adapters

    tree = ast.parse(inspect.getsource(adapters))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "lm" not in imported and "flanlab.evaluation.lm" not in imported


def test_chat_template_wraps_prompts_and_is_recorded(toy):
    """chat_template=True: every prompt is the model's chat rendering of the template text (no EOS join),
    results.json says so, and the cell cache keeps the two apart."""
    cat, base, _ = toy
    cfg = EvalConfig(tasks=["toy_nli", "toy_qa"], best_dev=False, **base)
    lm = FakeLM()
    plain = evaluate(cfg, lm=lm, cat=cat, show_progress=False)
    chat_cfg = cfg.model_copy(update={"chat_template": True})
    calls = lm.calls
    chat = evaluate(chat_cfg, lm=lm, cat=cat, show_progress=False)
    assert plain["chat_template"] is False and chat["chat_template"] is True
    assert lm.calls > calls  # not served from the plain run's cache
    _, records = run_cell(Cell(cat.task("toy_nli"), "01", "test", 0, "natural"), chat_cfg, cat, FakeLM())
    assert all(r["prompt"].startswith("<|user|>") and r["prompt"].endswith("<|assistant|>") for r in records)
    assert all(r["continuations"] == r["options"] for r in records)  # the answer follows the assistant's opening


def test_a_random_sample_of_the_scored_split_is_seeded_and_shared_by_every_template(toy):
    """`sample: random` scores N examples drawn from the whole split (not its first N), the same N for every
    template and rerun, other N for another seed; the subset is part of the cell's cache key and recorded."""
    from flanlab.tasks.sources import iter_examples

    cat, base, _ = toy
    task = cat.task("toy_nli")
    first = [e["id"] for e in iter_examples(task, "test", source="mirror", data_dir=base["data_dir"], limit=8)]
    drawn = [e["id"] for e in iter_examples(task, "test", source="mirror", data_dir=base["data_dir"], limit=8,
                                            sample="random", seed=0)]
    index = [int(i.rsplit(":", 1)[1]) for i in drawn]
    assert len(set(drawn)) == 8 and drawn != first and index == sorted(index) and max(index) >= 8
    other = [e["id"] for e in iter_examples(task, "test", source="mirror", data_dir=base["data_dir"], limit=8,
                                            sample="random", seed=1)]
    assert other != drawn
    with pytest.raises(FlanlabError, match="toy_nli.*sample='some'"):
        list(iter_examples(task, "test", source="mirror", data_dir=base["data_dir"], limit=8, sample="some"))

    cfg = EvalConfig(tasks=["toy_nli"], limit=8, sample="random", best_dev=False, **base)
    lm = FakeLM()
    res = evaluate(cfg, lm=lm, cat=cat, show_progress=False)
    assert res["sample"] == "random" and res["tasks"]["toy_nli"]["per_example"]["ids"] == drawn
    assert all(t["test"]["n"] == 8 for t in res["tasks"]["toy_nli"]["templates"].values())
    calls = lm.calls
    assert evaluate(cfg, lm=lm, cat=cat, show_progress=False)["cells"]["cached"] == 3 and lm.calls == calls
    evaluate(cfg.model_copy(update={"sample": "first"}), lm=lm, cat=cat, show_progress=False)
    assert lm.calls > calls  # another subset: not served from the cache
