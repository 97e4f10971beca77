"""Catalogue group A: NLI, reading comprehension and closed-book QA tasks, templates and bundled samples.

    pytest tests/unit/test_catalog_a.py -x -q

The catalogue here holds only this group's modules (validated with the registry's own checks), so a
half-written module of another group cannot break these tests; the global catalogue tests cover the union.
"""

from __future__ import annotations

import collections
import importlib
import json
import re

import pytest

from flanlab.tasks import iter_examples, render
from flanlab.tasks.clusters import CLUSTERS, HOLDOUT_RULES
from flanlab.tasks.registry import TEMPLATES_DIR, Catalogue
from flanlab.tasks.sources import BUNDLED_DIR, mirror_file
from flanlab.tasks.templates import load_template_file

MODULES = ("nli", "reading_comprehension", "closed_book_qa")
NLI = ["anli_r1", "anli_r2", "anli_r3", "cb", "mnli", "qnli", "rte", "snli", "wnli"]
RC = ["boolq", "drop", "multirc", "openbookqa", "squad_v1", "squad_v2"]
CBQA = ["arc_easy", "arc_challenge", "nq_open", "triviaqa"]
ALL = NLI + RC + CBQA
# Tasks with bundled samples (train split and the split serving as test).
BUNDLED = ["cb", "rte", "boolq", "squad_v1", "arc_easy", "arc_challenge", "nq_open", "anli_r1", "mnli"]
MUST_BUNDLE = ["cb", "rte", "boolq", "squad_v1", "arc_easy", "arc_challenge", "nq_open"]
_LEFTOVER = re.compile(r"\{[A-Za-z_]+\}")  # an unfilled placeholder


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    c = Catalogue(rules=list(HOLDOUT_RULES))
    for cl in CLUSTERS:
        c.add_cluster(cl)
    names = set()
    for m in MODULES:
        for t in importlib.import_module(f"flanlab.tasks.catalog.{m}").TASKS:
            c.add_task(t)
            names.add(t.templates_name)
    for name in sorted(names):
        for ts in load_template_file(TEMPLATES_DIR / f"{name}.yaml"):
            c.add_template_set(ts)
    c.validate()
    return c


def _render_all(cat, task, examples):
    """Render every example with every template and every plain mode; return the natural renderings."""
    tset = cat.templates(task)
    out = []
    for ex in examples:
        for tpl in tset.templates:
            r = render(task, tset, tpl, ex)
            if r is None:
                assert not tpl.applies_to(ex)
                continue
            assert r.inputs.strip() and r.targets.strip(), (task.name, tpl.id, ex["id"])
            assert not _LEFTOVER.search(r.inputs + r.targets), (task.name, tpl.id)  # every placeholder filled
            out.append((tpl, ex, r))
        for mode in ("no_template", "dataset_name", "baseline"):
            r = render(task, tset, None, ex, mode=mode)
            assert r.inputs.strip() and r.targets.strip()
    return out


# -- the catalogue entries ---------------------------------------------------------------------------

def test_group_tasks_clusters_and_datasets(cat):
    assert sorted(t.name for t in cat.tasks_in("nli")) == sorted(NLI)
    assert sorted(t.name for t in cat.tasks_in("reading_comprehension")) == sorted(RC)
    assert sorted(t.name for t in cat.tasks_in("closed_book_qa")) == sorted(CBQA)
    datasets = collections.defaultdict(set)
    for t in cat.tasks.values():
        datasets[t.cluster].add(t.dataset_name)
    # the paper's counts: NLI 7 (ANLI once), reading comprehension 5 (SQuAD once), closed-book QA 3 (ARC once)
    assert len(datasets["nli"]) == 7 and len(datasets["reading_comprehension"]) == 5
    assert len(datasets["closed_book_qa"]) == 3
    assert {cat.task(n).dataset_name for n in ("anli_r1", "anli_r2", "anli_r3")} == {"anli"}
    assert cat.task("arc_easy").dataset_name == cat.task("arc_challenge").dataset_name == "arc"


