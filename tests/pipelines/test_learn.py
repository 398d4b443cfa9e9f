import numpy as np
import pandas as pd
import pytest

from pipelines.learn import fit_platt, make_sample
from pipelines.split import time_windows


def test_platt_recovers_a_known_logistic_map():
    rng = np.random.default_rng(0)
    margin = rng.normal(0, 2, 20_000)
    y = (rng.random(20_000) < 1 / (1 + np.exp(-(0.5 * margin - 2)))).astype(float)
    cal = fit_platt(margin, y, np.ones_like(y), "test")
    assert cal.a == pytest.approx(0.5, abs=0.05)
    assert cal.b == pytest.approx(-2.0, abs=0.1)


def test_samples_of_each_strategy():
    inspected = np.array([True, True, False, False, True])
    violation = np.array([1, 0, np.nan, np.nan, 0])
    prop = np.array([0.5, 0.9, 0.1, 0.1, 0.02])
    s = make_sample("inspected", inspected, violation, None, 0.2, 0.01)
    assert list(s.rows) == [0, 1, 4] and list(s.y) == [1, 0, 0]
    ipw = make_sample("ipw", inspected, violation, prop, 0.2, 0.01)
    # The rarely-inspected line (p=0.02) carries the largest weight.
    assert ipw.w.argmax() == 2 and ipw.w.mean() == pytest.approx(1.0)
    pu = make_sample("pu", inspected, violation, None, 0.2, 0.01)
    assert sorted(pu.rows) == [0, 1, 2, 3, 4]
    assert list(pu.w[pu.y == 0][-2:]) == [0.2, 0.2]
    with pytest.raises(ValueError):
        make_sample("magic", inspected, violation, None, 0.2, 0.01)


def test_time_windows_are_ordered_and_disjoint():
    dates = pd.Series(pd.date_range("2024-01-01", "2025-06-30", freq="7D"))
    w = time_windows(dates, 3, 2)
    assert not (w.train & w.valid).any() and not (w.valid & w.test).any()
    assert dates[w.train].max() < dates[w.valid].min() <= dates[w.valid].max() < dates[w.test].min()
    assert w.months["test"] == ("2025-04", "2025-06")
    assert w.months["valid"] == ("2025-02", "2025-03")


def test_time_windows_refuse_too_little_history():
    with pytest.raises(ValueError, match="3 months"):
        time_windows(pd.Series(pd.to_datetime(["2024-01-01", "2024-02-01"])), 3, 3)
