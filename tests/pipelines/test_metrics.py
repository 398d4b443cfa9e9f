import warnings

import numpy as np
import pytest

from pipelines.metrics import (
    _weighted,
    average_precision,
    bootstrap_draws,
    intervals,
    paired_difference,
    reliability,
    top_mask,
)


def test_top_mask_takes_the_requested_share():
    s = np.arange(100, dtype=float)
    m = top_mask(s, 0.05)
    assert m.sum() == 5
    assert set(np.flatnonzero(m)) == {95, 96, 97, 98, 99}


@pytest.mark.parametrize(
    ("n", "share", "k"), [(10, 0.23, 2), (10, 0.27, 3), (7, 0.1, 1), (3, 0.01, 1)]
)
def test_top_mask_rounds_a_fractional_share_to_the_nearest_line(n, share, k):
    """k of precision@k% is the nearest whole number of lines (at least one), not the ceiling."""
    assert top_mask(np.arange(n, dtype=float), share).sum() == k


def test_average_precision_perfect_and_worst():
    y = np.array([1, 1, 0, 0, 0], dtype=float)
    assert average_precision(y, np.array([5, 4, 3, 2, 1.0])) == pytest.approx(1.0)
    worst = average_precision(y, np.array([1, 2, 3, 4, 5.0]))
    assert worst == pytest.approx((1 / 4 + 2 / 5) / 2)


def test_precision_uses_all_lines_for_the_cutoff_but_only_labelled_lines_for_the_rate():
    n = 1000
    scores = np.linspace(0, 1, n)
    y = np.zeros(n)
    labelled = np.zeros(n, dtype=bool)
    # Ten labelled lines in the top 5% (scores ranks 950..999), half positive.
    labelled[[950, 960, 970, 980, 990, 991, 992, 993, 994, 995]] = True
    y[[950, 960, 970, 980, 990]] = 1
    # Ten labelled negatives far below the cut-off.
    labelled[:10] = True
    m = intervals(*bootstrap_draws(scores, y, labelled, [0.05], n_boot=0, seed=0))
    assert m["precision_at_5"]["value"] == pytest.approx(0.5)
    assert m["recall_at_5"]["value"] == pytest.approx(1.0)
    assert m["base_rate"]["value"] == pytest.approx(5 / 20)


def test_bootstrap_interval_contains_the_point_and_narrows_with_more_labels():
    rng = np.random.default_rng(0)

    def width(n):
        s = rng.random(n)
        y = (rng.random(n) < s * 0.3).astype(float)
        draws = bootstrap_draws(s, y, np.ones(n, dtype=bool), [0.05], n_boot=200, seed=1)
        m = intervals(*draws)["pr_auc"]
        assert m["lo"] <= m["value"] <= m["hi"]
        return m["hi"] - m["lo"]

    assert width(20_000) < width(1_000)


def test_reliability_bins_cover_all_lines():
    p = np.linspace(0.01, 0.99, 500)
    y = (np.random.default_rng(1).random(500) < p).astype(float)
    rows = reliability(p, y, bins=5)
    assert sum(r["n"] for r in rows) == 500
    assert rows[0]["observed"] < rows[-1]["observed"]


def _world(n, seed=0):
    rng = np.random.default_rng(seed)
    risk = rng.random(n)
    y = (rng.random(n) < risk**3).astype(float)
    return rng, risk, y


def test_a_ranking_minus_itself_is_zero_on_every_resample():
    rng, risk, y = _world(2_000)
    labelled = rng.random(2_000) < 0.5
    d = bootstrap_draws(risk, y, labelled, [0.05], n_boot=50, seed=3)
    diff = paired_difference(d, d)
    assert "base_rate" not in diff
    for v in diff.values():
        assert v == {"value": 0.0, "lo": 0.0, "hi": 0.0}


