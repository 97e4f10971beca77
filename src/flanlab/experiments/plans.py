"""The paper's studies as pure functions: (experiment config, catalogue facts) -> list of steps.

    facts = CatalogueFacts.from_catalogue(catalogue())
    steps = plan(cfg, facts)          # mixture -> train -> eval ... -> report, dependencies first

Nothing here touches the disk or a model; the executor (run.py) runs the steps. Each eval step carries
tags saying what it means (`variant`: tuned, untuned-baseline, untuned-instructions, tuned-few-shot or an
ablation name, see CONTRACTS.md B; `cluster`, `n_clusters`, `shots`, ...), which the report reads back from
the experiment record to draw the paper's figures. `protocol(cfg, facts)` says in words which protocol the
plan follows (hold-out design, cluster order, evaluation set, untuned baseline); docs/protocol.md has why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import FlanlabError, UnknownNameError
from .config import (ABLATION_EVAL_CLUSTERS, FIGURE5_CLUSTERS, FIGURE6_CLUSTER_ORDER, FIGURE6_EVAL_TASKS,
                     ExperimentConfig)
from .steps import Step, dedupe

if TYPE_CHECKING:
    from ..tasks.registry import Catalogue


@dataclass(frozen=True)
class CatalogueFacts:
    """What planning needs from the catalogue: tasks per paper cluster and the hold-out rules."""

    cluster_tasks: dict[str, tuple[str, ...]]
    rules: dict[str, tuple[str, ...]]
    datasets: dict[str, int] | None = None  # the paper's datasets per cluster (ANLI R1-R3 count once)
    subclusters: dict[str, tuple[str, ...]] = field(default_factory=dict)  # e.g. conversational_qa (in misc)

    @classmethod
    def from_catalogue(cls, cat: Catalogue) -> "CatalogueFacts":
        paper = [name for name, c in cat.clusters.items() if c.parent is None]
        clusters = {name: tuple(t.name for t in cat.tasks_in(name)) for name in paper}
        datasets = {name: len({t.dataset_name for t in cat.tasks_in(name)}) for name in paper}
        subs = {name: tuple(t.name for t in cat.tasks_in(name)) for name, c in cat.clusters.items()
                if c.parent is not None}
        rules: dict[str, tuple[str, ...]] = {}
        for r in cat.rules:
            rules[r.cluster] = tuple(dict.fromkeys(rules.get(r.cluster, ()) + tuple(r.also)))
        return cls(clusters, rules, datasets, subs)

    def check_cluster(self, name: str) -> None:
        if name not in self.cluster_tasks and name not in self.subclusters:
            raise UnknownNameError("cluster", name, [*self.cluster_tasks, *self.subclusters])

    def tasks_of(self, cluster: str) -> tuple[str, ...]:
        return self.cluster_tasks.get(cluster) or self.subclusters.get(cluster, ())

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

    def paper_order(self, exclude: set[str]) -> list[str]:
        """Figure 6's order of tuning clusters, less those a hold-out removes (or the catalogue lacks)."""
        removed = {t for c in exclude for t in self.tasks_of(c)}
        return [c for c in FIGURE6_CLUSTER_ORDER if c not in exclude and self.tasks_of(c)
                and not set(self.tasks_of(c)) & removed]


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


def figure6_eval_tasks(cfg: ExperimentConfig, facts: CatalogueFacts, clusters: list[str]) -> list[str] | None:
    """Figure 6's evaluation set (section 4.1): exactly the tasks its caption lists for commonsense, NLI and
    closed-book QA (other clusters: all their tasks), narrowed by eval_tasks, which must lie inside it."""
    if cfg.eval_set == "clusters":
        return eval_tasks(cfg, facts, clusters)
    paper = [t for c in clusters for t in facts.tasks_of(c) if c not in FIGURE6_EVAL_TASKS
             or t in FIGURE6_EVAL_TASKS[c]]
    outside = [t for t in cfg.eval_tasks if t not in paper]
    if outside:
        raise FlanlabError(f"eval_tasks {outside} are not in Figure 6's evaluation set ({', '.join(paper)}); "
                           "set eval_set: clusters to evaluate other tasks of the evaluation clusters")
    if not paper:
        raise FlanlabError(f"the catalogue has none of Figure 6's evaluation tasks in {clusters}")
    return eval_tasks(cfg, facts, clusters) or paper


