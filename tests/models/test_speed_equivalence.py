"""The optimised feature code gives exactly what the code before the speed work gave.

``frozen_v0`` is a verbatim copy of ``signals``, ``features``, ``history`` and ``valuestats``
as they were before they were rewritten to compute once per distinct value. Both run on the
same simulated lines (fixed seed, generated here: no committed snapshot) and must agree to
the bit: signals, fitted state, model matrix, margins and scores, across chunks that share
one cache.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from frozen_v0 import features as old_features
from frozen_v0 import signals as old_signals

from models.contract.reader import read_entry_lines
from models.features import matrix as new_features
from models.features import signals as new_signals
from models.scoring.bundle import Calibration, ModelBundle
from models.scoring.scorer import Scorer, calibrate


@pytest.fixture(scope="module")
def lines(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame]:
    from pipelines.simulate import run

    out: Path = tmp_path_factory.mktemp("sim-equiv")
    run(out=out, lines=12_000, seed=11)
    train = read_entry_lines(out / "train.csv", require_labels=True).frame
    score = read_entry_lines(out / "score.csv").frame
    return train, score


@pytest.fixture(scope="module")
def states(lines: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[object, new_features.FeatureState]:
    train, _ = lines
    return old_features.fit_feature_state(train), new_features.fit_feature_state(train)


def _bundle(
    train: pd.DataFrame, X_train: pd.DataFrame, state: new_features.FeatureState, cal: Calibration
) -> ModelBundle:
    """A small model on ``X_train`` (target: inspected), bundled with ``state``."""
    params = {"objective": "binary", "num_leaves": 15, "verbosity": -1, "num_threads": 1}
    booster = lgb.train(params, lgb.Dataset(X_train, train["inspected"].astype(float)), 20)
    return ModelBundle(booster, state, cal, {"high": 0.5, "elevated": 0.2}, {})


def test_signals_identical_across_chunks(lines: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    train, score = lines
    old_cache, new_cache = old_signals.SignalCache(), new_signals.SignalCache()
    # Three chunks through one cache each: the second and third reuse memoised values.
    for part in (train.iloc[:5000], train.iloc[5000:], score):
        expected = old_signals.derive_signals(part, old_cache)
        got = new_signals.derive_signals(part, new_cache)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_state_and_features_identical(
    lines: tuple[pd.DataFrame, pd.DataFrame], states: tuple[object, new_features.FeatureState]
) -> None:
    train, score = lines
    old_state, new_state = states
    assert json.dumps(new_state.to_json(), sort_keys=True) == json.dumps(
        old_state.to_json(),  # type: ignore[attr-defined]
        sort_keys=True,
    )
    for frame in (train, score, score.iloc[::7]):
        expected = old_features.build_features(frame, old_state)
        got = new_features.build_features(frame, new_state)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_scores_identical(
    lines: tuple[pd.DataFrame, pd.DataFrame], states: tuple[object, new_features.FeatureState]
) -> None:
    train, score = lines
    old_state, new_state = states
    cal = Calibration(a=0.9, b=-0.2)
    bundle = _bundle(train, old_features.build_features(train, old_state), new_state, cal)
    booster = bundle.booster
    expected = calibrate(
        np.asarray(booster.predict(old_features.build_features(score, old_state), raw_score=True)),
        cal,
    )
    scorer = Scorer(bundle)
    got = scorer.score(score, reasons=3, explain_share=0.1)
    np.testing.assert_array_equal(got["risk_score"].to_numpy(), expected)
    as_json = scorer.score(score, reasons=3, explain_share=0.1, as_json=True)
    assert as_json["reasons"].tolist() == [
        json.dumps(r, ensure_ascii=False) for r in got["reasons"]
    ]
    assert (as_json["reasons"] == "[]").sum() == len(score) - int(np.ceil(0.1 * len(score)))


def test_small_batches_identical(
    lines: tuple[pd.DataFrame, pd.DataFrame], states: tuple[object, new_features.FeatureState]
) -> None:
    """Small batches take the array path (no Arrow columns): still the frozen results."""
    _, score = lines
    old_state, new_state = states
    old_cache, new_cache = old_signals.SignalCache(), new_signals.SignalCache()
    # One line, a few lines (dict factorising), a few hundred (arrays, pandas factorising);
    # the first chunk sees a cold cache, the later ones reuse it.
    for part in (score.iloc[[3]], score.iloc[10:47], score.iloc[::29], score.iloc[[0, 5, 5]]):
        expected = old_signals.derive_signals(part, old_cache)
        got = new_signals.derive_signals(part, new_cache)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        pd.testing.assert_frame_equal(
            new_features.build_features(part, new_state, new_cache),
            old_features.build_features(part, old_state),
            check_exact=True,
        )


def test_reader_arrays_score_exactly_like_the_frame(
    lines: tuple[pd.DataFrame, pd.DataFrame], states: tuple[object, new_features.FeatureState]
) -> None:
    """The API's path (records -> ``ReadResult.arrays``) scores as ``flrisk score``'s frame."""
    from models.contract.reader import validate_records

    train, score = lines
    _, new_state = states
    X_train = new_features.build_features(train, new_state)
    bundle = _bundle(train, X_train, new_state, Calibration(1.0, 0.0))
    text = score.drop(columns=["inspected", "inspection_reason", "violation"]).astype(object)
    text["entry_date"] = score["entry_date"].dt.strftime("%Y-%m-%d")
    for part in (text.iloc[[3]], text.iloc[10:47]):
        records = {c: [None if pd.isna(v) else str(v) for v in part[c]] for c in part.columns}
        read = validate_records(records)
        assert read.arrays is not None
        for c, arr in read.arrays.items():
            pd.testing.assert_series_equal(pd.Series(arr), pd.Series(read.frame[c].to_numpy()))
        with_arrays = Scorer(bundle).score(read.frame, reasons=3, arrays=read.arrays)
        from_frame = Scorer(bundle).score(read.frame, reasons=3)
        pd.testing.assert_frame_equal(with_arrays, from_frame, check_exact=True)