def test_paired_difference_separates_what_overlapping_marginal_intervals_cannot():
    n = 4_000
    rng, risk, y = _world(n)
    better, worse = risk, risk + rng.normal(0, 0.03, n)
    ones = np.ones(n, dtype=bool)
    a = bootstrap_draws(better, y, ones, [0.05], n_boot=200, seed=5)
    b = bootstrap_draws(worse, y, ones, [0.05], n_boot=200, seed=5)
    ia, ib = intervals(*a)["pr_auc"], intervals(*b)["pr_auc"]
    assert ia["lo"] < ib["hi"]  # the marginal intervals overlap...
    diff = paired_difference(a, b)["pr_auc"]
    assert diff["value"] == pytest.approx(ia["value"] - ib["value"])
    assert 0 < diff["lo"] < diff["value"] < diff["hi"]  # ...the paired one excludes zero
    # Unpaired resamples (another seed for b) lose that: the interval is several times wider.
    unpaired = paired_difference(a, bootstrap_draws(worse, y, ones, [0.05], 200, seed=6))
    assert unpaired["pr_auc"]["hi"] - unpaired["pr_auc"]["lo"] > 2 * (diff["hi"] - diff["lo"])


def test_reliability_bins_are_quantiles_with_their_mean_prediction_and_rate():
    p = np.repeat(np.arange(10) / 10 + 0.05, 10)  # ten values, ten lines each
    y = np.tile((np.arange(10) < 3).astype(float), 10)  # 30% violations in every bin
    rows = reliability(p, y)  # ten bins by default
    assert [r["bin"] for r in rows] == list(range(10))
    assert [r["n"] for r in rows] == [10] * 10
    np.testing.assert_allclose([r["predicted"] for r in rows], np.arange(10) / 10 + 0.05)
    np.testing.assert_allclose([r["observed"] for r in rows], 0.3)
    four = reliability(p, y, bins=4)
    assert [r["n"] for r in four] == [20, 30, 20, 30]  # a value on an edge goes up a bin
    assert reliability(np.array([0.2]), np.array([1.0])) == [
        {"bin": 0, "n": 1, "predicted": 0.2, "observed": 1.0}
    ]
    assert reliability(np.array([]), np.array([])) == []


def _point(scores, y, labelled, capacities, **kw):
    # Undefined metrics must come out as NaN quietly: a warning would mean a 0/0 was computed.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        point, _ = bootstrap_draws(scores, y, labelled, capacities, n_boot=0, seed=0, **kw)
    return point


def test_precision_at_a_capacity_with_no_labelled_line_in_it_is_undefined():
    scores = np.arange(100, dtype=float)
    y = np.zeros(100)
    y[:3] = 1
    labelled = np.zeros(100, dtype=bool)
    labelled[:50] = True  # only the bottom half was inspected
    labelled[99] = True  # and one line at the very top
    p = _point(scores, y, labelled, [0.01, 0.05])
    # The top 1% is line 99 alone: one labelled line, not a violation.
    assert p["precision_at_1"] == 0.0 and p["recall_at_1"] == 0.0
    labelled[99] = False
    p = _point(scores, y, labelled, [0.01, 0.05])
    assert np.isnan(p["precision_at_1"]) and np.isnan(p["precision_at_5"])
    assert p["recall_at_5"] == 0.0  # three violations known, none in the top 5%
    y[99], labelled[99] = 1, True
    p = _point(scores, y, labelled, [0.01])
    assert p["precision_at_1"] == 1.0 and p["recall_at_1"] == 0.25


def test_recall_without_a_known_violation_is_undefined_and_with_one_is_a_share():
    scores = np.arange(20, dtype=float)
    labelled = np.ones(20, dtype=bool)
    p = _point(scores, np.zeros(20), labelled, [0.1])
    assert np.isnan(p["recall_at_10"]) and p["precision_at_10"] == 0.0
    assert np.isnan(p["pr_auc"]) and p["base_rate"] == 0.0
    one = np.zeros(20)
    one[19] = 1  # the single violation is the top-ranked line
    p = _point(scores, one, labelled, [0.1])
    assert p["recall_at_10"] == 1.0 and p["precision_at_10"] == 0.5


