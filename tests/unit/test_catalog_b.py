"""Catalogue group B: commonsense, coreference, RC with commonsense, sentiment, paraphrase.

    pytest tests/unit/test_catalog_b.py -x -q

The tasks are checked in a catalogue holding only this group (so a half-written task elsewhere cannot
break these tests): preprocess on hand-written Hub rows, every template on every bundled example, the
bundled samples' schema and label balance, and the real data mirror when it is present.
"""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter

import pytest

from flanlab.tasks import iter_examples, render
from flanlab.tasks.clusters import CLUSTERS, HOLDOUT_RULES
from flanlab.tasks.registry import TEMPLATES_DIR, Catalogue, validate_task
from flanlab.tasks.sources import BUNDLED_DIR, mirror_file
from flanlab.tasks.templates import load_template_file

MODULES = ("commonsense", "coreference", "rc_commonsense", "sentiment", "paraphrase")
DATASETS_PER_CLUSTER = {"commonsense": 4, "coreference": 3, "rc_commonsense": 2, "sentiment": 4, "paraphrase": 4}
TASK_NAMES = ("copa", "hellaswag", "piqa", "story_cloze", "dpr", "winogrande", "wsc273", "cosmos_qa", "record",
              "imdb", "sent140", "sst2", "yelp_polarity", "mrpc", "qqp", "paws", "stsb")
BUNDLED = ("copa", "piqa", "dpr", "winogrande", "wsc273", "cosmos_qa", "record", "sst2", "yelp_polarity", "mrpc",
           "qqp")
# Hub columns of each bundled dataset, in the Hub's order.
COLUMNS = {
    "copa": ["premise", "choice1", "choice2", "question", "idx", "label"],
    "piqa": ["goal", "sol1", "sol2", "label"],
    "dpr": ["sentence", "pronoun", "candidates", "label"],
    "winogrande": ["sentence", "option1", "option2", "answer"],
    "wsc273": ["text", "pronoun", "pronoun_loc", "quote", "quote_loc", "options", "label", "source"],
    "cosmos_qa": ["id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"],
    "record": ["passage", "query", "entities", "entity_spans", "answers", "idx"],
    "sst2": ["idx", "sentence", "label"],
    "yelp_polarity": ["text", "label"],
    "mrpc": ["sentence1", "sentence2", "label", "idx"],
    "qqp": ["question1", "question2", "label", "idx"],
}
LEFTOVER = re.compile(r"\{[A-Za-z_]+\}")


def _build() -> Catalogue:
    cat = Catalogue(rules=list(HOLDOUT_RULES))
    for c in CLUSTERS:
        cat.add_cluster(c)
    tasks = [t for m in MODULES for t in importlib.import_module(f"flanlab.tasks.catalog.{m}").TASKS]
    for t in tasks:
        cat.add_task(t)
    for name in sorted({t.templates_name for t in tasks}):
        for ts in load_template_file(TEMPLATES_DIR / f"{name}.yaml"):
            cat.add_template_set(ts)
    for t in tasks:
        validate_task(t, cat)
    return cat


CAT = _build()


def _split_rows(task, split):
    path = mirror_file(BUNDLED_DIR, task, split)
    assert path is not None, f"{task.name}: no bundled {split}"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_rendered(task, tset, example):
    """Every template (and the plain modes) renders the example with the right answer and options."""
    opts = tuple(example["options"]) if task.dynamic_options else task.options
    n = 0
    for tpl in tset.templates:
        r = render(task, tset, tpl, example)
        if r is None:
            assert not tpl.applies_to(example)
            continue
        n += 1
        assert not LEFTOVER.search(r.inputs) and not LEFTOVER.search(r.targets), (tpl.id, r.inputs)
        assert r.inputs.strip() and r.targets.strip(), (task.name, tpl.id)
        if tpl.turned:
            assert r.options is None and r.turned
        elif opts is not None:
            assert r.options == opts and r.targets == opts[example["label"]]
            assert r.inputs.count("OPTIONS:") == 1 and all(f"- {o}" in r.inputs for o in opts)
    for mode in ("no_template", "dataset_name", "baseline"):
        r = render(task, tset, None, example, mode=mode)
        assert r.inputs.strip() and not LEFTOVER.search(r.inputs), (task.name, mode)
        assert r.targets == r.options[example["label"]]
    return n


# -- the group as a whole --------------------------------------------------------------------------------

