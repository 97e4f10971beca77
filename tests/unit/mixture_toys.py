"""Toy tasks and toy data for the mixture tests: independent of the real catalogue's progress.

    cat = toy_catalogue({"cls_a": ("sentiment", "cls"), "gen_b": ("summarization", "gen")})
    root = write_toy_data(tmp_path, cat, {"cls_a": 50, "gen_b": 20})   # a mirror: root/toy/<task>/default/train.jsonl
"""

from __future__ import annotations

import json
from pathlib import Path

from flanlab.tasks import CLUSTERS, HOLDOUT_RULES, Catalogue, Source, TaskSpec, field_map
from flanlab.tasks.templates import parse_template_set

TEMPLATE_SETS = [
    {"name": "toy_cls", "version": 1, "plain": "{text}", "baseline": "{text}", "templates": [
        {"id": "01", "input": "Is this positive? {text}"},
        {"id": "02", "input": "{text}\nWhat is the sentiment?"},
        {"id": "03", "input": "Write a positive sentence.", "target": "{text}", "turned": True, "when": {"label": 0}},
    ]},
    {"name": "toy_gen", "version": 1, "plain": "{text}", "baseline": "{text}", "templates": [
        {"id": "01", "input": "Summarize: {text}"},
        {"id": "02", "input": "{text}\n\nWhat is this about?"},
    ]},
]


def toy_task(name: str, cluster: str, kind: str = "cls", dataset: str = "") -> TaskSpec:
    if kind == "cls":
        return TaskSpec(name=name, cluster=cluster, source=Source(f"toy/{name}"), dataset=dataset,
                        preprocess=field_map({"text": "text"}, label="label"), fields=("text",),
                        options=("yes", "no"), template_set="toy_cls", display=f"Toy: {name}")
    return TaskSpec(name=name, cluster=cluster, source=Source(f"toy/{name}"), dataset=dataset,
                    preprocess=field_map({"text": "text"}, target="answer"), fields=("text",),
                    metrics=("rouge",), template_set="toy_gen", display=f"Toy: {name}")


def toy_catalogue(tasks: dict[str, tuple], with_conv_qa: bool = False) -> Catalogue:
    """tasks: name -> (cluster, kind[, dataset]). Every built-in cluster and hold-out rule is kept."""
    cat = Catalogue(rules=list(HOLDOUT_RULES))
    for c in CLUSTERS:
        cat.add_cluster(c)
    for ts in TEMPLATE_SETS:
        cat.add_template_set(parse_template_set(ts, "toy"))
    for name, spec in tasks.items():
        cat.add_task(toy_task(name, *spec))
    if not with_conv_qa:  # the sub-cluster names real tasks; keep it only when they exist
        del cat.clusters["conversational_qa"]
    cat.validate()
    return cat


def write_toy_data(root: Path, cat: Catalogue, sizes: dict[str, int], words: tuple[int, int] = (3, 12),
                   split: str = "train") -> Path:
    """Write `sizes[task]` rows per task into a mirror; row i has a length that varies with i."""
    for name, n in sizes.items():
        task = cat.task(name)
        d = Path(root) / task.source.hub_id / task.source.config
        d.mkdir(parents=True, exist_ok=True)
        lo, hi = words
        with open(d / f"{split}.jsonl", "w") as f:
            for i in range(n):
                text = " ".join(f"{name}{i}w{j}" for j in range(lo + (i * 7) % (hi - lo + 1)))
                row = {"text": text, "label": i % 2} if task.is_classification else {"text": text,
                                                                                      "answer": f"sum {name} {i}"}
                f.write(json.dumps(row) + "\n")
    return Path(root)


# Two toy tasks as a --tasks-file (a classification and a generation task), for CLI and data-path tests.
TOY_TASK_FILE_TASKS = [
    {"name": "toy_a", "cluster": "sentiment", "source": {"hub_id": "toy/toy_a"}, "fields": {"text": "text"},
     "label": "label", "options": ["yes", "no"], "template_set": "toy_cls"},
    {"name": "toy_b", "cluster": "summarization", "source": {"hub_id": "toy/toy_b"},
     "fields": {"text": "text"}, "target": "answer", "metrics": ["rouge"], "template_set": "toy_gen"}]


def write_toy_tasks_file(path: Path) -> Path:
    """Write TOY_TASK_FILE_TASKS with their template sets as a tasks file at `path`; returns it."""
    import yaml

    path.write_text(yaml.safe_dump({"tasks": TOY_TASK_FILE_TASKS, "template_sets": TEMPLATE_SETS}))
    return path
