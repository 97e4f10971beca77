"""Catalogue group C2: summarization (11 datasets) and miscellaneous (7 datasets, incl. conversational QA).

    pytest tests/unit/test_catalog_c2.py -q

The catalogue here is built from this group's modules and template files only (same validation as the
global one), so these tests do not depend on other clusters being complete.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from flanlab.tasks import iter_examples, render
from flanlab.tasks.catalog import misc, summarization
from flanlab.tasks.catalog.misc import NO_HISTORY, UNANSWERABLE, first_sentence, strip_punctuation
from flanlab.tasks.clusters import CLUSTERS, HOLDOUT_RULES
from flanlab.tasks.registry import TEMPLATES_DIR, Catalogue
from flanlab.tasks.sources import BUNDLED_DIR, ROLES, mirror_file
from flanlab.tasks.templates import load_template_file

SUMMARIZATION = ("aeslc", "ag_news", "cnn_dailymail", "gigaword", "multi_news", "newsroom",
                 "opinion_abstracts_idebate", "opinion_abstracts_movies", "samsum", "wiki_lingua_en", "xsum")
MISC = ("coqa", "quac", "trec", "cola", "wic", "math_dataset", "fix_punctuation")
# Tasks with a bundled sample, and the Hub columns each sample must have (exactly).
SAMPLED = {
    "aeslc": {"email_body", "subject_line"},
    "ag_news": {"text", "label"},
    "samsum": {"id", "dialogue", "summary"},
    "xsum": {"document", "summary", "id"},
    "fix_punctuation": {"document", "summary", "id"},
    "coqa": {"source", "story", "questions", "answers"},
    "trec": {"text", "coarse_label", "fine_label"},
    "cola": {"sentence", "label", "idx"},
}
MODES = ("no_template", "dataset_name", "baseline")


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    c = Catalogue(rules=list(HOLDOUT_RULES))
    for cl in CLUSTERS:
        c.add_cluster(cl)
    for t in summarization.TASKS + misc.TASKS:
        c.add_task(t)
        if t.templates_name not in c.template_sets:
            for ts in load_template_file(TEMPLATES_DIR / f"{t.templates_name}.yaml"):
                c.add_template_set(ts)
    c.validate()
    return c


def _bundled(task, role):
    return list(iter_examples(task, role, source="bundled"))


# -- the task list ---------------------------------------------------------------------------------

def test_task_names_clusters_and_dataset_counts(cat):
    assert [t.name for t in cat.tasks_in("summarization")] == list(SUMMARIZATION)
    assert [t.name for t in cat.tasks_in("misc")] == list(MISC)
    assert [t.name for t in cat.tasks_in("conversational_qa")] == ["coqa", "quac"]
    assert len({t.dataset_name for t in cat.tasks_in("summarization")}) == 11
    assert len({t.dataset_name for t in cat.tasks_in("misc")}) == 7


def test_metrics_kinds_and_options(cat):
    for name in SUMMARIZATION:
        t = cat.task(name)
        if name == "ag_news":
            assert t.metrics == ("accuracy",) and t.options == ("World", "Sports", "Business",
                                                                "Science and technology")
        else:
            assert t.metrics == ("rouge1", "rouge2", "rougeL") and t.kind == "generation"
    assert cat.task("cola").metrics == ("mcc", "accuracy") and cat.task("cola").options == ("unacceptable",
                                                                                           "acceptable")
    assert cat.task("coqa").metrics[0] == cat.task("quac").metrics[0] == "squad_f1"
    assert cat.task("math_dataset").metrics == ("exact_match",)
    assert cat.task("fix_punctuation").metrics == ("bleu",)
    assert len(cat.task("trec").options) == 6 and cat.task("wic").options == ("no", "yes")


def test_sources_and_split_roles(cat):
    src = {t.name: (t.source.hub_id, t.source.config) for t in cat.tasks.values()}
    assert src["xsum"] == src["fix_punctuation"] == ("EdinburghNLP/xsum", "default")
    assert src["cnn_dailymail"] == ("abisee/cnn_dailymail", "3.0.0")
    assert src["ag_news"] == ("fancyzhx/ag_news", "default")
    assert src["cola"] == ("nyu-mll/glue", "cola") and src["wic"] == ("aps/super_glue", "wic")
    assert src["math_dataset"] == ("deepmind/math_dataset", "algebra__linear_1d")
    assert src["coqa"] == ("stanfordnlp/coqa", "default") and src["quac"] == ("allenai/quac", "plain_text")
    for name in SUMMARIZATION + ("trec", "math_dataset", "fix_punctuation"):
        t = cat.task(name)
        assert t.splits.test == "test" and t.splits.carved, name  # public test labels
    for name in ("coqa", "quac", "cola", "wic"):
        assert cat.task(name).splits.test == "validation" and cat.task(name).splits.carved, name


def test_template_sets_sizes_and_turned(cat):
    for t in cat.tasks.values():
        ts = cat.templates(t)
        turned = [x for x in ts.templates if x.turned]
        assert 9 <= len(ts.templates) <= 11 and len(turned) <= 3, t.name
        assert len(ts.forward) >= 8, t.name
        assert ts.baseline not in {x.input for x in ts.templates}, t.name
        if not t.turnable:
            assert not turned
        for x in turned:
            assert x.target != "{answer}", (t.name, x.id)  # a turned template produces something else


# -- preprocess on hand-written Hub rows ------------------------------------------------------------

def test_aeslc_and_ag_news_preprocess(cat):
    pre = cat.task("aeslc").preprocess
    assert pre({"email_body": "Hi,\r\nThe call is at 3.\r\n", "subject_line": "Call\nat 3"}) == {
        "email": "Hi,\nThe call is at 3.", "target": "Call at 3"}
    assert pre({"email_body": "Body.", "subject_line": " "}) is None
    pre = cat.task("ag_news").preprocess
    assert pre({"text": "Oil Up (Reuters) Reuters - Prices rose #36;2 to\\a high.", "label": 2}) == {
        "text": "Oil Up (Reuters) Reuters - Prices rose $2 to a high.", "label": 2}
    assert pre({"text": "x", "label": -1}) is None


def test_news_summarization_preprocess(cat):
    cnn = cat.task("cnn_dailymail").preprocess({"article": "LONDON, England (CNN) -- Rain fell.", "id": "a",
                                                "highlights": "Rain fell .\nRoads shut ."})
    assert cnn == {"article": "Rain fell.", "target": "Rain fell . Roads shut ."}
    giga = cat.task("gigaword").preprocess
    assert giga({"document": "the bank cut rates", "summary": "bank cuts rates"}) == {
        "text": "the bank cut rates", "target": "bank cuts rates"}
    assert giga({"document": "the UNK bank cut rates", "summary": "bank cuts rates"}) is None
    assert giga({"document": "rates fell ## points", "summary": "rates fall"}) is None
    multi = cat.task("multi_news").preprocess({"document": "First story. ||||| Second story. |||||",
                                               "summary": "– Two stories."})
    assert multi == {"documents": "First story.\n\nSecond story.", "target": "Two stories."}
    row = {"text": "Body text.", "summary": "Short.", "title": "Title", "url": "u", "date": "d",
           "density_bin": "low", "coverage_bin": "low", "compression_bin": "low",
           "density": 1.0, "coverage": 1.0, "compression": 1.0}
    assert cat.task("newsroom").preprocess(row) == {"text": "Body text.", "title": "Title", "target": "Short."}
    xsum = cat.task("xsum").preprocess({"document": "A.\nB.", "summary": "AB.", "id": "1"})
    assert xsum == {"document": "A.\nB.", "target": "AB."}
    wl = cat.task("wiki_lingua_en").preprocess({"gem_id": "g", "gem_parent_id": "g", "source_language": "en",
                                                "target_language": "en", "source": "Do X. Then Y.",
                                                "target": "Do X and Y.", "references": ["Do X and Y."]})
    assert wl == {"text": "Do X. Then Y.", "target": "Do X and Y.", "references": ["Do X and Y."]}


def test_opinion_abstracts_and_samsum_preprocess(cat):
    row = {"_debate_name": "ban_homework", "_debate_id": "1", "_claim": "Homework wastes time.",
           "_claim_id": "c1", "_argument_sentences": {"key": ["a", "b"], "value": ["It is long.", "It is dull."]}}
    out = cat.task("opinion_abstracts_idebate").preprocess(row)
    assert out == {"debate": "ban homework", "argument": "1. It is long.\n2. It is dull.",
                   "target": "Homework wastes time."}
    row["_argument_sentences"] = [{"key": "a", "value": "It is long."}]  # list-of-dicts layout works too
    assert cat.task("opinion_abstracts_idebate").preprocess(row)["argument"] == "1. It is long."
    assert cat.task("opinion_abstracts_idebate").preprocess({**row, "_claim": ""}) is None
    reviews = {"key": [str(i) for i in range(12)], "value": [f"Review {i}." for i in range(12)]}
    out = cat.task("opinion_abstracts_movies").preprocess(
        {"_movie_name": "the_big_storm", "_movie_id": "m", "_critics": reviews, "_critic_consensus": "Fun."})
    assert out["movie"] == "The Big Storm" and out["target"] == "Fun."
    assert out["reviews"].count("\n") == 9 and out["reviews"].endswith("10. Review 9.")  # at most 10
    sam = cat.task("samsum").preprocess({"id": "1", "dialogue": "Ann: Hi\r\nBob: Hey", "summary": "They greet."})
    assert sam == {"dialogue": "Ann: Hi\nBob: Hey", "target": "They greet."}


def test_coqa_renders_the_last_turn_with_its_history(cat):
    row = {"source": "mctest", "story": "Ann has a grey cat.", "questions": ["Who has a cat?", "What colour?"],
           "answers": {"input_text": ["Ann", "grey"], "answer_start": [0, 10], "answer_end": [3, 14]}}
    out = cat.task("coqa").preprocess(row)
    assert out == {"story": "Ann has a grey cat.", "history": "Q: Who has a cat?\nA: Ann",
                   "question": "What colour?", "target": "grey"}
    one = {**row, "questions": ["Who?"], "answers": {"input_text": ["Ann"], "answer_start": [0],
                                                     "answer_end": [3]}}
    assert cat.task("coqa").preprocess(one)["history"] == NO_HISTORY
    assert cat.task("coqa").preprocess({**row, "questions": ["Who?"]}) is None  # turns do not line up


def test_quac_maps_cannotanswer_and_keeps_every_reference(cat):
    row = {"dialogue_id": "d", "wikipedia_page_title": "Ada Lovelace", "background": "A mathematician.",
           "section_title": "Early life", "context": "She was born in 1815. CANNOTANSWER",
           "turn_ids": ["d_q#0", "d_q#1"], "questions": ["When was she born?", "Did she have a dog?"],
           "followups": [0, 1], "yesnos": [2, 2],
           "answers": {"texts": [["She was born in 1815."], ["CANNOTANSWER", "CANNOTANSWER"]],
                       "answer_starts": [[0], [23, 23]]},
           "orig_answers": {"texts": ["She was born in 1815.", "CANNOTANSWER"], "answer_starts": [0, 23]}}
    out = cat.task("quac").preprocess(row)
    assert out["context"] == "She was born in 1815." and out["title"] == "Ada Lovelace"
    assert out["history"] == "Q: When was she born?\nA: She was born in 1815."
    assert out["question"] == "Did she have a dog?"
    assert out["target"] == UNANSWERABLE and out["references"] == [UNANSWERABLE]
    row["orig_answers"]["texts"][1] = "She had one."
    row["answers"]["texts"][1] = ["She had one.", "one"]
    assert cat.task("quac").preprocess(row)["references"] == ["She had one.", "one"]


def test_classification_preprocess_and_unlabelled_rows(cat):
    assert cat.task("trec").preprocess({"text": "Who wrote Hamlet ?", "coarse_label": 3, "fine_label": 29}) == {
        "question": "Who wrote Hamlet ?", "label": 3}
    cola = cat.task("cola").preprocess
    assert cola({"sentence": "She runs.", "label": 1, "idx": 0}) == {"sentence": "She runs.", "label": 1}
    assert cola({"sentence": "She run.", "label": -1, "idx": 1}) is None  # GLUE test rows
    wic = {"word": "bank", "sentence1": "The bank was closed.", "sentence2": "We sat on the river bank.",
           "start1": 4, "start2": 20, "end1": 8, "end2": 24, "idx": 0, "label": 0}
    assert cat.task("wic").preprocess(wic) == {"word": "bank", "sentence1": "The bank was closed.",
                                               "sentence2": "We sat on the river bank.", "label": 0}
    assert cat.task("wic").preprocess({**wic, "label": -1}) is None


def test_math_dataset_undoes_the_bytes_repr_of_the_hub_strings(cat):
    row = json.loads(r'''{"question": "b'Solve -3*k + 12 = 0 for k.\\n'", "answer": "b'4\\n'"}''')
    assert row["question"].endswith("\\n'")  # what the Hub stores: a bytes repr with an escaped newline
    assert cat.task("math_dataset").preprocess(row) == {"question": "Solve -3*k + 12 = 0 for k.", "target": "4"}
    assert cat.task("math_dataset").preprocess({"question": "Solve x = 2 for x.", "answer": "2"}) == {
        "question": "Solve x = 2 for x.", "target": "2"}


def test_fix_punctuation_takes_the_first_sentence_and_strips_it(cat):
    assert first_sentence("Mr. Lee and Dr. Ray met in the U.S. capital. They talked.\nMore.") == (
        "Mr. Lee and Dr. Ray met in the U.S. capital.")
    assert first_sentence('\n"It works," she said. Then she left.') == '"It works," she said.'
    assert strip_punctuation("O'Neill's dog, Rex, barked: loudly!") == "oneills dog rex barked loudly"
    pre = cat.task("fix_punctuation").preprocess
    out = pre({"document": "The council, which met on Monday, agreed. Other text.", "summary": "s", "id": "1"})
    assert out == {"text": "the council which met on monday agreed",
                   "target": "The council, which met on Monday, agreed."}
    assert pre({"document": "too short.", "summary": "s", "id": "2"}) is None
    assert pre({"document": "already plain lowercase words here", "summary": "s", "id": "3"}) is None


# -- rendering every template on every bundled example ----------------------------------------------

@pytest.mark.parametrize("name", sorted(SAMPLED))
def test_every_template_renders_every_bundled_example(cat, name):
    task = cat.task(name)
    ts = cat.templates(task)
    seen = 0
    for role in ROLES:
        for ex in _bundled(task, role):
            for tpl in ts.templates:
                r = render(task, ts, tpl, ex)
                if r is None:
                    assert tpl.when and not tpl.applies_to(ex)
                    continue
                seen += 1
                assert r.inputs.strip() and r.targets.strip() and "{" not in r.inputs.replace("{{", "")
                if r.turned:
                    assert r.options is None and r.targets != r.inputs
                elif task.is_classification:
                    assert r.targets == task.options[ex["label"]] and r.label == ex["label"]
                    assert r.inputs.count("OPTIONS:") == 1 and all(f"- {o}" in r.inputs for o in task.options)
                else:
                    assert r.targets == ex["target"] and ex["target"] in r.references
            for mode in MODES:
                r = render(task, ts, None, ex, mode=mode)
                assert r.inputs.strip() and r.targets.strip()
                if mode == "dataset_name":
                    assert r.inputs.startswith(f"[{task.display_name}] ")
    assert seen >= 80 * 9


def test_templates_of_unsampled_tasks_render_a_preprocessed_row(cat):
    """Tasks without a bundled sample still render every template on a hand-written Hub row."""
    rows = {
        "cnn_dailymail": {"article": "A storm hit the coast.", "highlights": "Storm hits coast .", "id": "x"},
        "gigaword": {"document": "a storm hit the coast on monday", "summary": "storm hits coast"},
        "multi_news": {"document": "A storm hit. ||||| Roads shut.", "summary": "– A storm shut roads."},
        "newsroom": {"text": "A storm hit.", "summary": "Storm.", "title": "Storm", "url": "", "date": "",
                     "density_bin": "", "coverage_bin": "", "compression_bin": "", "density": 0.0,
                     "coverage": 0.0, "compression": 0.0},
        "opinion_abstracts_idebate": {"_debate_name": "d", "_debate_id": "1", "_claim": "C.", "_claim_id": "c",
                                      "_argument_sentences": {"key": ["k"], "value": ["S."]}},
        "opinion_abstracts_movies": {"_movie_name": "m", "_movie_id": "1", "_critic_consensus": "Good.",
                                     "_critics": {"key": ["k"], "value": ["Fine film."]}},
        "wiki_lingua_en": {"gem_id": "g", "gem_parent_id": "g", "source_language": "en", "target_language": "en",
                           "source": "Mix it. Bake it.", "target": "Mix and bake.", "references": ["Mix and bake."]},
        "quac": {"dialogue_id": "d", "wikipedia_page_title": "T", "background": "B.", "section_title": "S",
                 "context": "Text. CANNOTANSWER", "turn_ids": ["a", "b"], "questions": ["Q1?", "Q2?"],
                 "followups": [0, 0], "yesnos": [2, 2],
                 "answers": {"texts": [["Text."], ["Text."]], "answer_starts": [[0], [0]]},
                 "orig_answers": {"texts": ["Text.", "Text."], "answer_starts": [0, 0]}},
        "wic": {"word": "run", "sentence1": "I run.", "sentence2": "A run in the park.", "start1": 2,
                "start2": 2, "end1": 5, "end2": 5, "idx": 0, "label": 1},
        "math_dataset": {"question": "b'Solve 2*x = 4 for x.\\n'", "answer": "b'2\\n'"},
    }
    assert set(rows) | set(SAMPLED) == set(cat.tasks)
    for name, row in rows.items():
        task = cat.task(name)
        ex = {**task.preprocess(row), "id": f"{name}:test:0"}
        ts = cat.templates(task)
        rendered = [render(task, ts, tpl, ex) for tpl in ts.templates]
        assert sum(r is not None for r in rendered) >= len(ts.forward), name
        for mode in ("natural",) + MODES:
            r = rendered[0] if mode == "natural" else render(task, ts, None, ex, mode=mode)
            assert r.inputs.strip() and r.targets.strip(), (name, mode)


# -- the bundled samples themselves -----------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SAMPLED))
def test_bundled_samples_follow_the_hub_schema(cat, name):
    task = cat.task(name)
    for split in {task.splits.train, task.splits.test}:
        path = mirror_file(BUNDLED_DIR, task, split)
        assert path is not None and path.suffix == ".jsonl", (name, split)
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert len(rows) == 40, (name, split)
        assert all(set(r) == SAMPLED[name] for r in rows), (name, split)
        skipped = [0]
        role = "test" if split == task.splits.test else "train"
        n = sum(1 for _ in iter_examples(task, role, source="bundled", skipped=skipped))
        assert n + skipped[0] == (40 if role == "test" else 36)
        assert skipped[0] == 0, (name, split)


def test_bundled_sample_details():
    coqa = [json.loads(x) for x in (BUNDLED_DIR / "stanfordnlp/coqa/default/train.jsonl").read_text().splitlines()]
    for r in coqa:
        a = r["answers"]
        assert len(r["questions"]) == len(a["input_text"]) == len(a["answer_start"]) == len(a["answer_end"]) >= 3
        for text, start, end in zip(a["input_text"], a["answer_start"], a["answer_end"]):
            assert start == -1 or r["story"][start:end].lower() == text.lower()
    trec = [json.loads(x) for x in (BUNDLED_DIR / "CogComp/trec/default/test.jsonl").read_text().splitlines()]
    assert all(0 <= r["fine_label"] < 50 and 0 <= r["coarse_label"] < 6 for r in trec)
    samsum = (BUNDLED_DIR / "Samsung/samsum/samsum/train.jsonl").read_text().splitlines()
    ids = [json.loads(x)["id"] for x in samsum]
    assert len(set(ids)) == 40 and all("\r\n" in json.loads(x)["dialogue"] for x in samsum)


def _hub_features():
    """The Hub's features of each bundled dataset (from the dataset cards and loaders)."""
    from datasets import ClassLabel, Features, Sequence, Value

    s, i32 = Value("string"), Value("int32")
    trec_fine = [f"{c}:{f}" for c, fs in (
        ("ABBR", "abb exp"), ("ENTY", "animal body color cremat currency dismed event food instru lang letter "
                                     "other plant product religion sport substance symbol techmeth termeq veh word"),
        ("DESC", "def desc manner reason"), ("HUM", "gr ind title desc"), ("LOC", "city country mount other state"),
        ("NUM", "code count date dist money ord other period perc speed temp volsize weight")) for f in fs.split()]
    return {
        "Yale-LILY/aeslc/default": Features({"email_body": s, "subject_line": s}),
        "fancyzhx/ag_news/default": Features({"text": s, "label": ClassLabel(names=["World", "Sports", "Business",
                                                                                    "Sci/Tech"])}),
        "Samsung/samsum/samsum": Features({"id": s, "dialogue": s, "summary": s}),
        "EdinburghNLP/xsum/default": Features({"document": s, "summary": s, "id": s}),
        "stanfordnlp/coqa/default": Features({"source": s, "story": s, "questions": Sequence(s), "answers": Sequence(
            {"input_text": s, "answer_start": i32, "answer_end": i32})}),
        "CogComp/trec/default": Features({"text": s, "coarse_label": ClassLabel(names=["ABBR", "ENTY", "DESC", "HUM",
                                                                                        "LOC", "NUM"]),
                                          "fine_label": ClassLabel(names=trec_fine)}),
        "nyu-mll/glue/cola": Features({"sentence": s, "label": ClassLabel(names=["unacceptable", "acceptable"]),
                                       "idx": i32}),
    }