def test_every_task_has_display_description_and_enough_templates(cat):
    for name in ALL:
        t = cat.task(name)
        tset = cat.templates(t)
        assert t.display and t.description, name
        assert len(tset.forward) >= 10, (name, len(tset.forward))
        assert 1 <= sum(tpl.turned for tpl in tset.templates) <= 3, name
        assert len({tpl.input for tpl in tset.templates}) == len(tset.templates), f"{name}: duplicate wording"


def test_split_roles(cat):
    for r in (1, 2, 3):
        s = cat.task(f"anli_r{r}").splits
        assert (s.train, s.dev, s.test, s.carved) == (f"train_r{r}", f"dev_r{r}", f"test_r{r}", False)
    assert cat.task("mnli").splits.test == "validation_matched" and cat.task("mnli").splits.carved
    assert (cat.task("snli").splits.dev, cat.task("snli").splits.test) == ("validation", "test")
    for name in ("rte", "cb", "qnli", "wnli", "boolq", "multirc", "drop", "squad_v1", "nq_open", "triviaqa"):
        s = cat.task(name).splits
        assert (s.train, s.test, s.carved) == ("train", "validation", True), name
    for name in ("arc_easy", "arc_challenge", "openbookqa"):
        assert (cat.task(name).splits.dev, cat.task(name).splits.test) == ("validation", "test")


def test_metrics_primary_first(cat):
    expect = {"multirc": ("multirc_f1a", "exact_match"), "squad_v1": ("squad_f1", "exact_match"),
              "squad_v2": ("squad_f1", "exact_match"), "drop": ("squad_f1", "exact_match"),
              "nq_open": ("exact_match",), "triviaqa": ("exact_match",), "rte": ("accuracy",)}
    for name, metrics in expect.items():
        assert cat.task(name).metrics == metrics


# -- preprocess on hand-written rows in the Hub's schema ---------------------------------------------

