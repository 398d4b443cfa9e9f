import numpy as np
import pandas as pd
import pytest

from models.features.history import PartyHistory, month_index


def _lines() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "entry_date": pd.to_datetime(
                ["2024-01-05", "2024-01-20", "2024-02-03", "2024-03-01", "2024-03-02"]
            ),
            "inspected": [True, True, False, True, False],
            "violation": [1.0, 0.0, np.nan, 1.0, np.nan],
            "risky": [True, False, False, True, True],
        }
    )


def test_month_index_orders_like_the_calendar():
    m = month_index(pd.Series(pd.to_datetime(["2023-12-31", "2024-01-01", "2024-02-10"])))
    assert list(np.diff(m)) == [1, 1]


def test_a_line_never_sees_its_own_month_or_later():
    lines = _lines()
    parties = pd.Series(["A", "A", "A", "A", "B"])
    hist = PartyHistory.fit("imp", parties, lines)
    feats = pd.DataFrame(
        hist.features(parties.to_numpy(object), month_index(lines["entry_date"]), prior_rate=0.1)
    )
    # January lines: nothing before them.
    assert feats["hist_imp_lines"].iloc[0] == 0.0
    assert np.isnan(feats["hist_imp_viol_rate"].iloc[0])
    # February sees both January lines (2 inspections, 1 violation), not itself.
    assert feats["hist_imp_lines"].iloc[2] == pytest.approx(np.log1p(2))
    assert feats["hist_imp_violations"].iloc[2] == 1
    # March sees January and February (3 lines) but not the March violation.
    assert feats["hist_imp_lines"].iloc[3] == pytest.approx(np.log1p(3))
    assert feats["hist_imp_violations"].iloc[3] == 1
    # Party B has no history at all.
    assert feats["hist_imp_lines"].iloc[4] == 0.0


def test_smoothing_pulls_small_samples_to_the_prior():
    lines = _lines()
    parties = pd.Series(["A"] * 5)
    hist = PartyHistory.fit("imp", parties, lines)
    later = hist.features(
        np.array(["A"], dtype=object), month_index(pd.to_datetime(["2025-01-01"])), 0.1
    )
    rate = later["hist_imp_viol_rate"][0]
    # 2 violations in 3 inspections, shrunk toward 0.1 with strength 5.
    assert rate == pytest.approx((2 + 5 * 0.1) / (3 + 5))


def test_json_round_trip_gives_identical_features():
    lines = _lines()
    parties = pd.Series(["A", "A", "B", "A", "B"])
    hist = PartyHistory.fit("mfr", parties, lines)
    again = PartyHistory.from_json(hist.to_json())
    months = month_index(lines["entry_date"]) + 1
    keys = parties.to_numpy(object)
    pd.testing.assert_frame_equal(
        pd.DataFrame(hist.features(keys, months, 0.2)),
        pd.DataFrame(again.features(keys, months, 0.2)),
    )


def test_a_history_fitted_on_no_known_party_gives_zero_counts():
    """A role no training line declared (every shipper missing) has an empty history table;
    every line then has none, and the lookup must not read a key that does not exist."""
    lines = _lines()
    hist = PartyHistory.fit("shp", pd.Series([None] * 5, dtype=object), lines)
    parties = np.array([None, "A", "B"], dtype=object)
    feats = hist.features(parties, month_index(pd.to_datetime(["2024-05-01"] * 3)), 0.1)
    assert list(feats["hist_shp_lines"]) == [0.0, 0.0, 0.0]
    assert list(feats["hist_shp_violations"]) == [0.0, 0.0, 0.0]
    assert np.isnan(feats["hist_shp_viol_rate"]).all()
    assert np.isnan(feats["hist_shp_months_known"]).all()