def test_value_caught_is_the_share_of_violating_value_in_the_top_five_percent():
    n = 100
    scores = np.arange(n, dtype=float)  # line 99 ranks first
    y = np.zeros(n)
    y[[99, 97, 10]] = 1  # two violations in the top 5%, one far below
    values = np.full(n, 1000.0)
    values[[99, 97, 10]] = [0.25, 0.5, 0.25]  # small declared values: a share, not a sum
    values[50] = np.nan  # an undeclared value counts as 0
    p = _point(scores, y, np.ones(n, dtype=bool), [0.01, 0.05], values=values)
    assert p["value_caught_at_5"] == pytest.approx(0.75)
    assert "value_caught_at_1" not in p  # only at the 5% capacity
    # No violating value at all: undefined, and no value means no such metric.
    p = _point(scores, np.zeros(n), np.ones(n, dtype=bool), [0.05], values=values)
    assert np.isnan(p["value_caught_at_5"])
    assert "value_caught_at_5" not in _point(scores, y, np.ones(n, dtype=bool), [0.05])


def test_value_caught_weighs_each_line_by_its_resample_count():
    y = np.array([1.0, 1.0, 0.0, 0.0])
    top = np.array([True, False, False, False])
    values = np.array([10.0, 30.0, 5.0, 5.0])
    w = np.array([3.0, 1.0, 0.0, 2.0])
    out = _weighted(y, np.array([4.0, 3, 2, 1]), {"5": top}, w, values, None)
    assert out["value_caught_at_5"] == pytest.approx(30 / 60)
    assert out["precision_at_5"] == 1.0 and out["recall_at_5"] == pytest.approx(3 / 4)


def test_base_rate_and_brier_of_the_labelled_lines():
    scores = np.array([0.9, 0.8, 0.3, 0.2, 0.1])
    y = np.array([1.0, 0.0, 1.0, 0.0, 0.0])
    probs = np.array([0.7, 0.4, 0.2, 0.1, 0.0])
    labelled = np.array([True, True, True, False, True])
    p = _point(scores, y, labelled, [0.2], probs=probs)
    assert p["base_rate"] == pytest.approx(2 / 4)
    assert p["brier"] == pytest.approx((0.3**2 + 0.4**2 + 0.8**2 + 0.0**2) / 4)
    one = _point(scores, y, np.array([True, False, False, False, False]), [0.2], probs=probs)
    assert one["base_rate"] == 1.0 and one["brier"] == pytest.approx(0.09)
    assert "brier" not in _point(scores, y, labelled, [0.2])
    # No labelled line at all: nothing is defined, and nothing is divided by zero.
    none = _point(scores, y, np.zeros(5, dtype=bool), [0.2], probs=probs)
    assert all(np.isnan(v) for v in none.values()), none


def test_capacities_are_named_by_their_percentage_even_below_one_percent():
    """0.5% was once named ``precision_at_0``, and 0.2% and 0.4% overwrote each other."""
    s = np.arange(1000, dtype=float)
    y = (s % 2 == 1).astype(float)
    caps = [0.002, 0.004, 0.005, 0.07, 0.6, 0.9]
    p = _point(s, y, np.ones(1000, dtype=bool), caps)
    names = {"0.2", "0.4", "0.5", "7", "60", "90"}
    assert {k.removeprefix("precision_at_") for k in p if k.startswith("precision_at_")} == names
    assert p["recall_at_0.2"] < p["recall_at_0.4"]  # two lines, then four


def test_tied_scores_keep_window_order_in_the_precision_recall_curve():
    """Ties rank in window order, as ``average_precision`` ranks them: the same curve."""
    rng = np.random.default_rng(8)
    n = 400
    scores = rng.integers(0, 4, n).astype(float)  # four values: ties everywhere
    y = (rng.random(n) < 0.2).astype(float)
    labelled = rng.random(n) < 0.7
    p = _point(scores, y, labelled, [0.05])
    assert p["pr_auc"] == average_precision(y[labelled], scores[labelled])
    # Window order matters on ties: the reversed window gives another value.
    rev = average_precision(y[labelled][::-1], scores[labelled][::-1])
    assert rev != p["pr_auc"]