def test_nli_preprocess(cat):
    row = {"uid": "u1", "premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0, "reason": ""}
    assert cat.task("anli_r2").preprocess(row) == {"premise": "A dog runs.", "hypothesis": "An animal moves.",
                                                   "label": 0}
    assert cat.task("snli").preprocess({"premise": "P", "hypothesis": "H", "label": -1}) is None
    assert cat.task("mnli").preprocess({"premise": "P", "hypothesis": "H", "label": 2, "idx": 4})["label"] == 2
    q = cat.task("qnli").preprocess({"question": "Who?", "sentence": "Ann did.", "label": 1, "idx": 0})
    assert q == {"question": "Who?", "sentence": "Ann did.", "label": 1}
    w = cat.task("wnli").preprocess({"sentence1": "S1.", "sentence2": "S2.", "label": 1, "idx": 0})
    assert w == {"premise": "S1.", "hypothesis": "S2.", "label": 1}
    assert cat.task("wnli").preprocess({"sentence1": "S1.", "sentence2": "S2.", "label": -1, "idx": 0}) is None


def test_nli_option_orders_follow_each_hub_encoding(cat):
    # MNLI/SNLI/ANLI: 0 entailment, 1 neutral, 2 contradiction; CB: 0 entailment, 1 contradiction,
    # 2 neutral; WNLI: 1 = entailment.
    for name in ("anli_r1", "mnli", "snli"):
        assert cat.task(name).options == ("yes", "it is not possible to tell", "no")
    assert cat.task("cb").options == ("yes", "no", "it is not possible to tell")
    assert cat.task("rte").options == cat.task("qnli").options == ("yes", "no")
    assert cat.task("wnli").options == ("no", "yes")


def test_rc_preprocess(cat):
    b = cat.task("boolq").preprocess({"question": "is it", "passage": "T -- P.", "idx": 3, "label": 1})
    assert b == {"passage": "T -- P.", "question": "is it", "label": 1}
    drop = {"section_id": "s", "query_id": "q", "passage": "P", "question": "How many?",
            "answers_spans": {"spans": ["3", "3", "three"], "types": ["number", "number", "number"]}}
    assert cat.task("drop").preprocess(drop) == {"passage": "P", "question": "How many?", "target": "3",
                                                 "references": ["3", "three"]}
    assert cat.task("drop").preprocess({**drop, "answers_spans": {"spans": [], "types": []}}) is None
    m = cat.task("multirc").preprocess({"paragraph": "P", "question": "Q", "answer": "A",
                                        "idx": {"paragraph": 2, "question": 5, "answer": 1}, "label": 0})
    assert m == {"paragraph": "P", "question": "Q", "candidate": "A", "label": 0, "group": "2-5"}
    o = cat.task("openbookqa").preprocess({"id": "7", "question_stem": "Sun is a", "answerKey": "C",
                                           "choices": {"text": ["moon", "rock", "star", "cloud"],
                                                       "label": ["A", "B", "C", "D"]}})
    assert o == {"question": "Sun is a", "options": ["moon", "rock", "star", "cloud"], "label": 2}


def test_squad_preprocess_answerable_and_unanswerable(cat):
    row = {"id": "x", "title": "Great_Wall", "context": "C", "question": "Q?",
           "answers": {"text": ["Ming", "Ming", "the Ming"], "answer_start": [0, 0, 0]}}
    ex = cat.task("squad_v1").preprocess(row)
    assert (ex["target"], ex["references"], ex["title"], ex["answerable"]) == (
        "Ming", ["Ming", "the Ming"], "Great Wall", True)
    ex2 = cat.task("squad_v2").preprocess({**row, "answers": {"text": [], "answer_start": []}})
    assert (ex2["target"], ex2["references"], ex2["answerable"]) == ("unanswerable", ["unanswerable"], False)
    # a question-writing template would be nonsense for an unanswerable question: `when` leaves it out
    task, tset = cat.task("squad_v2"), cat.templates("squad_v2")
    ex2["id"] = "squad_v2:validation:0"
    assert render(task, tset, tset.get("11"), ex2) is None
    assert render(task, tset, tset.get("12"), ex2).targets == "Q?"
    assert render(task, tset, tset.get("01"), ex2).targets == "unanswerable"


def test_cbqa_preprocess(cat):
    arc = {"id": "a", "question": "Q?", "answerKey": "3",
           "choices": {"text": ["w", "x", "y", "z"], "label": ["1", "2", "3", "4"]}}
    assert cat.task("arc_easy").preprocess(arc) == {"question": "Q?", "options": ["w", "x", "y", "z"], "label": 2}
    assert cat.task("arc_challenge").preprocess({**arc, "answerKey": "E"}) is None
    nq = cat.task("nq_open").preprocess({"question": "who wrote hamlet", "answer": ["Shakespeare", "W. S."]})
    assert nq == {"question": "who wrote hamlet", "target": "Shakespeare", "references": ["Shakespeare", "W. S."]}
    tq = {"question": "Q?", "question_id": "t1", "question_source": "", "entity_pages": {}, "search_results": {},
          "answer": {"value": "Onion", "aliases": ["Onions", "Onion", "Allium cepa"], "normalized_aliases": [],
                     "normalized_value": "onion", "matched_wiki_entity_name": "",
                     "normalized_matched_wiki_entity_name": "", "type": ""}}
    ex = cat.task("triviaqa").preprocess(tq)
    assert ex["target"] == "Onion" and ex["references"] == ["Onion", "Onions", "Allium cepa"]
    for hidden in ("", "<unk>"):  # the unlabelled test split
        empty = {**tq, "answer": {**tq["answer"], "value": hidden, "aliases": []}}
        assert cat.task("triviaqa").preprocess(empty) is None


def test_turned_templates_write_the_input_field(cat):
    task, tset = cat.task("rte"), cat.templates("rte")
    ex = {"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0, "id": "rte:train:0"}
    turned = [t for t in tset.templates if t.turned]
    assert turned and all(render(task, tset, t, ex).targets == "An animal moves." for t in turned)
    assert all(render(task, tset, t, {**ex, "label": 1}) is None for t in turned)
    for name in ("anli_r1", "mnli", "snli"):  # one turned template per NLI class
        t3 = cat.task(name)
        whens = sorted(dict(t.when).get("label") for t in cat.templates(t3).templates if t.turned)
        assert whens == [0, 1, 2], name


def test_forward_rendering_appends_options_and_answer(cat):
    task, tset = cat.task("cb"), cat.templates("cb")
    ex = {"premise": "She knew the door was locked.", "hypothesis": "the door was locked", "label": 2, "id": "x"}
    r = render(task, tset, tset.get("01"), ex)
    assert r.inputs.endswith("OPTIONS:\n- yes\n- no\n- it is not possible to tell")
    assert (r.targets, r.label, r.options) == ("it is not possible to tell", 2, task.options)
    placed = render(task, tset, tset.get("08"), ex)  # places {options} itself: no second suffix
    assert placed.inputs.count("OPTIONS:") == 1 and placed.inputs.startswith("OPTIONS:")
    base = render(task, tset, None, ex, mode="baseline")
    assert base.targets == "Neither" and base.inputs.endswith("Answer:")


# -- bundled samples ---------------------------------------------------------------------------------

def _bundled_rows(task, split):
    path = mirror_file(BUNDLED_DIR, task, split)
    assert path is not None, f"{task.name}: no bundled {split}"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_samples_render_with_every_template(cat, name):
    task = cat.task(name)
    for role in ("train", "dev", "test"):
        skipped = [0]
        examples = list(iter_examples(task, role, source="bundled", skipped=skipped))
        assert examples and skipped[0] == 0, (name, role)
        rendered = _render_all(cat, task, examples)
        for tpl, ex, r in rendered:
            if tpl.turned:
                assert r.options is None and r.turned
                continue
            if task.is_classification:
                opts = tuple(ex["options"]) if task.dynamic_options else task.options
                assert r.options == opts and r.targets == opts[ex["label"]], (name, tpl.id)
                assert r.inputs.count("OPTIONS:") == 1
            else:
                assert r.targets == ex["target"] and r.targets in r.references


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_sample_sizes_and_balance(cat, name):
    task = cat.task(name)
    for split in (task.splits.train, task.splits.test):
        rows = _bundled_rows(task, split)
        assert len(rows) == 40, (name, split)
        examples = [task.preprocess(r) for r in rows]
        assert all(ex is not None for ex in examples)
        if task.is_classification:
            counts = collections.Counter(ex["label"] for ex in examples)
            n_classes = len(task.options) if task.options else 4
            assert len(counts) == n_classes, (name, split, counts)
            assert max(counts.values()) - min(counts.values()) <= 1, (name, split, counts)
        else:
            assert len({ex["target"] for ex in examples}) >= 30, (name, split)
    train_text = {json.dumps(r, sort_keys=True) for r in _bundled_rows(task, task.splits.train)}
    test_rows = _bundled_rows(task, task.splits.test)
    assert not train_text & {json.dumps(r, sort_keys=True) for r in test_rows}, f"{name}: train/test overlap"


def test_must_have_samples_present(cat):
    for name in MUST_BUNDLE:
        task = cat.task(name)
        assert mirror_file(BUNDLED_DIR, task, task.splits.train) is not None, name
        assert mirror_file(BUNDLED_DIR, task, task.splits.test) is not None, name


def test_bundled_squad_offsets_and_ids(cat):
    task = cat.task("squad_v1")
    for split in ("train", "validation"):
        rows = _bundled_rows(task, split)
        assert len({r["id"] for r in rows}) == len(rows)
        for r in rows:
            for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"], strict=True):
                assert r["context"][start:start + len(text)] == text, r["id"]


def test_bundled_ids_are_consecutive_idx(cat):
    for name in ("rte", "cb", "boolq"):
        task = cat.task(name)
        for split in ("train", "validation"):
            assert [r["idx"] for r in _bundled_rows(task, split)] == list(range(40)), (name, split)


# -- the real data mirror (skips when absent) --------------------------------------------------------

def _mirrored_roles(task, root):
    roles = []
    for role in ("train", "dev", "test"):
        split = getattr(task.splits, role)
        if mirror_file(root, task, split) is not None and (role != "dev" or not task.splits.carved):
            roles.append(role)
    return roles


def test_mirror_examples_render(cat, shared_hf):
    found = 0
    for name in ALL:
        task = cat.task(name)
        for role in _mirrored_roles(task, shared_hf):
            examples = list(iter_examples(task, role, source="mirror", data_dir=shared_hf, limit=20))
            assert len(examples) == 20, (name, role)
            _render_all(cat, task, examples)
            found += 1
    if not found:
        pytest.skip("none of this group's datasets is in the mirror")


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_schema_matches_mirror(cat, shared_hf, name):
    """Same columns, nesting and value types as the Hub's rows (where the mirror holds the dataset)."""
    task = cat.task(name)
    mirrored = [s for s in (task.splits.test, "validation", "test") if mirror_file(shared_hf, task, s)]
    if not mirrored:
        pytest.skip(f"{name}: not in the mirror")
    hub_row = json.loads(mirror_file(shared_hf, task, mirrored[0]).open().readline())

    def shape(v):
        if isinstance(v, dict):
            return {k: shape(x) for k, x in v.items()}
        if isinstance(v, list):
            return ["list", shape(v[0]) if v else None]
        return type(v).__name__

    for row in _bundled_rows(task, task.splits.train)[:5]:
        assert shape(row) == shape(hub_row), name


def _hub_features():
    """The Hub's features of each bundled dataset (from the Hub loaders' dataset_info)."""
    from datasets import ClassLabel, Features, Sequence, Value

    def nli(names):
        return {"premise": Value("string"), "hypothesis": Value("string"), "label": ClassLabel(names=names)}

    s, i32 = Value("string"), Value("int32")
    three = ["entailment", "neutral", "contradiction"]
    return {
        ("aps/super_glue", "rte"): Features({**nli(["entailment", "not_entailment"]), "idx": i32}),
        ("aps/super_glue", "cb"): Features({**nli(["entailment", "contradiction", "neutral"]), "idx": i32}),
        ("aps/super_glue", "boolq"): Features({"question": s, "passage": s, "idx": i32,
                                               "label": ClassLabel(names=["False", "True"])}),
        ("facebook/anli", "plain_text"): Features({"uid": s, **nli(three), "reason": s}),
        ("nyu-mll/glue", "mnli"): Features({**nli(three), "idx": i32}),
        ("rajpurkar/squad", "plain_text"): Features({"id": s, "title": s, "context": s, "question": s,
                                                     "answers": Sequence({"text": s, "answer_start": i32})}),
        ("allenai/ai2_arc", "ARC-Easy"): Features({"id": s, "question": s, "answerKey": s,
                                                   "choices": Sequence({"text": s, "label": s})}),
        ("allenai/ai2_arc", "ARC-Challenge"): Features({"id": s, "question": s, "answerKey": s,
                                                        "choices": Sequence({"text": s, "label": s})}),
        ("google-research-datasets/nq_open", "nq_open"): Features({"question": s, "answer": Sequence(s)}),
    }


def test_samples_cast_to_the_hub_features():
    from datasets import Dataset

    for (hub_id, config), features in _hub_features().items():
        files = sorted((BUNDLED_DIR / hub_id / config).glob("*.jsonl"))
        assert files, (hub_id, config)
        for path in files:
            rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            assert all(set(r) == set(features) for r in rows), path  # no missing or extra column
            ds = Dataset.from_list(rows).cast(features)  # raises on a mistyped column
            assert len(ds) == len(rows) and ds.features == features
            if "label" in features:  # cast does not range-check class labels
                assert all(0 <= r["label"] < features["label"].num_classes for r in rows), path
