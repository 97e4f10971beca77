"""Few-shot prompts: layout, budget, k, exemplar exclusion, budget errors; and few-shot mixtures."""

from __future__ import annotations

import pytest
from mixture_toys import toy_catalogue, write_toy_data

from flanlab.errors import FlanlabError
from flanlab.mixtures.config import MixtureConfig
from flanlab.mixtures.fewshot import FewShotBudgetError, build, join, token_length
from flanlab.mixtures.mixture import Mixture


def words(text: str) -> int:
    return len(text.split())


@pytest.fixture(scope="module")
def cat():
    return toy_catalogue({"a": ("sentiment", "cls"), "b": ("summarization", "gen"), "c": ("nli", "cls")})


def exs(n, task="a", size=4):
    return [{"text": " ".join(f"{task}{i}w{j}" for j in range(size)), "label": i % 2, "target": f"t{i}",
             "id": f"{task}:train:{i}"} for i in range(n)]


def parts(cat, task="a", tid="01"):
    return cat.task(task), cat.templates(task), cat.templates(task).get(tid)


def test_layout_and_exemplar_exclusion(cat):
    task, tset, tmpl = parts(cat, "b")
    pool = exs(5, "b")
    shot = build(task, tset, tmpl, pool[0], pool, length=words, k=2, budget=1000)
    assert shot.shots == 2 and shot.exemplar_ids == ("b:train:1", "b:train:2")  # itself skipped
    expected = join([("Summarize: b1w0 b1w1 b1w2 b1w3", "t1"), ("Summarize: b2w0 b2w1 b2w2 b2w3", "t2")],
                    "Summarize: b0w0 b0w1 b0w2 b0w3")
    assert shot.rendered.inputs == expected
    assert expected.startswith("Summarize: b1w0 b1w1 b1w2 b1w3\n\nt1\n\n\nSummarize: b2w0")
    assert shot.rendered.targets == "t0" and shot.rendered.example_id == "b:train:0"


def test_budget_and_k(cat):
    task, tset, tmpl = parts(cat, "b")
    pool = exs(40, "b")
    # each exemplar: 5 words of input + 1 of answer; the query 5 words
    shot = build(task, tset, tmpl, pool[0], pool, length=words, k=16, budget=5 + 3 * 6)
    assert shot.shots == 3 and words(shot.rendered.inputs) <= 23
    assert build(task, tset, tmpl, pool[0], pool, length=words, k=16, budget=10_000).shots == 16
    assert build(task, tset, tmpl, pool[0], pool, length=words, k=0, budget=100).rendered.inputs == \
        "Summarize: b0w0 b0w1 b0w2 b0w3"


def test_budget_counts_real_tokens(cat, tiny_tok):
    task, tset, tmpl = parts(cat, "a")
    pool = exs(30)
    length = token_length(tiny_tok)
    for budget in (60, 150, 400):
        shot = build(task, tset, tmpl, pool[3], pool, length=length, k=16, budget=budget)
        assert len(tiny_tok(shot.rendered.inputs, add_special_tokens=False)["input_ids"]) <= budget
        assert "a3w0" in shot.rendered.inputs and "a3:train" not in shot.exemplar_ids
    assert shot.shots > 0


def test_exemplars_respect_the_templates_when(cat):
    task, tset, tmpl = parts(cat, "a", "03")  # turned, label 0 only
    pool = exs(10)
    shot = build(task, tset, tmpl, pool[0], pool, length=words, k=3, budget=1000)
    assert shot.exemplar_ids == ("a:train:2", "a:train:4", "a:train:6")
    assert build(task, tset, tmpl, pool[1], pool, length=words, k=3, budget=1000) is None


def test_budget_too_small(cat):
    task, tset, tmpl = parts(cat, "b")
    pool = exs(5, "b")
    with pytest.raises(FewShotBudgetError, match="budget of 7 tokens is too small for one exemplar: task 'b', "
                                                 "template '01', example 'b:train:0': its input takes 5 tokens, "
                                                 "the first exemplar 6"):
        build(task, tset, tmpl, pool[0], pool, length=words, k=2, budget=7, strict=True)
    shot = build(task, tset, tmpl, pool[0], pool, length=words, k=2, budget=7)
    assert shot.shots == 0 and shot.rendered.inputs == "Summarize: b0w0 b0w1 b0w2 b0w3"
    with pytest.raises(FlanlabError, match="no exemplar is available"):
        build(task, tset, tmpl, pool[0], pool[:1], length=words, k=2, budget=100, strict=True)
    with pytest.raises(FlanlabError, match="k >= 0 and budget >= 1"):
        build(task, tset, tmpl, pool[0], pool, length=words, k=2, budget=0)


def test_fewshot_mixture(cat, tmp_path):
    root = write_toy_data(tmp_path, cat, {"a": 40, "b": 40})
    cfg = MixtureConfig(holdout=["nli"], source="mirror", data_dir=str(root), seed=2,
                        few_shot={"enabled": True, "k": 3, "budget": 200})
    m = Mixture(cfg, cat, length_fn=words)
    xs = m.take(60)
    for x in xs:
        assert x.shots == 3 and words(x.inputs) <= 200
        own = x.example_id.replace(":train:", "") + "w0 "  # the example's unique first word, e.g. "a12w0 "
        assert (x.inputs + " " + x.targets + " ").count(own) == 1  # never its own exemplar
    again = Mixture(cfg, cat, length_fn=words)
    assert [x.inputs for x in again.stream(start=30, stop=60)] == [x.inputs for x in xs[30:]]


def test_fewshot_mixture_budget_too_small_is_an_error(cat, tmp_path):
    root = write_toy_data(tmp_path, cat, {"a": 40, "b": 40})
    cfg = MixtureConfig(holdout=["nli"], source="mirror", data_dir=str(root), few_shot={"enabled": True, "k": 2, "budget": 8})
    m = Mixture(cfg, cat, length_fn=words)
    with pytest.raises(FlanlabError, match="few-shot budget of 8 tokens is too small for one exemplar of task"):
        m.take(500)
