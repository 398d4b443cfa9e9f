"""The core scores a fixed file exactly as it did when the fixture was recorded.

``tests/fixtures/scoring`` holds a small model bundle, a contract file and every line's
score (as a float's hex), band and reasons, recorded by ``make_scoring_fixture.py``. A
refactoring of the core must reproduce them to the bit; a deliberate change of a feature or
a reason regenerates the fixture in the same commit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from models.contract.reader import read_entry_lines
from models.json_text import reasons_text
from models.scoring.bundle import load_bundle
from models.scoring.scorer import Scorer

FIXTURE = Path(__file__).parents[1] / "fixtures" / "scoring"


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(FIXTURE / "expected.csv", dtype=str, keep_default_na=False)


@pytest.mark.parametrize("reasons_as_json", [True, False])
def test_recorded_scores_and_reasons_are_reproduced(
    expected: pd.DataFrame, reasons_as_json: bool
) -> None:
    scorer = Scorer(load_bundle(FIXTURE / "bundle", num_threads=1))
    lines = read_entry_lines(FIXTURE / "lines.csv").lines
    got = scorer.score(lines, reasons=3, as_json=reasons_as_json).to_frame()
    assert len(got) == len(expected) > 1000
    assert got["entry_id"].tolist() == expected["entry_id"].tolist()
    assert [float(x).hex() for x in got["risk_score"]] == expected["risk_score"].tolist()
    assert got["risk_band"].tolist() == expected["risk_band"].tolist()
    reasons = [r if reasons_as_json else reasons_text(r) for r in got["reasons"]]
    mismatched = [
        i for i, (a, b) in enumerate(zip(reasons, expected["reasons"], strict=True)) if a != b
    ]
    assert not mismatched, f"{len(mismatched)} lines' reasons differ, first: line {mismatched[0]}"


def test_calibration_keeps_the_order_of_the_margin_and_is_platt() -> None:
    import numpy as np

    from models.scoring.bundle import Calibration
    from models.scoring.scorer import calibrate

    margin = np.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    p = calibrate(margin, Calibration(a=0.9, b=-0.2))
    assert (np.diff(p) > 0).all()  # a riskier margin is never a lower probability
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(0.9 * margin - 0.2))))


@pytest.mark.parametrize(
    "unit", ["NO", "DOZ", "PRS", "DPR", "KG", "G", "GR", "T", "M", "M2", "M3", "L", "X", None]
)
def test_a_line_with_quantity_and_value_never_says_its_unit_value_is_unknown(make_lines, unit):
    """The unit-value reason compares with the typical value it was scored against."""
    scorer = Scorer(load_bundle(FIXTURE / "bundle", num_threads=1))
    lines = make_lines(quantity_unit=[unit] * 3)
    scored = scorer.score(lines, reasons=20)
    for reasons in scored.reasons:
        (unit_value,) = [r for r in reasons if r["code"] == "unit_value"]
        assert "could not be computed" not in unit_value["text"]
        assert unit_value["evidence"]["typical_usd"] > 0
    missing = scorer.score(make_lines(quantity_unit=[unit] * 3, quantity=[None] * 3), reasons=20)
    for reasons in missing.reasons:
        # No quantity, no unit value: an undeclared field is no reason either way.
        assert reasons and not [r for r in reasons if r["code"] == "unit_value"]
