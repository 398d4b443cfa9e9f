import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.scoring.bundle import Calibration
from pipelines.config import LightGBMConfig
from pipelines.learn import (
    Sample,
    calibrated_scores,
    fit_booster,
    fit_platt,
    fit_propensity,
    lgb_params,
    make_sample,
)
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
    with pytest.raises(ValueError, match="unknown strategy 'magic'"):
        make_sample("magic", inspected, violation, None, 0.2, 0.01)
    with pytest.raises(ValueError, match="ipw needs a propensity"):
        make_sample("ipw", inspected, violation, None, 0.2, 0.01)


def test_ipw_weights_are_inverse_propensities_clipped_at_the_floor_mean_one():
    inspected = np.array([True, True, True, False])
    violation = np.array([1.0, 0.0, 1.0, np.nan])
    prop = np.array([0.5, 0.25, 0.001, 0.3])  # the third is below the floor of 0.1
    s = make_sample("ipw", inspected, violation, prop, 0.2, 0.1)
    raw = np.array([2.0, 4.0, 10.0])
    np.testing.assert_allclose(s.w, raw / raw.mean())
    assert s.y.dtype == np.float64 and list(s.y) == [1.0, 0.0, 1.0]


def test_pu_draws_a_share_of_the_unlabelled_lines_and_scales_their_weight():
    n = 4000
    inspected = np.zeros(n, dtype=bool)
    inspected[:100] = True
    violation = np.where(inspected, 0.0, np.nan)
    s = make_sample("pu", inspected, violation, None, 0.2, 0.01, pu_sample=0.25, seed=5)
    unl = s.rows[100:]
    assert 900 < len(unl) < 1100 and not inspected[unl].any()
    np.testing.assert_allclose(s.w[100:], 0.8)  # 0.2 / 0.25: the expected loss is unchanged
    again = make_sample("pu", inspected, violation, None, 0.2, 0.01, pu_sample=0.25, seed=5)
    np.testing.assert_array_equal(again.rows, s.rows)


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


def _cfg(**loop: object) -> LightGBMConfig:
    table = {"objective": "binary", "learning_rate": 0.3, "num_leaves": 4,
             "min_data_in_leaf": 5, "seed": 1, "num_boost_round": 40,
             "early_stopping_rounds": 3, "monotone_increasing": [], **loop}  # fmt: skip
    return LightGBMConfig.from_table(table)


def _data(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"signal": rng.normal(size=n), "noise": rng.normal(size=n)})
    y = (rng.random(n) < 1 / (1 + np.exp(-3 * X["signal"].to_numpy()))).astype(float)
    return X, y


def test_lgb_params_are_deterministic_and_keep_the_configured_ones():
    p = lgb_params(_cfg(), num_threads=3)
    assert p["metric"] == "binary_logloss" and p["learning_rate"] == 0.3
    assert (p["deterministic"], p["force_row_wise"], p["verbosity"]) == (True, True, -1)
    assert p["num_threads"] == 3
    assert lgb_params(_cfg(metric="auc"), 1)["metric"] == "auc"


def test_fit_booster_without_validation_runs_every_round_and_learns_the_signal():
    X, y = _data()
    rows = np.arange(len(y))
    b = fit_booster(X, Sample(rows, y, np.ones(len(y))), None, _cfg(), num_threads=1)
    assert b.num_trees() == 40
    assert fit_booster(X, Sample(rows, y, np.ones(len(y))), None, _cfg(), 1, 7).num_trees() == 7
    gain = dict(zip(b.feature_name(), b.feature_importance("gain"), strict=True))
    assert gain["signal"] > 5 * gain["noise"]
    # A validation sample with no positives cannot stop anything: every round is run.
    empty = Sample(rows[:50], np.zeros(50), np.ones(50))
    assert fit_booster(X, Sample(rows, y, np.ones(len(y))), empty, _cfg(), 1).num_trees() == 40


