"""``Lines``: the one columnar form entry lines take through the core, at every size.

The reader produces a :class:`Lines`; signals, features, scoring and explanations consume
it. A batch is a set of named, equally long columns:

- numbers are ``float64`` NumPy arrays (NaN: unknown), ``line_no`` is ``int64``,
  dates are ``datetime64[ns]`` (NaT: unknown), flags are ``bool``;
- text is a NumPy ``object`` array of ``str`` (NaN: unknown) in a small batch, and an
  Arrow-backed pandas ``str`` array in a large one.

The two forms of text hold the same values; which one a batch uses is decided here, once,
by :func:`is_small`, and every kernel that has a per-value Python path and a vectorised path
asks the same question. Python's per-call cost is lower for a few values, Arrow's per-value
cost is lower for many, and nothing downstream can tell the difference in the results
(``tests/models/test_batch_invariants.py`` checks it to the bit).

DataFrames are adapters at the edges: :meth:`Lines.to_frame` for reports, notebooks and
CSV output, :meth:`Lines.from_frame` for a frame the reader produced.
"""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, Mapping, Sequence
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from models.contract.columns import BY_NAME, Kind

# The one size cut-off of the core: up to this many values, per-value Python beats a
# vectorised kernel's fixed cost per call; above it, the vectorised kernel wins.
SMALL_BATCH = 64

TEXT_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)

Column: TypeAlias = np.ndarray | pd.api.extensions.ExtensionArray
"""A column of a :class:`Lines`: a NumPy array or an Arrow-backed pandas ``str`` array."""
Distinct: TypeAlias = tuple[list[str | None], np.ndarray]
"""A text column as validation made it: the text of each distinct input, each line's code."""


def is_small(n: int) -> bool:
    """Whether ``n`` values take the per-value Python kernels (see the module docstring)."""
    return n <= SMALL_BATCH


def frame_column(col: Column) -> Column:
    """A column as a frame holds it: a small batch's object text becomes pandas ``str``."""
    if isinstance(col, np.ndarray) and col.dtype == object:
        return pd.array(col, dtype=TEXT_DTYPE)
    return col


def _is_text(col: Column) -> bool:
    if isinstance(col, np.ndarray):
        return col.dtype == object
    return isinstance(col.dtype, pd.StringDtype)


# The form each kind of contract column takes in a batch (text: see ``_text_form``).
_NUMPY_FORM = {
    Kind.INTEGER: "int64",
    Kind.DATE: "datetime64[ns]",
    Kind.NUMBER: "float64",
    Kind.VIOLATION: "float64",
    Kind.BOOLEAN: "bool",
}


