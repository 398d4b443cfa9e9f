"""The bad-row report: every (row, column) problem found by the contract checks, once."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd

from models.contract.batch import TEXT_DTYPE
from models.contract.text import TextCells

REPORT_COLUMNS = ("row", "column", "value", "reason", "source")


class Problems:
    """Collects (position, column, reason) problems; each (row, column) is kept once."""

    def __init__(self) -> None:
        self.by_column: dict[str, tuple[np.ndarray, list[str]]] = {}
        self.texts: dict[str, TextCells] = {}

    def add(self, column: str, pos: np.ndarray, reasons: list[str]) -> None:
        """Flag rows at positions ``pos`` (ascending) unless already flagged in ``column``."""
        seen = self.by_column.get(column)
        if seen is not None and len(pos):
            keep = ~np.isin(pos, seen[0])
            pos, reasons = pos[keep], [r for r, k in zip(reasons, keep.tolist(), strict=True) if k]
        if len(pos) == 0:
            return
        if seen is not None:
            pos, reasons = np.concatenate([seen[0], pos]), seen[1] + reasons
        self.by_column[column] = (pos, reasons)

    def flag_values(self, column: str, t: TextCells, why: list[str | None]) -> None:
        """Flag rows whose distinct value has a reason (``why``: one per distinct value)."""
        if why.count(None) == len(why):  # the usual case, decided in C
            return
        bad = np.array([w is not None for w in why], dtype=bool)
        pos = np.flatnonzero(bad[t.codes])
        self.add(column, pos, [why[c] for c in t.codes[pos].tolist()])  # type: ignore[misc]

    def flag_rows(self, column: str, t: TextCells, mask: np.ndarray, why: str) -> None:
        """Flag rows where ``mask``; ``why`` is formatted with ``{v}`` = the cell's clean text."""
        pos = np.flatnonzero(mask)
        if len(pos):
            self.add(column, pos, [why.format(v=t.clean[c]) for c in t.codes[pos].tolist()])

    def bad_positions(self) -> np.ndarray:
        """Sorted positions of rows with at least one problem."""
        parts = [pos for pos, _ in self.by_column.values()]
        return np.unique(np.concatenate(parts)) if parts else np.array([], dtype=np.int64)

    def report(self, columns: Sequence[str], rows: np.ndarray, source: str) -> pd.DataFrame:
        """The bad-row report, sorted by row then column order (``columns``)."""
        order = {c: i for i, c in enumerate(columns)}
        recs: list[tuple[int, int, str, str, str]] = []
        for column, (pos, reasons) in self.by_column.items():
            t = self.texts[column]
            values = [t.raw[c] or "" for c in t.codes[pos].tolist()]
            o = order[column]
            recs += [
                (r, o, column, v, why)
                for r, v, why in zip(rows[pos].tolist(), values, reasons, strict=True)
            ]
        recs.sort(key=lambda rec: (rec[0], rec[1]))
        return pd.DataFrame(
            {
                "row": np.array([r[0] for r in recs], dtype=np.int64),
                "column": pd.array([r[2] for r in recs], dtype=TEXT_DTYPE),
                "value": pd.array([r[3] for r in recs], dtype=TEXT_DTYPE),
                "reason": pd.array([r[4] for r in recs], dtype=TEXT_DTYPE),
                "source": pd.array([source] * len(recs), dtype=TEXT_DTYPE),
            }
        )


@lru_cache(maxsize=1)
def _empty_report_template() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="str") for c in REPORT_COLUMNS})
    return df.astype({"row": "int64"})


def empty_report() -> pd.DataFrame:
    """A report with no problems (the report's columns and dtypes)."""
    return _empty_report_template().copy()