def test_bundled_samples_cast_to_the_hub_features():
    from datasets import ClassLabel, Dataset

    features = _hub_features()
    assert len(features["CogComp/trec/default"]["fine_label"].names) == 50
    for where, feats in features.items():
        paths = sorted((BUNDLED_DIR / where).glob("*.jsonl"))
        assert len(paths) == 2, where
        for path in paths:
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            ds = Dataset.from_list(rows).cast(feats)  # a mistyped or missing column raises here
            assert ds.features == feats and len(ds) == 40
            for col, feat in feats.items():  # casting does not range-check class labels
                if isinstance(feat, ClassLabel):
                    assert all(0 <= r[col] < feat.num_classes for r in rows), (path, col)
            if "fine_label" in feats:  # TREC: each fine class sits inside its coarse class
                fine, coarse = feats["fine_label"].names, feats["coarse_label"].names
                assert all(fine[r["fine_label"]].split(":")[0] == coarse[r["coarse_label"]] for r in rows), path


@pytest.mark.parametrize("name", ["ag_news", "trec", "cola"])
def test_bundled_classification_labels_are_balanced(cat, name):
    task = cat.task(name)
    n_options = len(task.options)
    for role in ("train", "test"):
        counts = Counter(ex["label"] for ex in _bundled(task, role))
        if role == "train":  # the carved dev rows come back in
            counts.update(ex["label"] for ex in _bundled(task, "dev"))
        assert set(counts) == set(range(n_options)), (name, role)
        assert max(counts.values()) - min(counts.values()) <= 1, (name, role, counts)
    dev = [ex["label"] for ex in _bundled(task, "dev")]
    assert len(dev) == 4 and len(set(dev)) >= 2  # template selection sees more than one class


