"""The catalogue cluster by cluster, as tables over the one catalogue.

Each table below states what a cluster's tasks are (members, shared datasets, sources, splits, metrics,
options, template counts) or what their data looks like (Hub columns and features of the bundled samples,
preprocess of hand-written rows in the Hub's schema); the tests read the tables. Rendering is checked by one
function (`check_rendered`) on every bundled example of every role, and on a hand-written row for each task
without a bundled sample. Whole-catalogue counts, validation errors and the real-mirror checks are in
test_catalogue.py.

    pytest tests/unit/test_catalogue_clusters.py -q
"""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil
from collections import Counter
from pathlib import Path

import pytest
from catalogue_checks import check_rendered

from flanlab.tasks import PAPER_CLUSTERS, catalog, catalogue, iter_examples, render
from flanlab.tasks.catalog import misc, struct_to_text, translation
from flanlab.tasks.registry import MAX_TURNED
from flanlab.tasks.sources import BUNDLED_DIR, ROLES, mirror_file

CAT = catalogue()

# -- members, datasets, sources, displays -----------------------------------------------------------------

WMT16 = ("cs", "de", "fi", "ro", "ru", "tr")
PARACRAWL = ("de", "es", "fr")
# Each cluster's tasks, in catalogue order.
MEMBERS = {
    "nli": ("anli_r1", "anli_r2", "anli_r3", "cb", "mnli", "qnli", "rte", "snli", "wnli"),
    "reading_comprehension": ("boolq", "drop", "multirc", "openbookqa", "squad_v1", "squad_v2"),
    "closed_book_qa": ("arc_easy", "arc_challenge", "nq_open", "triviaqa"),
    "commonsense": ("copa", "hellaswag", "piqa", "story_cloze"),
    "coreference": ("dpr", "winogrande", "wsc273"),
    "rc_commonsense": ("cosmos_qa", "record"),
    "sentiment": ("imdb", "sent140", "sst2", "yelp_polarity"),
    "paraphrase": ("mrpc", "qqp", "paws", "stsb"),
    "struct_to_text": ("common_gen", "dart", "e2e_nlg", "web_nlg"),
    "translation": tuple(f"paracrawl_{a}_{b}" for x in PARACRAWL for a, b in ((x, "en"), ("en", x)))
    + ("wmt14_fr_en", "wmt14_en_fr") + tuple(f"wmt16_{a}_{b}" for x in WMT16 for a, b in ((x, "en"), ("en", x))),
    "summarization": ("aeslc", "ag_news", "cnn_dailymail", "gigaword", "multi_news", "newsroom",
                      "opinion_abstracts_idebate", "opinion_abstracts_movies", "samsum", "wiki_lingua_en", "xsum"),
    "misc": ("coqa", "quac", "trec", "cola", "wic", "math_dataset", "fix_punctuation"),
    "conversational_qa": ("coqa", "quac"),  # a sub-cluster of misc
}
TRANSLATION = MEMBERS["translation"]
# Datasets the paper counts once although several tasks read them; every other task is its own dataset.
SHARED_DATASETS = {
    "anli": ("anli_r1", "anli_r2", "anli_r3"),
    "arc": ("arc_easy", "arc_challenge"),
    "squad": ("squad_v1", "squad_v2"),
    "paracrawl": MEMBERS["translation"][:6],
    "wmt14_en_fr": ("wmt14_fr_en", "wmt14_en_fr"),
    **{f"wmt16_en_{x}": (f"wmt16_{x}_en", f"wmt16_en_{x}") for x in WMT16},
}
# (Hub id, config) of tasks whose source is not read off their name.
SOURCES = {
    "wmt16_tr_en": ("wmt/wmt16", "tr-en"), "wmt14_en_fr": ("wmt/wmt14", "fr-en"),
    "paracrawl_en_es": ("ParaCrawl/para_crawl", "enes"),
    "web_nlg": ("webnlg-challenge/web_nlg", "webnlg_challenge_2017"),
    "xsum": ("EdinburghNLP/xsum", "default"), "fix_punctuation": ("EdinburghNLP/xsum", "default"),
    "cnn_dailymail": ("abisee/cnn_dailymail", "3.0.0"), "ag_news": ("fancyzhx/ag_news", "default"),
    "cola": ("nyu-mll/glue", "cola"), "wic": ("aps/super_glue", "wic"),
    "math_dataset": ("deepmind/math_dataset", "algebra__linear_1d"),
    "coqa": ("stanfordnlp/coqa", "default"), "quac": ("allenai/quac", "plain_text"),
}
DISPLAYS = {
    "wmt16_ro_en": "Translation: WMT-16 Romanian to English", "wmt14_en_fr": "Translation: WMT-14 English to French",
    "wmt14_fr_en": "Translation: WMT-14 French to English",
    "paracrawl_de_en": "Translation: ParaCrawl German to English",
}


@pytest.mark.parametrize("cluster", MEMBERS)
def test_cluster_members(cluster):
    assert tuple(t.name for t in CAT.tasks_in(cluster)) == MEMBERS[cluster]


def test_every_task_is_in_one_paper_cluster_of_the_table():
    listed = [n for c in PAPER_CLUSTERS for n in MEMBERS[c]]
    assert sorted(listed) == sorted(CAT.tasks) and len(set(listed)) == len(listed)


@pytest.mark.parametrize("dataset", SHARED_DATASETS)
def test_tasks_sharing_a_dataset(dataset):
    assert sorted(n for n, t in CAT.tasks.items() if t.dataset_name == dataset) == sorted(SHARED_DATASETS[dataset])


def test_other_tasks_are_their_own_dataset():
    shared = {n for names in SHARED_DATASETS.values() for n in names}
    assert all(t.dataset_name == n for n, t in CAT.tasks.items() if n not in shared)


@pytest.mark.parametrize("name", SOURCES)
def test_sources_name_hub_ids_and_configs(name):
    assert (CAT.task(name).source.hub_id, CAT.task(name).source.config) == SOURCES[name]


@pytest.mark.parametrize("name", TRANSLATION)
def test_translation_directions_share_a_source_holding_both_languages(name):
    """Both directions of a pair read the same rows; the config names the two languages of the task."""
    t = CAT.task(name)
    corpus, src, tgt = name.split("_")
    assert CAT.task(f"{corpus}_{tgt}_{src}").source == t.source
    config = t.source.config.replace("-", "")
    assert {src, tgt} == {config[:2], config[2:]}


@pytest.mark.parametrize("name", sorted(CAT.tasks))
def test_every_task_has_a_description_and_a_display_naming_its_cluster(name):
    t = CAT.task(name)
    assert t.description and t.display.startswith(CAT.cluster(t.cluster).title.split()[0])
    if name in DISPLAYS:
        assert t.display_name == DISPLAYS[name]


# -- splits, kinds, metrics, options ----------------------------------------------------------------------