def eval_step(cfg: ExperimentConfig, facts: CatalogueFacts, model: str | Step, clusters: list[str], *,
              mode: str = "natural", shots: int = 0, label: str = "", tasks: list[str] | None = None,
              **tags: Any) -> Step:
    """Evaluate a base model (a name) or the model a train step produced (`tasks`: default from the config)."""
    ev = dict(cfg.eval)
    ev.setdefault("seed", cfg.seed)
    is_step = isinstance(model, Step)
    ref = {"step": model.id} if is_step else {"base": model}
    inputs = {"model": ref, "clusters": list(clusters),
              "tasks": tasks if tasks is not None else eval_tasks(cfg, facts, clusters),
              "mode": mode, "shots": shots, "eval": ev}
    name = model.inputs["model"] if is_step else model
    variant = "tuned" if is_step else UNTUNED_VARIANT.get(mode, f"untuned-{mode}")
    tags = {"model": name, "variant": variant, "mode": mode, "shots": shots, "clusters": list(clusters), **tags}
    return Step("eval", label or f"eval {tags['variant']} {name} on {'+'.join(clusters)} ({mode}, {shots}-shot)",
                inputs, deps=(model.id,) if is_step else (), tags=tags)


# Variants (CONTRACTS.md B): what an eval step's model and prompts are, for collect/report to group by.
UNTUNED_VARIANT = {"baseline": "untuned-baseline", "natural": "untuned-instructions"}
UNTUNED_SERIES = {"baseline": "untuned (GPT-3-style prompt)", "natural": "untuned (instructions)"}


def untuned_evals(cfg: ExperimentConfig, facts: CatalogueFacts, model: str, clusters: list[str], *,
                  tasks: list[str] | None = None, series: str = "{what}", primary: dict[str, Any] | None = None,
                  **tags: Any) -> list[Step]:
    """The untuned model: prompted as `cfg.untuned_mode` (GPT-3-style by default, the paper's baseline), plus
    the instruction templates as an extra series when `cfg.untuned_instructions`. `primary` tags go on the
    main comparison only (e.g. Figure 6's 0-cluster point)."""
    modes = [cfg.untuned_mode] + (["natural"] if cfg.untuned_instructions and cfg.untuned_mode != "natural" else [])
    return [eval_step(cfg, facts, model, clusters, mode=m, tasks=tasks,
                      series=series.format(what=UNTUNED_SERIES[m]), **tags, **((primary or {}) if i == 0 else {}))
            for i, m in enumerate(modes)]


def contamination_step(cfg: ExperimentConfig, facts: CatalogueFacts, mix: Step, clusters: list[str],
                       tasks: list[str] | None = None) -> Step:
    c = cfg.contamination
    return Step("contamination", f"{c.n}-gram overlap: {'+'.join(clusters)} vs {mix.label}",
                {"mixture": mix.inputs["mixture"], "clusters": list(clusters),
                 "tasks": tasks if tasks is not None else eval_tasks(cfg, facts, clusters), "n": c.n,
                 "max_train_examples": c.max_train_examples, "max_eval_examples": c.max_eval_examples,
                 "eval": {k: v for k, v in cfg.eval.items() if k in ("source", "data_dir", "split_overrides",
                                                                    "tasks_file", "limit", "sample", "seed")}},
                deps=(mix.id,), tags={"clusters": list(clusters)})


def report_step(cfg: ExperimentConfig, steps: list[Step]) -> Step:
    return Step("report", f"report of {cfg.name}", {"kind": cfg.kind, "name": cfg.name},
                deps=tuple(s.id for s in dedupe(steps)))


