"""The whole catalogue: coverage and counts, validation errors, the paper's sentence-completion forms, and the
real data mirror (tests marked `mirror`; skipped when it is absent). Cluster-by-cluster tables (members, splits,
metrics, options, preprocess, templates, bundled samples and their rendering) are in test_catalogue_clusters.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalogue_checks import check_rendered

from flanlab.errors import FlanlabError
from flanlab.tasks import PAPER_CLUSTERS, catalogue, iter_examples, render
from flanlab.tasks.registry import build_catalogue
from flanlab.tasks.sources import BUNDLED_DIR, mirror_file
from flanlab.tasks.templates import TemplateError

CAT = catalogue()
TASKS = sorted(CAT.tasks)

# The paper's Figure 3: datasets per cluster (62 in all).
PAPER_COUNTS = {"nli": 7, "reading_comprehension": 5, "closed_book_qa": 3, "commonsense": 4, "coreference": 3,
                "rc_commonsense": 2, "sentiment": 4, "paraphrase": 4, "struct_to_text": 4, "translation": 8,
                "summarization": 11, "misc": 7}


def test_sixty_two_datasets_in_twelve_clusters():
    assert len(PAPER_CLUSTERS) == 12
    per_cluster = {c: len({t.dataset_name for t in CAT.tasks.values() if t.cluster == c}) for c in PAPER_CLUSTERS}
    assert per_cluster == PAPER_COUNTS
    assert len({t.dataset_name for t in CAT.tasks.values()}) == 62


def test_conversational_qa_is_a_subcluster_of_misc():
    sub = CAT.cluster("conversational_qa")
    assert sub.parent == "misc"
    assert {t.name for t in CAT.tasks_in("conversational_qa")} <= {t.name for t in CAT.tasks_in("misc")}


def test_every_cluster_has_two_bundled_datasets():
    bundled = {}
    for t in CAT.tasks.values():
        if mirror_file(BUNDLED_DIR, t, t.splits.train) or mirror_file(BUNDLED_DIR, t, t.splits.test):
            bundled.setdefault(t.cluster, set()).add(t.dataset_name)
    for c in PAPER_CLUSTERS:
        assert len(bundled.get(c, ())) >= 2, f"cluster {c}: bundled samples for {bundled.get(c)}"


def _write(p: Path, text: str) -> Path:
    p.write_text(text)
    return p


TASK_YAML = """
tasks:
  - name: toy_nli
    cluster: nli
    dataset: toy
    source: {hub_id: me/toy, config: default}
    fields: {premise: p, hypothesis: h}
    label: y
    options: %s
    display: "NLI: toy"
template_sets:
  - name: toy_nli
    plain: "{premise}\\n{hypothesis}"
    baseline: "{premise} {hypothesis}"
    templates:
      - id: "01"
        input: %s
