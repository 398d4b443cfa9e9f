"""Compute once per distinct value, then spread back to every line.

Entry lines repeat the same few thousand suppliers, addresses, codes and descriptions
millions of times. Each helper here factorises a column (in C), lets the caller compute a
result per distinct value in Python, and spreads the results back with one ``take``, so
per-line Python work disappears and the cost follows the number of distinct values.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from models.contract.batch import Column, Lines, is_small


class _Batch:
    """The factorisations of one batch (:func:`one_batch`), and those validation found.

    ``memo``: column id -> (the column, its codes, its uniques), for every column factorised
    here; ``found``: column id -> (the column, its name, the lines) for the columns of the
    batch's lines, whose factorisation validation may know already (``Lines.factors``).
    """

    __slots__ = ("found", "memo")

    def __init__(self, lines: Lines | None) -> None:
        self.memo: dict[int, tuple[Column, np.ndarray, np.ndarray]] = {}
        self.found: dict[int, tuple[Column, str, Lines]] = {}
        # A few lines' columns factorise in less time than their factors take to rebuild.
        if lines is not None and not is_small(len(lines)):
            self.found = {id(col): (col, name, lines) for name, col in lines.items()}

    def validated(self, values: Column) -> tuple[np.ndarray, np.ndarray] | None:
        """Validation's factorisation of ``values``, when it is a column of the lines."""
        known = self.found.get(id(values))
        if known is None or known[0] is not values:
            return None
        return known[2].factors(known[1])


_BATCH: ContextVar[_Batch | None] = ContextVar("flrisk_batch_factors", default=None)


@contextmanager
def one_batch(lines: Lines | None = None) -> Iterator[None]:
    """Within this block, each column (the same array object) is factorised once.

    Signals and features read the same columns (origin, party names, entry id ...) in
    several families; the first :func:`factorize` of a column is kept for the others, and a
    column of ``lines`` takes the factorisation validation made of it (``Lines.factors``),
    the same codes and uniques, when there is one.
    Nested blocks share the outer one's memo, so ``prepare`` opens one for both halves.
    The memo holds each column it keyed (an ``id`` cannot be reused while it lives) and
    ends with the block: it is the batch's, never the process's. Per thread (a context
    variable), so the read-ahead thread's batch and the scorer's never mix.
    """
    if _BATCH.get() is not None:
        yield
        return
    token = _BATCH.set(_Batch(lines))
    try:
        yield
    finally:
        _BATCH.reset(token)


def factorize(values: Column) -> tuple[np.ndarray, np.ndarray]:
    """Codes per line and the distinct values (as Python objects); missing values get -1.

    A code of -1 picks the last element of an array, so :func:`spread` appends the result
    for a missing value at the end. Inside :func:`one_batch` the result is shared by every
    caller: callers never change it in place.
    """
    batch = _BATCH.get()
    if batch is None:
        return _factorize(values)
    hit = batch.memo.get(id(values))
    if hit is not None and hit[0] is values:
        return hit[1], hit[2]
    found = batch.validated(values) if batch.found else None
    codes, uniques = found or _factorize(values)
    batch.memo[id(values)] = (values, codes, uniques)
    return codes, uniques


def _factorize(values: Column) -> tuple[np.ndarray, np.ndarray]:
    """:func:`factorize` without the batch's memo (for keys no other caller sees)."""
    if is_small(len(values)):
        # A dict beats pandas' hash tables, whose fixed cost per call dominates a few values.
        return _factorize_small(np.asarray(values, dtype=object))
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # type: ignore[arg-type]
    return np.asarray(codes, dtype=np.intp), np.asarray(uniques, dtype=object)


def _missing(v: Any) -> bool:
    """Whether ``pd.factorize`` codes the Python scalar ``v`` as missing (-1)."""
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v)


