"""Catalogue group C1: struct to text (CommonGen, DART, E2E NLG, WebNLG) and translation (20 tasks).

    pytest tests/unit/test_catalog_c1.py -q

The catalogue here is built from this group's modules and template files only (same validation as the
global one), so these tests do not depend on other clusters being complete.
"""

from __future__ import annotations

import doctest
import json
from collections import Counter
from pathlib import Path

import pytest

from flanlab.tasks import iter_examples, render
from flanlab.tasks.catalog import struct_to_text, translation
from flanlab.tasks.clusters import CLUSTERS, HOLDOUT_RULES
from flanlab.tasks.registry import TEMPLATES_DIR, Catalogue
from flanlab.tasks.sources import BUNDLED_DIR, ROLES, mirror_file
from flanlab.tasks.templates import load_template_file

TEMPLATE_SETS = ("common_gen", "dart", "e2e_nlg", "web_nlg", "translation")
STRUCT = ("common_gen", "dart", "e2e_nlg", "web_nlg")
PAIRS = {"paracrawl": ("de", "es", "fr"), "wmt14": ("fr",), "wmt16": ("cs", "de", "fi", "ro", "ru", "tr")}
TRANSLATION = tuple(f"{p}_{a}_{b}" for p, langs in PAIRS.items() for lang in langs
                    for a, b in ((lang, "en"), ("en", lang)))
SAMPLED = ("common_gen", "e2e_nlg", "wmt16_ro_en", "wmt16_en_ro", "wmt14_fr_en", "wmt14_en_fr")
MODES = ("no_template", "dataset_name", "baseline")


@pytest.fixture(scope="module")
def cat() -> Catalogue:
    c = Catalogue(rules=list(HOLDOUT_RULES))
    for cl in CLUSTERS:
        c.add_cluster(cl)
    for name in TEMPLATE_SETS:
        for ts in load_template_file(TEMPLATES_DIR / f"{name}.yaml"):
            c.add_template_set(ts)
    for t in struct_to_text.TASKS + translation.TASKS:
        c.add_task(t)
    c.validate()
    return c


# -- the task list ---------------------------------------------------------------------------------

def test_task_names_clusters_and_dataset_counts(cat):
    assert [t.name for t in cat.tasks_in("struct_to_text")] == list(STRUCT)
    names = [t.name for t in cat.tasks_in("translation")]
    assert sorted(names) == sorted(TRANSLATION) and len(names) == 20
    datasets = {t.dataset_name for t in cat.tasks_in("translation")}
    assert datasets == {"paracrawl", "wmt14_en_fr", *(f"wmt16_en_{x}" for x in PAIRS["wmt16"])}
    assert len({t.dataset_name for t in cat.tasks_in("struct_to_text")}) == 4


def test_metrics_and_split_roles(cat):
    for name in STRUCT:
        t = cat.task(name)
        assert t.metrics[0].startswith("rouge") and "bleu" in t.metrics and t.kind == "generation"
        assert t.splits.carved  # dev carved from train, validation (WebNLG: `dev`) as test
    assert cat.task("web_nlg").splits.test == "dev"
    assert cat.task("common_gen").splits.test == "validation"
    for name in TRANSLATION:
        t = cat.task(name)
        assert t.metrics == ("bleu",) and not t.turnable and t.templates_name == "translation"
        if name.startswith("wmt"):
            assert (t.splits.train, t.splits.dev, t.splits.test) == ("train", "validation", "test")
        else:
            assert t.splits.carved


def test_sources_name_hub_ids_and_configs(cat):
    assert cat.task("wmt16_ro_en").source == cat.task("wmt16_en_ro").source
    assert (cat.task("wmt16_tr_en").source.hub_id, cat.task("wmt16_tr_en").source.config) == ("wmt/wmt16", "tr-en")
    assert (cat.task("wmt14_en_fr").source.hub_id, cat.task("wmt14_en_fr").source.config) == ("wmt/wmt14", "fr-en")
    assert cat.task("paracrawl_en_es").source.config == "enes"
    assert cat.task("web_nlg").source.config == "webnlg_challenge_2017"


def test_displays_name_the_direction(cat):
    assert cat.task("wmt16_ro_en").display_name == "Translation: WMT-16 Romanian to English"
    assert cat.task("wmt14_en_fr").display_name == "Translation: WMT-14 English to French"
    assert cat.task("paracrawl_de_en").display_name == "Translation: ParaCrawl German to English"