def test_bundled_generation_samples_are_short(cat):
    """The demo trains a small model on CPU: articles of a few sentences, one-sentence summaries."""
    for ex in _bundled(cat.task("xsum"), "train") + _bundled(cat.task("xsum"), "test"):
        assert 3 <= ex["document"].count(".") <= 6 and len(ex["document"]) < 600
        assert ex["target"].count(". ") == 0 and len(ex["target"]) < 120
    for ex in _bundled(cat.task("samsum"), "test") + _bundled(cat.task("aeslc"), "test"):
        assert len(ex["target"]) < 130
    for ex in _bundled(cat.task("coqa"), "test"):
        assert len(ex["story"]) < 500


# -- the real data mirror -----------------------------------------------------------------------------

def test_mirror_tasks_load_and_render(cat, shared_hf):
    found = 0
    for task in cat.tasks.values():
        if mirror_file(shared_hf, task, task.splits.test) is None:
            continue
        found += 1
        ts = cat.templates(task)
        examples = list(iter_examples(task, "test", source="mirror", data_dir=shared_hf, limit=20))
        assert len(examples) == 20, task.name
        for ex in examples:
            for tpl in ts.templates:
                r = render(task, ts, tpl, ex)
                assert r is None or (r.inputs.strip() and r.targets.strip())
    if not found:
        pytest.skip("none of this group's datasets is in the mirror")
    assert found >= 3  # xsum, cnn_dailymail, fix_punctuation (XSum articles)
