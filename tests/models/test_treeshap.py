"""The precomputed TreeSHAP gives LightGBM's ``pred_contrib``, per line, in any batch."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from models.contract.reader import read_entry_lines
from models.features.matrix import build_features
from models.features.signals import derive_signals
from models.scoring.bundle import load_bundle
from models.scoring.scorer import Scorer
from models.scoring.treeshap import MAX_PATH_FEATURES, TreeShap
from models.scoring.treeshap_sums import SumPlan

FIXTURE = Path(__file__).parents[1] / "fixtures" / "scoring"


@pytest.fixture(scope="module")
def recorded() -> tuple[Scorer, np.ndarray]:
    """The recorded fixture's scorer and its lines' model matrix."""
    scorer = Scorer(load_bundle(FIXTURE / "bundle", num_threads=1))
    lines = read_entry_lines(FIXTURE / "lines.csv").lines
    signals = derive_signals(lines, scorer.cache)
    X = build_features(lines, scorer.bundle.state, signals=signals)
    data = scorer._matrix(X, len(lines))
    assert isinstance(data, np.ndarray)
    return scorer, np.ascontiguousarray(data)


def test_the_recorded_model_is_explained_as_lightgbm_does(
    recorded: tuple[Scorer, np.ndarray],
) -> None:
    scorer, data = recorded
    shap = scorer.tree_shap()
    assert shap is not None  # the model flrisk trains is one the tables stand for
    expected = np.asarray(scorer.bundle.booster.predict(data, pred_contrib=True, num_threads=1))
    got = shap.contributions(data)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # The scorer explains with the tables, not with LightGBM.
    assert np.array_equal(scorer.contributions(data[:50]), got[:50])


def test_a_line_gets_the_same_values_alone_as_in_any_batch(
    recorded: tuple[Scorer, np.ndarray],
) -> None:
    scorer, data = recorded
    shap = scorer.tree_shap()
    assert shap is not None
    whole = shap.contributions(data)
    for i in (0, 7, len(data) - 1):
        assert np.array_equal(shap.contributions(data[i : i + 1])[0], whole[i])
    # Blocks of a large batch are computed apart: the values do not depend on them.
    assert np.array_equal(shap.contributions(np.repeat(data[:3], 1500, axis=0))[-1], whole[2])


def _booster(params: dict[str, object], categorical: bool) -> tuple[lgb.Booster, np.ndarray]:
    rng = np.random.default_rng(3)
    n = 4000
    X = rng.normal(size=(n, 5))
    X[:, 3] = rng.integers(0, 9, size=n)  # a category code
    X[rng.random(n) < 0.15, 0] = np.nan
    X[rng.random(n) < 0.2, 1] = 0.0  # zeros: missing under zero_as_missing
    X[rng.random(n) < 0.1, 3] = np.nan
    y = (
        (np.nan_to_num(X[:, 0]) + X[:, 1] > 0.3) ^ np.isin(X[:, 3], [2, 5, 7]) ^ (X[:, 4] > 1)
    ).astype(int)
    data = lgb.Dataset(X, y, categorical_feature=[3] if categorical else "auto")
    base = {"objective": "binary", "verbose": -1, "num_leaves": 15, "max_depth": 5}
    booster = lgb.train({**base, **params}, data, num_boost_round=25)
    test = rng.normal(size=(600, 5))
    test[:, 3] = rng.integers(-1, 12, size=600)  # unseen and negative codes too
    test[::7, 0] = np.nan
    test[::5, 1] = 0.0
    test[::11, 3] = np.nan
    test[::13, 2] = np.nan  # missing where training had none (missing type None)
    return booster, test


@pytest.mark.parametrize(
    ("params", "categorical"),
    [({}, True), ({"zero_as_missing": True}, False), ({"use_missing": False}, True)],
    ids=["nan-and-categories", "zero-as-missing", "no-missing"],
)
def test_every_kind_of_split_is_decided_as_lightgbm_decides_it(
    params: dict[str, object], categorical: bool
) -> None:
    booster, test = _booster(params, categorical)
    shap = TreeShap.of(booster)
    assert shap is not None
    expected = booster.predict(test, pred_contrib=True)
    np.testing.assert_allclose(shap.contributions(test), expected, rtol=0, atol=1e-12)


def test_a_model_with_longer_paths_is_left_to_lightgbm() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(3000, MAX_PATH_FEATURES + 4))
    y = (X.sum(axis=1) > 0).astype(int)
    params = {"objective": "binary", "verbose": -1, "num_leaves": 255, "max_depth": -1,
              "min_data_in_leaf": 2}  # fmt: skip
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=5)
    assert TreeShap.of(booster) is None


def _reduceat(terms: np.ndarray, counts: list[int]) -> np.ndarray:
    """Each feature's sum as first validated: reduceat over each line's slots."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    return np.add.reduceat(np.ascontiguousarray(terms.T), starts, axis=1).T


