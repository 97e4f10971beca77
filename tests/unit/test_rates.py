"""Mixing rates and shares against hand-computed values."""

from __future__ import annotations

import pytest

from flanlab.errors import FlanlabError
from flanlab.mixtures import rates as R


def test_examples_proportional_paper_values():
    assert R.examples_proportional(392_702, cap=30_000, maximum=3_000) == 3000.0  # MNLI: capped by the maximum
    assert R.examples_proportional(2_490, cap=30_000, maximum=3_000) == 2490.0    # RTE: its own size
    assert R.examples_proportional(40_000, cap=30_000, maximum=None) == 30000.0   # no maximum: the cap
    assert R.examples_proportional(0) == 0.0


def test_equal_and_temperature():
    assert R.equal(5) == 1.0 and R.equal(0) == 0.0
    assert R.temperature(2_500, cap=30_000, maximum=3_000, t=2.0) == pytest.approx(50.0)
    assert R.temperature(2_500, t=1.0) == R.examples_proportional(2_500)
    assert R.rate("temperature", 900, 30_000, None, 2.0) == pytest.approx(30.0)


def test_shares_hand_computed():
    # rte 2490, mnli 392702 -> 3000, copa 400: total 5890
    rates = {t: R.rate("examples_proportional", n, 30_000, 3_000) for t, n in
             {"rte": 2490, "mnli": 392_702, "copa": 400}.items()}
    s = R.shares(rates)
    assert s == pytest.approx({"rte": 2490 / 5890, "mnli": 3000 / 5890, "copa": 400 / 5890})
    assert sum(s.values()) == pytest.approx(1.0)
    # temperature 2: sqrt(2490), sqrt(3000), sqrt(400)=20
    t = R.shares({k: R.rate("temperature", n, 30_000, 3_000, 2.0) for k, n in
                  {"rte": 2490, "mnli": 392_702, "copa": 400}.items()})
    tot = 2490 ** .5 + 3000 ** .5 + 20
    assert t["copa"] == pytest.approx(20 / tot)
    assert R.shares({k: R.rate("equal", 5, 30_000, 3_000) for k in "abcd"}) == {k: 0.25 for k in "abcd"}


def test_bad_input():
    with pytest.raises(FlanlabError, match="cap must be at least 1"):
        R.examples_proportional(10, cap=0)
    with pytest.raises(FlanlabError, match="temperature must be positive"):
        R.temperature(10, t=0)
    with pytest.raises(FlanlabError, match="maximum must be positive"):
        R.examples_proportional(10, maximum=0)
    with pytest.raises(FlanlabError, match="unknown mixing scheme 'prop'"):
        R.rate("prop", 1, 1, 1)
    with pytest.raises(FlanlabError, match="the mixture is empty"):
        R.shares({"a": 0.0})
    with pytest.raises(FlanlabError, match="the mixture is empty"):
        R.shares({})
