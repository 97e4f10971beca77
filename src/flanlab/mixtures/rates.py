"""Mixing rates as pure functions of a task's number of training examples (seqio style).

    >>> examples_proportional(120_000, cap=30_000, maximum=3_000)
    3000.0
    >>> examples_proportional(1_200, cap=30_000, maximum=3_000)
    1200.0
    >>> temperature(10_000, cap=30_000, maximum=3_000_000, t=2.0)
    100.0
    >>> shares({"a": 3000.0, "b": 1000.0})
    {'a': 0.75, 'b': 0.25}

The paper (section 3.1): at most 30,000 training examples per dataset (`cap`) and examples-proportional
mixing with a mixing rate maximum of 3,000 (`maximum`), so rate = min(n, cap, maximum). Temperature
scaling (T5, later FLAN work) raises that to the power 1/T; T = 1 is examples-proportional, T -> inf is
equal mixing.

The unit that gets a rate is a *dataset* (the paper's 62; `TaskSpec.dataset_name`), not a task: the two
directions of a translation pair are two tasks of one dataset, ANLI R1-R3 three tasks of one. `unit_rates`
gives the unit its rate from the sum of its tasks' examples and splits it among them by examples:

    >>> unit_rates({"wmt_de_en": 30_000, "wmt_en_de": 30_000, "rte": 2_490},
    ...            {"wmt_de_en": "wmt", "wmt_en_de": "wmt", "rte": "rte"}, "examples_proportional", 30_000, 3_000)
    {'wmt_de_en': 1500.0, 'wmt_en_de': 1500.0, 'rte': 2490.0}
"""

from __future__ import annotations

from ..errors import FlanlabError

SCHEMES = ("examples_proportional", "equal", "temperature")


def _check(n: int, cap: int, maximum: float | None) -> None:
    if cap < 1:
        raise FlanlabError(f"the per-dataset cap must be at least 1 example (got cap={cap})")
    if maximum is not None and maximum <= 0:
        raise FlanlabError(f"the mixing rate maximum must be positive (got {maximum})")
    if n < 0:
        raise FlanlabError(f"a task cannot have {n} examples")


def examples_proportional(n: int, cap: int = 30_000, maximum: float | None = 3_000) -> float:
    """min(n, cap, maximum): the paper's rate."""
    _check(n, cap, maximum)
    return float(min(n, cap, maximum if maximum is not None else cap))


def equal(n: int, cap: int = 30_000, maximum: float | None = None) -> float:
    """1 for every task that has examples."""
    _check(n, cap, maximum)
    return 1.0 if n > 0 else 0.0


def temperature(n: int, cap: int = 30_000, maximum: float | None = 3_000, t: float = 1.0) -> float:
    """min(n, cap, maximum) ** (1 / t)."""
    if t <= 0:
        raise FlanlabError(f"the mixing temperature must be positive (got {t})")
    return examples_proportional(n, cap, maximum) ** (1.0 / t)


def rate(scheme: str, n: int, cap: int, maximum: float | None, t: float = 1.0) -> float:
    """The rate of a task with `n` training examples under `scheme`."""
    if scheme == "examples_proportional":
        return examples_proportional(n, cap, maximum)
    if scheme == "equal":
        return equal(n, cap, maximum)
    if scheme == "temperature":
        return temperature(n, cap, maximum, t)
    raise FlanlabError(f"unknown mixing scheme {scheme!r}; known: {', '.join(SCHEMES)}")


def unit_rates(n: dict[str, int], unit: dict[str, str], scheme: str, cap: int, maximum: float | None,
               t: float = 1.0) -> dict[str, float]:
    """Per task: its unit's rate (from the unit's examples, at most `cap`) times the task's share of them."""
    totals: dict[str, int] = {}
    for task, k in n.items():
        totals[unit[task]] = totals.get(unit[task], 0) + k
    out = {}
    for task, k in n.items():
        total = totals[unit[task]]
        r = rate(scheme, min(total, cap), cap, maximum, t)
        out[task] = r * k / total if total else 0.0
    return out


def cluster_shares(shares: dict[str, float], cluster: dict[str, str]) -> dict[str, float]:
    """Sum task shares per cluster (clusters in first-seen order)."""
    out: dict[str, float] = {}
    for task, s in shares.items():
        out[cluster[task]] = out.get(cluster[task], 0.0) + s
    return out


def shares(rates: dict[str, float]) -> dict[str, float]:
    """Normalise rates to sampling probabilities; an empty or all-zero mixture is an error."""
    total = sum(rates.values())
    if not rates or total <= 0:
        raise FlanlabError("the mixture is empty: no training task has any examples "
                           f"({', '.join(rates) or 'no tasks'})")
    return {k: v / total for k, v in rates.items()}