def _planned(terms: np.ndarray, counts: list[int]) -> np.ndarray:
    """Each feature's sum by the plan, back in feature order."""
    plan = SumPlan(counts)
    got = plan(np.ascontiguousarray(terms[plan.order]))
    out = np.full_like(got, np.nan)
    out[plan.features] = got
    return out


def _terms(rng: np.random.Generator, n: int, lines: int = 40) -> np.ndarray:
    # Magnitudes 1e-8 to 1e2 per slot: sums whose order shows in the last bits.
    return rng.normal(size=(n, lines)) * 10.0 ** rng.integers(-8, 3, size=(n, 1))


@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 16, 23, 128, 129, 130, 300, 1031])
def test_each_features_sum_is_numpys_reduceat_to_the_bit(n: int) -> None:
    """Large batches sum a feature's terms in steps, in NumPy's own order for one line."""
    rng = np.random.default_rng(n)
    counts = [2, 1, n, 2]
    terms = _terms(rng, sum(counts))
    assert np.array_equal(_planned(terms, counts), _reduceat(terms, counts))


@pytest.mark.parametrize("seed", range(6))
def test_features_of_every_length_together_are_summed_as_each_alone(seed: int) -> None:
    """Many features of mixed lengths share each step; each still gets reduceat's bits."""
    rng = np.random.default_rng(100 + seed)
    counts = [int(c) for c in rng.choice([1, 2, 3, 8, 9, 15, 16, 17, 40, 129, 140, 260], 30)]
    terms = _terms(rng, sum(counts), lines=17)
    expected = _reduceat(terms, counts)
    assert np.array_equal(_planned(terms, counts), expected)
    for f in (0, 11, 29):  # a feature alone sums as it does among the others
        lo = sum(counts[:f])
        alone = _planned(terms[lo : lo + counts[f]], [counts[f]])
        assert np.array_equal(alone[0], expected[f])


def test_the_plan_lays_out_every_slot_once_and_every_feature_once() -> None:
    counts = [1, 3, 9, 200, 1, 17, 8, 130]
    plan = SumPlan(counts)
    assert sorted(plan.order.tolist()) == list(range(sum(counts)))
    assert sorted(plan.features.tolist()) == list(range(len(counts)))


def test_a_sign_of_zero_is_kept_as_reduceat_keeps_it() -> None:
    """No padding term is ever added: -0.0 sums stay -0.0 (a rounded reason shows it)."""
    counts = [1, 2, 9]
    terms = np.full((12, 3), -0.0)
    got = _planned(terms, counts)
    assert np.array_equal(np.signbit(got), np.signbit(_reduceat(terms, counts)))
    assert np.signbit(got).all()


def test_large_batches_are_explained_by_the_plan_small_ones_by_reduceat(
    recorded: tuple[Scorer, np.ndarray],
) -> None:
    """Both paths of the recorded model give the same bits, line by line."""
    scorer, data = recorded
    shap = scorer.tree_shap()
    assert shap is not None
    lines = np.repeat(data, -(-300 // len(data)), axis=0)[:300]  # above the small size
    big = shap.contributions(lines)
    for i in range(0, 300, 37):
        assert np.array_equal(shap.contributions(lines[i : i + 1])[0], big[i])


def test_a_model_of_one_leaf_trees_is_all_bias() -> None:
    """No split anywhere (too few lines to split): every line gets the bias alone."""
    rng = np.random.default_rng(9)
    X = rng.random((200, 3))
    y = np.r_[np.zeros(199), 1]
    params = {"objective": "binary", "verbose": -1, "min_data_in_leaf": 150}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=3)
    shap = TreeShap.of(booster)
    assert shap is not None
    expected = booster.predict(X, pred_contrib=True)
    assert np.array_equal(shap.contributions(X), expected)
    assert np.all(expected[:, :-1] == 0)
