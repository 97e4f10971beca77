"""Leave-cluster-out splits: which tasks train, which are held out, and the rule that removed each.

    split = split_tasks(catalogue(), holdout=["nli"])
    split.train                 # ['boolq', ...]  tasks to train on, in catalogue order
    split.held_out["rte"]       # "in held-out cluster 'nli'"
    split.held_out["mrpc"]      # "rule nli -> paraphrase: NLI and paraphrase are held out together ..."
    split.evaluate              # tasks of the held-out clusters themselves (what to evaluate)

The extra rules of the paper (section 2.4) are data, `Catalogue.rules` (`flanlab.tasks.HOLDOUT_RULES`):
holding out cluster C also removes every task of the clusters its rule names. Rules fire only for the
clusters you hold out, not for clusters they removed (holding out reading comprehension removes RC with
commonsense, but that does not go on to remove commonsense). A task sharing its dataset
(`TaskSpec.dataset_name`) with a held-out task is removed too (ANLI R1 held out -> R2, R3 removed), and the
final split is checked: any overlap of train and held-out tasks or datasets raises.

Evaluation-only tasks (`TaskSpec.evaluation_only`: WSC273, whose only labelled split is its test split)
never train: they are `excluded` with the reason, and naming one in `include` is an error naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..errors import FlanlabError, UnknownNameError


@dataclass
class HoldoutSplit:
    train: list[str]
    held_out: dict[str, str]                      # task -> reason
    evaluate: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)  # not held out, just not included
    notes: list[str] = field(default_factory=list)

    def status(self, task: str) -> tuple[str, str]:
        if task in self.held_out:
            return "held out", self.held_out[task]
        if task in self.excluded:
            return "excluded", self.excluded[task]
        return "train", ""


def resolve_names(cat, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Split names into (clusters, tasks); a name that is neither gets did-you-mean suggestions."""
    clusters, tasks = [], []
    for n in names:
        if n in cat.clusters:
            clusters.append(n)
        elif n in cat.tasks:
            tasks.append(n)
        else:
            raise UnknownNameError("task or cluster", n, [*cat.clusters, *cat.tasks])
    return clusters, tasks


def split_tasks(cat, holdout: Iterable[str] = (), holdout_tasks: Iterable[str] = (),
                include: Iterable[str] = ()) -> HoldoutSplit:
    """Leave-cluster-out split of the catalogue `cat` (see the module docstring).

    `include` (tasks or clusters) restricts training to those tasks; empty means every task.
    """
    holdout, holdout_tasks, include = list(holdout), list(holdout_tasks), list(include)
    for c in holdout:
        cat.cluster(c)  # unknown cluster -> UnknownNameError with suggestions
    for t in holdout_tasks:
        cat.task(t)
    reasons: dict[str, str] = {}
    notes: list[str] = []
    for c in holdout:
        members = cat.tasks_in(c)
        if not members:
            notes.append(f"held-out cluster {c!r} has no tasks in the catalogue")
        for t in members:
            reasons.setdefault(t.name, f"in held-out cluster {c!r}")
    for t in holdout_tasks:
        reasons.setdefault(t, "held out by name")
    evaluate = [t for t in cat.tasks if t in reasons]
    for c in holdout:
        for rule in (r for r in cat.rules if r.cluster == c):
            for other in rule.also:
                for t in cat.tasks_in(other):
                    reasons.setdefault(t.name, f"rule {c} -> {other}: {rule.reason}")
    _remove_dataset_siblings(cat, reasons)
    universe = _universe(cat, include)
    _check_trainable(cat, include)
    excluded = {t: "not in include" for t in cat.tasks if t not in universe and t not in reasons}
    for t in cat.tasks.values():
        if t.evaluation_only and t.name in universe and t.name not in reasons:
            excluded[t.name] = EVALUATION_ONLY
            universe.discard(t.name)
    train = [t for t in cat.tasks if t in universe and t not in reasons]
    split = HoldoutSplit(train, {t: reasons[t] for t in cat.tasks if t in reasons}, evaluate, excluded, notes)
    check_no_overlap(cat, split)
    if not train:
        raise FlanlabError(f"the mixture is empty: holding out {', '.join(holdout + holdout_tasks) or 'nothing'}"
                           f"{' from ' + ', '.join(include) if include else ''} leaves no training task")
    return split


def _remove_dataset_siblings(cat, reasons: dict[str, str]) -> None:
    held = {cat.task(t).dataset_name: t for t in list(reasons)}
    for t in cat.tasks.values():
        if t.name not in reasons and t.dataset_name in held:
            reasons[t.name] = f"same dataset {t.dataset_name!r} as held-out task {held[t.dataset_name]!r}"


EVALUATION_ONLY = "evaluation only: its only labelled split is its test split, so it never trains"


def _check_trainable(cat, include: list[str]) -> None:
    """A task named in `include` must be trainable (a cluster named there simply leaves its evaluation-only
    tasks out)."""
    _, tasks = resolve_names(cat, include)
    bad = [t for t in tasks if cat.task(t).evaluation_only]
    if bad:
        raise FlanlabError(f"{', '.join(repr(t) for t in bad)} in `include`: evaluation-only (its only labelled "
                           "split is its test split), so it can never be trained on; remove it from `include`")


def _universe(cat, include: list[str]) -> set[str]:
    if not include:
        return set(cat.tasks)
    clusters, tasks = resolve_names(cat, include)
    return {t.name for t in cat.resolve_tasks(tasks, clusters)}


def check_no_overlap(cat, split: HoldoutSplit) -> None:
    """Raise if a training task is held out, or shares a dataset with a held-out task (a leak)."""
    both = set(split.train) & set(split.held_out)
    if both:
        raise FlanlabError(f"hold-out split overlaps: {sorted(both)} are both trained on and held out")
    train_ds = {cat.task(t).dataset_name: t for t in split.train}
    for t in split.held_out:
        ds = cat.task(t).dataset_name
        if ds in train_ds:
            raise FlanlabError(f"hold-out split leaks dataset {ds!r}: held-out task {t!r} and training task "
                               f"{train_ds[ds]!r}")