%s
"""


def _cat_with(tmp_path, options='["yes", "no"]', input_='"Does {premise} mean {hypothesis}?"', extra=""):
    return build_catalogue([_write(tmp_path / "t.yaml", TASK_YAML % (options, input_, extra))])


def test_user_tasks_file_extends_catalogue(tmp_path):
    cat = _cat_with(tmp_path)
    assert "toy_nli" in cat.tasks and "toy_nli" in {t.name for t in cat.tasks_in("nli")}
    mirror = tmp_path / "mirror" / "me" / "toy" / "default"
    mirror.mkdir(parents=True)
    (mirror / "validation.jsonl").write_text(json.dumps({"p": "A cat sleeps.", "h": "An animal rests.", "y": 0}) +
                                             "\n" + json.dumps({"p": "x", "h": "y", "y": -1}) + "\n")
    skipped = [0]
    exs = list(iter_examples(cat.task("toy_nli"), "test", source="mirror", data_dir=tmp_path / "mirror",
                             skipped=skipped))
    assert len(exs) == 1 and skipped == [1] and exs[0]["id"] == "toy_nli:validation:0"
    r = render(cat.task("toy_nli"), cat.templates("toy_nli"), cat.templates("toy_nli").get("01"), exs[0])
    assert r.inputs.endswith("OPTIONS:\n- yes\n- no") and r.targets == "yes"


@pytest.mark.parametrize("kwargs, fragment", [
    ({"input_": '"Does {premise} mean {hypotesis}?"'}, "template 01: names field(s) ['hypotesis']"),
    ({"input_": '"Does {premise mean {hypothesis}?"'}, "unbalanced or malformed braces"),
    ({"options": '["yes", "yes"]'}, "duplicate option(s) ['yes']"),
    ({"options": "null"}, "classification task without options"),
    ({"extra": '      - {id: "02", input: "{premise}", target: "{hypothesis}", turned: true}\n'
               '      - {id: "03", input: "{premise}", target: "{hypothesis}", turned: true}\n'
               '      - {id: "04", input: "{premise}", target: "{hypothesis}", turned: true}\n'
               '      - {id: "05", input: "{premise}", target: "{hypothesis}", turned: true}'},
     "4 turned-around templates, at most 3"),
])
def test_validation_errors_name_task_and_template(tmp_path, kwargs, fragment):
    with pytest.raises(FlanlabError) as e:
        _cat_with(tmp_path, **kwargs)
    assert fragment in str(e.value) and "toy_nli" in str(e.value)


def test_turned_template_on_unturnable_task(tmp_path):
    text = TASK_YAML % ('["yes", "no"]', '"{premise}"',
                        '      - {id: "02", input: "{premise}", target: "{hypothesis}", turned: true}')
    text = text.replace("    display:", "    turnable: false\n    display:")
    with pytest.raises(TemplateError, match="toy_nli.*template 02.*cannot be turned around"):
        build_catalogue([_write(tmp_path / "t.yaml", text)])


def test_unknown_task_suggests_close_names():
    with pytest.raises(FlanlabError, match="did you mean: rte"):
        CAT.task("rtee")


def test_split_override_is_applied():
    task = CAT.task("rte")
    from flanlab.tasks.sources import role_split

    assert role_split(task, "test") == task.splits.test
    assert role_split(task, "train", {"train": "validation"}) == "validation"


def test_dev_is_carved_from_train_without_overlap(tmp_path):
    cat = _cat_with(tmp_path)
    mirror = tmp_path / "m" / "me" / "toy" / "default"
    mirror.mkdir(parents=True)
    rows = [json.dumps({"p": f"p{i}", "h": "h", "y": i % 2}) for i in range(30)]
    (mirror / "train.jsonl").write_text("\n".join(rows) + "\n")
    t = cat.task("toy_nli")
    train = {e["id"] for e in iter_examples(t, "train", source="mirror", data_dir=tmp_path / "m")}
    dev = {e["id"] for e in iter_examples(t, "dev", source="mirror", data_dir=tmp_path / "m")}
    assert len(dev) == 3 and len(train) == 27 and not train & dev


# -- section 4.1: coreference and commonsense are posed as sentence completion -------------------------------

def _norm(text: str) -> str:
    return " ".join(text.lower().split())


@pytest.mark.parametrize("name", ["dpr", "winogrande", "wsc273"])
def test_section_4_1_coreference_options_are_sentence_continuations(name):
    """Paper section 4.1: coreference tasks are "formulated as finishing an incomplete sentence": the options
    are the rests of the sentence with each candidate in place, not the candidates' names. The context plus
    either option is the source sentence with that candidate filled in."""
    task, tset = CAT.task(name), CAT.templates(name)
    examples = list(iter_examples(task, "test", source="bundled"))
    assert examples
    for ex in examples:
        opts = ex["options"]
        assert len(opts) == 2 and opts[0] != opts[1]
        rest = opts[0][-10:]
        assert all(o.endswith(rest) for o in opts)  # one sentence, two fillers
        assert ex["context"] and not ex["context"].endswith(" ")
        r = render(task, tset, tset.get("01"), ex)
        assert r.targets == opts[ex["label"]] and f"- {opts[1]}" in r.inputs
        base = render(task, tset, None, ex, mode="baseline")
        assert base.inputs == ex["context"] and base.options == tuple(opts)


def test_section_4_1_completion_fills_the_blank_or_pronoun():
    from flanlab.tasks.catalog.coreference import dpr_fields, winogrande_fields, wsc273_fields

    wino = {"sentence": "Sam gave Kim a ride because _ had a car.", "option1": "Sam", "option2": "Kim", "answer": "1"}
    ex = winogrande_fields(wino)
    for i, o in enumerate(("Sam", "Kim")):
        assert ex["context"] + " " + ex["options"][i] == wino["sentence"].replace("_", o)
    wsc = {"text": "Tom lent Ray his car because his own was broken.", "pronoun": "his", "pronoun_loc": 29,
           "options": ["Tom", "Ray"], "label": 1}
    assert wsc273_fields(wsc)["options"] == ["Tom's own was broken.", "Ray's own was broken."]  # possessive
    dpr = {"sentence": "A chicken pecked at a bug and it ate it.", "pronoun": "it", "candidates": ["A chicken", "a bug"],
           "label": 0}
    assert dpr_fields(dpr) == {"context": "A chicken pecked at a bug and", "options": ["a chicken ate it.",
                                                                                       "a bug ate it."], "label": 0}
    assert dpr_fields(dict(dpr, pronoun="she")) is None  # no such pronoun: skipped (counted), not guessed
    start = {"sentence": "_ was late, so Ann waited for Bo.", "option1": "Ann", "option2": "the bus", "answer": "2"}
    assert winogrande_fields(start)["options"] == ["Ann was late, so Ann waited for Bo.",
                                                   "The bus was late, so Ann waited for Bo."]


@pytest.mark.parametrize("name", ["copa", "piqa", "hellaswag", "story_cloze", "winogrande", "wsc273", "dpr"])
def test_section_4_1_gpt3_baselines_are_sentence_completions(name):
    """The GPT-3-style baseline prompts (section 4: "the same prompts as GPT-3") of the completion tasks are
    sentence completions: the prompt is the start of the text and each option continues it; no
    "Question: ... Answer:" frame."""
    task, tset = CAT.task(name), CAT.templates(name)
    assert "Question" not in tset.baseline and "Answer" not in tset.baseline
    hand = {"hellaswag": {"activity_label": "Baking", "ctx": "A man mixes flour. he", "label": "1",
                          "endings": ["eats it.", "adds water.", "sings.", "leaves."]},
            "story_cloze": {**{f"input_sentence_{i}": f"Sentence {i}." for i in range(1, 5)},
                            "sentence_quiz1": "It ended.", "sentence_quiz2": "It went on.", "answer_right_ending": 1}}
    if mirror_file(BUNDLED_DIR, task, task.splits.test):
        examples = list(iter_examples(task, "test", source="bundled"))[:10]
    else:  # no bundled sample: a hand-written row in the Hub's schema
        examples = [{**task.preprocess(hand[name]), "id": f"{name}:test:0"}]
    for ex in examples:
        r = render(task, tset, None, ex, mode="baseline")
        assert not r.inputs.rstrip().endswith(":")
        assert r.targets == r.options[r.label] and len(r.options) == len(ex["options"])
    if name == "copa":
        ex = next(e for e in iter_examples(task, "test", source="bundled") if e["question"] == "cause")
        r = render(task, tset, None, ex, mode="baseline")
        assert r.inputs.endswith(" because") and r.options == tuple(ex["completions"])
        assert _norm(r.options[0]) == _norm(ex["options"][0])  # the same option, lower-cased to continue


# -- the real data mirror (Hub schema; tests using `shared_hf` carry the `mirror` marker) ----------------------

def _mirrored_roles(task, root):
    """Roles whose split the mirror holds (a carved dev role reads the train split, so it is not counted)."""
    return [role for role in ("train", "dev", "test") if mirror_file(root, task, getattr(task.splits, role))
            and (role != "dev" or not task.splits.carved)]


def test_real_mirror_loads_every_dataset_found(shared_hf):
    """Every task whose test split is in the offline mirror loads through the mirror path."""
    found = {n for n in TASKS if mirror_file(shared_hf, CAT.task(n), CAT.task(n).splits.test)}
    assert len(found) >= 25
    assert {"xsum", "cnn_dailymail", "fix_punctuation"} <= found  # fix_punctuation reads XSum's articles


@pytest.mark.parametrize("name", TASKS)
def test_mirror_examples_render_with_every_template(shared_hf, name):
    """The mirror's first 20 examples of each role it holds pass the same rendering checks as the bundled ones."""
    task, tset = CAT.task(name), CAT.templates(name)
    roles = _mirrored_roles(task, shared_hf)
    if not roles:
        pytest.skip(f"{name}: none of {task.source.hub_id}/{task.source.config}'s role splits in the mirror")
    for role in roles:
        examples = list(iter_examples(task, role, source="mirror", data_dir=shared_hf, limit=20))
        assert len(examples) == 20, (name, role)
        for ex in examples:
            check_rendered(task, tset, ex)