def test_group_tasks_clusters_and_dataset_counts():
    assert sorted(CAT.tasks) == sorted(TASK_NAMES)
    for cluster, n in DATASETS_PER_CLUSTER.items():
        assert len({t.dataset_name for t in CAT.tasks.values() if t.cluster == cluster}) == n, cluster
    for t in CAT.tasks.values():
        assert t.description and t.display.startswith(CAT.cluster(t.cluster).title.split()[0])
        assert t.is_classification  # every task of this group is scored by rank classification


def test_template_sets_have_enough_varied_templates():
    for t in CAT.tasks.values():
        ts = CAT.templates(t)
        assert len(ts.templates) >= 9, t.name
        assert len({tpl.input for tpl in ts.templates}) == len(ts.templates)
        assert sum(tpl.turned for tpl in ts.templates) <= 3
        assert ts.plain and ts.baseline and "{options}" not in ts.baseline
    assert all(not CAT.templates(n).templates[0].turned for n in TASK_NAMES)
    for name in ("dpr", "winogrande", "wsc273"):
        assert not CAT.task(name).turnable and not any(t.turned for t in CAT.templates(name).templates)


def test_split_roles_follow_the_hub():
    roles = {n: CAT.task(n).splits for n in TASK_NAMES}
    assert (roles["story_cloze"].train, roles["story_cloze"].dev, roles["story_cloze"].test) == \
        ("validation", "validation", "test")
    assert (roles["wsc273"].train, roles["wsc273"].dev, roles["wsc273"].test) == ("test", "test", "test")
    for n in ("dpr", "imdb", "sent140", "yelp_polarity", "mrpc"):
        assert roles[n].test == "test" and roles[n].carved, n
    for n in ("copa", "hellaswag", "piqa", "winogrande", "cosmos_qa", "record", "sst2", "qqp", "paws", "stsb"):
        assert (roles[n].train, roles[n].test) == ("train", "validation"), n


# -- preprocess on hand-written Hub rows -----------------------------------------------------------------

def pre(name, row):
    return CAT.task(name).preprocess(row)


def test_copa_preprocess():
    row = {"premise": "The pond froze.", "choice1": "It was warm.", "choice2": "It was very cold.",
           "question": "cause", "idx": 3, "label": 1}
    assert pre("copa", row) == {"premise": "The pond froze.", "question": "cause", "ask": "What was the cause of this?",
                                "stem": "The pond froze because", "options": ["It was warm.", "It was very cold."],
                                "completions": ["it was warm.", "it was very cold."], "label": 1}
    assert pre("copa", dict(row, question="effect"))["ask"] == "What happened as a result?"
    assert pre("copa", dict(row, label=-1)) is None


def test_hellaswag_preprocess_string_label_and_wikihow_markup():
    row = {"ind": 4, "activity_label": "Making tea", "ctx_a": "A woman fills a kettle.", "ctx_b": "she",
           "ctx": "A woman fills a kettle. she", "endings": ["boils it.", "[step] Paints it.", "eats it.", "sings."],
           "source_id": "x", "split": "val", "split_type": "indomain", "label": "0"}
    ex = pre("hellaswag", row)
    assert ex["label"] == 0 and ex["activity"] == "Making tea" and ex["context"] == "A woman fills a kettle. she"
    assert ex["options"][1] == "Paints it."
    assert pre("hellaswag", dict(row, label="")) is None
    wiki = pre("hellaswag", dict(row, ctx="[header] How to brew tea [title] Boil water. [step] Wait."))
    assert wiki["context"] == "How to brew tea. Boil water. Wait."


def test_piqa_preprocess():
    row = {"goal": "Dry a wet phone.", "sol1": "Put it in rice.", "sol2": "Put it in the bath.", "label": 0}
    assert pre("piqa", row) == {"goal": "Dry a wet phone.", "options": ["Put it in rice.", "Put it in the bath."],
                                "label": 0}
    assert pre("piqa", dict(row, label=-1)) is None


def test_story_cloze_preprocess():
    row = {"story_id": "a1", "input_sentence_1": "Ann was hungry.", "input_sentence_2": "She opened the fridge.",
           "input_sentence_3": "It was empty.", "input_sentence_4": "She called for pizza.",
           "sentence_quiz1": "She went to sleep hungry.", "sentence_quiz2": "The pizza arrived soon.",
           "answer_right_ending": 2}
    ex = pre("story_cloze", row)
    assert ex["context"] == "Ann was hungry. She opened the fridge. It was empty. She called for pizza."
    assert ex["label"] == 1 and ex["options"][1] == "The pizza arrived soon."


