"""The catalogue: every task, template set and cluster, validated when loaded.

    cat = catalogue()                     # built-ins, cached
    cat = catalogue(["my_tasks.yaml"])    # built-ins plus a user's tasks (--tasks-file), same checks
    cat.task("rte"), cat.templates("rte"), cat.tasks_in("nli")

Built-in tasks live in `catalog/<cluster>.py` (a `TASKS` list of TaskSpecs) and their templates in
`templates/<set>.yaml`: adding a task touches those two files only. Names are strict: a duplicate is an
error, a typo answers with the closest names.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..errors import FlanlabError, UnknownNameError
from .clusters import CLUSTERS, HOLDOUT_RULES, Cluster, HoldoutRule
from .task import CLASSIFICATION_METRICS, Source, SplitRoles, TaskSpec, field_map
from .templates import TemplateError, TemplateSet, load_template_file, parse_template_set, placeholders

TEMPLATES_DIR = Path(__file__).parent / "templates"
MAX_TURNED = 3


@dataclass
class Catalogue:
    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    template_sets: dict[str, TemplateSet] = field(default_factory=dict)
    clusters: dict[str, Cluster] = field(default_factory=dict)
    rules: list[HoldoutRule] = field(default_factory=list)

    # -- lookups -------------------------------------------------------------------------------------
    def task(self, name: str) -> TaskSpec:
        if name not in self.tasks:
            raise UnknownNameError("task", name, self.tasks)
        return self.tasks[name]

    def cluster(self, name: str) -> Cluster:
        if name not in self.clusters:
            raise UnknownNameError("cluster", name, self.clusters)
        return self.clusters[name]

    def templates(self, task: str | TaskSpec) -> TemplateSet:
        spec = self.task(task) if isinstance(task, str) else task
        return self.template_sets[spec.templates_name]

    def tasks_in(self, cluster: str) -> list[TaskSpec]:
        c = self.cluster(cluster)
        if c.members:
            return [self.task(t) for t in c.members]
        subs = {t for sub in self.clusters.values() if sub.parent == cluster for t in sub.members}
        return [t for t in self.tasks.values() if t.cluster == cluster or t.name in subs]

    def resolve_tasks(self, tasks: Iterable[str] = (), clusters: Iterable[str] = ()) -> list[TaskSpec]:
        """Tasks named directly plus every task of the named clusters, in catalogue order, no repeats."""
        wanted = {self.task(t).name for t in tasks}
        for c in clusters:
            wanted |= {t.name for t in self.tasks_in(c)}
        return [t for t in self.tasks.values() if t.name in wanted]

    # -- building ------------------------------------------------------------------------------------
    def add_cluster(self, cluster: Cluster) -> None:
        if cluster.name in self.clusters:
            raise FlanlabError(f"duplicate cluster {cluster.name!r}")
        self.clusters[cluster.name] = cluster

    def add_task(self, task: TaskSpec) -> None:
        if task.name in self.tasks:
            raise FlanlabError(f"duplicate task {task.name!r}")
        self.tasks[task.name] = task

    def add_template_set(self, tset: TemplateSet, replace: bool = False) -> None:
        if tset.name in self.template_sets and not replace:
            raise FlanlabError(f"duplicate template set {tset.name!r} ({tset.path})")
        self.template_sets[tset.name] = tset

    def validate(self) -> None:
        for c in self.clusters.values():
            if c.parent and c.parent not in self.clusters:
                raise FlanlabError(f"cluster {c.name!r}: parent {c.parent!r} is not a cluster")
        for r in self.rules:
            for name in (r.cluster, *r.also):
                if name not in self.clusters:
                    raise FlanlabError(f"hold-out rule for {r.cluster!r} names unknown cluster {name!r}")
        for t in self.tasks.values():
            validate_task(t, self)


def validate_task(task: TaskSpec, cat: Catalogue) -> None:
    where = f"task {task.name!r}"
    if task.cluster not in cat.clusters:
        raise UnknownNameError(f"cluster (in {where})", task.cluster, cat.clusters)
    if task.options is not None:
        if len(task.options) < 2:
            raise FlanlabError(f"{where}: a classification task needs at least 2 options")
        if len(set(task.options)) != len(task.options):
            dups = sorted({o for o in task.options if task.options.count(o) > 1})
            raise FlanlabError(f"{where}: duplicate option(s) {dups}")
    if set(task.metrics) & CLASSIFICATION_METRICS and not task.is_classification:
        raise FlanlabError(f"{where}: metric(s) {sorted(set(task.metrics) & CLASSIFICATION_METRICS)} "
                           "need options, but the task has none (a classification task without options)")
    if task.templates_name not in cat.template_sets:
        raise FlanlabError(f"{where}: no template set {task.templates_name!r} "
                           f"(expected {TEMPLATES_DIR / (task.templates_name + '.yaml')})")
    tset = cat.template_sets[task.templates_name]
    allowed = task.example_fields()
    turned = [t for t in tset.templates if t.turned]
    if turned and not task.turnable:
        raise TemplateError(f"{where}, template {turned[0].id}: a turned-around template on a task that "
                            "cannot be turned around")
    if len(turned) > MAX_TURNED:
        raise TemplateError(f"{where}: {len(turned)} turned-around templates, at most {MAX_TURNED}")
    if not tset.forward:
        raise TemplateError(f"{where}: template set {tset.name!r} has no forward template")
    for t in tset.templates:
        try:
            names = t.placeholders()
        except TemplateError as e:
            raise TemplateError(f"{where}, template {t.id}: {e}") from None
        unknown = names - allowed - ({"options", "options_inline"} if t.turned else set())
        if unknown:
            raise TemplateError(f"{where}, template {t.id}: names field(s) {sorted(unknown)} the task does "
                                f"not produce (it produces: {', '.join(sorted(allowed))})")
        for k, _ in t.when:
            if k not in set(task.fields) | {"label"}:
                raise TemplateError(f"{where}, template {t.id}: 'when' names unknown field {k!r}")
    for name, text in (("plain", tset.plain), ("baseline", tset.baseline)):
        try:
            unknown = placeholders(text) - allowed
        except TemplateError as e:
            raise TemplateError(f"{where}, {name} prompt: {e}") from None
        if unknown:
            raise TemplateError(f"{where}, {name} prompt: names field(s) {sorted(unknown)} the task does not "
                                "produce")
    if tset.baseline_options and task.options and len(tset.baseline_options) != len(task.options):
        raise TemplateError(f"{where}: baseline_options has {len(tset.baseline_options)} entries for "
                            f"{len(task.options)} options")


# -- loading ------------------------------------------------------------------------------------------

def _builtin_tasks() -> list[TaskSpec]:
    from . import catalog

    out: list[TaskSpec] = []
    for mod in sorted(pkgutil.iter_modules(catalog.__path__), key=lambda m: m.name):
        out.extend(getattr(importlib.import_module(f"{catalog.__name__}.{mod.name}"), "TASKS", []))
    return out


def _task_from_yaml(d: dict[str, Any], where: str) -> TaskSpec:
    allowed = {"name", "cluster", "source", "fields", "label", "target", "references", "options",
               "option_field", "metrics", "dataset", "splits", "display", "description", "template_set", "turnable",
               "evaluation_only", "version"}
    unknown = set(d) - allowed
    if unknown:
        raise FlanlabError(f"{where}: task {d.get('name')!r}: unknown key(s) {sorted(unknown)}")
    for key in ("name", "cluster", "source", "fields"):
        if key not in d:
            raise FlanlabError(f"{where}: task {d.get('name')!r}: missing key {key!r}")
    src = d["source"]
    source = Source(**src) if isinstance(src, dict) else Source(str(src))
    fields_ = dict(d["fields"])
    pre = field_map(fields_, label=d.get("label"), target=d.get("target"), references=d.get("references"),
                    options=d.get("option_field"))
    return TaskSpec(name=d["name"], cluster=d["cluster"], source=source, preprocess=pre,
                    fields=tuple(fields_), metrics=tuple(d.get("metrics") or ("accuracy",)),
                    options=tuple(str(o) for o in d["options"]) if d.get("options") else None,
                    dynamic_options=bool(d.get("option_field")),
                    splits=SplitRoles(**(d.get("splits") or {})), display=d.get("display", ""),
                    description=d.get("description", ""), template_set=d.get("template_set", ""), dataset=d.get("dataset", ""),
                    turnable=bool(d.get("turnable", True)), evaluation_only=bool(d.get("evaluation_only", False)),
                    version=int(d.get("version", 1)))


def _extend_from_file(cat: Catalogue, path: Path) -> None:
    if not path.is_file():
        raise FlanlabError(f"tasks file not found: {path}")
    if path.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"flanlab_user_{path.stem}", path)
        mod = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(mod)  # the user's own code, run by the user's own choice
        except Exception as e:
            raise FlanlabError(f"{path}: failed to import: {type(e).__name__}: {e}") from None
        for c in getattr(mod, "CLUSTERS", []):
            cat.add_cluster(c)
        for t in getattr(mod, "TASKS", []):
            cat.add_task(t)
        for ts in getattr(mod, "TEMPLATE_SETS", []):
            cat.add_template_set(ts if isinstance(ts, TemplateSet) else parse_template_set(ts, str(path)),
                                 replace=True)
        return
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise FlanlabError(f"{path}: invalid YAML: {e}") from None
    unknown = set(data) - {"clusters", "tasks", "template_sets"}
    if unknown:
        raise FlanlabError(f"{path}: unknown key(s) {sorted(unknown)}; expected clusters, tasks, template_sets")
    for c in data.get("clusters") or []:
        cat.add_cluster(Cluster(name=c["name"], title=c.get("title", c["name"]), parent=c.get("parent"),
                                members=tuple(c.get("members") or ())))
    for t in data.get("tasks") or []:
        cat.add_task(_task_from_yaml(t, str(path)))
    for ts in data.get("template_sets") or []:
        cat.add_template_set(parse_template_set(ts, str(path)), replace=True)


def build_catalogue(extra_files: Iterable[str | Path] = ()) -> Catalogue:
    cat = Catalogue(rules=list(HOLDOUT_RULES))
    for c in CLUSTERS:
        cat.add_cluster(c)
    for p in sorted(TEMPLATES_DIR.glob("*.yaml")):
        for ts in load_template_file(p):
            cat.add_template_set(ts)
    for t in _builtin_tasks():
        cat.add_task(t)
    for f in extra_files:
        _extend_from_file(cat, Path(f))
    cat.validate()
    return cat


@lru_cache(maxsize=8)
def _cached(extra: tuple[str, ...]) -> Catalogue:
    return build_catalogue(extra)


def catalogue(extra_files: Iterable[str | Path] | None = None) -> Catalogue:
    """The validated catalogue (built-ins plus `extra_files`), cached per set of files."""
    return _cached(tuple(str(Path(f).resolve()) for f in (extra_files or ())))
