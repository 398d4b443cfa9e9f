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
