"""The distinct-value kernels: the short-batch paths give what the vectorised ones give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.features import distinct


@pytest.mark.parametrize("seed", range(20))
def test_combine_of_a_short_batch_equals_the_vectorised_path(seed, monkeypatch) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 65))
    codes = [rng.integers(-1, int(rng.integers(1, 5)), n).astype(np.intp) for _ in range(4)]
    small = distinct.combine(*codes)
    monkeypatch.setattr(distinct, "is_small", lambda _n: False)
    big = distinct.combine(*codes)
    for a, b in zip(small, big, strict=True):
        assert a.dtype == b.dtype == np.intp
        np.testing.assert_array_equal(a, b)


def test_combine_numbers_combinations_in_order_of_first_appearance() -> None:
    codes, first = distinct.combine(np.array([3, 1, 3, 2, 1, -1]), np.array([0, 0, 0, 1, 0, -1]))
    assert codes.tolist() == [0, 1, 0, 2, 1, 3]
    assert first.tolist() == [0, 1, 3, 5]


VALUES = ["A", "", np.nan, None, pd.NA, np.float64("nan"), 1.5, float("inf"), True, 3, pd.NaT]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_isna_is_pandas_isna_value_by_value(value) -> None:
    for n in (1, 3, 100):  # short (Python checks) and long (pandas)
        values = np.empty(n, dtype=object)
        values[:] = [value] + ["X"] * (n - 1)
        got = distinct.isna(values)
        assert got.dtype == bool
        np.testing.assert_array_equal(got, np.asarray(pd.isna(values)))


def test_isna_of_floats_and_of_a_text_array() -> None:
    x = np.array([1.0, np.nan, np.inf, -0.0])
    np.testing.assert_array_equal(distinct.isna(x), [False, True, False, False])
    text = pd.array(["a", None, "b"], dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    np.testing.assert_array_equal(distinct.isna(text), [False, True, False])