def test_template_sets_shape(cat):
    for name in TEMPLATE_SETS:
        ts = cat.template_sets[name]
        assert len(ts.templates) >= 10
        turned = [t for t in ts.templates if t.turned]
        assert len(turned) <= 3
        inputs = [t.input for t in ts.templates]
        assert len(set(inputs)) == len(inputs) and ts.baseline not in inputs and ts.plain not in inputs
    assert not any(t.turned for t in cat.template_sets["translation"].templates)
    for name in STRUCT:
        assert any(t.turned for t in cat.template_sets[name].templates)


# -- preprocess on hand-written Hub rows ---------------------------------------------------------

@pytest.mark.parametrize("module", [struct_to_text, translation])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.failed == 0

def test_common_gen_preprocess():
    row = {"concept_set_idx": 3, "concepts": ["dog", "ball", "catch"], "target": "The dog catches the ball."}
    assert struct_to_text.common_gen_fields(row) == {
        "concepts": "dog, ball, catch", "target": "The dog catches the ball.",
        "references": ["The dog catches the ball."]}
    # the Hub's test split withholds references: empty targets are skipped
    assert struct_to_text.common_gen_fields({**row, "target": ""}) is None


def test_grouped_rows_give_every_reference():
    # a source that groups one-row-per-reference rows hands preprocess the first row plus the whole group
    rows = [{"concept_set_idx": 0, "concepts": ["dog", "run"], "target": t} for t in ("A dog runs.", "Dogs run.")]
    ex = struct_to_text.common_gen_fields({**rows[0], struct_to_text.GROUP_KEY: rows})
    assert ex["target"] == "A dog runs." and ex["references"] == ["A dog runs.", "Dogs run."]
    e2e = [{"meaning_representation": "name[Aroma]", "human_reference": t} for t in ("Aroma.", "It is Aroma.")]
    ex = struct_to_text.e2e_fields({**e2e[0], struct_to_text.GROUP_KEY: e2e})
    assert ex["references"] == ["Aroma.", "It is Aroma."]


def test_dart_preprocess():
    row = {"tripleset": [["Ann Lee", "BORN_IN", "Oslo"], ["Ann Lee", "JOB", "pilot"]], "subtree_was_extended": None,
           "annotations": {"source": ["webnlg", "webnlg"], "text": ["Ann Lee, a pilot, was born in Oslo.",
                                                                   "Pilot Ann Lee comes from Oslo."]}}
    ex = struct_to_text.dart_fields(row)
    assert ex["triples"] == "Ann Lee | BORN_IN | Oslo; Ann Lee | JOB | pilot"
    assert ex["target"] == "Ann Lee, a pilot, was born in Oslo."
    assert ex["references"] == row["annotations"]["text"]
    assert struct_to_text.dart_fields({**row, "annotations": {"source": [], "text": []}}) is None


def test_e2e_preprocess():
    row = {"meaning_representation": "name[Aroma], food[Thai] ", "human_reference": "Aroma serves Thai food."}
    assert struct_to_text.e2e_fields(row) == {"meaning_representation": "name[Aroma], food[Thai]",
                                              "target": "Aroma serves Thai food.",
                                              "references": ["Aroma serves Thai food."]}


def _web_nlg_row(texts: list[str], category: str = "") -> dict:
    n = len(texts)
    return {"category": "Airport", "size": 2, "eid": "Id7",
            "original_triple_sets": {"otriple_set": [["Oslo_Airport | city | Oslo", "Oslo | country | Norway"]]},
            "modified_triple_sets": {"mtriple_set": [["Oslo_Airport | cityServed | Oslo", "Oslo | country | Norway"]]},
            "shape": "", "shape_type": "",
            "lex": {"comment": ["good"] * n, "lid": [f"Id{i + 1}" for i in range(n)], "text": texts, "lang": [""] * n},
            "test_category": category, "dbpedia_links": [], "links": []}


def test_web_nlg_preprocess():
    ex = struct_to_text.web_nlg_fields(_web_nlg_row(["Oslo Airport serves Oslo, in Norway."]))
    assert ex == {"triples": "Oslo Airport | cityServed | Oslo; Oslo | country | Norway",
                  "target": "Oslo Airport serves Oslo, in Norway.",
                  "references": ["Oslo Airport serves Oslo, in Norway."]}
    assert struct_to_text.web_nlg_fields(_web_nlg_row([], "testdata_no_lex")) is None


