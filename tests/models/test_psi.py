"""PSI and its bins: a hand-computed case, the bins of each kind, the stored form."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from models.scoring.drift import drift_report, judged, presumption_columns
from models.scoring.psi import (
    PSI_FLOOR,
    DriftReference,
    Measure,
    fit_categorical,
    fit_numeric,
    fit_share,
    psi,
)


def test_psi_matches_a_hand_computed_case():
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.25 ln 2 + 0.25 ln 1.5
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.274653, abs=1e-6)
    # Three bins, one moved: (0.1-0.2) ln(0.5) + (0.5-0.4) ln(1.25) + 0 = 0.0693147 + 0.0223144
    assert psi([0.2, 0.4, 0.4], [0.1, 0.5, 0.4]) == pytest.approx(0.0916291, abs=1e-6)


def test_psi_is_zero_for_the_same_shares_and_finite_for_an_emptied_bin():
    assert psi([0.3, 0.7], [0.3, 0.7]) == 0.0
    # An empty bin counts as PSI_FLOOR: (1e-4 - 0.5) ln(1e-4 / 0.5) + (1 - 0.5) ln(1 / 0.5)
    expected = (PSI_FLOOR - 0.5) * math.log(PSI_FLOOR / 0.5) + 0.5 * math.log(2)
    assert psi([0.5, 0.5], [0.0, 1.0]) == pytest.approx(expected)


def test_psi_refuses_bins_that_do_not_match():
    with pytest.raises(ValueError, match="2 expected bins but 3 actual"):
        psi([0.5, 0.5], [0.2, 0.3, 0.5])


def test_numeric_bins_are_right_closed_deciles_with_a_missing_bin():
    m = fit_numeric("x", np.array([*range(1, 101), np.nan, np.nan], dtype=float))
    assert len(m.edges) == 9 and m.n_bins == 11
    bins = m.bins(np.array([-5.0, m.edges[0], m.edges[0] + 0.01, 1e9, np.inf, np.nan]))
    assert bins.tolist() == [0, 0, 1, 9, 9, 10]
    assert m.shares[-1] == pytest.approx(2 / 102)
    assert sum(m.shares) == pytest.approx(1.0)
    assert m.labels()[-1] == "(missing)" and m.labels()[0].startswith("(-inf, ")


def test_a_flag_gets_one_bin_per_value():
    m = fit_numeric("flag", np.array([0.0] * 95 + [1.0] * 5))
    assert m.bins(np.array([0.0, 1.0])).tolist() == [0, 1]
    assert m.shares[:2] == pytest.approx((0.95, 0.05))


def test_categorical_bins_keep_common_categories_and_pool_the_rest():
    categories = ["CN", "DE", "MY", "VN"]
    # CN 60, DE 39, MY 1 (under 1% of 200 lines: pooled), VN 0, unknown/missing 100.
    codes = np.array([0] * 60 + [1] * 39 + [2] * 1 + [-1] * 100)
    m = fit_categorical("country_of_origin", codes, categories)
    assert m.labels() == ["CN", "DE", "(other known)", "(unknown or missing)"]
    assert m.shares == pytest.approx((0.3, 0.195, 0.005, 0.5))
    # VN (pooled) and an unknown or missing value fall in place.
    assert m.bins(np.array([3, -1, 0])).tolist() == [2, 3, 0]


def test_share_measures_have_a_yes_and_a_no_bin():
    m = fit_share("list_match", np.array([True, False, False, False]))
    assert m.shares == (0.25, 0.75)
    assert m.bins(np.array([True, False])).tolist() == [0, 1]


def test_the_reference_survives_its_json_form():
    ref = DriftReference(
        (
            fit_numeric("x", np.arange(50, dtype=float)),
            fit_categorical("c", np.array([0, 1, 1, -1] * 10), ["A", "B"]),
            fit_share("s", np.array([True, False])),
        ),
        lines=50,
        window=("2025-04-01", "2025-09-30"),
    )
    back = DriftReference.from_json(ref.to_json())
    assert back == ref
    with pytest.raises(ValueError, match="format"):
        DriftReference.from_json({**ref.to_json(), "format": 99})


def test_a_report_names_the_bin_that_moved_and_the_threshold_decides():
    ref = DriftReference((Measure("s", "share", (0.5, 0.5)), Measure("t", "share", (0.5, 0.5))), 10)
    report = drift_report(ref, [np.array([25, 75]), np.array([50, 50])], threshold=0.2)
    assert report.lines == 100
    assert [m.name for m in report.moved()] == ["s"]
    top = report.measures[0]
    assert (top.name, top.moved, top.reference_share, top.share) == ("s", "yes", 0.5, 0.25)
    assert top.psi == pytest.approx(0.274653, abs=1e-6)
    assert report.psi("t") == 0.0
    assert drift_report(ref, [np.array([25, 75]), np.array([50, 50])], 0.3).moved() == []


def test_calendar_features_are_not_judged():
    assert not judged("hist_imp_months_known")
    assert judged("hist_imp_lines") and judged("country_of_origin")


def test_a_bundle_from_before_drift_monitoring_loads_without_a_reference():
    from models.contract.reader import read_entry_lines
    from models.scoring.bundle import load_bundle
    from models.scoring.scorer import Scorer

    fixture = Path(__file__).parents[1] / "fixtures" / "scoring"
    bundle = load_bundle(fixture / "bundle")
    assert bundle.drift is None
    lines = read_entry_lines(fixture / "lines.csv").lines.take(np.arange(5))
    assert Scorer(bundle).score(lines, reasons=0, observe=True).drift_bins() is None


def test_presumption_columns_count_each_basis_once_per_line() -> None:
    cols = presumption_columns(
        np.array(["", "xinjiang", "uflpa_entity;xinjiang", "wro", None], dtype=object)
    )
    assert cols["presumption"].tolist() == [False, True, True, True, False]
    assert cols["presumption_xinjiang"].tolist() == [False, True, True, False, False]
    assert cols["presumption_uflpa_entity"].tolist() == [False, False, True, False, False]
    assert cols["presumption_wro"].tolist() == [False, False, False, True, False]


def test_a_presumption_rate_is_compared_as_a_two_bin_psi() -> None:
    ref = DriftReference((fit_share("presumption", np.array([True] * 2 + [False] * 98)),), 100)
    now = ref.counts(ref.bins({"presumption": np.array([True] * 20 + [False] * 80)}))
    report = drift_report(ref, now, threshold=0.2)
    assert report.rate("presumption") == pytest.approx((0.02, 0.20))
    # (0.20 - 0.02) ln(10) + (0.80 - 0.98) ln(0.80 / 0.98)
    assert report.psi("presumption") == pytest.approx(0.4510, abs=1e-4)
    assert [m.name for m in report.moved()] == ["presumption"]
    assert report.rate("no_such_measure") is None


def test_a_few_lines_get_the_bins_of_the_vectorised_path():
    """A request of a few lines is binned in Python (``bins_of``), as NumPy would bin it."""
    numeric = fit_numeric("x", np.array([*range(1, 101), np.nan], dtype=float))
    counts = fit_numeric("n", np.array([0.0] * 50 + [3.0] * 50))
    categories = ["CN", "DE", "MY", "VN"]
    codes = np.array([0] * 60 + [1] * 39 + [2] * 1 + [-1] * 100)
    ref = DriftReference(
        (
            numeric,
            counts,
            fit_categorical("country_of_origin", codes, categories),
            fit_share("list_match", np.array([True, False, False, False])),
        ),
        lines=200,
    )
    x = np.array([-np.inf, -5.0, numeric.edges[0], numeric.edges[0] + 0.01, 1e9, np.inf, np.nan])
    n = len(x)
    columns = {
        "x": x,
        "n": np.array([0, 3, 2, 7, 0, 3, 1], dtype=np.int64),  # int counts against float edges
        "country_of_origin": np.array([3, -1, 0, 1, 2, -1, 0]),
        "list_match": np.array([True, False, True, True, False, False, True]),
    }
    for k in range(1, n + 1):
        part = {c: v[:k] for c, v in columns.items()}
        expected = np.column_stack([m.bins(part[m.name]) for m in ref.measures]).astype(np.int16)
        got = ref.bins(part)
        assert got.dtype == np.int16 and got.shape == (k, 4)
        np.testing.assert_array_equal(got, expected)