def test_average_precision_of_one_violation_and_of_weighted_lines():
    assert average_precision(np.array([1.0]), np.array([0.3])) == 1.0
    y = np.array([0.0, 1.0, 0.0, 0.0])
    assert average_precision(y, np.array([4.0, 3, 2, 1])) == 0.5  # one positive, ranked 2nd
    assert np.isnan(average_precision(np.zeros(3), np.arange(3.0)))
    assert np.isnan(average_precision(np.array([]), np.array([])))
    # A weight counts a line that many times; weight 0 drops it.
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    s = np.array([5.0, 4, 3, 2, 1])
    w = np.array([2.0, 0.0, 1.0, 3.0, 0.0])
    repeated = np.repeat(np.arange(5), w.astype(int))
    assert average_precision(y, s, w) == pytest.approx(average_precision(y[repeated], s[repeated]))
    assert np.isnan(average_precision(y, s, np.array([0.0, 1, 0, 1, 0])))  # no weighted positive


def test_every_labelled_line_can_be_drawn_into_a_resample_the_first_too():
    n = 50
    y = np.zeros(n)
    y[0] = 1  # only the first line of the window is a violation
    _, draws = bootstrap_draws(np.arange(n, dtype=float), y, np.ones(n, dtype=bool), [0.1], 200, 1)
    drawn = (draws["base_rate"] > 0).mean()
    assert 0.5 < drawn < 0.75  # 1 - (1 - 1/50)^50 = 0.64 of resamples hold it


def test_resamples_carry_value_caught_and_brier_too():
    rng = np.random.default_rng(2)
    n = 500
    scores = rng.random(n)
    y = (rng.random(n) < scores * 0.3).astype(float)
    values = rng.uniform(100, 1000, n)
    point, draws = bootstrap_draws(
        scores, y, np.ones(n, dtype=bool), [0.05], 100, 3, values=values, probs=scores * 0.3
    )
    for k in ("value_caught_at_5", "brier"):
        assert len(draws[k]) == 100 and draws[k].std() > 0
        assert draws[k].min() <= point[k] <= draws[k].max()


def test_intervals_are_the_central_95_percent_of_the_draws_ignoring_undefined_ones():
    draws = np.concatenate([np.linspace(0.0, 1.0, 1001), [np.nan] * 50])
    out = intervals({"m": 0.4, "none": 1.0}, {"m": draws, "none": np.array([np.nan])})
    assert out["m"] == {"value": 0.4, "lo": pytest.approx(0.025), "hi": pytest.approx(0.975)}
    assert out["none"]["value"] == 1.0 and np.isnan(out["none"]["lo"])


def test_top_mask_breaks_ties_at_random_the_same_way_every_time():
    flat = np.zeros(1000)
    m = top_mask(flat, 0.1)
    assert m.dtype == np.bool_ and m.sum() == 100
    # Not simply the first lines of the window: an arbitrary but repeatable tenth.
    assert m[:100].sum() < 30 and m[500:].sum() > 30
    np.testing.assert_array_equal(top_mask(flat, 0.1), m)
    other = top_mask(flat, 0.1, np.random.default_rng(1))
    assert not np.array_equal(other, m)
    # Ties never outrank a higher score, however they are broken.
    s = np.repeat([1.0, 2.0], 500)
    assert top_mask(s, 0.5)[500:].all()


def _ap_by_hand(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """Step-wise AP over lines sorted by score, ties in window order (Python's stable sort)."""
    order = sorted(range(len(s)), key=lambda i: -s[i])
    tp = fp = 0.0
    area, last_recall, total = 0.0, 0.0, float((y * w).sum())
    for i in order:
        tp += y[i] * w[i]
        fp += (1 - y[i]) * w[i]
        if tp + fp > 0:
            recall = tp / total
            area += (recall - last_recall) * tp / (tp + fp)
            last_recall = recall
    return area


def test_average_precision_ranks_ties_in_window_order_and_ignores_the_weights_scale():
    rng = np.random.default_rng(11)
    n = 300
    s = rng.integers(0, 3, n).astype(float)  # ties of about a hundred lines each
    y = (rng.random(n) < 0.3).astype(float)
    w = rng.uniform(0.01, 0.5, n)  # weights below one: fractions of a line
    assert average_precision(y, s, w) == pytest.approx(_ap_by_hand(y, s, w), rel=1e-12)
    assert average_precision(y, s) == pytest.approx(_ap_by_hand(y, s, np.ones(n)), rel=1e-12)
    assert average_precision(y, s, w) == pytest.approx(average_precision(y, s, 40 * w))