def _shape(v):
    if isinstance(v, dict):
        return {k: _shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return ["list", _shape(v[0]) if v else None]
    return type(v).__name__


@pytest.mark.parametrize("name", [n for n in TASKS if mirror_file(BUNDLED_DIR, CAT.task(n), CAT.task(n).splits.test)])
def test_bundled_schema_matches_mirror(shared_hf, name):
    """Bundled rows have the same columns, nesting and value types as the Hub's (where the mirror holds them)."""
    task = CAT.task(name)
    mirrored = [s for s in (task.splits.test, "validation", "test") if mirror_file(shared_hf, task, s)]
    if not mirrored:
        pytest.skip(f"{name}: not in the mirror")
    hub_row = json.loads(mirror_file(shared_hf, task, mirrored[0]).open().readline())
    for row in _bundled_rows(task, task.splits.train)[:5]:
        assert _shape(row) == _shape(hub_row), name


def _bundled_rows(task, split):
    path = mirror_file(BUNDLED_DIR, task, split)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("name", ["dart", "web_nlg"])
def test_mirror_multi_reference_rows(shared_hf, name):
    """DART and WebNLG give several texts per input: one example each, every text a reference."""
    task = CAT.task(name)
    if mirror_file(shared_hf, task, task.splits.test) is None:
        pytest.skip(f"no {name} test-role split in the mirror")
    exs = list(iter_examples(task, "test", source="mirror", data_dir=shared_hf))
    assert sum(len(e["references"]) > 1 for e in exs) > len(exs) // 3  # most sets have several texts
    assert all(e["target"] == e["references"][0] for e in exs)


def test_mirror_web_nlg_test_skips_rows_without_text(shared_hf):
    task = CAT.task("web_nlg")
    if mirror_file(shared_hf, task, "test") is None:
        pytest.skip("no WebNLG test split in the mirror")
    skipped = [0]
    exs = list(iter_examples(task, "test", source="mirror", data_dir=shared_hf, split_overrides={"test": "test"},
                             limit=5, skipped=skipped))
    assert len(exs) == 5 and skipped[0] > 0  # the Hub's test split opens with its no-lex part