def test_fit_booster_stops_early_on_the_validation_sample():
    X, y = _data(800)
    train, valid = np.arange(400), np.arange(400, 800)
    cfg = _cfg(learning_rate=0.9, num_leaves=15, min_data_in_leaf=2, num_boost_round=300)
    b = fit_booster(
        X, Sample(train, y[train], np.ones(400)), Sample(valid, y[valid], np.ones(400)), cfg, 1
    )
    assert 0 < b.best_iteration < 100 and b.num_trees() < 100  # far fewer than 300 rounds


def test_fit_booster_keeps_monotone_features_monotone():
    rng = np.random.default_rng(1)
    n = 800
    X = pd.DataFrame({"mfr_list_sim": rng.uniform(0, 100, n), "other": rng.normal(size=n)})
    # Noisy labels that fall with the similarity at the top: the constraint must win.
    sim = X["mfr_list_sim"].to_numpy()
    y = ((sim > 50) & (sim < 80) | (rng.random(n) < 0.1)).astype(float)
    rows = np.arange(n)
    cfg = _cfg(monotone_increasing=["mfr_list_sim"], num_leaves=8)
    b = fit_booster(X, Sample(rows, y, np.ones(n)), None, cfg, 1)
    grid = pd.DataFrame({"mfr_list_sim": np.linspace(0, 100, 101), "other": 0.0})
    assert (np.diff(b.predict(grid, raw_score=True)) >= -1e-12).all()
    free = fit_booster(X, Sample(rows, y, np.ones(n)), None, _cfg(num_leaves=8), 1)
    assert (np.diff(free.predict(grid, raw_score=True)) < -1e-6).any()


def test_fit_propensity_ranks_lines_like_the_ones_inspected_higher():
    rng = np.random.default_rng(2)
    n = 3000
    X = pd.DataFrame({"targeted": rng.random(n), "noise": rng.random(n)})
    inspected = rng.random(n) < np.where(X["targeted"] > 0.8, 0.5, 0.02)
    b = fit_propensity(X, inspected, num_threads=1, seed=0)
    assert b.num_trees() == 60
    p = b.predict(pd.DataFrame({"targeted": [0.1, 0.95], "noise": [0.5, 0.5]}))
    assert p[0] < 0.1 < 0.3 < p[1]
    # The negatives are a weighted draw: on average the predicted rate is the real one.
    assert b.predict(X).mean() == pytest.approx(inspected.mean(), rel=0.25)
    again = fit_propensity(X, inspected, num_threads=1, seed=0)
    np.testing.assert_array_equal(again.predict(X), b.predict(X))


def test_calibrated_scores_apply_the_calibration_to_the_raw_margin():
    X, y = _data(300)
    rows = np.arange(300)
    b = fit_booster(X, Sample(rows, y, np.ones(300)), None, _cfg(num_boost_round=5), 1)
    margin = b.predict(X, raw_score=True)
    cal = Calibration(a=0.5, b=-1.0)
    got = calibrated_scores(b, X, cal, num_threads=1)
    np.testing.assert_allclose(got, 1 / (1 + np.exp(-(0.5 * margin - 1.0))))


def test_platt_is_increasing_in_the_margin_and_weighs_lines():
    rng = np.random.default_rng(3)
    margin = rng.normal(0, 1.5, 5000)
    y = (rng.random(5000) < 1 / (1 + np.exp(-margin))).astype(float)
    cal = fit_platt(margin, y, np.ones_like(y), "valid 2025-01..2025-02")
    assert cal.a > 0 and cal.method == "platt" and cal.fitted_on == "valid 2025-01..2025-02"
    assert cal.a == pytest.approx(1.0, abs=0.1) and cal.b == pytest.approx(0.0, abs=0.1)
    # Weighting the positives 3x moves the intercept by log(3): weights are honoured.
    heavy = fit_platt(margin, y, np.where(y == 1, 3.0, 1.0), "w")
    assert heavy.b - cal.b == pytest.approx(np.log(3), abs=0.1)
    # An inverted margin gets a negative slope rather than a silent flip elsewhere.
    assert fit_platt(-margin, y, np.ones_like(y), "x").a < 0


def test_platt_on_constant_labels_stays_finite():
    margin = np.linspace(-2, 2, 100)
    for label in (0.0, 1.0):
        cal = fit_platt(margin, np.full(100, label), np.ones(100), "x")
        assert np.isfinite([cal.a, cal.b]).all()
        p = 1 / (1 + np.exp(-(cal.a * margin + cal.b)))
        assert (p < 0.05).all() if label == 0 else (p > 0.95).all()