@pytest.mark.parametrize("name", TRANSLATION)
def test_translation_preprocess_direction(cat, name):
    t = cat.task(name)
    src, tgt = name.split("_")[1:]
    row = {"translation": {src: f"text in {src}", tgt: f"text in {tgt}"}}
    ex = t.preprocess(row)
    assert ex == {"source_lang": translation.LANGUAGES[src], "target_lang": translation.LANGUAGES[tgt],
                  "source": f"text in {src}", "target": f"text in {tgt}"}
    assert t.preprocess({"translation": {src: "  ", tgt: "x"}}) is None
    config = t.source.config.replace("-", "")
    assert {src, tgt} == {config[:2], config[2:]}  # the task reads the languages its config holds


# -- bundled samples ----------------------------------------------------------------------------------

def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _sample(hub_id: str, config: str, split: str) -> list[dict]:
    return _rows(BUNDLED_DIR / hub_id / config / f"{split}.jsonl")


def test_common_gen_samples_follow_the_hub_schema():
    for split in ("train", "validation"):
        rows = _sample("allenai/common_gen", "default", split)
        assert len(rows) == 40
        assert all(set(r) == {"concept_set_idx", "concepts", "target"} for r in rows)
        assert all(isinstance(r["concept_set_idx"], int) and r["concepts"] and r["target"] for r in rows)
        idx = [r["concept_set_idx"] for r in rows]
        assert idx == sorted(idx) and idx[0] == 0  # one row per reference, each set's rows together
        by_set: dict[int, list[str]] = {}
        for r in rows:
            assert by_set.setdefault(r["concept_set_idx"], r["concepts"]) == r["concepts"]
        assert len(by_set) >= 25 and max(Counter(idx).values()) >= 2
    train = {tuple(r["concepts"]) for r in _sample("allenai/common_gen", "default", "train")}
    val = {tuple(r["concepts"]) for r in _sample("allenai/common_gen", "default", "validation")}
    assert not train & val


def test_e2e_samples_follow_the_hub_schema_and_vary():
    for split in ("train", "validation"):
        rows = _sample("tuetschek/e2e_nlg", "default", split)
        assert len(rows) == 40
        assert all(set(r) == {"meaning_representation", "human_reference"} for r in rows)
        mrs = " ".join(r["meaning_representation"] for r in rows)
        assert all(r["meaning_representation"].startswith("name[") for r in rows)
        for food in ("English", "Italian", "French", "Chinese", "Japanese", "Indian", "Fast food"):
            assert f"food[{food}]" in mrs, (split, food)
        family = Counter(x for x in ("familyFriendly[yes]", "familyFriendly[no]") for _ in range(mrs.count(x)))
        assert min(family.values()) >= 4  # both values well represented
        for r in rows:  # every name in the MR is in its reference
            name = r["meaning_representation"].split("]")[0][len("name["):]
            assert name in r["human_reference"]


@pytest.mark.parametrize("hub_id,config,lang", [("wmt/wmt16", "ro-en", "ro"), ("wmt/wmt14", "fr-en", "fr")])
def test_translation_samples_follow_the_hub_schema(hub_id, config, lang):
    sizes = {"train": 40, "validation": 20, "test": 40}
    seen: set[str] = set()
    for split, n in sizes.items():
        rows = _sample(hub_id, config, split)
        assert len(rows) == n
        assert all(set(r) == {"translation"} and set(r["translation"]) == {lang, "en"} for r in rows)
        sources = [r["translation"][lang] for r in rows]
        assert all(s.strip() and r["translation"]["en"].strip() for s, r in zip(sources, rows))
        assert len(set(sources)) == n and not seen & set(sources)  # no pair repeats across splits
        seen |= set(sources)


def _hub_features():
    from datasets import Features, Sequence, Translation, Value

    return {
        ("allenai/common_gen", "default"): Features({"concept_set_idx": Value("int32"),
                                                    "concepts": Sequence(Value("string")), "target": Value("string")}),
        ("tuetschek/e2e_nlg", "default"): Features({"meaning_representation": Value("string"),
                                                   "human_reference": Value("string")}),
        ("wmt/wmt16", "ro-en"): Features({"translation": Translation(languages=["ro", "en"])}),
        ("wmt/wmt14", "fr-en"): Features({"translation": Translation(languages=["fr", "en"])}),
    }


def test_samples_cast_to_the_hub_features():
    from datasets import Dataset

    for (hub_id, config), features in _hub_features().items():
        for path in sorted((BUNDLED_DIR / hub_id / config).glob("*.jsonl")):
            ds = Dataset.from_list(_rows(path)).cast(features)  # raises on a missing, extra or mistyped column
            assert len(ds) == len(_rows(path)) and ds.features == features