def _factorize_small(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`factorize` of a short array, same codes and uniques as ``pd.factorize``."""
    # tolist gives Python scalars, as pd.factorize's object uniques hold them.
    vals = values.tolist()
    if len(vals) == 1:
        # One line (a single-line request): no dictionary, no list of codes.
        v = vals[0]
        if _missing(v):
            return np.full(1, -1, dtype=np.intp), np.empty(0, dtype=object)
        one = np.empty(1, dtype=object)
        one[0] = v
        return np.zeros(1, dtype=np.intp), one
    seen: dict[Any, int] = {}
    codes = []
    for v in vals:
        if _missing(v):
            codes.append(-1)
        else:
            codes.append(seen.setdefault(v, len(seen)))
    uniques = np.empty(len(seen), dtype=object)
    uniques[:] = list(seen)
    return np.array(codes, dtype=np.intp), uniques


def combine(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct combinations of several factorised columns.

    Returns:
        ``(codes, first)``: the combination code of each line and the position of the first
        line holding each combination (to read the combination's values from).
    """
    if is_small(len(codes[0])):
        return _combine_small(codes)
    key = codes[0].astype(np.int64) + 1
    for c in codes[1:]:
        # Re-factorise before each step so the combined key can never overflow int64.
        dense = _factorize(key)[0].astype(np.int64)
        key = dense * (int(c.max(initial=-1)) + 2) + (c + 1)
    out, uniques = _factorize(key)
    first = np.full(len(uniques), -1, dtype=np.intp)
    # Reversed assignment leaves each combination's first position in place.
    first[out[::-1]] = np.arange(len(out) - 1, -1, -1)
    return np.asarray(out, dtype=np.intp), first


def _combine_small(codes: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`combine` of short columns: a dict of code tuples.

    Numbered in order of first appearance, as ``pd.factorize`` numbers the packed keys: the
    same codes, without a few NumPy calls per column that cost more than the lines' work.
    """
    seen: dict[tuple[int, ...], int] = {}
    out = [seen.setdefault(k, len(seen)) for k in zip(*(c.tolist() for c in codes), strict=True)]
    first = [0] * len(seen)
    for i in range(len(out) - 1, -1, -1):
        first[out[i]] = i
    return np.array(out, dtype=np.intp), np.array(first, dtype=np.intp)


def isna(values: Column) -> np.ndarray:
    """``pd.isna`` of a column as a bool array, without pandas' fixed cost on a short one.

    Python checks for a short object array of plain values (text, floats, None, NA); NumPy's
    for floats; pandas for anything else.
    """
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            return np.isnan(values)
        if values.dtype == object and is_small(len(values)):
            vals = values.tolist()
            if all(type(v) in _PLAIN for v in vals):
                return np.array(
                    [v is None or v is pd.NA or (type(v) is float and v != v) for v in vals],
                    dtype=bool,
                )
    return np.asarray(pd.isna(values))


# Value types whose missing values are None, NA and float NaN only (see :func:`isna`).
_PLAIN = frozenset({str, float, type(None), type(pd.NA)})


def memo_map(
    uniques: Sequence[Hashable], memo: dict[Any, Any], fn: Callable[[Any], Any]
) -> list[Any]:
    """``fn`` of every distinct value, computed only for values not yet in ``memo``."""
    out = []
    for u in uniques:
        try:
            out.append(memo[u])
        except KeyError:
            memo[u] = r = fn(u)
            out.append(r)
    return out


def spread(
    per_unique: Sequence[Any], codes: np.ndarray, missing: Any, dtype: str | None = None
) -> Any:
    """Spread per-distinct results to lines (code -1 gets ``missing``).

    Args:
        per_unique: One result per distinct value, in factorised order.
        codes: Code per line from :func:`factorize` or :func:`combine`.
        missing: Result for lines whose value is missing (code -1).
        dtype: ``None`` for an object array; ``"float64"``, ``"bool"`` or ``"int64"`` for a
            NumPy array; a pandas string dtype (``"str"``, ``"string"``) for an extension array.
    """
    if dtype in ("float64", "bool", "int64"):
        arr = np.fromiter([*per_unique, missing], dtype=dtype, count=len(per_unique) + 1)
        return arr[codes]
    values = [*per_unique, missing]
    if dtype is not None:
        text = _arrow_text(values, codes, dtype)
        if text is not None:
            return text
    # fromiter keeps tuples or lists as single objects (np.array would broadcast them).
    obj = np.fromiter(values, dtype=object, count=len(values))
    if dtype is None:
        return obj[codes]
    return pd.array(obj, dtype=dtype).take(codes)  # type: ignore[call-overload]


@lru_cache(maxsize=8)
def _text_dtype(dtype: str) -> Any:
    """The pandas dtype named ``dtype`` (made once: building one costs more than the take)."""
    return pd.api.types.pandas_dtype(dtype)


def _arrow_text(values: list[Any], codes: np.ndarray, dtype: str) -> Any:
    """``pd.array(values, dtype=dtype).take(codes)`` built in Arrow, or None if it cannot be.

    Texts and missing values (None, NaN, NA, NaT: null) only, to an Arrow-backed string
    dtype; any other value (a number pandas would write as text) goes pandas' way.
    """
    kind = _text_dtype(dtype)
    if not (isinstance(kind, pd.StringDtype) and kind.storage == "pyarrow"):
        return None
    try:
        arr = pa.array(values, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):
        return None
    # Code -1 (missing) reads the last value, as ``take`` of a pandas array does.
    index = np.where(codes < 0, len(values) - 1, codes)
    return pd.arrays.ArrowStringArray(arr.take(pa.array(index)), dtype=kind)  # type: ignore[call-arg]


def spread_text(per_unique: Sequence[Any], codes: np.ndarray, missing: Any, dtype: str) -> Any:
    """:func:`spread` to a text column in the batch's form (see ``models.contract.batch``).

    A small batch gets the object array the extension array would convert to (missing: NaN
    for ``str``, NA for ``string``).
    """
    if not is_small(len(codes)):
        return spread(per_unique, codes, missing, dtype)
    na = pd.NA if dtype == "string" else np.nan
    vals = [na if v is None or v is pd.NA or v != v else v for v in (*per_unique, missing)]
    return np.fromiter(vals, dtype=object, count=len(vals))[codes]


def texts_of(values: np.ndarray) -> list[str]:
    """Distinct values as text; the last slot stands for a missing value (empty text)."""
    return [*map(str, values), ""]


def slices(s: Column, *cuts: slice) -> list[np.ndarray]:
    """``s.str[cut]`` for each cut, as object arrays (missing stays NaN), once per value."""
    codes, uniques = factorize(s)
    return [spread([u[cut] for u in uniques], codes, np.nan) for cut in cuts]