def _months(n: int) -> pd.Series:
    # Every day of n calendar months from January 2024.
    return pd.Series(pd.date_range("2024-01-01", periods=n, freq="MS").repeat(1)).pipe(
        lambda starts: pd.Series(
            pd.concat([pd.Series(pd.date_range(s, s + pd.offsets.MonthEnd(0))) for s in starts])
        ).reset_index(drop=True)
    )


@pytest.mark.parametrize(
    ("n", "test", "valid", "months"),
    [
        # Enough history: the windows asked for.
        (12, 3, 2, (7, 2, 3)),
        # Too little for them: test ~ a third of the months, valid ~ half of the rest.
        (10, 6, 6, (4, 3, 3)),
        (9, 5, 5, (4, 3, 2)),
        (4, 3, 3, (2, 1, 1)),
        # The fewest months a split takes: one each.
        (3, 3, 3, (1, 1, 1)),
    ],
)
def test_time_windows_are_whole_months_shrinking_with_short_history(n, test, valid, months):
    dates = _months(n)
    w = time_windows(dates, test, valid)
    month = dates.dt.year * 12 + dates.dt.month - 1
    got = tuple(month[mask].nunique() for mask in (w.train, w.valid, w.test))
    assert got == months
    assert (w.train | w.valid | w.test).all()  # every day in exactly one window
    assert not (w.train & w.valid).any() and not (w.valid & w.test).any()
    assert not (w.train & w.test).any()
    label = dates.dt.strftime("%Y-%m")
    for name, mask in (("train", w.train), ("valid", w.valid), ("test", w.test)):
        assert w.months[name] == (label[mask].min(), label[mask].max()), name
    # The first day of a window's first month belongs to that window.
    first_test = label[w.test].min()
    assert w.test[(label == first_test).to_numpy()].all()


def _effective(booster: lgb.Booster) -> dict[str, str]:
    """The parameters as LightGBM read them (a misspelt key leaves its default here)."""
    text = booster.model_to_string().split("parameters:", 1)[1].split("end of parameters")[0]
    pairs = (line[1:-1].split(": ", 1) for line in text.split("\n") if line.startswith("["))
    return {k: v for k, v in pairs}


