"""Text cells factorised once, so that every contract check runs once per distinct value.

A column of a million lines repeats a few thousand values; the checks in
``models.contract.checks`` see each value once and their verdicts are spread back by code.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from models.contract.batch import TEXT_DTYPE, Column, is_small
from models.contract.textcase import case_map


class TextCells:
    """A text column factorised: each row's code into its distinct values.

    ``raw`` holds the distinct texts as given and ``clean`` the same stripped, blank as
    ``None`` (unknown); the last entry of both is ``None``, the code of a missing cell, so
    every code is a valid index.
    """

    def __init__(self, cells: pd.Series | Sequence[str | None]) -> None:
        """Factorise ``cells`` (text; anything else, ``None`` or NaN included, is missing).

        A few cells go through a dict and ``str.strip``; many through Arrow's dictionary
        encoding and ``utf8_trim_whitespace``. Both give the same codes (first appearance
        order) and the same stripped text (every code point was compared).
        """
        self._trimmed: pa.Array | None = None  # the large path's stripped distinct texts
        if is_small(len(cells)):
            seq = _python_texts(cells)
            index: dict[str, int] = {}
            missing = len(seq)
            codes = np.array(
                [missing if v is None else index.setdefault(v, len(index)) for v in seq],
                dtype=np.intp,
            )
            codes[codes == missing] = len(index)
            self.raw: list[str | None] = [*index, None]
            stripped = [v.strip() for v in index]
        else:
            enc = pc.dictionary_encode(_arrow_texts(cells))
            distinct = enc.dictionary
            indices = enc.indices
            if indices.null_count:
                indices = indices.fill_null(len(distinct))
            codes = indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
            self.raw = [*distinct.to_pylist(), None]
            trimmed = pc.utf8_trim_whitespace(distinct)
            self._trimmed = trimmed
            stripped = trimmed.to_pylist()
        self.clean: list[str | None] = [v if v else None for v in stripped] + [None]
        self.codes: np.ndarray = codes
        self.distinct: tuple[list[str | None], np.ndarray] | None = None

    def as_text(self, values: list[str | None]) -> Column:
        """The column of ``values`` (one per distinct value: the normalised text) by code.

        Remembers ``values`` and the codes as :attr:`distinct`, so that the column's
        distinct values need not be found again downstream (``Lines.factors``).
        """
        self.distinct = (values, self.codes)
        return text_from_codes(values, self.codes)

    def present(self) -> np.ndarray:
        """Per distinct value: not unknown."""
        return np.array([v is not None for v in self.clean], dtype=bool)

    def mapped(self, fn: str) -> list[str | None]:
        """The clean values through Arrow's ``utf8_upper`` or ``utf8_lower``."""
        return case_map(self.clean, fn)

    def numbers(self, values: list[str | None] | None = None) -> np.ndarray:
        """Per distinct value: ``pd.to_numeric`` of the clean text (NaN if not a number)."""
        if values is None and self._trimmed is not None:
            return to_numbers(self.clean, self._trimmed)
        return to_numbers(self.clean if values is None else values)


# Plain decimal numbers: Arrow's parser and pandas' give them the same float, to the bit (both
# round correctly); a longer exponent, and every other spelling, is left to pandas.
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,2})?$"


def to_numbers(texts: list[str | None], arrow: pa.Array | None = None) -> np.ndarray:
    """``pd.to_numeric(texts, errors="coerce")`` as float64: NaN for None and for non-numbers.

    Many texts are parsed by Arrow where they are plain decimal numbers (the thousands of
    distinct values of a batch's amount columns), the others by pandas; a few, all by pandas.
    ``arrow``: the same texts as an Arrow array, but for the last, ``None`` (blank texts may
    be empty strings there): saves building it.
    """
    if is_small(len(texts)):
        return _pandas_numbers(texts)
    arr = pa.array(texts, type=pa.large_string()) if arrow is None else arrow
    plain = pc.fill_null(pc.match_substring_regex(arr, _PLAIN_NUMBER), False)
    parsed = pc.cast(pc.filter(arr, plain), pa.float64()).to_numpy(zero_copy_only=False)
    if np.signbit(parsed[parsed == 0]).any():
        # pandas reads "-0" as -0.0 among floats but as the integer 0 when every text is an
        # integer: what it does with the whole column is the answer, in this rare case.
        return _pandas_numbers(texts)
    is_plain = plain.to_numpy(zero_copy_only=False)
    out = np.full(len(texts), np.nan)
    out[np.flatnonzero(is_plain)] = parsed
    rest = [i for i in np.flatnonzero(~is_plain) if texts[i] is not None]
    if rest:
        out[rest] = _pandas_numbers([texts[i] for i in rest])
    return out


def _pandas_numbers(texts: list[str | None]) -> np.ndarray:
    return np.asarray(pd.to_numeric(np.array(texts, dtype=object), errors="coerce"), "float64")


def _python_texts(cells: pd.Series | Sequence[str | None]) -> list[str | None]:
    if isinstance(cells, pd.Series):
        if cells.dtype != TEXT_DTYPE:
            cells = cells.astype("str")
        return [v if isinstance(v, str) else None for v in cells.tolist()]
    return [v if isinstance(v, str) else None for v in cells]


def _arrow_texts(cells: pd.Series | Sequence[str | None]) -> pa.Array:
    if isinstance(cells, pd.Series):
        if cells.dtype != TEXT_DTYPE:
            cells = cells.astype("str")
        arr = pa.array(cells.array)
    else:
        try:  # texts and None only (a JSON request's columns): no look at each value first
            arr = pa.array(cells, type=pa.large_string())
        except (pa.ArrowTypeError, pa.ArrowInvalid):  # NaN or another non-text: missing
            arr = pa.array(_python_texts(cells), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def text_from_codes(values: list[str | None], codes: np.ndarray) -> Column:
    """The text of each row from its code (``None``: unknown), in the batch's text form."""
    if is_small(len(codes)):
        nan_for_none = [np.nan if v is None else v for v in values]
        taken = np.empty(len(codes), dtype=object)
        taken[:] = [nan_for_none[c] for c in codes.tolist()]
        return taken
    arr = pa.array(values, type=pa.large_string()).take(pa.array(codes))
    return pd.arrays.ArrowStringArray(arr, dtype=TEXT_DTYPE)  # type: ignore[call-arg]


def unknown_text(n: int) -> Column:
    """A text column of ``n`` unknown values."""
    return text_from_codes([None], np.zeros(n, dtype=np.intp))