class Lines:
    """Validated entry lines as named columns of one length.

    ``lines[name]`` is a column, ``name in lines`` asks for one, ``len(lines)`` is the
    number of lines. Build it with the reader (``models.contract.reader``), never by hand
    from unvalidated text.

    Attributes:
        n: Number of lines.
        passthrough: Pass-through feature columns: name -> ``"categorical"`` | ``"numeric"``.
    """

    __slots__ = ("_columns", "_distinct", "n", "passthrough")

    def __init__(
        self,
        columns: Mapping[str, Column],
        n: int,
        passthrough: Mapping[str, str] | None = None,
        distinct: Mapping[str, Distinct] | None = None,
    ) -> None:
        """Lines of ``columns``, each of ``n`` values.

        Args:
            columns: Name -> column.
            n: Number of lines.
            passthrough: Pass-through feature columns: name -> kind.
            distinct: Text columns whose distinct values validation found: name ->
                (text per distinct value, code per line into it), for :meth:`factors`.
        """
        bad = [c for c, v in columns.items() if len(v) != n]
        if bad:
            raise ValueError(f"columns {bad} do not have {n} values")
        self._columns = dict(columns)
        self.n = n
        self.passthrough = dict(passthrough or {})
        self._distinct: dict[str, Distinct] = {
            c: d for c, d in (distinct or {}).items() if c in self._columns
        }

    def __getitem__(self, name: str) -> Column:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return self.n

    def get(self, name: str, default: Column | None = None) -> Column | None:
        """The column ``name``, or ``default`` if the lines have none."""
        return self._columns.get(name, default)

    def keys(self) -> KeysView[str]:
        """Column names, in order."""
        return self._columns.keys()

    def items(self) -> ItemsView[str, Column]:
        """(name, column) pairs, in order."""
        return self._columns.items()

    def __repr__(self) -> str:
        return f"Lines(n={self.n}, columns={list(self._columns)})"

    def factors(self, name: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The text column ``name`` factorised, if validation found its distinct values.

        Codes per line into the distinct values (object array, in order of first
        appearance), ``-1`` for unknown: what ``pd.factorize`` (and
        ``models.features.distinct.factorize``) give for the column, without a pass over
        its lines. None when the lines do not know them (lines taken from others, or
        built from a frame): factorise the column then.
        """
        found = self._distinct.get(name)
        if found is None:
            return None
        values, codes = found
        last = len(values) - 1
        # Most often no two inputs normalise alike and only the last slot (a missing cell's)
        # is unknown: the codes are the inputs' own.
        if last >= 0 and values[last] is None and len(set(values)) == len(values):
            uniques = np.empty(last, dtype=object)
            uniques[:] = values[:last]
            return np.where(codes == last, -1, codes).astype(np.intp, copy=False), uniques
        index: dict[str, int] = {}
        # Distinct inputs that normalise to one text ("cn", "CN ") become one value, in
        # order of first appearance as the codes number the inputs.
        per_input = [-1 if v is None else index.setdefault(v, len(index)) for v in values]
        uniques = np.empty(len(index), dtype=object)
        uniques[:] = list(index)
        return np.array(per_input, dtype=np.intp)[codes], uniques

    def take(self, index: np.ndarray | Sequence[int]) -> Lines:
        """The lines at ``index``, in that order.

        Args:
            index: Positions, or a boolean mask of ``n`` values.

        Raises:
            ValueError: A mask of another length than the lines.
        """
        idx = np.asarray(index)
        if idx.dtype == bool:
            if len(idx) != self.n:
                raise ValueError(f"a mask of {len(idx)} values for {self.n} lines")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.intp, copy=False)
        n = len(idx)
        out: dict[str, Column] = {}
        for name, col in self._columns.items():
            taken = col[idx]
            if _is_text(col):
                taken = _text_form(taken, n)
            out[name] = taken
        return Lines(out, n, self.passthrough)

    def with_columns(self, extra: Mapping[str, Column]) -> Lines:
        """These lines with columns added or replaced."""
        kept = {c: d for c, d in self._distinct.items() if c not in extra}
        return Lines({**self._columns, **extra}, self.n, self.passthrough, kept)

    def to_frame(self) -> pd.DataFrame:
        """The lines as a DataFrame (text as pandas ``str``): an adapter for the edges."""
        return pd.DataFrame({c: frame_column(v) for c, v in self._columns.items()})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, passthrough: Mapping[str, str] | None = None) -> Lines:
        """The lines of a frame the reader produced (or :meth:`to_frame` of lines).

        Each contract column takes the form its kind has in a batch (and a pass-through
        column the form of its kind), whatever the frame's dtype; other columns are text
        unless the frame holds them as NumPy numbers, dates or flags.

        Args:
            frame: Contract-shaped lines with the reader's values.
            passthrough: Pass-through feature columns of the lines.
        """
        n = len(frame)
        kinds = dict(passthrough or {})
        cols: dict[str, Column] = {}
        for c in frame.columns:
            s = frame[c]
            column = BY_NAME.get(c)
            form = _NUMPY_FORM.get(column.kind) if column is not None else None
            if kinds.get(c) == "numeric":
                form = "float64"
            elif kinds.get(c) == "categorical":
                form = None
            elif column is None and isinstance(s.dtype, np.dtype) and s.dtype != object:
                form = s.dtype.str
            if form is None:
                cols[c] = _text_form(s.array, n)
            elif form == "bool":
                cols[c] = s.fillna(False).to_numpy(dtype=bool)
            elif form == "int64":
                cols[c] = s.to_numpy(dtype="int64")
            else:
                cols[c] = s.to_numpy(
                    dtype=form,
                    na_value=np.datetime64("NaT") if form.startswith("datetime") else np.nan,
                )
        return cls(cols, n, passthrough)

    @classmethod
    def concat(cls, parts: Sequence[Lines]) -> Lines:
        """Lines of several batches, one after another.

        Raises:
            ValueError: No batches, or batches with other columns or pass-through kinds.
        """
        if not parts:
            raise ValueError("no batches to concatenate")
        first_part = parts[0]
        for p in parts[1:]:
            if list(p) != list(first_part) or p.passthrough != first_part.passthrough:
                raise ValueError("batches with other columns cannot be concatenated")
        if len(parts) == 1:
            return parts[0]
        n = sum(p.n for p in parts)
        out: dict[str, Column] = {}
        for name, first in parts[0]._columns.items():
            cols = [p[name] for p in parts]
            if _is_text(first):
                texts = [pd.Series(pd.array(c, dtype=TEXT_DTYPE)) for c in cols]  # type: ignore[arg-type]
                out[name] = _text_form(pd.concat(texts).array, n)
            else:
                out[name] = np.concatenate([np.asarray(c) for c in cols])
        return cls(out, n, parts[0].passthrough)


def _text_form(values: Any, n: int) -> Column:
    """Text values in the form :func:`is_small` gives ``n`` lines (NaN: unknown)."""
    if is_small(n):
        if isinstance(values, np.ndarray) and values.dtype == object:
            return values
        arr = np.asarray(values, dtype=object)
        if len(arr) and not isinstance(values, np.ndarray):
            arr = np.where(pd.isna(arr), np.nan, arr).astype(object)
        return arr
    if isinstance(values, pd.api.extensions.ExtensionArray) and values.dtype == TEXT_DTYPE:
        return values
    return pd.array(np.asarray(values, dtype=object), dtype=TEXT_DTYPE)
