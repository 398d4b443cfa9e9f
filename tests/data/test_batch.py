"""``Lines``, the core's batch: its form follows its size and the contract, not its source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.batch import SMALL_BATCH, Lines
from models.contract.text import TextCells


def _big(make_lines, n: int) -> Lines:
    lines = make_lines()
    return lines.take(np.arange(n) % len(lines))


def test_take_nothing_gives_empty_columns_of_the_same_kinds(make_lines):
    lines = make_lines()
    empty = lines.take([])
    assert len(empty) == 0
    assert empty["line_no"].dtype == np.int64
    assert empty["entry_date"].dtype.kind == "M"


def test_a_mask_of_another_length_is_refused(make_lines):
    with pytest.raises(ValueError, match="mask of 2 values for 3 lines"):
        make_lines().take(np.array([True, False]))


@pytest.mark.parametrize("n", [1, SMALL_BATCH, SMALL_BATCH + 1, 500])
def test_text_takes_the_form_its_size_calls_for(make_lines, n):
    lines = _big(make_lines, n)
    name = lines["manufacturer_name"]
    assert isinstance(name, np.ndarray) == (n <= SMALL_BATCH)
    if not isinstance(name, np.ndarray):
        assert isinstance(name.dtype, pd.StringDtype)


def test_concat_refuses_batches_with_other_columns(make_lines):
    lines = make_lines()
    other = lines.with_columns({"x_office": np.array(["a", "b", "c"], dtype=object)})
    with pytest.raises(ValueError, match="other columns"):
        Lines.concat([lines, other])
    both = Lines.concat([lines, _big(make_lines, 200)])
    assert len(both) == 203
    assert not isinstance(both["entry_id"], np.ndarray)  # 203 lines: the large form


def test_from_frame_follows_the_contract_not_the_frame_dtypes(make_lines):
    frame = make_lines().to_frame()
    # What merging frames can do to dtypes: numbers and flags as objects with pd.NA.
    frame["quantity"] = pd.Series([100, pd.NA, 3], dtype=object)
    frame["inspected"] = pd.Series([True, pd.NA, False], dtype=object)
    frame["x_rate"] = pd.Series(["1.5", None, "2"], dtype=object)
    lines = Lines.from_frame(frame, {"x_rate": "numeric"})
    assert lines["quantity"].dtype == np.float64
    assert np.isnan(lines["quantity"][1])
    assert lines["inspected"].tolist() == [True, False, False]
    assert lines["x_rate"].dtype == np.float64
    assert lines["line_no"].dtype == np.int64
    assert lines["manufacturer_name"].dtype == object


def test_cells_that_are_not_text_are_missing_in_both_kernels():
    for n in (3, SMALL_BATCH + 10):
        cells = (["A", None, float("nan"), 7] * n)[:n]
        t = TextCells(cells)
        missing = [t.clean[c] is None for c in t.codes.tolist()]
        assert missing == [v != "A" for v in cells]


# Spellings a number may take in a file, and things that only look like one.
ODD_NUMBERS = [
    "0", "-0", "+0", "-0.0", "0.0", "-0e0", "0e-5", "00", "007", "+7", "-7", "7.", ".5", "-.5",
    "1e5", "1E+05", "1e-05", "2.5e10", "1e99", "1e-99", "1e300", "1e400", "1e-400", "4.9e-324",
    "2.2250738585072014e-308", "1.7976931348623157e308", "1.7976931348623159e308",
    "9007199254740993", "18446744073709551617", "123456789012345678901234567890",
    "0.1", "0.30000000000000004", "1_000", "1,000", "1 000", "inf", "-Infinity", "nan", "NaN",
    "１２", "٣", "0x10", "1e", "e5", "--1", "+-1", ".", "-", "+", "1.2.3", "1e5.5", "", None,
]  # fmt: skip


def _pandas_numbers(texts):
    return np.asarray(pd.to_numeric(np.array(texts, dtype=object), errors="coerce"), "float64")


@pytest.mark.parametrize("n", [5, SMALL_BATCH + 1, 5_000])
def test_numbers_are_what_pandas_reads_to_the_bit(n):
    """Both kernels (by size) read every spelling as ``pd.to_numeric`` does, -0 and NaN too."""
    rng = np.random.default_rng(n)
    x = np.concatenate([rng.lognormal(6, 4, n), -rng.lognormal(0, 8, n), rng.integers(-9, 9, n)])
    spelled = [*(repr(float(v)) for v in x), *(f"{v:.17g}" for v in x), *(f"{v:e}" for v in x)]
    texts = [*ODD_NUMBERS, *spelled][: max(n, len(ODD_NUMBERS))]
    cells = TextCells(texts)
    some = cells.clean[:-1]  # a list of texts given, as the checks give a column's candidates
    # Integers only: pandas reads "-0" as 0 then, and as -0.0 among floats.
    whole = ["-0", *(str(i) for i in range(-n, n))]
    for got, want in ((cells.numbers(), _pandas_numbers(cells.clean)),
                      (cells.numbers(some), _pandas_numbers(some)),
                      (TextCells(whole).numbers(whole), _pandas_numbers(whole))):  # fmt: skip
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))  # -0 read as pandas reads it