def test_coreference_preprocess():
    dpr = {"sentence": "Ann thanked Bea because she had helped.", "pronoun": "she", "candidates": ["Ann", "Bea"],
           "label": 1}
    assert pre("dpr", dpr) == {"context": "Ann thanked Bea because", "options": ["Ann had helped.", "Bea had helped."],
                               "label": 1}
    wino = {"sentence": "The cup fell off the shelf because _ was tilted.", "option1": "the cup",
            "option2": "the shelf", "answer": "2"}
    assert pre("winogrande", wino) == {"context": "The cup fell off the shelf because",
                                       "options": ["the cup was tilted.", "the shelf was tilted."], "label": 1}
    assert pre("winogrande", dict(wino, answer="")) is None
    wsc = {"text": "The jar did not fit in the bag because it was too big.", "pronoun": "it", "pronoun_loc": 39,
           "quote": "it was too big", "quote_loc": 39, "options": ["the jar", "the bag"], "label": 0, "source": "s"}
    assert pre("wsc273", wsc) == {"context": "The jar did not fit in the bag because",
                                  "options": ["the jar was too big.", "the bag was too big."], "label": 0}


def test_cosmos_qa_preprocess():
    row = {"id": "q1", "context": "I missed the bus.", "question": "Why was I late?", "answer0": "Traffic.",
           "answer1": "I missed the bus.", "answer2": "Rain.", "answer3": "None of the above choices.", "label": 1}
    ex = pre("cosmos_qa", row)
    assert ex["options"][ex["label"]] == "I missed the bus." and len(ex["options"]) == 4
    assert pre("cosmos_qa", dict(row, label=-1)) is None


def test_record_preprocess_entities_answers_and_highlights():
    passage = "Kim met Lee in Oslo. Lee smiled.\n@highlight\nKim and Lee meet\n@highlight\nOslo talks"
    row = {"passage": passage, "query": "@placeholder later flew home.", "entities": ["Oslo", "Lee", "Kim"],
           "entity_spans": {"text": ["Kim", "Lee", "Oslo", "Lee"], "start": [0, 8, 15, 21], "end": [3, 11, 19, 24]},
           "answers": ["Lee"], "idx": {"passage": 0, "query": 0}}
    ex = pre("record", row)
    assert ex["options"] == ["Kim", "Lee", "Oslo"]  # deduplicated, in order of appearance
    assert ex["label"] == 1 and ex["references"] == ["Lee"]
    assert ex["query"] == "_____ later flew home." and ex["completion"] == "Lee later flew home."
    assert ex["passage"] == "Kim met Lee in Oslo. Lee smiled.\n\n- Kim and Lee meet\n- Oslo talks"
    assert pre("record", dict(row, answers=[])) is None  # the test split has no answers


def test_sentiment_preprocess():
    assert pre("imdb", {"text": "Great film.", "label": 1}) == {"text": "Great film.", "label": 1}
    assert pre("imdb", {"text": "?", "label": -1}) is None  # the unsupervised split
    assert pre("sst2", {"idx": 0, "sentence": "dull .", "label": 0}) == {"text": "dull .", "label": 0}
    assert pre("sst2", {"idx": 0, "sentence": "dull .", "label": -1}) is None
    assert pre("yelp_polarity", {"text": "Good food.\\nWill return.", "label": 1})["text"] == "Good food.\nWill return."
    tweet = {"text": "so happy today", "date": "d", "user": "u", "sentiment": 4, "query": "NO_QUERY"}
    assert pre("sent140", tweet)["label"] == 1
    assert pre("sent140", dict(tweet, sentiment=0))["label"] == 0
    assert pre("sent140", dict(tweet, sentiment=2)) is None  # neutral (test split only)


def test_paraphrase_preprocess():
    row = {"sentence1": "A.", "sentence2": "B.", "label": 1, "idx": 7}
    assert pre("mrpc", row) == {"sentence1": "A.", "sentence2": "B.", "label": 1}
    assert pre("paws", {"id": 1, "sentence1": "A.", "sentence2": "B.", "label": 0})["label"] == 0
    q = {"question1": "Why?", "question2": "How come?", "label": -1, "idx": 0}
    assert pre("qqp", q) is None and pre("qqp", dict(q, label=1))["question2"] == "How come?"


@pytest.mark.parametrize("score,label", [(0.0, 0), (0.2, 0), (2.4, 2), (2.5, 3), (3.5, 4), (4.6, 5), (5.0, 5)])
def test_stsb_rounds_half_up_and_keeps_the_gold_float(score, label):
    ex = pre("stsb", {"sentence1": "A.", "sentence2": "B.", "label": score, "idx": 0})
    assert ex["label"] == label and float(ex["references"][0]) == score
    assert CAT.task("stsb").options[ex["label"]] == str(label)


def test_stsb_hidden_test_rows_are_skipped():
    assert pre("stsb", {"sentence1": "A.", "sentence2": "B.", "label": -1.0, "idx": 0}) is None