CARVED_VAL = ("train", "train", "validation")  # dev carved from train, validation as test (test labels private)
CARVED_TEST = ("train", "train", "test")  # dev carved from train, public test labels
DEV_TEST = ("train", "validation", "test")  # nothing carved
# (train, dev, test) split of each task: the cluster's default, then the exceptions.
SPLITS = {
    "nli": (CARVED_VAL, {**{f"anli_r{r}": (f"train_r{r}", f"dev_r{r}", f"test_r{r}") for r in (1, 2, 3)},
                         "mnli": ("train", "train", "validation_matched"), "snli": DEV_TEST}),
    "reading_comprehension": (CARVED_VAL, {"openbookqa": DEV_TEST}),
    "closed_book_qa": (CARVED_VAL, {"arc_easy": DEV_TEST, "arc_challenge": DEV_TEST}),
    "commonsense": (CARVED_VAL, {"story_cloze": ("validation", "validation", "test")}),
    "coreference": (CARVED_VAL, {"dpr": CARVED_TEST, "wsc273": ("test", "test", "test")}),
    "rc_commonsense": (CARVED_VAL, {}),
    "sentiment": (CARVED_TEST, {"sst2": CARVED_VAL}),
    "paraphrase": (CARVED_VAL, {"mrpc": CARVED_TEST}),
    "struct_to_text": (CARVED_VAL, {"web_nlg": ("train", "train", "dev")}),
    "translation": (DEV_TEST, {n: ("train", "train", "train") for n in TRANSLATION if n.startswith("paracrawl")}),
    "summarization": (CARVED_TEST, {}),
    "misc": (CARVED_VAL, {"trec": CARVED_TEST, "math_dataset": CARVED_TEST, "fix_punctuation": CARVED_TEST}),
}
# Metrics, primary first: the cluster's default, then the exceptions.
METRICS = {
    "nli": (("accuracy",), {"cb": ("accuracy", "f1_macro")}),
    "reading_comprehension": (("squad_f1", "exact_match"), {"boolq": ("accuracy",), "openbookqa": ("accuracy",),
                                                            "multirc": ("multirc_f1a", "exact_match")}),
    "closed_book_qa": (("accuracy",), {"nq_open": ("exact_match",), "triviaqa": ("exact_match",)}),
    "commonsense": (("accuracy",), {}),
    "coreference": (("accuracy",), {}),
    "rc_commonsense": (("accuracy",), {"record": ("squad_f1", "exact_match")}),
    "sentiment": (("accuracy",), {}),
    "paraphrase": (("accuracy", "f1_binary"), {"paws": ("accuracy",), "stsb": ("pearson", "spearman", "accuracy")}),
    "struct_to_text": (("rouge1", "rouge2", "rougeL", "bleu"), {}),
    "translation": (("bleu",), {}),
    "summarization": (("rouge1", "rouge2", "rougeL"), {"ag_news": ("accuracy",)}),
    "misc": (("squad_f1", "exact_match"), {"trec": ("accuracy",), "cola": ("mcc", "accuracy"), "wic": ("accuracy",),
                                           "math_dataset": ("exact_match",), "fix_punctuation": ("bleu",)}),
}
GENERATION = {"drop", "squad_v1", "squad_v2", "nq_open", "triviaqa", *MEMBERS["struct_to_text"], *TRANSLATION,
              *(set(MEMBERS["summarization"]) - {"ag_news"}), "coqa", "quac", "math_dataset", "fix_punctuation"}
# Fixed options of classification tasks, in the order of each Hub label encoding (MNLI/SNLI/ANLI: 0 entailment,
# 1 neutral, 2 contradiction; CB: 0 entailment, 1 contradiction, 2 neutral; WNLI: 1 = entailment). Every other
# classification task has per-example options.
NLI3 = ("yes", "it is not possible to tell", "no")
NO_YES = ("no", "yes")
POLARITY = ("negative", "positive")
OPTIONS = {
    "anli_r1": NLI3, "anli_r2": NLI3, "anli_r3": NLI3, "mnli": NLI3, "snli": NLI3,
    "cb": ("yes", "no", "it is not possible to tell"), "rte": ("yes", "no"), "qnli": ("yes", "no"), "wnli": NO_YES,
    "boolq": NO_YES, "multirc": NO_YES,
    "imdb": POLARITY, "sent140": POLARITY, "sst2": POLARITY, "yelp_polarity": POLARITY,
    "mrpc": NO_YES, "qqp": NO_YES, "paws": NO_YES, "stsb": ("0", "1", "2", "3", "4", "5"),
    "ag_news": ("World", "Sports", "Business", "Science and technology"),
    "trec": ("abbreviation", "entity", "description", "person or group", "location", "number"),
    "cola": ("unacceptable", "acceptable"), "wic": NO_YES,
}


def _by_cluster(table, cluster):
    default, exceptions = table[cluster]
    return {n: exceptions.get(n, default) for n in MEMBERS[cluster]}


@pytest.mark.parametrize("cluster", PAPER_CLUSTERS)
def test_split_roles(cluster):
    got = {t.name: (t.splits.train, t.splits.dev, t.splits.test) for t in CAT.tasks_in(cluster)}
    assert got == _by_cluster(SPLITS, cluster)


@pytest.mark.parametrize("cluster", PAPER_CLUSTERS)
def test_metrics_primary_first(cluster):
    assert {t.name: t.metrics for t in CAT.tasks_in(cluster)} == _by_cluster(METRICS, cluster)


@pytest.mark.parametrize("cluster", PAPER_CLUSTERS)
def test_kinds_and_options(cluster):
    for t in CAT.tasks_in(cluster):
        assert t.kind == ("generation" if t.name in GENERATION else "classification"), t.name
        assert t.options == OPTIONS.get(t.name), t.name
        assert t.dynamic_options == (t.is_classification and t.name not in OPTIONS), t.name


# -- templates ------------------------------------------------------------------------------------------

# Per cluster: (fewest, most templates), fewest forward templates, (fewest, most turned-around templates).
TEMPLATE_COUNTS = {
    "nli": ((8, 13), 10, (1, 3)), "reading_comprehension": ((8, 13), 10, (1, 3)),
    "closed_book_qa": ((8, 13), 10, (1, 3)),
    "commonsense": ((9, 13), 5, (0, 3)), "coreference": ((9, 13), 5, (0, 0)), "rc_commonsense": ((9, 13), 5, (0, 3)),
    "sentiment": ((9, 13), 5, (0, 3)), "paraphrase": ((9, 13), 5, (0, 3)),
    "struct_to_text": ((10, 13), 5, (1, 3)), "translation": ((10, 13), 5, (0, 0)),
    "summarization": ((9, 11), 8, (0, 3)), "misc": ((9, 11), 8, (0, 3)),
}
# Clusters whose plain prompt (no-template ablation) is none of the templates' wording; whose GPT-3-style
# baseline prompt is none of them; whose turned-around templates never target the answer itself.
PLAIN_NOT_A_TEMPLATE = {"struct_to_text", "translation"}
BASELINE_NOT_A_TEMPLATE = {"struct_to_text", "translation", "summarization", "misc"}
TURNED_NOT_THE_ANSWER = {"summarization", "misc"}
# Tasks whose input cannot be written from the answer (no turned-around template).
UNTURNABLE = {"dpr", "winogrande", "wsc273", "cola", "math_dataset", "fix_punctuation", *TRANSLATION}


# Template sets read by other tasks than the one of the same name; every other task has a set of its own.
SHARED_TEMPLATE_SETS = {
    "anli": ("anli_r1", "anli_r2", "anli_r3"), "arc": ("arc_easy", "arc_challenge"),
    "coreference_completion": ("dpr", "winogrande", "wsc273"), "movie_review": ("imdb", "sst2"),
    "paraphrase_pair": ("mrpc", "paws"), "yelp": ("yelp_polarity",), "translation": TRANSLATION,
}
# Clusters whose templates all apply to every example (no `when` clause).
NO_WHEN = {"struct_to_text", "translation"}


@pytest.mark.parametrize("cluster", PAPER_CLUSTERS)
def test_template_sets_of_each_task(cluster):
    for t in CAT.tasks_in(cluster):
        shared = [s for s, names in SHARED_TEMPLATE_SETS.items() if t.name in names]
        assert t.templates_name == (shared[0] if shared else t.name), t.name
        if cluster in NO_WHEN:
            assert not any(tpl.when for tpl in CAT.templates(t).templates), t.name


@pytest.mark.parametrize("name", sorted(CAT.tasks))
def test_template_counts_and_wording(name):
    task, tset = CAT.task(name), CAT.templates(name)
    (lo, hi), min_forward, (min_turned, max_turned) = TEMPLATE_COUNTS[task.cluster]
    turned = [t for t in tset.templates if t.turned]
    assert lo <= len(tset.templates) <= hi and len(tset.forward) >= min_forward
    assert min_turned <= len(turned) <= min(max_turned, MAX_TURNED)
    assert task.turnable == (name not in UNTURNABLE) and (task.turnable or not turned)
    assert not tset.templates[0].turned
    if task.cluster in TURNED_NOT_THE_ANSWER:
        assert all(t.target != "{answer}" for t in turned)  # a turned template produces something else
    inputs = [t.input for t in tset.templates]
    assert len(set(inputs)) == len(inputs), "duplicate wording"
    assert tset.plain and tset.baseline
    assert task.cluster not in PLAIN_NOT_A_TEMPLATE or tset.plain not in inputs
    assert task.cluster not in BASELINE_NOT_A_TEMPLATE or tset.baseline not in inputs
    assert "{options}" not in tset.baseline
    assert task.metrics and task.source.hub_id and task.display


# -- preprocess on hand-written rows in the Hub's schema ----------------------------------------------------

