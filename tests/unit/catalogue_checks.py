"""The one rendering contract every catalogue test applies: to bundled examples, hand-written Hub rows and the
real mirror's rows alike (test_catalogue_clusters.py, test_catalogue.py)."""

from __future__ import annotations

import re

from flanlab.tasks import render

MODES = ("no_template", "dataset_name", "baseline")
LEFTOVER = re.compile(r"\{[A-Za-z_]+\}")  # an unfilled placeholder

# Turned-around struct-to-text templates write the structured input (from the text, which is in the prompt).
TURNED_TARGET = {"common_gen": "concepts", "dart": "triples", "e2e_nlg": "meaning_representation", "web_nlg": "triples"}
# Clusters whose gold text never appears in the prompt (it is written, not extracted or copied).
TARGET_NOT_IN_PROMPT = {"struct_to_text", "translation"}


def check_rendered(task, tset, ex) -> int:
    """Every template (and each plain mode) renders `ex` with the right answer, options and references; returns
    how many templates rendered (a template renders unless its `when` clause leaves the example out)."""
    opts = tuple(ex["options"]) if task.dynamic_options else task.options
    n = 0
    for tpl in tset.templates:
        r = render(task, tset, tpl, ex)
        if r is None:
            assert tpl.when and not tpl.applies_to(ex), (task.name, tpl.id)
            continue
        n += 1
        assert r.inputs.strip() and r.targets.strip(), (task.name, tpl.id, ex["id"])
        assert not LEFTOVER.search(r.inputs + r.targets), (task.name, tpl.id)  # every placeholder filled
        if not any("{" in str(v) for v in ex.values()):  # no stray brace of the template's own (real data has some)
            assert "{" not in r.inputs.replace("{{", ""), (task.name, tpl.id)
        if tpl.turned:
            assert r.turned and r.options is None and r.targets != r.inputs, (task.name, tpl.id)
            if task.name in TURNED_TARGET:
                assert r.targets == ex[TURNED_TARGET[task.name]] and ex["target"] in r.inputs
        elif task.is_classification:
            assert r.options == opts and r.label == ex["label"] and r.targets == opts[ex["label"]], (task.name, tpl.id)
            assert r.inputs.count("OPTIONS:") == 1 and all(f"- {o}" in r.inputs for o in opts), (task.name, tpl.id)
        else:
            assert r.targets == ex["target"] and r.references == tuple(ex.get("references") or (ex["target"],))
            assert r.targets in r.references, (task.name, tpl.id)
            if task.cluster in TARGET_NOT_IN_PROMPT:
                assert ex["target"] not in r.inputs, (task.name, tpl.id)
    for mode in MODES:
        r = render(task, tset, None, ex, mode=mode)
        assert r.inputs.strip() and r.targets.strip() and not LEFTOVER.search(r.inputs), (task.name, mode)
        if task.is_classification:
            assert r.targets == r.options[ex["label"]], (task.name, mode)
        else:
            assert r.targets == ex["target"], (task.name, mode)
            if task.cluster in TARGET_NOT_IN_PROMPT:
                assert ex["target"] not in r.inputs, (task.name, mode)
        if mode == "dataset_name":
            assert r.inputs.startswith(f"[{task.display_name}] ")
    return n