# -- bundled samples --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_samples_match_the_hub_schema(name):
    task = CAT.task(name)
    for split in sorted({task.splits.train, task.splits.test}):
        rows = _split_rows(task, split)
        assert len(rows) == 40, (name, split)
        for row in rows:
            assert list(row) == COLUMNS[name], (name, split, list(row))
            assert task.preprocess(row) is not None


@pytest.mark.parametrize("name", [n for n in BUNDLED if n != "record"])
def test_bundled_samples_are_balanced(name):
    task = CAT.task(name)
    for split in sorted({task.splits.train, task.splits.test}):
        labels = Counter(task.preprocess(r)["label"] for r in _split_rows(task, split))
        n_classes = len(task.options) if task.options else len(task.preprocess(_split_rows(task, split)[0])["options"])
        assert sorted(labels) == list(range(n_classes)), (name, split, labels)
        assert max(labels.values()) - min(labels.values()) <= 1, (name, split, labels)


def test_bundled_record_spans_point_at_the_entities():
    task = CAT.task("record")
    for split in ("train", "validation"):
        for row in _split_rows(task, split):
            spans = row["entity_spans"]
            for text, start, end in zip(spans["text"], spans["start"], spans["end"]):
                assert row["passage"][start:end] == text
            assert set(spans["text"]) == set(row["entities"]) and "@placeholder" in row["query"]
            assert set(row["answers"]) <= set(row["entities"])


def test_bundled_wsc273_pronoun_locations():
    for row in _split_rows(CAT.task("wsc273"), "test"):
        assert row["text"][row["pronoun_loc"]:].startswith(row["pronoun"])
        assert row["text"][row["quote_loc"]:].startswith(row["quote"])


def _content(row):
    return tuple(v for k, v in row.items() if isinstance(v, str) and k not in ("id", "answer", "question", "source"))


def test_bundled_texts_are_not_duplicated_across_train_and_test():
    for name in BUNDLED:
        task = CAT.task(name)
        if task.splits.train == task.splits.test:
            continue
        train = {_content(r) for r in _split_rows(task, task.splits.train)}
        test = {_content(r) for r in _split_rows(task, task.splits.test)}
        assert len(test) == 40 or name in ("record", "cosmos_qa"), name  # two questions per passage there
        assert not train & test, name


@pytest.mark.parametrize("name", BUNDLED)
def test_every_template_renders_every_bundled_example(name):
    task, tset = CAT.task(name), CAT.templates(name)
    rendered = 0
    for role in ("train", "dev", "test"):
        examples = list(iter_examples(task, role, source="bundled"))
        assert examples, (name, role)
        for ex in examples:
            rendered += _check_rendered(task, tset, ex)
    assert rendered >= 80 * len(tset.forward)


def test_dev_is_carved_from_train_without_overlap():
    for name in BUNDLED:
        task = CAT.task(name)
        train = {e["id"] for e in iter_examples(task, "train", source="bundled")}
        dev = {e["id"] for e in iter_examples(task, "dev", source="bundled")}
        assert len(dev) == 4 and len(train) == 36 and not train & dev, name


def test_when_clauses_split_copa_and_paraphrase_turned_templates():
    copa = list(iter_examples(CAT.task("copa"), "train", source="bundled"))
    ts = CAT.templates("copa")
    for ex in copa:
        assert (render(CAT.task("copa"), ts, ts.get("09"), ex) is None) == (ex["question"] == "cause")
        assert (render(CAT.task("copa"), ts, ts.get("10"), ex) is None) == (ex["question"] == "effect")
    mrpc, ps = CAT.task("mrpc"), CAT.templates("mrpc")
    for ex in iter_examples(mrpc, "train", source="bundled"):
        r = render(mrpc, ps, ps.get("09"), ex)
        assert (r is not None) == (ex["label"] == 1)
        if r is not None:
            assert r.targets == ex["sentence2"] and r.turned


# -- the real data mirror (skipped when absent) ----------------------------------------------------------

@pytest.mark.parametrize("name", TASK_NAMES)
def test_mirror_examples_render(name, shared_hf):
    task, tset = CAT.task(name), CAT.templates(name)
    if mirror_file(shared_hf, task, task.splits.test) is None:
        pytest.skip(f"{name}: no {task.splits.test} split of {task.source.hub_id} in the mirror")
    skipped = [0]
    examples = list(iter_examples(task, "test", source="mirror", data_dir=shared_hf, limit=20, skipped=skipped))
    assert len(examples) == 20
    for ex in examples:
        _check_rendered(task, tset, ex)