def _web_nlg_row(texts: list[str], category: str = "") -> dict:
    n = len(texts)
    return {"category": "Airport", "size": 2, "eid": "Id7",
            "original_triple_sets": {"otriple_set": [["Oslo_Airport | city | Oslo", "Oslo | country | Norway"]]},
            "modified_triple_sets": {"mtriple_set": [["Oslo_Airport | cityServed | Oslo", "Oslo | country | Norway"]]},
            "shape": "", "shape_type": "",
            "lex": {"comment": ["good"] * n, "lid": [f"Id{i + 1}" for i in range(n)], "text": texts, "lang": [""] * n},
            "test_category": category, "dbpedia_links": [], "links": []}


_NLI = {"uid": "u1", "premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0, "reason": ""}
_SQUAD = {"id": "x", "title": "Great_Wall", "context": "C", "question": "Q?",
          "answers": {"text": ["Ming", "Ming", "the Ming"], "answer_start": [0, 0, 0]}}
_DROP = {"section_id": "s", "query_id": "q", "passage": "P", "question": "How many?",
         "answers_spans": {"spans": ["3", "3", "three"], "types": ["number", "number", "number"]}}
_ARC = {"id": "a", "question": "Q?", "answerKey": "3",
        "choices": {"text": ["w", "x", "y", "z"], "label": ["1", "2", "3", "4"]}}
_TQA = {"question": "Q?", "question_id": "t1", "question_source": "", "entity_pages": {}, "search_results": {},
        "answer": {"value": "Onion", "aliases": ["Onions", "Onion", "Allium cepa"], "normalized_aliases": [],
                   "normalized_value": "onion", "matched_wiki_entity_name": "",
                   "normalized_matched_wiki_entity_name": "", "type": ""}}
_COPA = {"premise": "The pond froze.", "choice1": "It was warm.", "choice2": "It was very cold.", "question": "cause",
         "idx": 3, "label": 1}
_HSWAG = {"ind": 4, "activity_label": "Making tea", "ctx_a": "A woman fills a kettle.", "ctx_b": "she",
          "ctx": "A woman fills a kettle. she", "endings": ["boils it.", "[step] Paints it.", "eats it.", "sings."],
          "source_id": "x", "split": "val", "split_type": "indomain", "label": "0"}
_PIQA = {"goal": "Dry a wet phone.", "sol1": "Put it in rice.", "sol2": "Put it in the bath.", "label": 0}
_WINO = {"sentence": "The cup fell off the shelf because _ was tilted.", "option1": "the cup", "option2": "the shelf",
         "answer": "2"}
_COSMOS = {"id": "q1", "context": "I missed the bus.", "question": "Why was I late?", "answer0": "Traffic.",
           "answer1": "I missed the bus.", "answer2": "Rain.", "answer3": "None of the above choices.", "label": 1}
_RECORD = {"passage": "Kim met Lee in Oslo. Lee smiled.\n@highlight\nKim and Lee meet\n@highlight\nOslo talks",
           "query": "@placeholder later flew home.", "entities": ["Oslo", "Lee", "Kim"],
           "entity_spans": {"text": ["Kim", "Lee", "Oslo", "Lee"], "start": [0, 8, 15, 21], "end": [3, 11, 19, 24]},
           "answers": ["Lee"], "idx": {"passage": 0, "query": 0}}
_TWEET = {"text": "so happy today", "date": "d", "user": "u", "sentiment": 4, "query": "NO_QUERY"}
_QQP = {"question1": "Why?", "question2": "How come?", "label": -1, "idx": 0}
_COMMON_GEN = {"concept_set_idx": 3, "concepts": ["dog", "ball", "catch"], "target": "The dog catches the ball."}
_DART = {"tripleset": [["Ann Lee", "BORN_IN", "Oslo"], ["Ann Lee", "JOB", "pilot"]], "subtree_was_extended": None,
         "annotations": {"source": ["webnlg", "webnlg"],
                         "text": ["Ann Lee, a pilot, was born in Oslo.", "Pilot Ann Lee comes from Oslo."]}}
# a source that groups one-row-per-reference rows hands preprocess the first row plus the whole group
_CG_GROUP = [{"concept_set_idx": 0, "concepts": ["dog", "run"], "target": t} for t in ("A dog runs.", "Dogs run.")]
_E2E_GROUP = [{"meaning_representation": "name[Aroma]", "human_reference": t} for t in ("Aroma.", "It is Aroma.")]
_IDEBATE = {"_debate_name": "ban_homework", "_debate_id": "1", "_claim": "Homework wastes time.", "_claim_id": "c1",
            "_argument_sentences": {"key": ["a", "b"], "value": ["It is long.", "It is dull."]}}
_NEWSROOM = {"text": "Body text.", "summary": "Short.", "title": "Title", "url": "u", "date": "d", "density_bin": "low",
             "coverage_bin": "low", "compression_bin": "low", "density": 1.0, "coverage": 1.0, "compression": 1.0}
_COQA = {"source": "mctest", "story": "Ann has a grey cat.", "questions": ["Who has a cat?", "What colour?"],
         "answers": {"input_text": ["Ann", "grey"], "answer_start": [0, 10], "answer_end": [3, 14]}}
_QUAC = {"dialogue_id": "d", "wikipedia_page_title": "Ada Lovelace", "background": "A mathematician.",
         "section_title": "Early life", "context": "She was born in 1815. CANNOTANSWER",
         "turn_ids": ["d_q#0", "d_q#1"], "questions": ["When was she born?", "Did she have a dog?"],
         "followups": [0, 1], "yesnos": [2, 2],
         "answers": {"texts": [["She was born in 1815."], ["CANNOTANSWER", "CANNOTANSWER"]],
                     "answer_starts": [[0], [23, 23]]},
         "orig_answers": {"texts": ["She was born in 1815.", "CANNOTANSWER"], "answer_starts": [0, 23]}}
_QUAC_ANSWERED = {**_QUAC, "answers": {"texts": [["She was born in 1815."], ["She had one.", "one"]],
                                       "answer_starts": [[0], [23, 27]]},
                  "orig_answers": {"texts": ["She was born in 1815.", "She had one."], "answer_starts": [0, 23]}}
_WIC = {"word": "bank", "sentence1": "The bank was closed.", "sentence2": "We sat on the river bank.", "start1": 4,
        "start2": 20, "end1": 8, "end2": 24, "idx": 0, "label": 0}
# the Hub stores math_dataset strings as a bytes repr with an escaped newline: b'...\n'
_MATH = json.loads(r'''{"question": "b'Solve -3*k + 12 = 0 for k.\\n'", "answer": "b'4\\n'"}''')
assert _MATH["question"].endswith("\\n'")
_QUAC_EXPECT = {"title": "Ada Lovelace", "section": "Early life", "background": "A mathematician.",
                "context": "She was born in 1815.", "history": "Q: When was she born?\nA: She was born in 1815.",
                "question": "Did she have a dog?", "target": misc.UNANSWERABLE, "references": [misc.UNANSWERABLE]}


def _translation_rows():
    for name in TRANSLATION:
        src, tgt = name.split("_")[1:]
        row = {"translation": {src: f"text in {src}", tgt: f"text in {tgt}"}}
        yield name, row, {"source_lang": translation.LANGUAGES[src], "target_lang": translation.LANGUAGES[tgt],
                          "source": f"text in {src}", "target": f"text in {tgt}"}
        yield name, {"translation": {src: "  ", tgt: "x"}}, None  # an empty side: skipped


# (task, Hub row, canonical example or None for a skipped row), by cluster. The first labelled row of a task
# without a bundled sample is also rendered with every template (test_hand_rows_render_with_every_template).
PREPROCESS = [
    # NLI
    ("anli_r2", _NLI, {"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0}),
    ("anli_r3", {**_NLI, "label": 2},
     {"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 2}),
    ("snli", {"premise": "P", "hypothesis": "H", "label": 1}, {"premise": "P", "hypothesis": "H", "label": 1}),
    ("snli", {"premise": "P", "hypothesis": "H", "label": -1}, None),
    ("mnli", {"premise": "P", "hypothesis": "H", "label": 2, "idx": 4},
     {"premise": "P", "hypothesis": "H", "label": 2}),
    ("qnli", {"question": "Who?", "sentence": "Ann did.", "label": 1, "idx": 0},
     {"question": "Who?", "sentence": "Ann did.", "label": 1}),
    ("wnli", {"sentence1": "S1.", "sentence2": "S2.", "label": 1, "idx": 0},
     {"premise": "S1.", "hypothesis": "S2.", "label": 1}),
    ("wnli", {"sentence1": "S1.", "sentence2": "S2.", "label": -1, "idx": 0}, None),
    # reading comprehension
    ("boolq", {"question": "is it", "passage": "T -- P.", "idx": 3, "label": 1},
     {"passage": "T -- P.", "question": "is it", "label": 1}),
    ("drop", _DROP, {"passage": "P", "question": "How many?", "target": "3", "references": ["3", "three"]}),
    ("drop", {**_DROP, "answers_spans": {"spans": [], "types": []}}, None),
    ("multirc", {"paragraph": "P", "question": "Q", "answer": "A", "idx": {"paragraph": 2, "question": 5, "answer": 1},
                 "label": 0}, {"paragraph": "P", "question": "Q", "candidate": "A", "label": 0, "group": "2-5"}),
    ("openbookqa", {"id": "7", "question_stem": "Sun is a", "answerKey": "C",
                    "choices": {"text": ["moon", "rock", "star", "cloud"], "label": ["A", "B", "C", "D"]}},
     {"question": "Sun is a", "options": ["moon", "rock", "star", "cloud"], "label": 2}),
    ("squad_v1", _SQUAD, {"title": "Great Wall", "context": "C", "question": "Q?", "target": "Ming",
                          "references": ["Ming", "the Ming"], "answerable": True}),
    ("squad_v2", {**_SQUAD, "answers": {"text": [], "answer_start": []}},
     {"title": "Great Wall", "context": "C", "question": "Q?", "target": "unanswerable",
      "references": ["unanswerable"], "answerable": False}),
    # closed-book QA
    ("arc_easy", _ARC, {"question": "Q?", "options": ["w", "x", "y", "z"], "label": 2}),
    ("arc_challenge", {**_ARC, "answerKey": "E"}, None),
    ("nq_open", {"question": "who wrote hamlet", "answer": ["Shakespeare", "W. S."]},
     {"question": "who wrote hamlet", "target": "Shakespeare", "references": ["Shakespeare", "W. S."]}),
    ("triviaqa", _TQA, {"question": "Q?", "target": "Onion", "references": ["Onion", "Onions", "Allium cepa"]}),
    *(("triviaqa", {**_TQA, "answer": {**_TQA["answer"], "value": v, "aliases": []}}, None)
      for v in ("", "<unk>")),  # the unlabelled test split
    # commonsense
    ("copa", _COPA, {"premise": "The pond froze.", "question": "cause", "ask": "What was the cause of this?",
                     "stem": "The pond froze because", "options": ["It was warm.", "It was very cold."],
                     "completions": ["it was warm.", "it was very cold."], "label": 1}),
    ("copa", {**_COPA, "question": "effect"},
     {"premise": "The pond froze.", "question": "effect", "ask": "What happened as a result?",
      "stem": "The pond froze so", "options": ["It was warm.", "It was very cold."],
      "completions": ["it was warm.", "it was very cold."], "label": 1}),
    ("copa", {**_COPA, "label": -1}, None),
    ("hellaswag", _HSWAG, {"activity": "Making tea", "context": "A woman fills a kettle. she",  # string label
                           "options": ["boils it.", "Paints it.", "eats it.", "sings."], "label": 0}),  # no markup
    ("hellaswag", {**_HSWAG, "label": ""}, None),
    ("hellaswag", {**_HSWAG, "ctx": "[header] How to brew tea [title] Boil water. [step] Wait."},  # WikiHow markup
     {"activity": "Making tea", "context": "How to brew tea. Boil water. Wait.",
      "options": ["boils it.", "Paints it.", "eats it.", "sings."], "label": 0}),
    ("piqa", _PIQA, {"goal": "Dry a wet phone.", "options": ["Put it in rice.", "Put it in the bath."], "label": 0}),
    ("piqa", {**_PIQA, "label": -1}, None),
    ("story_cloze", {"story_id": "a1", "input_sentence_1": "Ann was hungry.",
                     "input_sentence_2": "She opened the fridge.",
                     "input_sentence_3": "It was empty.", "input_sentence_4": "She called for pizza.",
                     "sentence_quiz1": "She went to sleep hungry.", "sentence_quiz2": "The pizza arrived soon.",
                     "answer_right_ending": 2},
     {"context": "Ann was hungry. She opened the fridge. It was empty. She called for pizza.",
      "options": ["She went to sleep hungry.", "The pizza arrived soon."], "label": 1}),
    # coreference (the blank or pronoun filled by each candidate; more cases in test_catalogue.py, section 4.1)
    ("winogrande", _WINO, {"context": "The cup fell off the shelf because",
                           "options": ["the cup was tilted.", "the shelf was tilted."], "label": 1}),
    ("winogrande", {**_WINO, "answer": ""}, None),
    ("wsc273", {"text": "The jar did not fit in the bag because it was too big.", "pronoun": "it", "pronoun_loc": 39,
                "quote": "it was too big", "quote_loc": 39, "options": ["the jar", "the bag"], "label": 0,
                "source": "s"},
     {"context": "The jar did not fit in the bag because", "options": ["the jar was too big.", "the bag was too big."],
      "label": 0}),
    # reading comprehension with commonsense
    ("cosmos_qa", _COSMOS, {"context": "I missed the bus.", "question": "Why was I late?",
                            "options": ["Traffic.", "I missed the bus.", "Rain.", "None of the above choices."],
                            "label": 1}),
    ("cosmos_qa", {**_COSMOS, "label": -1}, None),
    ("record", _RECORD, {"passage": "Kim met Lee in Oslo. Lee smiled.\n\n- Kim and Lee meet\n- Oslo talks",
                         "query": "_____ later flew home.", "completion": "Lee later flew home.",
                         "options": ["Kim", "Lee", "Oslo"],  # deduplicated, in order of appearance
                         "label": 1, "references": ["Lee"]}),
    ("record", {**_RECORD, "answers": []}, None),  # the test split has no answers
    # sentiment
    ("imdb", {"text": "Great film.", "label": 1}, {"text": "Great film.", "label": 1}),
    ("imdb", {"text": "?", "label": -1}, None),  # the unsupervised split
    ("sst2", {"idx": 0, "sentence": "dull .", "label": 0}, {"text": "dull .", "label": 0}),
    ("sst2", {"idx": 0, "sentence": "dull .", "label": -1}, None),
    ("yelp_polarity", {"text": "Good food.\\nWill return.", "label": 1},
     {"text": "Good food.\nWill return.", "label": 1}),
    ("sent140", _TWEET, {"text": "so happy today", "label": 1}),
    ("sent140", {**_TWEET, "sentiment": 0}, {"text": "so happy today", "label": 0}),
    ("sent140", {**_TWEET, "sentiment": 2}, None),  # neutral (test split only)
    # paraphrase
    ("mrpc", {"sentence1": "A.", "sentence2": "B.", "label": 1, "idx": 7},
     {"sentence1": "A.", "sentence2": "B.", "label": 1}),
    ("paws", {"id": 1, "sentence1": "A.", "sentence2": "B.", "label": 0},
     {"sentence1": "A.", "sentence2": "B.", "label": 0}),
    ("qqp", _QQP, None),
    ("qqp", {**_QQP, "label": 1}, {"question1": "Why?", "question2": "How come?", "label": 1}),
    ("stsb", {"sentence1": "A.", "sentence2": "B.", "label": 3.5, "idx": 0},
     {"sentence1": "A.", "sentence2": "B.", "label": 4, "references": ["3.5"]}),
    ("stsb", {"sentence1": "A.", "sentence2": "B.", "label": -1.0, "idx": 0}, None),  # hidden test labels
    # struct to text
    ("common_gen", _COMMON_GEN, {"concepts": "dog, ball, catch", "target": "The dog catches the ball.",
                                 "references": ["The dog catches the ball."]}),
    ("common_gen", {**_COMMON_GEN, "target": ""}, None),  # the Hub's test split withholds references
    ("common_gen", {**_CG_GROUP[0], struct_to_text.GROUP_KEY: _CG_GROUP},
     {"concepts": "dog, run", "target": "A dog runs.", "references": ["A dog runs.", "Dogs run."]}),
    ("dart", _DART, {"triples": "Ann Lee | BORN_IN | Oslo; Ann Lee | JOB | pilot",
                     "target": "Ann Lee, a pilot, was born in Oslo.", "references": _DART["annotations"]["text"]}),
    ("dart", {**_DART, "annotations": {"source": [], "text": []}}, None),
    ("e2e_nlg", {"meaning_representation": "name[Aroma], food[Thai] ", "human_reference": "Aroma serves Thai food."},
     {"meaning_representation": "name[Aroma], food[Thai]", "target": "Aroma serves Thai food.",
      "references": ["Aroma serves Thai food."]}),
    ("e2e_nlg", {**_E2E_GROUP[0], struct_to_text.GROUP_KEY: _E2E_GROUP},
     {"meaning_representation": "name[Aroma]", "target": "Aroma.", "references": ["Aroma.", "It is Aroma."]}),
    ("web_nlg", _web_nlg_row(["Oslo Airport serves Oslo, in Norway."]),
     {"triples": "Oslo Airport | cityServed | Oslo; Oslo | country | Norway",
      "target": "Oslo Airport serves Oslo, in Norway.",
      "references": ["Oslo Airport serves Oslo, in Norway."]}),
    ("web_nlg", _web_nlg_row([], "testdata_no_lex"), None),
    # translation: each direction reads its own side of the pair
    *_translation_rows(),
    # summarization
    ("aeslc", {"email_body": "Hi,\r\nThe call is at 3.\r\n", "subject_line": "Call\nat 3"},
     {"email": "Hi,\nThe call is at 3.", "target": "Call at 3"}),
    ("aeslc", {"email_body": "Body.", "subject_line": " "}, None),
    ("ag_news", {"text": "Oil Up (Reuters) Reuters - Prices rose #36;2 to\\a high.", "label": 2},
     {"text": "Oil Up (Reuters) Reuters - Prices rose $2 to a high.", "label": 2}),
    ("ag_news", {"text": "x", "label": -1}, None),
    ("cnn_dailymail", {"article": "LONDON, England (CNN) -- Rain fell.", "id": "a",
                       "highlights": "Rain fell .\nRoads shut ."},
     {"article": "Rain fell.", "target": "Rain fell . Roads shut ."}),
    ("gigaword", {"document": "the bank cut rates", "summary": "bank cuts rates"},
     {"text": "the bank cut rates", "target": "bank cuts rates"}),
    ("gigaword", {"document": "the UNK bank cut rates", "summary": "bank cuts rates"}, None),
    ("gigaword", {"document": "rates fell ## points", "summary": "rates fall"}, None),
    ("multi_news", {"document": "First story. ||||| Second story. |||||", "summary": "– Two stories."},
     {"documents": "First story.\n\nSecond story.", "target": "Two stories."}),
    ("newsroom", _NEWSROOM, {"text": "Body text.", "title": "Title", "target": "Short."}),
    ("opinion_abstracts_idebate", _IDEBATE, {"debate": "ban homework", "argument": "1. It is long.\n2. It is dull.",
                                             "target": "Homework wastes time."}),
    ("opinion_abstracts_idebate", {**_IDEBATE, "_argument_sentences": [{"key": "a", "value": "It is long."}]},
     {"debate": "ban homework", "argument": "1. It is long.", "target": "Homework wastes time."}),  # list of dicts
    ("opinion_abstracts_idebate", {**_IDEBATE, "_claim": ""}, None),
    ("opinion_abstracts_movies", {"_movie_name": "the_big_storm", "_movie_id": "m", "_critic_consensus": "Fun.",
                                  "_critics": {"key": [str(i) for i in range(12)],
                                               "value": [f"Review {i}." for i in range(12)]}},
     {"movie": "The Big Storm", "target": "Fun.",
      "reviews": "\n".join(f"{i + 1}. Review {i}." for i in range(10))}),  # at most 10 reviews
    ("samsum", {"id": "1", "dialogue": "Ann: Hi\r\nBob: Hey", "summary": "They greet."},
     {"dialogue": "Ann: Hi\nBob: Hey", "target": "They greet."}),
    ("wiki_lingua_en", {"gem_id": "g", "gem_parent_id": "g", "source_language": "en", "target_language": "en",
                        "source": "Do X. Then Y.", "target": "Do X and Y.", "references": ["Do X and Y."]},
     {"text": "Do X. Then Y.", "target": "Do X and Y.", "references": ["Do X and Y."]}),
    ("xsum", {"document": "A.\nB.", "summary": "AB.", "id": "1"}, {"document": "A.\nB.", "target": "AB."}),
    # miscellaneous
    ("coqa", _COQA, {"story": "Ann has a grey cat.", "history": "Q: Who has a cat?\nA: Ann", "question": "What colour?",
                     "target": "grey"}),  # the last turn, with its history
    ("coqa", {**_COQA, "questions": ["Who?"], "answers": {"input_text": ["Ann"], "answer_start": [0],
                                                          "answer_end": [3]}},
     {"story": "Ann has a grey cat.", "history": misc.NO_HISTORY, "question": "Who?", "target": "Ann"}),
    ("coqa", {**_COQA, "questions": ["Who?"]}, None),  # turns do not line up
    ("quac", _QUAC, _QUAC_EXPECT),  # CANNOTANSWER -> unanswerable
    ("quac", _QUAC_ANSWERED, {**_QUAC_EXPECT, "target": "She had one.", "references": ["She had one.", "one"]}),
    ("trec", {"text": "Who wrote Hamlet ?", "coarse_label": 3, "fine_label": 29},
     {"question": "Who wrote Hamlet ?", "label": 3}),
    ("cola", {"sentence": "She runs.", "label": 1, "idx": 0}, {"sentence": "She runs.", "label": 1}),
    ("cola", {"sentence": "She run.", "label": -1, "idx": 1}, None),  # GLUE test rows
    ("wic", _WIC, {"word": "bank", "sentence1": "The bank was closed.", "sentence2": "We sat on the river bank.",
                   "label": 0}),
    ("wic", {**_WIC, "label": -1}, None),
    ("math_dataset", _MATH, {"question": "Solve -3*k + 12 = 0 for k.", "target": "4"}),  # the bytes repr undone
    ("math_dataset", {"question": "Solve x = 2 for x.", "answer": "2"},
     {"question": "Solve x = 2 for x.", "target": "2"}),
    ("fix_punctuation", {"document": "The council, which met on Monday, agreed. Other text.", "summary": "s",
                         "id": "1"},
     {"text": "the council which met on monday agreed", "target": "The council, which met on Monday, agreed."}),
    ("fix_punctuation", {"document": "too short.", "summary": "s", "id": "2"}, None),
    ("fix_punctuation", {"document": "already plain lowercase words here", "summary": "s", "id": "3"}, None),
]


@pytest.mark.parametrize("name, row, expected", PREPROCESS, ids=[f"{p[0]}-{i}" for i, p in enumerate(PREPROCESS)])
def test_preprocess_hub_rows(name, row, expected):
    assert CAT.task(name).preprocess(row) == expected


@pytest.mark.parametrize("score, label", [(0.0, 0), (0.2, 0), (2.4, 2), (2.5, 3), (3.5, 4), (4.6, 5), (5.0, 5)])
def test_stsb_rounds_half_up_and_keeps_the_gold_float(score, label):
    ex = CAT.task("stsb").preprocess({"sentence1": "A.", "sentence2": "B.", "label": score, "idx": 0})
    assert ex["label"] == label and float(ex["references"][0]) == score
    assert CAT.task("stsb").options[ex["label"]] == str(label)


@pytest.mark.parametrize("fn, text, expected", [
    (misc.first_sentence, "Mr. Lee and Dr. Ray met in the U.S. capital. They talked.\nMore.",
     "Mr. Lee and Dr. Ray met in the U.S. capital."),
    (misc.first_sentence, '\n"It works," she said. Then she left.', '"It works," she said.'),
    (misc.strip_punctuation, "O'Neill's dog, Rex, barked: loudly!", "oneills dog rex barked loudly"),
])
def test_fix_punctuation_helpers(fn, text, expected):
    assert fn(text) == expected


@pytest.mark.parametrize("module", sorted(m.name for m in pkgutil.iter_modules(catalog.__path__)))
def test_catalogue_module_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(f"{catalog.__name__}.{module}"))
    assert result.failed == 0


# -- rendering: one set of checks for every template on every example ---------------------------------------

def _bundled(name):
    t = CAT.task(name)
    return any(mirror_file(BUNDLED_DIR, t, split) is not None for split in (t.splits.train, t.splits.test))


BUNDLED = [n for n in CAT.tasks if _bundled(n)]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", BUNDLED)
def test_every_template_renders_every_bundled_example(name, role):
    task, tset = CAT.task(name), CAT.templates(name)
    skipped = [0]
    examples = list(iter_examples(task, role, source="bundled", skipped=skipped))
    assert examples and skipped[0] == 0, (name, role)
    rendered = Counter()
    for ex in examples:
        for tpl in tset.templates:
            rendered[tpl.id] += render(task, tset, tpl, ex) is not None
        check_rendered(task, tset, ex)
    fewest_templates = TEMPLATE_COUNTS[task.cluster][0][0]
    assert sum(rendered.values()) >= len(examples) * max(len(tset.forward), fewest_templates)
    if role != "dev":  # the few dev rows may all fall outside a `when` clause
        assert 20 <= len(examples) <= 60
        assert all(rendered[t.id] for t in tset.templates), f"templates never rendered: {rendered}"


def _hand_rows():
    seen = set()
    for name, row, expected in PREPROCESS:
        if expected is not None and name not in seen and name not in BUNDLED:
            seen.add(name)
            yield name, row


HAND_ROWS = dict(_hand_rows())


def test_every_task_has_a_bundled_sample_or_a_hand_written_row():
    assert set(BUNDLED) | set(HAND_ROWS) == set(CAT.tasks)


@pytest.mark.parametrize("name", sorted(HAND_ROWS))
def test_hand_rows_render_with_every_template(name):
    """Tasks without a bundled sample render every template on a hand-written Hub row."""
    task, tset = CAT.task(name), CAT.templates(name)
    ex = {**task.preprocess(HAND_ROWS[name]), "id": f"{name}:test:0"}
    assert check_rendered(task, tset, ex) >= len(tset.forward)


# -- templates by hand: options placement, turned-around templates and their `when` clauses ------------------

def test_forward_rendering_appends_options_and_answer():
    task, tset = CAT.task("cb"), CAT.templates("cb")
    ex = {"premise": "She knew the door was locked.", "hypothesis": "the door was locked", "label": 2, "id": "x"}
    r = render(task, tset, tset.get("01"), ex)
    assert r.inputs.endswith("OPTIONS:\n- yes\n- no\n- it is not possible to tell")
    assert (r.targets, r.label, r.options) == ("it is not possible to tell", 2, task.options)
    placed = render(task, tset, tset.get("08"), ex)  # places {options} itself: no second suffix
    assert placed.inputs.count("OPTIONS:") == 1 and placed.inputs.startswith("OPTIONS:")
    base = render(task, tset, None, ex, mode="baseline")
    assert base.targets == "Neither" and base.inputs.endswith("Answer:")


def test_turned_nli_templates_write_the_hypothesis():
    task, tset = CAT.task("rte"), CAT.templates("rte")
    ex = {"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0, "id": "rte:train:0"}
    turned = [t for t in tset.templates if t.turned]
    assert turned and all(render(task, tset, t, ex).targets == "An animal moves." for t in turned)
    assert all(render(task, tset, t, {**ex, "label": 1}) is None for t in turned)


@pytest.mark.parametrize("name", ["anli_r1", "mnli", "snli"])
def test_one_turned_template_per_nli_class(name):
    whens = sorted(dict(t.when).get("label") for t in CAT.templates(name).templates if t.turned)
    assert whens == [0, 1, 2]


def test_squad_v2_question_writing_template_skips_unanswerable_questions():
    """A question-writing template would be nonsense for an unanswerable question: `when` leaves it out."""
    task, tset = CAT.task("squad_v2"), CAT.templates("squad_v2")
    ex = {**task.preprocess({**_SQUAD, "answers": {"text": [], "answer_start": []}}), "id": "squad_v2:validation:0"}
    assert render(task, tset, tset.get("11"), ex) is None
    assert render(task, tset, tset.get("12"), ex).targets == "Q?"
    assert render(task, tset, tset.get("01"), ex).targets == "unanswerable"


# (task, template, which bundled train examples it renders, the field its target copies or None)
WHEN = [
    ("copa", "09", lambda ex: ex["question"] != "cause", None),
    ("copa", "10", lambda ex: ex["question"] != "effect", None),
    ("mrpc", "09", lambda ex: ex["label"] == 1, "sentence2"),
]


@pytest.mark.parametrize("name, template, applies, copies", WHEN, ids=[f"{w[0]}-{w[1]}" for w in WHEN])
def test_when_clauses_pick_the_examples_of_turned_templates(name, template, applies, copies):
    task, tset = CAT.task(name), CAT.templates(name)
    examples = list(iter_examples(task, "train", source="bundled"))
    assert {applies(ex) for ex in examples} == {True, False}
    for ex in examples:
        r = render(task, tset, tset.get(template), ex)
        assert (r is not None) == applies(ex)
        if r is not None and copies:
            assert r.turned and r.targets == ex[copies]


def test_both_translation_directions_share_the_rows_and_swap_sides():
    ro_en = list(iter_examples(CAT.task("wmt16_ro_en"), "test", source="bundled"))
    en_ro = list(iter_examples(CAT.task("wmt16_en_ro"), "test", source="bundled"))
    assert len(ro_en) == len(en_ro) == 40
    for a, b in zip(ro_en, en_ro, strict=True):
        assert (a["source"], a["target"]) == (b["target"], b["source"])
    tset = CAT.templates("wmt16_en_ro")
    r = render(CAT.task("wmt16_en_ro"), tset, tset.get("01"), en_ro[0])
    assert "from English to Romanian" in r.inputs and r.targets == en_ro[0]["target"]


# -- the bundled samples: which, how many, Hub columns and types, balance, no train/test overlap ---------------

BUNDLED_BY_CLUSTER = {
    "nli": {"anli_r1", "cb", "mnli", "rte"}, "reading_comprehension": {"boolq", "squad_v1"},
    "closed_book_qa": {"arc_easy", "arc_challenge", "nq_open"}, "commonsense": {"copa", "piqa"},
    "coreference": {"dpr", "winogrande", "wsc273"}, "rc_commonsense": {"cosmos_qa", "record"},
    "sentiment": {"sst2", "yelp_polarity"}, "paraphrase": {"mrpc", "qqp"}, "struct_to_text": {"common_gen", "e2e_nlg"},
    "translation": {"wmt14_fr_en", "wmt14_en_fr", "wmt16_ro_en", "wmt16_en_ro"},
    "summarization": {"aeslc", "ag_news", "samsum", "xsum"}, "misc": {"coqa", "trec", "cola", "fix_punctuation"},
}
# Examples per role (train, dev, test); 36/4/40 unless listed: a dev split of its own has 20 rows, and the
# grouped sources (one row per reference) count one example per input in dev and test.
ROLE_COUNTS = {
    **{n: (40, 20, 40) for n in ("anli_r1", "arc_easy", "arc_challenge", *BUNDLED_BY_CLUSTER["translation"])},
    "common_gen": (36, 3, 30),
    "e2e_nlg": (38, 2, 27),  # 27 meaning representations: 25 in train (38 texts), 2 in dev
}
# Rows per bundled file: 40, except the 20-row dev splits.
SHORT_FILES = {"allenai/ai2_arc/ARC-Easy/validation", "allenai/ai2_arc/ARC-Challenge/validation",
               "facebook/anli/plain_text/dev_r1", "wmt/wmt14/fr-en/validation", "wmt/wmt16/ro-en/validation"}
# The Hub's columns of every bundled dataset, in the Hub's order.
HUB_COLUMNS = {
    "facebook/anli/plain_text": ["uid", "premise", "hypothesis", "label", "reason"],
    "aps/super_glue/cb": ["premise", "hypothesis", "idx", "label"],
    "nyu-mll/glue/mnli": ["premise", "hypothesis", "label", "idx"],
    "aps/super_glue/rte": ["premise", "hypothesis", "idx", "label"],
    "aps/super_glue/boolq": ["question", "passage", "idx", "label"],
    "rajpurkar/squad/plain_text": ["id", "title", "context", "question", "answers"],
    "allenai/ai2_arc/ARC-Easy": ["id", "question", "choices", "answerKey"],
    "allenai/ai2_arc/ARC-Challenge": ["id", "question", "choices", "answerKey"],
    "google-research-datasets/nq_open/nq_open": ["question", "answer"],
    "aps/super_glue/copa": ["premise", "choice1", "choice2", "question", "idx", "label"],
    "ybisk/piqa/plain_text": ["goal", "sol1", "sol2", "label"],
    "community-datasets/definite_pronoun_resolution/plain_text": ["sentence", "pronoun", "candidates", "label"],
    "allenai/winogrande/winogrande_xl": ["sentence", "option1", "option2", "answer"],
    "ErnestSDavis/winograd_wsc/wsc273": ["text", "pronoun", "pronoun_loc", "quote", "quote_loc", "options", "label",
                                         "source"],
    "allenai/cosmos_qa/default": ["id", "context", "question", "answer0", "answer1", "answer2", "answer3", "label"],
    "aps/super_glue/record": ["passage", "query", "entities", "entity_spans", "answers", "idx"],
    "stanfordnlp/sst2/default": ["idx", "sentence", "label"],
    "fancyzhx/yelp_polarity/plain_text": ["text", "label"],
    "nyu-mll/glue/mrpc": ["sentence1", "sentence2", "label", "idx"],
    "nyu-mll/glue/qqp": ["question1", "question2", "label", "idx"],
    "allenai/common_gen/default": ["concept_set_idx", "concepts", "target"],
    "tuetschek/e2e_nlg/default": ["meaning_representation", "human_reference"],
    "wmt/wmt14/fr-en": ["translation"],
    "wmt/wmt16/ro-en": ["translation"],
    "Yale-LILY/aeslc/default": ["email_body", "subject_line"],
    "fancyzhx/ag_news/default": ["text", "label"],
    "Samsung/samsum/samsum": ["id", "dialogue", "summary"],
    "EdinburghNLP/xsum/default": ["document", "summary", "id"],
    "stanfordnlp/coqa/default": ["source", "story", "questions", "answers"],
    "CogComp/trec/default": ["text", "coarse_label", "fine_label"],
    "nyu-mll/glue/cola": ["sentence", "label", "idx"],
}


def _hub_features():
    """The Hub's typed features of bundled datasets (from the Hub loaders' dataset_info and dataset cards)."""
    from datasets import ClassLabel, Features, Sequence, Translation, Value

    s, i32 = Value("string"), Value("int32")

    def nli(names):
        return {"premise": s, "hypothesis": s, "label": ClassLabel(names=names)}

    three = ["entailment", "neutral", "contradiction"]
    trec_fine = [f"{c}:{f}" for c, fs in (
        ("ABBR", "abb exp"), ("ENTY", "animal body color cremat currency dismed event food instru lang letter "
                                     "other plant product religion sport substance symbol techmeth termeq veh word"),
        ("DESC", "def desc manner reason"), ("HUM", "gr ind title desc"), ("LOC", "city country mount other state"),
        ("NUM", "code count date dist money ord other period perc speed temp volsize weight")) for f in fs.split()]
    return {
        "aps/super_glue/rte": Features({**nli(["entailment", "not_entailment"]), "idx": i32}),
        "aps/super_glue/cb": Features({**nli(["entailment", "contradiction", "neutral"]), "idx": i32}),
        "aps/super_glue/boolq": Features({"question": s, "passage": s, "idx": i32,
                                          "label": ClassLabel(names=["False", "True"])}),
        "facebook/anli/plain_text": Features({"uid": s, **nli(three), "reason": s}),
        "nyu-mll/glue/mnli": Features({**nli(three), "idx": i32}),
        "rajpurkar/squad/plain_text": Features({"id": s, "title": s, "context": s, "question": s,
                                                "answers": Sequence({"text": s, "answer_start": i32})}),
        "allenai/ai2_arc/ARC-Easy": Features({"id": s, "question": s, "answerKey": s,
                                              "choices": Sequence({"text": s, "label": s})}),
        "allenai/ai2_arc/ARC-Challenge": Features({"id": s, "question": s, "answerKey": s,
                                                   "choices": Sequence({"text": s, "label": s})}),
        "google-research-datasets/nq_open/nq_open": Features({"question": s, "answer": Sequence(s)}),
        "allenai/common_gen/default": Features({"concept_set_idx": i32, "concepts": Sequence(s), "target": s}),
        "tuetschek/e2e_nlg/default": Features({"meaning_representation": s, "human_reference": s}),
        "wmt/wmt16/ro-en": Features({"translation": Translation(languages=["ro", "en"])}),
        "wmt/wmt14/fr-en": Features({"translation": Translation(languages=["fr", "en"])}),
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


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _split_rows(name: str, split: str) -> list[dict]:
    path = mirror_file(BUNDLED_DIR, CAT.task(name), split)
    assert path is not None, f"{name}: no bundled {split}"
    return _rows(path)


def _where(task) -> str:
    return f"{task.source.hub_id}/{task.source.config}"


BUNDLED_DIRS = sorted({_where(CAT.task(n)) for n in BUNDLED})


@pytest.mark.parametrize("cluster", PAPER_CLUSTERS)
def test_bundled_samples_per_cluster(cluster):
    """Which tasks carry a bundled sample, each with its train and test splits (and a dev split unless carved)."""
    assert {n for n in MEMBERS[cluster] if n in BUNDLED} == BUNDLED_BY_CLUSTER[cluster]
    for name in BUNDLED_BY_CLUSTER[cluster]:
        t = CAT.task(name)
        for split in (t.splits.train, t.splits.dev, t.splits.test):
            assert mirror_file(BUNDLED_DIR, t, split) is not None, (name, split)


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_examples_per_role(name):
    got = tuple(sum(1 for _ in iter_examples(CAT.task(name), role, source="bundled")) for role in ROLES)
    assert got == ROLE_COUNTS.get(name, (36, 4, 40))


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_dev_is_carved_from_train_without_overlap(name):
    task = CAT.task(name)
    train = list(iter_examples(task, "train", source="bundled"))
    dev = list(iter_examples(task, "dev", source="bundled"))
    key = task.group_by and ("meaning_representation" if name == "e2e_nlg" else "concepts")
    if key:  # grouped sources: an input never lands in both
        assert not {str(e[key]) for e in train} & {str(e[key]) for e in dev}
        assert all(e["references"] and e["target"] in e["references"] for e in train)
    assert not {e["id"] for e in train} & {e["id"] for e in dev}


@pytest.mark.parametrize("where", BUNDLED_DIRS)
def test_bundled_files_have_the_hub_columns(where):
    """Each bundled file: 40 rows (20 in a dev split of its own), exactly the Hub's columns in the Hub's order,
    and only splits a task reads."""
    splits = {s for n in BUNDLED for s in (lambda t: (t.splits.train, t.splits.dev, t.splits.test))(CAT.task(n))
              if _where(CAT.task(n)) == where}
    paths = sorted((BUNDLED_DIR / where).glob("*.jsonl"))
    assert paths and {p.stem for p in paths} <= splits, (where, [p.stem for p in paths])
    for path in paths:
        rows = _rows(path)
        assert len(rows) == (20 if f"{where}/{path.stem}" in SHORT_FILES else 40), path
        assert all(list(r) == HUB_COLUMNS[where] for r in rows), path


def test_every_bundled_dataset_has_its_columns_listed():
    assert sorted(HUB_COLUMNS) == BUNDLED_DIRS


@pytest.mark.parametrize("where", sorted(_hub_features()))
def test_bundled_samples_cast_to_the_hub_features(where):
    from datasets import ClassLabel, Dataset

    features = _hub_features()[where]
    assert set(features) == set(HUB_COLUMNS[where])
    for path in sorted((BUNDLED_DIR / where).glob("*.jsonl")):
        rows = _rows(path)
        ds = Dataset.from_list(rows).cast(features)  # raises on a missing, extra or mistyped column
        assert len(ds) == len(rows) and ds.features == features
        for col, feat in features.items():  # cast does not range-check class labels
            if isinstance(feat, ClassLabel):
                assert all(0 <= r[col] < feat.num_classes for r in rows), (path, col)
        if "fine_label" in features:  # TREC: 50 fine classes, each inside its coarse class
            fine, coarse = features["fine_label"].names, features["coarse_label"].names
            assert len(fine) == 50
            assert all(fine[r["fine_label"]].split(":")[0] == coarse[r["coarse_label"]] for r in rows), path


# Options per example of the bundled classification tasks whose options vary (ReCoRD's entities excepted).
N_DYNAMIC_OPTIONS = {"arc_easy": 4, "arc_challenge": 4, "copa": 2, "piqa": 2, "dpr": 2, "winogrande": 2, "wsc273": 2,
                     "cosmos_qa": 4}


@pytest.mark.parametrize("name", [n for n in BUNDLED if n != "record"])
def test_bundled_samples_are_balanced_or_varied(name):
    """Classification: every class, counts within one of each other (train, dev carved back in, and test);
    carved dev rows show template selection more than one class. Generation: at least 30 distinct targets."""
    task = CAT.task(name)
    for split in sorted({task.splits.train, task.splits.test}):
        examples = [task.preprocess(r) for r in _split_rows(name, split)]
        assert all(ex is not None for ex in examples)
        if task.is_classification:
            labels = Counter(ex["label"] for ex in examples)
            n_classes = len(task.options) if task.options else N_DYNAMIC_OPTIONS[name]
            assert task.options or all(len(ex["options"]) == n_classes for ex in examples), (name, split)
            assert sorted(labels) == list(range(n_classes)), (name, split, labels)
            assert max(labels.values()) - min(labels.values()) <= 1, (name, split, labels)
        elif not task.group_by:
            assert len({ex["target"] for ex in examples}) >= 30, (name, split)
    if task.is_classification and task.splits.carved:
        assert len({ex["label"] for ex in iter_examples(task, "dev", source="bundled")}) >= 2


# Clusters whose bundled train and test rows share no text at all (beyond ids, answers and question words).
TEXT_DISJOINT = {"commonsense", "coreference", "rc_commonsense", "sentiment", "paraphrase"}


def _content(row):
    return tuple(v for k, v in row.items() if isinstance(v, str) and k not in ("id", "answer", "question", "source"))


@pytest.mark.parametrize("name", [n for n in BUNDLED if CAT.task(n).splits.train != CAT.task(n).splits.test])
def test_bundled_train_and_test_do_not_overlap(name):
    task = CAT.task(name)
    train, test = _split_rows(name, task.splits.train), _split_rows(name, task.splits.test)
    assert not {json.dumps(r, sort_keys=True) for r in train} & {json.dumps(r, sort_keys=True) for r in test}
    if task.cluster in TEXT_DISJOINT:
        train_texts, test_texts = {_content(r) for r in train}, {_content(r) for r in test}
        assert not train_texts & test_texts
        if name not in ("record", "cosmos_qa"):  # two questions per passage there
            assert len(test_texts) == len(test)


# Row-level facts of particular bundled samples.
def _squad_offsets_and_ids():
    for split in ("train", "validation"):
        rows = _split_rows("squad_v1", split)
        assert len({r["id"] for r in rows}) == len(rows)
        for r in rows:
            for text, start in zip(r["answers"]["text"], r["answers"]["answer_start"], strict=True):
                assert r["context"][start:start + len(text)] == text, r["id"]


def _glue_ids_are_consecutive():
    for name in ("rte", "cb", "boolq"):
        for split in ("train", "validation"):
            assert [r["idx"] for r in _split_rows(name, split)] == list(range(40)), (name, split)


def _record_spans_point_at_the_entities():
    for split in ("train", "validation"):
        for row in _split_rows("record", split):
            spans = row["entity_spans"]
            for text, start, end in zip(spans["text"], spans["start"], spans["end"], strict=True):
                assert row["passage"][start:end] == text
            assert set(spans["text"]) == set(row["entities"]) and "@placeholder" in row["query"]
            assert set(row["answers"]) <= set(row["entities"])


def _wsc273_pronoun_locations():
    for row in _split_rows("wsc273", "test"):
        assert row["text"][row["pronoun_loc"]:].startswith(row["pronoun"])
        assert row["text"][row["quote_loc"]:].startswith(row["quote"])


def _common_gen_rows_are_grouped_by_concept_set():
    for split in ("train", "validation"):
        rows = _split_rows("common_gen", split)
        assert all(isinstance(r["concept_set_idx"], int) and r["concepts"] and r["target"] for r in rows)
        idx = [r["concept_set_idx"] for r in rows]
        assert idx == sorted(idx) and idx[0] == 0  # one row per reference, each set's rows together
        by_set: dict[int, list[str]] = {}
        for r in rows:
            assert by_set.setdefault(r["concept_set_idx"], r["concepts"]) == r["concepts"]
        assert len(by_set) >= 25 and max(Counter(idx).values()) >= 2
    train = {tuple(r["concepts"]) for r in _split_rows("common_gen", "train")}
    assert not train & {tuple(r["concepts"]) for r in _split_rows("common_gen", "validation")}


def _e2e_meaning_representations_vary():
    for split in ("train", "validation"):
        rows = _split_rows("e2e_nlg", split)
        mrs = " ".join(r["meaning_representation"] for r in rows)
        assert all(r["meaning_representation"].startswith("name[") for r in rows)
        for food in ("English", "Italian", "French", "Chinese", "Japanese", "Indian", "Fast food"):
            assert f"food[{food}]" in mrs, (split, food)
        family = Counter(x for x in ("familyFriendly[yes]", "familyFriendly[no]") for _ in range(mrs.count(x)))
        assert min(family.values()) >= 4  # both values well represented
        for r in rows:  # every name in the MR is in its reference
            assert r["meaning_representation"].split("]")[0][len("name["):] in r["human_reference"]


def _translation_pairs_never_repeat():
    for name, lang in (("wmt16_ro_en", "ro"), ("wmt14_fr_en", "fr")):
        seen: set[str] = set()
        for split in ("train", "validation", "test"):
            rows = _split_rows(name, split)
            assert all(set(r["translation"]) == {lang, "en"} for r in rows)
            sources = [r["translation"][lang] for r in rows]
            assert all(s.strip() and r["translation"]["en"].strip() for s, r in zip(sources, rows, strict=True))
            assert len(set(sources)) == len(rows) and not seen & set(sources)  # no pair repeats across splits
            seen |= set(sources)


def _coqa_answer_spans():
    for r in _split_rows("coqa", "train"):
        a = r["answers"]
        assert len(r["questions"]) == len(a["input_text"]) == len(a["answer_start"]) == len(a["answer_end"]) >= 3
        for text, start, end in zip(a["input_text"], a["answer_start"], a["answer_end"], strict=True):
            assert start == -1 or r["story"][start:end].lower() == text.lower()


def _samsum_ids_and_line_ends():
    rows = _split_rows("samsum", "train")
    assert len({r["id"] for r in rows}) == 40 and all("\r\n" in r["dialogue"] for r in rows)


def _generation_samples_are_short():
    """The demo trains a small model on CPU: articles of a few sentences, one-sentence summaries."""
    xsum = CAT.task("xsum")
    for ex in [*iter_examples(xsum, "train", source="bundled"), *iter_examples(xsum, "test", source="bundled")]:
        assert 3 <= ex["document"].count(".") <= 6 and len(ex["document"]) < 600
        assert ex["target"].count(". ") == 0 and len(ex["target"]) < 120
    for name in ("samsum", "aeslc"):
        assert all(len(ex["target"]) < 130 for ex in iter_examples(CAT.task(name), "test", source="bundled"))
    assert all(len(ex["story"]) < 500 for ex in iter_examples(CAT.task("coqa"), "test", source="bundled"))


SAMPLE_FACTS = [_squad_offsets_and_ids, _glue_ids_are_consecutive, _record_spans_point_at_the_entities,
                _wsc273_pronoun_locations, _common_gen_rows_are_grouped_by_concept_set,
                _e2e_meaning_representations_vary, _translation_pairs_never_repeat, _coqa_answer_spans,
                _samsum_ids_and_line_ends, _generation_samples_are_short]


@pytest.mark.parametrize("fact", SAMPLE_FACTS, ids=[f.__name__.strip("_") for f in SAMPLE_FACTS])
def test_bundled_sample_facts(fact):
    fact()