def _with_contamination(cfg, facts, mix, clusters, tasks=None) -> list[Step]:
    return [contamination_step(cfg, facts, mix, clusters, tasks)] if cfg.contamination.enabled else []


# -- the six studies ----------------------------------------------------------------------------------

def heldout_sweep(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 3 (Figure 5): per evaluation cluster, a model tuned with it held out vs the untuned model with
    GPT-3-style prompts (zero- and few-shot), and the untuned model with instructions as an extra series."""
    steps: list[Step] = []
    for model in cfg.models:
        for c in cfg.eval_clusters:
            mix = mixture_step(cfg, [c])
            tr = train_step(cfg, model, mix)
            steps += [mix, tr, eval_step(cfg, facts, tr, [c], cluster=c, series="FLAN-style tuned"),
                      *untuned_evals(cfg, facts, model, [c], cluster=c, series="{what}, 0-shot")]
            if cfg.baselines:
                k = cfg.baseline_shots
                steps.append(eval_step(cfg, facts, model, [c], mode="baseline", shots=k, cluster=c,
                                       series=f"{UNTUNED_SERIES['baseline']}, {k}-shot"))
            steps += _with_contamination(cfg, facts, mix, [c])
    return steps


def cluster_order(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[str]:
    """num_clusters: the order tuning clusters are added (Figure 6's, by default)."""
    removed = facts.removed_by(cfg.eval_clusters)
    if cfg.tuning_clusters:
        return list(cfg.tuning_clusters)
    return facts.paper_order(removed) if cfg.cluster_order == "paper" else facts.by_size(removed)


def num_clusters(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 4.1 (Figure 6): fixed held-out clusters; tune on the first 1..N clusters of Figure 6's order;
    evaluate on exactly Figure 6's evaluation tasks."""
    ev = list(cfg.eval_clusters)
    order = cluster_order(cfg, facts)
    removed = facts.removed_by(ev)
    removed_tasks = {t for c in removed for t in facts.tasks_of(c)}
    clash = [c for c in order if c in removed or set(facts.tasks_of(c)) & removed_tasks]
    if clash:
        raise FlanlabError(f"tuning_clusters {sorted(clash)} are held out (evaluation clusters {ev} and the "
                           "hold-out rules remove them)")
    tasks = figure6_eval_tasks(cfg, facts, ev)
    steps: list[Step] = []
    for model in cfg.models:
        steps += untuned_evals(cfg, facts, model, ev, tasks=tasks, primary={"n_clusters": 0})
        for n in range(1, min(cfg.max_clusters, len(order)) + 1):
            mix = mixture_step(cfg, ev, include=order[:n], label=f"{n} cluster(s): {', '.join(order[:n])}")
            tr = train_step(cfg, model, mix)
            steps += [mix, tr, eval_step(cfg, facts, tr, ev, tasks=tasks, n_clusters=n, added=order[n - 1],
                                         series=f"tuned on {n} cluster(s)")]
            if n == min(cfg.max_clusters, len(order)):
                steps += _with_contamination(cfg, facts, mix, ev, tasks)
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
                  *untuned_evals(cfg, facts, model, ev, series=f"{model} ({{what}})", **scale)]
    return steps


# The instruction ablation's tuned models by template mode (their step variant, CONTRACTS.md B).
ABLATION_VARIANT = {"natural": "tuned", "no_template": "no-template", "dataset_name": "dataset-name"}


def instructions(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 4.3 (Figure 8): tuned with natural instructions, no template, or the dataset name only; each
    evaluation cluster scored by models tuned without it (leave-one-cluster-out, as in Figure 5), or, with
    instructions_holdout: joint, by one set of models with every evaluation cluster held out together."""
    ev = list(cfg.eval_clusters)
    groups = [[c] for c in ev] if cfg.instructions_holdout == "per_cluster" else [ev]
    steps: list[Step] = []
    for model in cfg.models:
        steps += untuned_evals(cfg, facts, model, ev, finetune="none", series="{what}")
        for held in groups:
            for tm in cfg.instruction_modes:
                mix = mixture_step(cfg, held, template_mode=tm, label=f"mixture ({tm}) without {'+'.join(held)}")
                tr = train_step(cfg, model, mix)
                tags = {"finetune": tm, "holdout": held, "variant": ABLATION_VARIANT[tm]}
                steps += [mix, tr, eval_step(cfg, facts, tr, held, series=f"FT {tm} / eval natural", **tags)]
                if tm == "dataset_name":
                    steps.append(eval_step(cfg, facts, tr, held, mode="dataset_name",
                                           series="FT dataset_name / eval dataset_name", **tags))
                if tm == "natural":
                    steps += _with_contamination(cfg, facts, mix, held)
    return steps


def fewshot_mixture(cfg: ExperimentConfig) -> dict[str, Any]:
    """The mixture's few-shot section for the few-shot FLAN model (section 4.4: k <= 16, < 960 tokens)."""
    max_in = cfg.mixture.get("max_input_len", 1024)
    if cfg.fewshot_budget > max_in:
        raise FlanlabError(f"fewshot_budget ({cfg.fewshot_budget}) exceeds mixture.max_input_len ({max_in}): "
                           "few-shot training prompts would be truncated; lower fewshot_budget or raise max_input_len")
    return {**(cfg.mixture.get("few_shot") or {}), "enabled": True, "k": cfg.fewshot_k, "budget": cfg.fewshot_budget}


def fewshot_eval(cfg: ExperimentConfig, few: dict[str, Any]) -> dict[str, Any]:
    """Evaluation settings that build exemplars as the few-shot training prompts were built."""
    ev = dict(cfg.eval)
    if ev.get("fewshot_budget") not in (None, cfg.fewshot_budget):
        raise FlanlabError(f"eval.fewshot_budget ({ev['fewshot_budget']}) differs from fewshot_budget "
                           f"({cfg.fewshot_budget}); the few-shot study uses one budget for training and inference")
    ev["fewshot_budget"] = cfg.fewshot_budget
    for src, dst in (("separator", "fewshot_separator"), ("answer_separator", "fewshot_answer_separator")):
        if src in few:
            ev.setdefault(dst, few[src])
    return ev


def few_shot(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[Step]:
    """Section 4.4 (Figure 9): per held-out cluster, zero-shot FLAN (tuned on zero-shot prompts, scored
    zero-shot) next to few-shot FLAN (tuned on few-shot prompts, k <= 16 exemplars within 960 tokens, scored
    with exemplars from the held-out task's training split): exemplars are used "during training and
    inference". With fewshot_training: zero_shot, the zero-shot model is scored with exemplars instead."""
    steps: list[Step] = []
    trained = cfg.fewshot_training == "few_shot"
    few = fewshot_mixture(cfg) if trained and any(cfg.shots) else None
    ev_cfg = cfg.model_copy(update={"eval": fewshot_eval(cfg, few or {})}) if any(cfg.shots) else cfg
    for model in cfg.models:
        for c in cfg.eval_clusters:
            mix = mixture_step(cfg, [c])
            tr = train_step(cfg, model, mix)
            steps += [mix, tr]
            if 0 in cfg.shots:
                steps.append(eval_step(cfg, facts, tr, [c], cluster=c, series="zero-shot FLAN, 0-shot"))
            ks = [k for k in cfg.shots if k]
            if ks and trained:
                # the budget counts tokens of the model being tuned (not the mixture stage's default model)
                fmix = Step("mixture", f"few-shot mixture without {c}",
                            {"mixture": {**mix.inputs["mixture"], "few_shot": few,
                                         "tokenizer": cfg.mixture.get("tokenizer") or model}})
                ftr = train_step(cfg, model, fmix, label=f"tune {model} on few-shot prompts ({fmix.label})")
                steps += [fmix, ftr]
                steps += [eval_step(ev_cfg, facts, ftr, [c], shots=k, cluster=c, variant="tuned-few-shot",
                                    series=f"few-shot FLAN, {k}-shot") for k in ks]
            elif ks:
                steps += [eval_step(ev_cfg, facts, tr, [c], shots=k, cluster=c,
                                    series=f"zero-shot FLAN, {k}-shot") for k in ks]
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


# -- what the plan means, in words (printed by `flanlab experiment plan`) ---------------------------------

def protocol(cfg: ExperimentConfig, facts: CatalogueFacts) -> list[str]:
    """The protocol choices this plan makes, one sentence each, naming the paper's figure or section."""
    notes: list[str] = []
    ev = list(cfg.eval_clusters)
    if cfg.kind in ("heldout_sweep", "num_clusters", "model_scale", "instructions"):
        how = ("GPT-3-style prompts, as the paper's LaMDA-PT baseline (section 3)" if cfg.untuned_mode == "baseline"
               else "the instruction templates (untuned_mode: natural; the paper uses GPT-3-style prompts)")
        extra = ("; the untuned model with instructions is an extra series" if cfg.untuned_instructions
                 and cfg.untuned_mode != "natural" else "")
        fewshot = (f"; also {cfg.baseline_shots}-shot GPT-3-style" if cfg.kind == "heldout_sweep" and cfg.baselines
                   else "")
        notes.append(f"untuned baseline: {how}{fewshot}{extra}")
    if cfg.kind == "instructions":
        if cfg.instructions_holdout == "per_cluster":
            notes.append(f"Figure 8: each evaluation cluster ({', '.join(ev)}) is scored by its own "
                         "leave-one-cluster-out models, as in Figure 5 (instructions_holdout: per_cluster)")
        else:
            notes.append(f"Figure 8: joint hold-out (instructions_holdout: joint): {', '.join(ev)} held out together "
                         "from one set of models; the paper uses one leave-one-cluster-out model per cluster")
        if set(ev) != set(FIGURE5_CLUSTERS):
            notes.append(f"Figure 8: the paper evaluates Figure 5's clusters ({', '.join(FIGURE5_CLUSTERS)}); "
                         f"this plan evaluates {', '.join(ev)}")
    if cfg.kind == "few_shot":
        if cfg.fewshot_training == "few_shot":
            notes.append(f"section 4.4: few-shot FLAN is tuned on few-shot prompts (k <= {cfg.fewshot_k}, "
                         f"<= {cfg.fewshot_budget} tokens) and scored with exemplars "
                         f"({', '.join(str(k) for k in cfg.shots if k) or 'none'}-shot); zero-shot FLAN scored 0-shot")
        else:
            notes.append("section 4.4: exemplars at inference only (fewshot_training: zero_shot); the paper also "
                         "tunes few-shot FLAN on few-shot prompts")
    if cfg.kind == "model_scale":
        notes.append(f"Figure 7: joint hold-out: {', '.join(ev)} held out together from one mixture shared by "
                     "every model size (section 4.2: the split of section 4.1)")
        if set(ev) != set(ABLATION_EVAL_CLUSTERS):
            notes.append(f"Figure 7: the paper holds out {', '.join(ABLATION_EVAL_CLUSTERS)}; this plan holds out "
                         f"{', '.join(ev)}")
    if cfg.kind == "num_clusters":
        order = cluster_order(cfg, facts)[:cfg.max_clusters]
        how = ("tuning_clusters (user order)" if cfg.tuning_clusters else
               "Figure 6's order" if cfg.cluster_order == "paper" else "decreasing number of datasets")
        notes.append(f"Figure 6: clusters added in {how}: {', '.join(order)}")
        tasks = figure6_eval_tasks(cfg, facts, ev)
        which = "Figure 6's caption" if cfg.eval_set == "paper" else "every task of the evaluation clusters"
        notes.append(f"Figure 6: evaluation set ({which}): "
                     f"{', '.join(tasks or [t for c in ev for t in facts.tasks_of(c)])}")
    return notes
