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


@pytest.mark.parametrize("n_lines", [1, 5, 200])  # one lookup of all histories, and per history
def test_histories_looked_up_together_equal_each_history_alone(n_lines) -> None:
    from models.features.history import HistoryLookup, history_features

    rng = np.random.default_rng(n_lines)
    months_all = pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 400, 300), "D")
    frame = pd.DataFrame(
        {
            "entry_date": months_all,
            "inspected": rng.random(300) < 0.5,
            "violation": np.where(rng.random(300) < 0.3, 1.0, 0.0),
            "risky": rng.random(300) < 0.2,
        }
    )
    hists = [
        PartyHistory.fit("imp", pd.Series(rng.choice(["A", "B", "C"], 300)), frame),
        PartyHistory.fit("mfr", pd.Series(rng.choice(["X", "Y"], 300)), frame),
        PartyHistory.fit("hs6", pd.Series([None] * 300, dtype=object), frame),  # empty
    ]
    dates = pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n_lines), "D")
    months = month_index(dates)
    # Unknown and missing parties: an unknown party's code must not read the history before.
    parties = [
        rng.choice(np.array(["A", "B", "C", "Z", None], dtype=object), n_lines),
        rng.choice(np.array(["X", "Y", "A", np.nan], dtype=object), n_lines),
        rng.choice(np.array(["X", None], dtype=object), n_lines),
    ]
    together = history_features(HistoryLookup(hists), parties, months, 0.2)
    alone: dict[str, np.ndarray] = {}
    for hist, p in zip(hists, parties, strict=True):
        alone.update(hist.features(p, months, 0.2))
    assert list(together) == list(alone)
    for name, col in alone.items():
        assert together[name].dtype == col.dtype, name
        np.testing.assert_array_equal(together[name], col, err_msg=name)


def test_an_unknown_party_never_reads_the_previous_historys_last_party() -> None:
    from models.features.history import HistoryLookup, history_features

    lines = _lines()
    first = PartyHistory.fit("imp", pd.Series(["A"] * 5), lines)
    second = PartyHistory.fit("mfr", pd.Series(["B"] * 5), lines)
    months = month_index(pd.to_datetime(["2024-06-01"]))
    # "Q" is unknown to the second history: its code there (-1 + base 1) is A's code.
    out = history_features(
        HistoryLookup([first, second]),
        [np.array(["A"], dtype=object), np.array(["Q"], dtype=object)],
        months,
        0.1,
    )
    assert out["hist_imp_lines"][0] == pytest.approx(np.log1p(5))
    assert out["hist_mfr_lines"][0] == 0.0
    assert np.isnan(out["hist_mfr_months_known"][0])
