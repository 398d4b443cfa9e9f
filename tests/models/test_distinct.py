"""The distinct-value kernels: the short-batch paths give what the vectorised ones give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.contract.batch import SMALL_BATCH
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


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_factorize_of_one_value_is_pandas_factorize(value) -> None:
    values = np.empty(1, dtype=object)
    values[0] = value
    codes, uniques = distinct.factorize(values)
    want_codes, want_uniques = pd.factorize(values, use_na_sentinel=True)
    assert codes.dtype == np.intp
    assert codes.tolist() == want_codes.tolist()
    assert uniques.dtype == object
    assert uniques.tolist() == list(want_uniques)
    assert [type(u) for u in uniques] == [type(u) for u in want_uniques]


def test_one_batch_factorises_each_column_once() -> None:
    column = np.array(["A", "B", "A"], dtype=object)
    twin = column.copy()
    with distinct.one_batch():
        first = distinct.factorize(column)
        with distinct.one_batch():  # a nested block shares the outer memo
            again = distinct.factorize(column)
        other = distinct.factorize(twin)  # same values, another column: its own codes
    assert again[0] is first[0] and again[1] is first[1]
    assert other[0] is not first[0]
    np.testing.assert_array_equal(other[0], first[0])
    # Outside a block nothing is kept: every call factorises anew.
    assert distinct.factorize(column)[0] is not distinct.factorize(column)[0]


def test_one_batch_memo_ends_with_the_block() -> None:
    column = np.array(["A"], dtype=object)
    with distinct.one_batch():
        inside = distinct.factorize(column)
    with distinct.one_batch():
        assert distinct.factorize(column)[0] is not inside[0]


def _validated(n: int):
    from models.contract.validate import validate_lines

    names = ["ACME", " acme", None, "Beta", "ACME "]
    raw = {
        "entry_id": [f"E{i // 3}" for i in range(n)],
        "line_no": [str(i % 3 + 1) for i in range(n)],
        "entry_date": ["2024-03-01"] * n,
        "hts_code": ["6109100012"] * n,
        "country_of_origin": ["CN"] * n,
        "manufacturer_name": [names[i % 5] for i in range(n)],
    }
    return validate_lines(raw).lines


def _counting(monkeypatch) -> list[object]:
    """Every column :func:`distinct._factorize` is asked to factorise, in order."""
    asked: list[object] = []
    kernel = distinct._factorize

    def counted(values):
        asked.append(values)
        return kernel(values)

    monkeypatch.setattr(distinct, "_factorize", counted)
    return asked


def test_a_large_batchs_columns_take_the_factors_validation_found(monkeypatch) -> None:
    lines = _validated(SMALL_BATCH + 1)
    found = lines.factors("manufacturer_name")
    assert found is not None and found[1].tolist() == ["ACME", "acme", "Beta"]
    column = lines["manufacturer_name"]
    want_codes, want_uniques = distinct._factorize(column)
    asked = _counting(monkeypatch)
    with distinct.one_batch(lines):
        codes, uniques = distinct.factorize(column)
        assert asked == []  # validation's, not factorised again
        assert distinct.factorize(column)[0] is codes  # then kept like any other
        # Equal values in another array are not the lines' column: factorised.
        twin = column.copy()
        distinct.factorize(twin)
        assert len(asked) == 1 and asked[0] is twin
    assert codes.dtype == np.intp and uniques.dtype == object
    assert codes.tolist() == want_codes.tolist() and uniques.tolist() == want_uniques.tolist()
    # Without the lines, the block factorises the column itself.
    with distinct.one_batch():
        distinct.factorize(column)
    assert len(asked) == 2 and asked[1] is column


def test_a_small_batchs_columns_are_factorised_by_the_short_kernel(monkeypatch) -> None:
    lines = _validated(SMALL_BATCH)
    assert lines.factors("manufacturer_name") is not None
    column = lines["manufacturer_name"]
    asked = _counting(monkeypatch)
    with distinct.one_batch(lines):
        codes, uniques = distinct.factorize(column)
    assert len(asked) == 1 and asked[0] is column
    found = lines.factors("manufacturer_name")
    assert found is not None
    assert codes.tolist() == found[0].tolist() and uniques.tolist() == found[1].tolist()


@pytest.mark.parametrize("dtype", ["str", "string"])
@pytest.mark.parametrize("seed", range(12))
def test_spread_to_text_gives_what_pandas_gives(dtype: str, seed: int) -> None:
    """Texts and every kind of missing value, missing lines included, to either text dtype."""
    rng = np.random.default_rng(seed)
    pool = ["A", "", "é 新疆", "nan", None, np.nan, pd.NA, pd.NaT]
    per_unique = [pool[i] for i in rng.integers(0, len(pool), int(rng.integers(0, 6)))]
    missing = pool[int(rng.integers(0, len(pool)))]
    codes = rng.integers(-1, len(per_unique), int(rng.integers(0, 200))).astype(np.intp)
    got = distinct.spread(per_unique, codes, missing, dtype)
    obj = np.array([*per_unique, missing, "tail"], dtype=object)[:-1]
    want = pd.array(obj, dtype=dtype).take(codes)
    assert got.dtype == want.dtype and type(got) is type(want)
    assert got.equals(want)
    assert pd.isna(got).tolist() == pd.isna(want).tolist()


def test_spread_of_values_that_are_not_text_leaves_them_to_pandas() -> None:
    got = distinct.spread([1, 2.5, True], np.array([0, 1, 2, -1], dtype=np.intp), "", "str")
    assert got.dtype == "str" and got.tolist() == ["1", "2.5", "True", ""]
