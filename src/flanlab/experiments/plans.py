"""The paper's studies as pure functions: (experiment config, catalogue facts) -> list of steps.

    facts = CatalogueFacts.from_catalogue(catalogue())
    steps = plan(cfg, facts)          # mixture -> train -> eval ... -> report, dependencies first

Nothing here touches the disk or a model; the executor (run.py) runs the steps. Each eval step carries
tags saying what it means (`variant`: base or tuned, `cluster`, `n_clusters`, `shots`, ...), which the
report reads back from the experiment record to draw the paper's figures.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import FlanlabError, UnknownNameError
from .config import ExperimentConfig
from .steps import Step, dedupe



@dataclass(frozen=True)
class CatalogueFacts:
    """What planning needs from the catalogue: tasks per paper cluster and the hold-out rules."""

    cluster_tasks: dict[str, tuple[str, ...]]
    rules: dict[str, tuple[str, ...]]
    datasets: dict[str, int] | None = None  # the paper's datasets per cluster (ANLI R1-R3 count once)

    @classmethod
    def from_catalogue(cls, cat: Any) -> "CatalogueFacts":
        paper = [name for name, c in cat.clusters.items() if c.parent is None]
        clusters = {name: tuple(t.name for t in cat.tasks_in(name)) for name in paper}
        datasets = {name: len({t.dataset_name for t in cat.tasks_in(name)}) for name in paper}
        rules: dict[str, tuple[str, ...]] = {}
        for r in cat.rules:
            rules[r.cluster] = tuple(dict.fromkeys(rules.get(r.cluster, ()) + tuple(r.also)))
        return cls(clusters, rules, datasets)

    def check_cluster(self, name: str) -> None:
        if name not in self.cluster_tasks:
            raise UnknownNameError("cluster", name, self.cluster_tasks)

    def cluster_of(self, task: str) -> str:
        for c, tasks in self.cluster_tasks.items():
            if task in tasks:
                return c
        raise UnknownNameError("task", task, [t for ts in self.cluster_tasks.values() for t in ts])

    def removed_by(self, holdout: Iterable[str]) -> set[str]:
        """Clusters a hold-out removes from tuning: the held-out ones plus those the rules name."""
        out = set(holdout)
        for c in list(out):
            out |= set(self.rules.get(c, ()))
        return out

    def size(self, cluster: str) -> int:
        return (self.datasets or {}).get(cluster) or len(self.cluster_tasks[cluster])

    def by_size(self, exclude: set[str]) -> list[str]:
        """Remaining clusters in decreasing number of datasets (ties by name), as the paper adds them."""
        rest = [c for c, t in self.cluster_tasks.items() if c not in exclude and t]
        return sorted(rest, key=lambda c: (-self.size(c), c))


# -- step builders ------------------------------------------------------------------------------------

def mixture_step(cfg: ExperimentConfig, holdout: list[str], *, include: list[str] | None = None,
                 template_mode: str | None = None, label: str = "") -> Step:
    mix = dict(cfg.mixture)
    mix["holdout"] = sorted(set(holdout) | set(mix.get("holdout") or []))
    mix.setdefault("seed", cfg.seed)
    if include is not None:
        mix["include"] = list(include)
    if template_mode is not None:
        mix["template_mode"] = template_mode
    return Step("mixture", label or f"mixture without {'+'.join(holdout)}", {"mixture": mix})


def train_step(cfg: ExperimentConfig, model: str, mix: Step, label: str = "") -> Step:
    train = dict(cfg.train)
    train.setdefault("seed", cfg.seed)
    return Step("train", label or f"tune {model} ({mix.label})",
                {"model": model, "train": train, "mixture": mix.inputs["mixture"]}, deps=(mix.id,))


def eval_tasks(cfg: ExperimentConfig, facts: CatalogueFacts, clusters: list[str]) -> list[str] | None:
    if not cfg.eval_tasks:
        return None
    wanted = [t for t in cfg.eval_tasks if facts.cluster_of(t) in clusters]
    if not wanted:
        raise FlanlabError(f"eval_tasks {cfg.eval_tasks} has no task in the evaluation clusters {clusters}")
    return wanted


def eval_step(cfg: ExperimentConfig, facts: CatalogueFacts, model: str | Step, clusters: list[str], *,
              mode: str = "natural", shots: int = 0, label: str = "", **tags: Any) -> Step:
    """Evaluate a base model (a name) or the model a train step produced."""
    ev = dict(cfg.eval)
    ev.setdefault("seed", cfg.seed)
    is_step = isinstance(model, Step)
    ref = {"step": model.id} if is_step else {"base": model}
    inputs = {"model": ref, "clusters": list(clusters), "tasks": eval_tasks(cfg, facts, clusters),
              "mode": mode, "shots": shots, "eval": ev}
    name = model.inputs["model"] if is_step else model
    tags = {"model": name, "variant": "tuned" if is_step else "base", "mode": mode, "shots": shots,
            "clusters": list(clusters), **tags}
    return Step("eval", label or f"eval {tags['variant']} {name} on {'+'.join(clusters)} ({mode}, {shots}-shot)",
                inputs, deps=(model.id,) if is_step else (), tags=tags)


def contamination_step(cfg: ExperimentConfig, facts: CatalogueFacts, mix: Step, clusters: list[str]) -> Step:
    c = cfg.contamination
    return Step("contamination", f"{c.n}-gram overlap: {'+'.join(clusters)} vs {mix.label}",
                {"mixture": mix.inputs["mixture"], "clusters": list(clusters),
                 "tasks": eval_tasks(cfg, facts, clusters), "n": c.n,
                 "max_train_examples": c.max_train_examples, "max_eval_examples": c.max_eval_examples,
                 "eval": {k: v for k, v in cfg.eval.items() if k in ("source", "data_dir", "split_overrides",
                                                                    "tasks_file", "limit")}},
                deps=(mix.id,), tags={"clusters": list(clusters)})


def report_step(cfg: ExperimentConfig, steps: list[Step]) -> Step:
    return Step("report", f"report of {cfg.name}", {"kind": cfg.kind, "name": cfg.name},
                deps=tuple(s.id for s in dedupe(steps)))


def _with_contamination(cfg, facts, mix, clusters) -> list[Step]:
    return [contamination_step(cfg, facts, mix, clusters)] if cfg.contamination.enabled else []


# -- the six studies ----------------------------------------------------------------------------------

def heldout_sweep(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 3: per evaluation cluster, a model tuned with it held out vs the untuned base model."""
    steps: list[Step] = []
    for model in cfg.models:
        for c in cfg.eval_clusters:
            mix = mixture_step(cfg, [c])
            tr = train_step(cfg, model, mix)
            steps += [mix, tr, eval_step(cfg, facts, tr, [c], cluster=c, series="FLAN-style tuned"),
                      eval_step(cfg, facts, model, [c], cluster=c, series="base (instructions)")]
            if cfg.baselines:
                steps += [eval_step(cfg, facts, model, [c], mode="baseline", cluster=c,
                                    series="base (baseline prompt, 0-shot)"),
                          eval_step(cfg, facts, model, [c], mode="baseline", shots=cfg.baseline_shots,
                                    cluster=c, series=f"base (baseline prompt, {cfg.baseline_shots}-shot)")]
            steps += _with_contamination(cfg, facts, mix, [c])
    return steps


