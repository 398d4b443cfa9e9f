"""Validated lines know each text column's distinct values: what factorising it would give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.batch import Lines, is_small
from models.contract.validate import validate_lines
from models.features.distinct import factorize


def _raw(lines, n: int) -> pd.DataFrame:
    cycle = ["cn", " CN", "VN", "", "vn ", "CN"]
    names = ["ACME", " ACME ", "", "Beta", "ACME", "beta"]
    raw = pd.DataFrame(lines(n))
    raw["country_of_export"] = [cycle[i % 6] for i in range(n)]
    raw["manufacturer_name"] = [names[(i * 5) % 6] for i in range(n)]
    raw["hts_code"] = [["6109.10.0012", "610910 0012", "8541"][i % 2] for i in range(n)]
    raw["transport_mode"] = [["Vessel", "AIR", "vessel "][i % 3] for i in range(n)]
    return raw


TEXT = (
    "entry_id", "hts_code", "country_of_origin", "manufacturer_name", "country_of_export",
    "port_of_lading", "port_of_entry", "transport_mode", "inspection_reason",
)  # fmt: skip


@pytest.mark.parametrize("n", [6, 200])
def test_each_text_columns_factors_are_what_factorising_it_gives(lines, n: int) -> None:
    """Inputs that normalise to one text are one value; unknowns are -1; first-seen order."""
    assert is_small(n) == (n == 6)  # both forms of text
    result = validate_lines(_raw(lines, n))
    assert len(result.bad_rows) == 0
    for name in TEXT:
        got = result.lines.factors(name)
        assert got is not None, name
        codes, uniques = factorize(result.lines[name])
        assert got[0].tolist() == codes.tolist(), name
        assert got[0].dtype == np.intp and uniques.dtype == got[1].dtype == object
        assert got[1].tolist() == uniques.tolist(), name
    upper = result.lines.factors("country_of_export")
    assert upper is not None and upper[1].tolist() == ["CN", "VN"]
    assert set(upper[0].tolist()) == {0, 1, -1}


def test_numbers_dates_and_lines_taken_or_rebuilt_have_no_factors(lines) -> None:
    """Only validation's own columns: a row taken out, or a column replaced, changes them."""
    result = validate_lines(_raw(lines, 6))
    assert result.lines.factors("quantity") is None and result.lines.factors("entry_date") is None
    assert result.lines.take([0, 1]).factors("entry_id") is None
    assert Lines.from_frame(result.frame).factors("entry_id") is None
    replaced = result.lines.with_columns({"entry_id": result.lines["entry_id"]})
    assert replaced.factors("entry_id") is None
    assert replaced.factors("hts_code") is not None  # the others are kept


def test_lines_with_bad_rows_drop_the_factors_validation_found(lines) -> None:
    raw = _raw(lines, 6)
    raw.loc[2, "hts_code"] = "12"
    result = validate_lines(raw)
    assert len(result.lines) == 5 and result.lines.factors("entry_id") is None


@pytest.mark.parametrize(
    ("values", "codes", "want_codes", "want_uniques"),
    [
        # Codes number the inputs in order of first appearance, as validation numbers them.
        # Every input its own text, unknown only in the last slot: the inputs' codes.
        (["B", "A", None], [0, 2, 1, 0], [0, -1, 1, 0], ["B", "A"]),
        # A blank input (unknown) before the last slot: the later texts move down.
        (["A", None, "B", None], [0, 1, 2, 3, 2], [0, -1, 1, -1, 1], ["A", "B"]),
        # Two inputs normalised to one text: one value, numbered where it first appears.
        (["A", "B", "A", None], [0, 1, 2, 0, 3], [0, 1, 0, 0, -1], ["A", "B"]),
        # No unknown slot at all.
        (["A", "B"], [0, 1, 0], [0, 1, 0], ["A", "B"]),
        ([None], [0, 0], [-1, -1], []),
        ([], [], [], []),  # no lines
    ],
)
def test_factors_number_the_distinct_texts_as_factorising_would(
    values, codes, want_codes, want_uniques
) -> None:
    column = np.array([values[c] for c in codes], dtype=object)
    lines = Lines(
        {"name": column}, len(codes), distinct={"name": (values, np.array(codes, dtype=np.intp))}
    )
    got = lines.factors("name")
    assert got is not None
    assert got[0].dtype == np.intp and got[0].tolist() == want_codes
    assert got[1].dtype == object and got[1].tolist() == want_uniques
    expected = factorize(column)
    assert got[0].tolist() == expected[0].tolist() and got[1].tolist() == expected[1].tolist()