def _platt_gradient(cal: Calibration, margin: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Largest relative term of the log-likelihood's gradient at the fitted (a, b)."""
    p = 1 / (1 + np.exp(-np.clip(cal.a * margin + cal.b, -700, 700)))
    g = w * (p - y)
    return max(abs((g * margin).sum()) / (w * np.abs(margin)).sum(), abs(g.sum()) / w.sum())


@pytest.mark.parametrize("case", ["steep", "rare", "weighted", "overshoot"])
def test_platt_stops_at_the_maximum_likelihood_fit(case):
    """The fit is the likelihood's maximum (gradient ~0), not wherever the steps stopped.

    ``steep`` (seed 8) is a case where a full Newton step raises the loss and has to be
    shortened; ``rare`` has 1% positives and uneven weights.
    """
    rng = np.random.default_rng({"steep": 8, "rare": 1, "weighted": 2, "overshoot": 16}[case])
    if case == "overshoot":  # a full Newton step raises the loss here: the step is halved
        margin = rng.normal(0, 8, 2000)
        y = (rng.random(2000) < 1 / (1 + np.exp(-(3 * margin + 1)))).astype(float)
        w = np.ones(2000)
    elif case == "steep":
        margin = rng.normal(0, 8, 3000)
        y = (rng.random(3000) < 1 / (1 + np.exp(-(3 * margin + 1)))).astype(float)
        w = np.ones(3000)
    elif case == "rare":
        margin = rng.normal(-4, 1, 3000)
        y = (rng.random(3000) < 0.01).astype(float)
        w = rng.uniform(0.2, 5, 3000)
    else:
        margin = rng.normal(0, 3, 2000)
        y = (rng.random(2000) < 1 / (1 + np.exp(-(2 * margin - 1)))).astype(float)
        w = rng.uniform(0.5, 2, 2000)
    cal = fit_platt(margin, y, w, "x")
    assert np.isfinite([cal.a, cal.b]).all()
    assert _platt_gradient(cal, margin, y, w) < 2e-9


def test_propensity_is_a_fixed_small_binary_booster_on_the_threads_asked():
    rng = np.random.default_rng(4)
    X = pd.DataFrame({"targeted": rng.random(2000), "noise": rng.random(2000)})
    b = fit_propensity(X, rng.random(2000) < 0.1, num_threads=1, seed=7)
    got = _effective(b)
    want = {"objective": "binary", "learning_rate": "0.1", "num_leaves": "15",
            "min_data_in_leaf": "50", "seed": "7", "num_threads": "1"}  # fmt: skip
    assert {k: got[k] for k in want} == want
    assert b.num_trees() == 60


def test_propensity_draws_five_negatives_per_inspected_line_weighted_back_up(monkeypatch):
    """All inspected lines, a random share of the rest, each drawn line weighted 1/share."""
    seen: list[tuple[pd.DataFrame, np.ndarray, np.ndarray]] = []
    real = lgb.Dataset

    def spy(data, label=None, weight=None, **kw):
        seen.append((data, np.asarray(label), weight))
        return real(data, label, weight=weight, **kw)

    monkeypatch.setattr(lgb, "Dataset", spy)
    rng = np.random.default_rng(5)
    n = 20_000
    X = pd.DataFrame({"x": rng.random(n)})
    inspected = np.zeros(n, dtype=bool)
    inspected[rng.choice(n, 200, replace=False)] = True
    fit_propensity(X, inspected, num_threads=1, seed=0)
    (data, label, weight) = seen[-1]
    assert label.dtype == np.float64 and label.sum() == 200  # every inspected line
    drawn = int((label == 0).sum())
    frac = 5 * 200 / (n - 200)
    assert abs(drawn - 1000) < 4 * np.sqrt(1000)  # ~five per inspected line
    np.testing.assert_array_equal(weight[label == 1], 1.0)
    np.testing.assert_allclose(weight[label == 0], 1 / frac)
    assert data.index.is_monotonic_increasing  # in line order
    # One inspected line still draws five negatives; few negatives are all kept, weight 1.
    one = np.zeros(n, dtype=bool)
    one[7] = True
    fit_propensity(X, one, num_threads=1, seed=0)
    np.testing.assert_allclose(seen[-1][2][seen[-1][1] == 0], (n - 1) / 5)
    many = rng.random(600) < 0.5
    fit_propensity(X.head(600), many, num_threads=1, seed=0)
    assert len(seen[-1][1]) == 600
    np.testing.assert_array_equal(seen[-1][2], 1.0)


def test_pu_draw_defaults_to_seed_zero_and_ipw_without_propensity_says_so():
    inspected = np.arange(400) < 40
    violation = np.where(inspected, 0.0, np.nan)
    default = make_sample("pu", inspected, violation, None, 0.2, 0.01, pu_sample=0.5)
    zero = make_sample("pu", inspected, violation, None, 0.2, 0.01, pu_sample=0.5, seed=0)
    one = make_sample("pu", inspected, violation, None, 0.2, 0.01, pu_sample=0.5, seed=1)
    np.testing.assert_array_equal(default.rows, zero.rows)
    assert not np.array_equal(default.rows, one.rows)
    with pytest.raises(ValueError, match=r"^ipw needs a propensity$"):
        make_sample("ipw", inspected, violation, None, 0.2, 0.01)


def test_fit_booster_honours_the_training_weights():
    X, y = _data(600)
    rows = np.arange(600)
    cfg = _cfg(num_boost_round=20)
    plain = fit_booster(X, Sample(rows, y, np.ones(600)), None, cfg, 1)
    heavy = fit_booster(X, Sample(rows, y, np.where(y == 1, 4.0, 1.0)), None, cfg, 1)
    # Positives weighted 4x: every line looks riskier (about log(4) on the margin).
    lift = heavy.predict(X, raw_score=True) - plain.predict(X, raw_score=True)
    assert lift.mean() == pytest.approx(np.log(4), abs=0.4)


def test_fit_booster_constrains_only_the_named_features_with_the_advanced_method():
    X = pd.DataFrame({"a": np.arange(200.0), "mfr_list_sim": np.arange(200.0), "b": 0.0})
    y = (np.arange(200) % 3 == 0).astype(float)
    cfg = _cfg(monotone_increasing=["mfr_list_sim"])
    got = _effective(fit_booster(X, Sample(np.arange(200), y, np.ones(200)), None, cfg, 2))
    assert got["monotone_constraints"] == "0,1,0"
    assert got["monotone_constraints_method"] == "advanced"
    assert got["num_threads"] == "2"
    free = _effective(fit_booster(X, Sample(np.arange(200), y, np.ones(200)), None, _cfg(), 1))
    assert free["monotone_constraints"] == ""


def _weighted_logloss(p: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float((w * -(y * np.log(p) + (1 - y) * np.log(1 - p))).sum() / w.sum())


def _early_stop(curve: list[float], patience: int) -> int:
    """The round early stopping picks on a loss curve: best so far, ``patience`` rounds on."""
    best = 0
    for i, loss in enumerate(curve):
        if loss < curve[best]:
            best = i
        elif i - best >= patience:
            break
    return best + 1


def test_fit_booster_stops_at_the_lowest_weighted_validation_loss():
    X, y = _data(800, seed=1)
    wv = np.random.default_rng(1).uniform(0.05, 5.0, 400)
    train, valid = np.arange(400), np.arange(400, 800)
    cfg = _cfg(learning_rate=0.5, num_leaves=15, min_data_in_leaf=2, num_boost_round=60,
               early_stopping_rounds=10)  # fmt: skip
    b = fit_booster(X, Sample(train, y[train], np.ones(400)), Sample(valid, y[valid], wv), cfg, 1)
    # Every round without stopping (the validation sample does not change the trees).
    full = fit_booster(X, Sample(train, y[train], np.ones(400)), None, cfg, 1)
    Xv, yv = X.iloc[valid], y[valid]
    rounds = range(1, 61)
    weighted = [_weighted_logloss(full.predict(Xv, num_iteration=i), yv, wv) for i in rounds]
    plain = [_weighted_logloss(full.predict(Xv, num_iteration=i), yv, np.ones(400)) for i in rounds]
    assert b.best_iteration == _early_stop(weighted, 10) == 6
    assert _early_stop(plain, 10) == 3  # the weights decide it


def test_fit_booster_runs_every_round_asked_when_the_validation_loss_keeps_falling():
    X, y = _data(800)
    train, valid = np.arange(400), np.arange(400, 800)
    cfg = _cfg(learning_rate=0.01, num_boost_round=150, early_stopping_rounds=150)
    b = fit_booster(
        X, Sample(train, y[train], np.ones(400)), Sample(valid, y[valid], np.ones(400)), cfg, 1
    )
    assert b.num_trees() == 150


def test_a_one_line_validation_sample_with_a_violation_still_stops_early():
    X, y = _data(600)
    train = np.arange(500)
    (pos,) = np.flatnonzero(y[500:] == 1)[:1] + 500
    cfg = _cfg(learning_rate=0.9, num_leaves=15, min_data_in_leaf=2, num_boost_round=300)
    one = Sample(np.array([pos]), np.array([1.0]), np.array([1.0]))
    b = fit_booster(X, Sample(train, y[train], np.ones(500)), one, cfg, 1)
    assert b.best_iteration > 0


def test_training_with_early_stopping_prints_nothing(capsys):
    """`flrisk train` output is the CLI's own: early stopping logs nothing of its own."""
    X, y = _data(800)
    train, valid = np.arange(400), np.arange(400, 800)
    cfg = _cfg(learning_rate=0.9, num_leaves=15, min_data_in_leaf=2, num_boost_round=300)
    b = fit_booster(
        X, Sample(train, y[train], np.ones(400)), Sample(valid, y[valid], np.ones(400)), cfg, 1
    )
    assert b.best_iteration < 300  # it did stop early
    assert capsys.readouterr() == ("", "")