def num_clusters(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 4.1: fixed held-out clusters; tune on the 1..N largest remaining clusters."""
    ev = list(cfg.eval_clusters)
    order = list(cfg.tuning_clusters) or facts.by_size(facts.removed_by(ev))
    clash = set(order) & facts.removed_by(ev)
    if clash:
        raise FlanlabError(f"tuning_clusters {sorted(clash)} are held out (evaluation clusters {ev} and the "
                           "hold-out rules remove them)")
    steps: list[Step] = []
    for model in cfg.models:
        steps.append(eval_step(cfg, facts, model, ev, n_clusters=0, series="untuned"))
        for n in range(1, min(cfg.max_clusters, len(order)) + 1):
            mix = mixture_step(cfg, ev, include=order[:n], label=f"{n} cluster(s): {', '.join(order[:n])}")
            tr = train_step(cfg, model, mix)
            steps += [mix, tr, eval_step(cfg, facts, tr, ev, n_clusters=n, added=order[n - 1],
                                               series=f"tuned on {n} cluster(s)")]
            if n == min(cfg.max_clusters, len(order)):
                steps += _with_contamination(cfg, facts, mix, ev)
    return steps


def model_scale(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 4.2: the same recipe over models of increasing size, tuned vs untuned."""
    ev = list(cfg.eval_clusters)
    mix = mixture_step(cfg, ev)
    steps: list[Step] = [mix, *_with_contamination(cfg, facts, mix, ev)]
    for i, model in enumerate(cfg.models):
        tr = train_step(cfg, model, mix)
        scale = {"scale_rank": i, "params": cfg.model_params.get(model)}
        steps += [tr, eval_step(cfg, facts, tr, ev, series=f"{model} (tuned)", **scale),
                  eval_step(cfg, facts, model, ev, series=f"{model} (untuned)", **scale)]
    return steps


def instructions(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 4.3: tuned with natural instructions, no template, or the dataset name only."""
    ev = list(cfg.eval_clusters)
    steps: list[Step] = []
    for model in cfg.models:
        steps.append(eval_step(cfg, facts, model, ev, finetune="none", series="untuned / instructions"))
        for tm in cfg.instruction_modes:
            mix = mixture_step(cfg, ev, template_mode=tm, label=f"mixture ({tm}) without {'+'.join(ev)}")
            tr = train_step(cfg, model, mix)
            steps += [mix, tr, eval_step(cfg, facts, tr, ev, finetune=tm, series=f"FT {tm} / eval natural")]
            if tm == "dataset_name":
                steps.append(eval_step(cfg, facts, tr, ev, mode="dataset_name", finetune=tm,
                                       series="FT dataset_name / eval dataset_name"))
            if tm == "natural":
                steps += _with_contamination(cfg, facts, mix, ev)
    return steps


def few_shot(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 4.4: zero-shot vs k-shot evaluation of the tuned models (std over templates in the report)."""
    steps: list[Step] = []
    for model in cfg.models:
        for c in cfg.eval_clusters:
            mix = mixture_step(cfg, [c])
            tr = train_step(cfg, model, mix)
            steps += [mix, tr]
            for k in cfg.shots:
                steps.append(eval_step(cfg, facts, tr, [c], shots=k, cluster=c, series=f"tuned {k}-shot"))
            steps += _with_contamination(cfg, facts, mix, [c])
    return steps


def prompt_tune_step(cfg: ExperimentConfig, model: str | Step, task: str, examples: int | None,
                     cluster: str) -> Step:
    is_step = isinstance(model, Step)
    name = model.inputs["model"] if is_step else model
    ev = dict(cfg.eval)
    ev.setdefault("seed", cfg.seed)
    train = {**cfg.train, **cfg.prompt_tuning.train}
    train.setdefault("seed", cfg.seed)
    variant = "tuned" if is_step else "base"
    n = "full" if examples is None else str(examples)
    mixture = {**cfg.mixture, "include": [task], "holdout": [], "holdout_tasks": []}
    mixture.setdefault("seed", cfg.seed)
    if examples is not None:
        mixture["cap"] = examples  # the low-resource setting: the first N training examples
    return Step("prompt_tune", f"soft prompt on {task} ({n} examples) for {variant} {name}",
                {"model": {"step": model.id} if is_step else {"base": model}, "task": task,
                 "examples": examples, "train": train, "mixture": mixture, "eval": ev},
                deps=(model.id,) if is_step else (),
                tags={"model": name, "variant": variant, "task": task, "examples": n, "cluster": cluster,
                      "series": f"{variant}, {n} examples"})


def prompt_tuning(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 4.5: soft prompts per SuperGLUE task on the base model and on a model tuned without its cluster."""
    steps: list[Step] = []
    for model in cfg.models:
        for task in cfg.prompt_tuning.tasks:
            c = facts.cluster_of(task)
            mix = mixture_step(cfg, [c])
            tr = train_step(cfg, model, mix)
            steps += [mix, tr]
            for n in cfg.prompt_tuning.examples:
                steps += [prompt_tune_step(cfg, model, task, n, c), prompt_tune_step(cfg, tr, task, n, c)]
    return steps


PLANS: dict[str, Callable[[ExperimentConfig, CatalogueFacts], list[Step]]] = {
    "heldout_sweep": heldout_sweep, "num_clusters": num_clusters, "model_scale": model_scale,
    "instructions": instructions, "few_shot": few_shot, "prompt_tuning": prompt_tuning,
}


def plan(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """All steps of an experiment, dependencies first, duplicates merged, the report last."""
    for c in cfg.eval_clusters:
        facts.check_cluster(c)
    for c in cfg.tuning_clusters:
        facts.check_cluster(c)
    for t in cfg.eval_tasks:
        facts.cluster_of(t)
    if cfg.kind == "demo":
        from .demo import plan_demo  # the demo's plan lives with the demo (it imports the builders above)

        steps = dedupe(plan_demo(cfg, facts))
    else:
        steps = dedupe(PLANS[cfg.kind](cfg, facts))
    return steps + [report_step(cfg, steps)]
