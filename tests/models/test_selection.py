"""The one selection of lines to examine: the riskiest plus an exploration share at random."""

from __future__ import annotations

import numpy as np
import pytest

from models.selection import RANDOM_CHECK, RISK, random_count, seed_of, select


def _scores(n: int = 1000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(n)


def test_the_share_of_random_checks_is_the_explore_share() -> None:
    s = _scores()
    sel = select(s, 200, explore=0.05, seed=1)
    assert len(sel.random) == 10 and len(sel.risk) == 190
    assert (sel.kind == RANDOM_CHECK).sum() == 10 and (sel.kind == RISK).sum() == 190
    assert sel.capacity == 200
    # A larger share takes more; rounding is half up, and a positive share takes at least one.
    assert len(select(s, 200, explore=0.2, seed=1).random) == 40
    assert random_count(10, 0.05) == 1 and random_count(30, 0.05) == 2 and random_count(0, 0.5) == 0


def test_risk_picks_are_the_top_and_random_picks_never_come_from_it() -> None:
    s = _scores()
    sel = select(s, 100, explore=0.1, seed=3)
    top = np.argsort(-s, kind="stable")
    assert list(sel.risk) == list(top[:90])
    assert not set(sel.random) & set(top[:90])
    # No item chosen twice.
    assert len(set(sel.chosen)) == len(sel.chosen) == 100


def test_the_same_seed_gives_the_same_draw_and_another_seed_another() -> None:
    s = _scores()
    a, b = select(s, 300, 0.1, seed=7), select(s, 300, 0.1, seed=7)
    assert list(a.random) == list(b.random)
    assert list(select(s, 300, 0.1, seed=8).random) != list(a.random)


def test_zero_explore_is_the_plain_top() -> None:
    s = _scores()
    sel = select(s, 50, explore=0.0, seed=1)
    assert len(sel.random) == 0 and sel.expected_cost == 0.0
    assert list(sel.risk) == list(np.argsort(-s, kind="stable")[:50])


def test_expected_cost_is_displaced_risk_minus_expected_finds_of_the_picks() -> None:
    s = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.05, 0.02, 0.01, 0.0, 0.0])
    sel = select(s, 4, explore=0.5, seed=2)
    assert list(sel.risk) == [0, 1]
    displaced = 0.7 + 0.6
    assert sel.expected_cost == pytest.approx(displaced - s[sel.random].sum())
    assert sel.expected_found == pytest.approx(0.9 + 0.8 + s[sel.random].sum())


def test_stratified_picks_are_shared_among_strata_by_size() -> None:
    n = 1000
    s = _scores(n)
    strata = np.array(["61"] * 600 + ["52"] * 300 + ["85"] * 100, dtype=object)
    sel = select(s, 220, explore=20 / 220, seed=5, strata=strata)
    assert len(sel.random) == 20
    got = {g: int((strata[sel.random] == g).sum()) for g in ("61", "52", "85")}
    rest = np.setdiff1d(np.arange(n), sel.risk)
    share = {g: (strata[rest] == g).mean() * 20 for g in got}
    for g in got:  # largest remainder: within one of the exact share
        assert abs(got[g] - share[g]) < 1
    # A stratum as small as the quota gives all it has; the random ones still avoid the top.
    assert not set(sel.random) & set(sel.risk)


def test_capacity_beyond_the_items_selects_them_all_once() -> None:
    sel = select(np.array([0.3, 0.2, 0.1]), 10, explore=0.5, seed=0)
    assert sorted(sel.chosen) == [0, 1, 2] and sel.capacity == 3


def test_bad_share_or_strata_are_refused() -> None:
    with pytest.raises(ValueError, match="explore"):
        select(np.array([0.1]), 1, explore=1.5)
    with pytest.raises(ValueError, match="strata"):
        select(np.array([0.1, 0.2]), 1, strata=np.array(["a"]))


def test_seed_of_an_id_is_documented_and_stable() -> None:
    assert seed_of("0000002a" + "f" * 24) == 42
    assert seed_of("req-abc") == seed_of("req-abc") != seed_of("req-abd")


def test_presumed_items_are_taken_for_risk_before_any_other():
    scores = np.array([0.9, 0.1, 0.8, 0.05, 0.7])
    presumed = np.array([False, True, False, True, False])
    sel = select(scores, 3, 0.0, 1, None, presumed)
    # The law first (items 1 and 3, by score within), then the riskiest other (0).
    assert sel.risk.tolist() == [1, 3, 0]