# -- rendering: every template x every bundled example -----------------------------------------------

def _bundled(task, role):
    return list(iter_examples(task, role, source="bundled"))


@pytest.mark.parametrize("name", SAMPLED)
@pytest.mark.parametrize("role", ROLES)
def test_every_template_renders_every_bundled_example(cat, name, role):
    task, tset = cat.task(name), cat.templates(name)
    examples = _bundled(task, role)
    assert examples, f"{name}: no bundled {role} examples"
    for ex in examples:
        for tpl in tset.templates:
            r = render(task, tset, tpl, ex)
            assert r is not None and r.inputs.strip() and r.targets.strip()
            assert "{" not in r.inputs.replace("{{", "")
            if tpl.turned:
                structured = ex.get("concepts") or ex.get("meaning_representation") or ex.get("triples")
                assert r.targets == structured and ex["target"] in r.inputs
            else:
                assert r.targets == ex["target"] and ex["target"] not in r.inputs
                assert r.references == tuple(ex["references"] if "references" in ex else (ex["target"],))
        for mode in MODES:
            r = render(task, tset, None, ex, mode=mode)
            assert r.targets == ex["target"] and ex["target"] not in r.inputs


def test_both_directions_share_the_rows_and_swap_sides(cat):
    ro_en = _bundled(cat.task("wmt16_ro_en"), "test")
    en_ro = _bundled(cat.task("wmt16_en_ro"), "test")
    assert len(ro_en) == len(en_ro) == 40
    for a, b in zip(ro_en, en_ro):
        assert (a["source"], a["target"]) == (b["target"], b["source"])
    tset = cat.templates("wmt16_en_ro")
    r = render(cat.task("wmt16_en_ro"), tset, tset.get("01"), en_ro[0])
    assert "from English to Romanian" in r.inputs and r.targets == en_ro[0]["target"]
    r = render(cat.task("wmt14_fr_en"), tset, None, _bundled(cat.task("wmt14_fr_en"), "test")[0], mode="dataset_name")
    assert r.inputs.startswith("[Translation: WMT-14 French to English] ")


def test_dev_is_carved_from_train_for_struct_samples(cat):
    task = cat.task("e2e_nlg")
    train, dev = _bundled(task, "train"), _bundled(task, "dev")
    assert len(train) == 38 and len(dev) == 2  # 27 meaning representations: 25 in train (38 texts), 2 in dev
    assert not {e["meaning_representation"] for e in train} & {e["meaning_representation"] for e in dev}
    assert all(len(e["references"]) >= 1 and e["target"] in e["references"] for e in train)


# -- the real data mirror (skipped when absent) ------------------------------------------------------

@pytest.mark.parametrize("name", STRUCT + TRANSLATION)
def test_mirror_examples_load_and_render(cat, shared_hf, name):
    task, tset = cat.task(name), cat.templates(name)
    if mirror_file(shared_hf, task, task.splits.test) is None:
        pytest.skip(f"{name}: no {task.splits.test!r} split of {task.source.hub_id}/{task.source.config} in the mirror")
    examples = list(iter_examples(task, "test", source="mirror", data_dir=shared_hf, limit=20))
    assert len(examples) == 20
    for ex in examples:
        for tpl in tset.templates:
            r = render(task, tset, tpl, ex)
            assert r is not None and r.inputs.strip() and r.targets.strip()
        assert render(task, tset, None, ex, mode="baseline").inputs.strip()


@pytest.mark.parametrize("name", ["dart", "web_nlg"])
def test_mirror_multi_reference_rows(cat, shared_hf, name):
    task = cat.task(name)
    if mirror_file(shared_hf, task, task.splits.test) is None:
        pytest.skip(f"no {name} test-role split in the mirror")
    exs = list(iter_examples(task, "test", source="mirror", data_dir=shared_hf))
    assert sum(len(e["references"]) > 1 for e in exs) > len(exs) // 3  # most sets have several texts
    assert all(e["target"] == e["references"][0] for e in exs)


def test_mirror_web_nlg_test_skips_rows_without_text(cat, shared_hf):
    task = cat.task("web_nlg")
    if mirror_file(shared_hf, task, "test") is None:
        pytest.skip("no WebNLG test split in the mirror")
    skipped = [0]
    exs = list(iter_examples(task, "test", source="mirror", data_dir=shared_hf, split_overrides={"test": "test"},
                             limit=5, skipped=skipped))
    assert len(exs) == 5 and skipped[0] > 0  # the Hub's test split opens with its no-lex part
