"""Fit step 1 without a booster: the windows applied, and only the train window fitted on.

``prepare`` is where the time split reaches the features: party histories, category lists
and value statistics come from the train window alone. These tests pin that on a small
simulated history (a second to build, no model trained), so a leak of the validation or
test months into the feature state fails here, next to its cause, and not only in the leak
guard that trains every booster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.reader import read_entry_lines
from models.features.cache import SignalCache
from models.features.matrix import fit_feature_state
from pipelines.config import SplitConfig, load_config
from pipelines.prepare import Prepared, features, prepare
from pipelines.split import time_windows


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """1,332 labelled lines over 21 months (2024-01 .. 2025-09), in time order."""
    from pipelines.simulate import run

    out = tmp_path_factory.mktemp("prepare")
    run(out=out, lines=1500, seed=5)
    return read_entry_lines(out / "train.csv", require_labels=True).frame


@pytest.fixture(scope="module")
def split() -> SplitConfig:
    return load_config(None).split


# Prepared again for every test (half a second): mutmut runs a mutant of ``prepare`` against
# the tests that call it, and a module-scoped result would count for the first test only.
@pytest.fixture
def prepared(history: pd.DataFrame, split: SplitConfig) -> Prepared:
    return prepare(history, {}, split)


def _state_json(p: Prepared) -> dict[str, object]:
    return p.state.to_json()


def test_rows_of_each_window_are_the_time_split_in_order(
    history: pd.DataFrame, split: SplitConfig, prepared: Prepared
) -> None:
    w = time_windows(history["entry_date"], split.test_months, split.valid_months)
    np.testing.assert_array_equal(prepared.train, np.flatnonzero(w.train))
    np.testing.assert_array_equal(prepared.valid, np.flatnonzero(w.valid))
    np.testing.assert_array_equal(prepared.test, np.flatnonzero(w.test))
    # Three non-empty windows that cover every line once, earliest months first.
    assert min(len(prepared.train), len(prepared.valid), len(prepared.test)) > 100
    everything = np.concatenate([prepared.train, prepared.valid, prepared.test])
    np.testing.assert_array_equal(everything, np.arange(len(history)))
    assert prepared.windows.months == w.months
    dates = history["entry_date"].to_numpy()
    assert dates[prepared.train].max() < dates[prepared.valid].min()
    assert dates[prepared.valid].max() < dates[prepared.test].min()


def test_the_feature_state_is_fitted_on_the_train_window_only(
    history: pd.DataFrame, prepared: Prepared
) -> None:
    own = fit_feature_state(prepared.lines.take(prepared.train), SignalCache())
    assert _state_json(prepared) == own.to_json()
    # Not the state of every line: the later months hold lines the train window has not.
    every = fit_feature_state(prepared.lines, SignalCache())
    assert _state_json(prepared) != every.to_json()


def test_outcomes_and_values_of_later_months_change_nothing_fitted(
    history: pd.DataFrame, split: SplitConfig, prepared: Prepared
) -> None:
    later = np.concatenate([prepared.valid, prepared.test])
    changed = history.copy()
    rng = np.random.default_rng(1)
    order = rng.permutation(later)
    for col in ("inspected", "inspection_reason", "violation", "declared_value_usd"):
        values = changed[col].to_numpy(copy=True)
        values[later] = values[order]
        changed[col] = values
    assert not changed["violation"].equals(history["violation"])
    again = prepare(changed, {}, split)
    assert _state_json(again) == _state_json(prepared)
    pd.testing.assert_frame_equal(
        again.X.iloc[prepared.train], prepared.X.iloc[prepared.train], check_exact=True
    )


def test_outcomes_of_the_train_window_do_reach_the_feature_state(
    history: pd.DataFrame, split: SplitConfig, prepared: Prepared
) -> None:
    # The converse of the test above, so that it cannot pass on a state fitted on nothing.
    changed = history.copy()
    train = prepared.train
    changed.loc[changed.index[train], "inspected"] = True
    changed.loc[changed.index[train], "violation"] = 1.0
    again = prepare(changed, {}, split)
    assert again.state.prior_rate == 1.0
    assert prepared.state.prior_rate < 0.5


def test_features_of_every_line_fit_on_every_line_when_no_rows_are_given(
    prepared: Prepared,
) -> None:
    state, X = features(prepared.lines, None, prepared.cache, prepared.signal_columns)
    assert state.to_json() == fit_feature_state(prepared.lines, SignalCache()).to_json()
    assert len(X) == len(prepared.lines)
    assert list(X.columns) == state.feature_names


def test_features_of_every_line_under_the_train_state(prepared: Prepared) -> None:
    assert len(prepared.X) == len(prepared.frame)
    assert list(prepared.X.columns) == prepared.state.feature_names
    # Lines outside the train window are built too (the state only comes from train rows).
    assert prepared.X.iloc[prepared.test].notna().any().all()


def test_labels_read_unlabelled_lines_as_not_inspected(history: pd.DataFrame) -> None:
    frame = history.head(400).copy()
    frame["inspected"] = frame["inspected"].astype(object)
    frame.loc[frame.index[:3], "inspected"] = None
    frame.loc[frame.index[3], "inspected"] = True
    frame.loc[frame.index[3], "inspection_reason"] = "random"
    frame.loc[frame.index[4], "inspected"] = True
    frame.loc[frame.index[4], "inspection_reason"] = "targeted"
    frame.loc[frame.index[5], "inspected"] = False
    frame.loc[frame.index[5], "inspection_reason"] = "random"
    # A missing flag read as NaN (not None) is not inspected either, random or not.
    frame.loc[frame.index[6], "inspected"] = np.nan
    frame.loc[frame.index[6], "inspection_reason"] = "random"
    # Outcomes as a mapped file may give them: objects, with None where not inspected.
    frame["violation"] = frame["violation"].astype(object)
    p = prepare(frame, {}, SplitConfig(test_months=1, valid_months=1))
    assert p.inspected.dtype == np.bool_
    assert list(p.inspected[:7]) == [False, False, False, True, True, False, False]
    # A random inspection counts only where the line was inspected.
    assert list(p.random[:7]) == [False, False, False, True, False, False, False]
    assert p.violation.dtype == np.float64
    want_random = (frame["inspected"].fillna(False).astype(bool)) & (
        frame["inspection_reason"] == "random"
    )
    np.testing.assert_array_equal(p.random, want_random.to_numpy())


def test_missing_flags_of_a_nullable_boolean_column_are_not_inspected(
    history: pd.DataFrame,
) -> None:
    # Arrow-backed readers give a nullable ``boolean`` column, whose missing values NumPy
    # cannot turn into booleans unless they are filled first.
    frame = history.head(400).copy()
    flags = frame["inspected"].astype("boolean")
    flags.iloc[:2] = pd.NA
    frame["inspected"] = flags
    p = prepare(frame, {}, SplitConfig(test_months=1, valid_months=1))
    assert p.inspected.dtype == np.bool_
    assert not p.inspected[:2].any()
    np.testing.assert_array_equal(p.inspected[2:], flags.iloc[2:].to_numpy(dtype=bool))


def test_counts_for_the_model_card(prepared: Prepared, history: pd.DataFrame) -> None:
    inspected = history["inspected"].fillna(False).astype(bool)
    assert prepared.counts() == {
        "lines": len(history),
        "inspected": int(inspected.sum()),
        "random": int((inspected & (history["inspection_reason"] == "random")).sum()),
        "violations": int((history["violation"] == 1).sum()),
    }
    assert 0 < prepared.counts()["random"] < prepared.counts()["inspected"] < len(history)
    assert prepared.all_inspected is False


def test_all_inspected_when_every_line_was(history: pd.DataFrame) -> None:
    frame = history.head(400).copy()
    frame["inspected"] = True
    frame["violation"] = frame["violation"].fillna(0.0)
    p = prepare(frame, {}, SplitConfig(test_months=1, valid_months=1))
    assert p.all_inspected is True
    assert p.counts()["inspected"] == 400


def test_tips_give_the_tip_features_counted_as_known_on_each_entry_date(
    history: pd.DataFrame, split: SplitConfig
) -> None:
    """A tip counts from its receipt, and as corroborated only for lines entered after that."""
    from models.features.tips import TIP_FEATURES, TipIndex
    from models.reference.entities import normalize_name

    firm = history["manufacturer_name"].value_counts().index[0]
    days = history.loc[history["manufacturer_name"] == firm, "entry_date"].sort_values()
    received, corroborated = days.iloc[4], days.iloc[12]
    assert days.iloc[0] < received < corroborated < days.iloc[-1]
    party = {"role": "manufacturer", "name": firm, "name_key": None, "party_id": None}
    tips = TipIndex.from_tips(
        [
            {
                "id": 1,
                "received_date": received.date().isoformat(),
                "source_type": "ngo",
                "status": "corroborated",
                "duplicate_of": None,
                "corroborated_at": corroborated.date().isoformat(),
                "dismissed_at": None,
                "parties": [party],
            }
        ]
    )
    p = prepare(history, {}, split, tips=tips)
    assert p.tips is tips  # the later steps (the model card, the tip reasons) read them here
    assert p.state.tips and set(TIP_FEATURES) <= set(p.X.columns)
    entry = history["entry_date"].to_numpy()
    # The tip names the firm as the entity lists match names: however its lines spell it.
    named = (history["manufacturer_name"].map(normalize_name) == normalize_name(firm)).to_numpy()
    want_new = named & (entry >= received.to_datetime64()) & (entry <= corroborated.to_datetime64())
    want_corroborated = named & (entry > corroborated.to_datetime64())
    assert want_new.sum() >= 8 and want_corroborated.sum() >= 5
    np.testing.assert_array_equal(p.X["tip_mfr_new"].to_numpy(), want_new.astype(float))
    np.testing.assert_array_equal(
        p.X["tip_mfr_corroborated"].to_numpy(), want_corroborated.astype(float)
    )
    # Fitted on every line (no rows given), the same tips give the same counts.
    state, X = features(p.lines, None, SignalCache(), p.signal_columns, tips)
    assert state.tips
    pd.testing.assert_frame_equal(X[list(TIP_FEATURES)], p.X[list(TIP_FEATURES)])
    # Without tips, the model has no tip features.
    plain = prepare(history, {}, split)
    assert not plain.state.tips and not set(TIP_FEATURES) & set(plain.X.columns)


def test_pass_through_columns_reach_the_lines_the_state_and_the_features(
    history: pd.DataFrame, split: SplitConfig
) -> None:
    """A mapping's extra columns, declared numeric or categorical, are the model's too."""
    frame = history.copy()
    rng = np.random.default_rng(2)
    # Numbers as the text a mapped file gives: numeric only because the mapping says so.
    frame["audit_score"] = [f"{v:.2f}" for v in rng.uniform(0, 100, len(frame))]
    frame["supplier_tier"] = rng.choice(["tier1", "tier2", "tier3"], len(frame))
    kinds = {"audit_score": "numeric", "supplier_tier": "categorical"}
    p = prepare(frame, kinds, split)
    assert p.lines.passthrough == kinds and p.state.passthrough == kinds
    np.testing.assert_array_equal(
        p.X["audit_score"].to_numpy(), frame["audit_score"].astype(float).to_numpy()
    )
    assert "supplier_tier" in p.X.columns


def test_the_signals_frame_holds_every_lines_derived_signals(prepared: Prepared) -> None:
    from models.features.signals import derive_signals, signal_frame

    assert len(prepared.signals) == len(prepared.frame)
    assert set(prepared.signals.columns) == set(prepared.signal_columns)
    fresh = signal_frame(derive_signals(prepared.lines, SignalCache()))
    pd.testing.assert_frame_equal(prepared.signals, fresh)


def test_features_are_fitted_and_built_on_the_signals_given(prepared: Prepared) -> None:
    """Training derives the signals once and hands them on: ``features`` must use those.

    Every party's key is replaced by one key, which the lines themselves would never give;
    the state's party histories and the features must follow the signals given, not
    signals derived again from the lines.
    """
    from models.features.matrix import build_features, model_frame

    given = dict(prepared.signal_columns)
    given["mfr_key"] = np.full(len(prepared.lines), "one maker", dtype=object)
    rows = prepared.train
    state, X = features(prepared.lines, rows, prepared.cache, given)
    want = fit_feature_state(
        prepared.lines.take(rows), signals={c: v[rows] for c, v in given.items()}
    )
    assert state.to_json() == want.to_json()
    assert state.to_json() != prepared.state.to_json()
    built = build_features(
        prepared.lines, want, signals=given, status_as_of=prepared.lines["entry_date"]
    )
    pd.testing.assert_frame_equal(X, model_frame(built, want), check_exact=True)
    assert not X.equals(prepared.X)


def test_the_memo_filled_by_the_signals_is_handed_on(prepared: Prepared) -> None:
    # Evaluation and the model card score the same lines again through ``prepared.cache``:
    # it must hold what deriving the signals looked up, not be a fresh, empty memo.
    assert prepared.cache.parties and prepared.cache.entities and prepared.cache.places
    assert set(prepared.frame["manufacturer_name"].dropna()) <= set(prepared.cache.entities) | set(
        prepared.cache.parties
    )
