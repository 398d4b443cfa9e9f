"""The contract's rules for one column: each distinct value checked once, the column normalised.

Every column of ``models.contract.columns`` has a kind; each kind has one rule here. A
value that breaks its rule is flagged with a reason that names the value, and the column is
returned in the batch's form (see ``models.contract.batch``).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models.contract.batch import Column
from models.contract.columns import (
    BY_NAME,
    FALSE_VALUES,
    INSPECTION_REASONS,
    TRANSPORT_MODES,
    TRUE_VALUES,
    Kind,
    country_codes,
)
from models.contract.problems import Problems
from models.contract.text import TextCells

_DATE_MIN, _DATE_MAX = pd.Timestamp("1677-09-22"), pd.Timestamp("2262-04-11")
_DATE_RE = r"\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0+)?)?)?"
_INT_RE = re.compile(r"\d{1,9}")
_DATE_FULL_RE = re.compile(_DATE_RE, re.ASCII)  # digits 0-9 only, not "٢٠٢٤"
_HTS_SEP_RE = re.compile(r"[.\s]")
_HTS_RE = re.compile(r"\d{6,10}")
_LOCODE_RE = re.compile(r"[A-Z]{2}[A-Z0-9]{3}")
_PORT_RE = re.compile(r"\d{4}")

# Dates datetime64[ns] can hold (a year like 0001 or 9999 would overflow: a bad date).
_DAY_MIN, _DAY_MAX = _DATE_MIN.date(), _DATE_MAX.date()


def _date(v: str | None) -> datetime.date | None:
    """The calendar date of a contract date text, or None if it is not one.

    Plain Python per distinct value: ``pd.to_datetime`` has a fixed cost per call larger
    than all the other checks of a line together.
    """
    if v is None or not _DATE_FULL_RE.fullmatch(v):
        return None
    try:
        d = datetime.date.fromisoformat(v[:10])  # the regex leaves YYYY-MM-DD only
    except ValueError:  # month 13, 30 February, year 0000
        return None
    return d if _DAY_MIN <= d <= _DAY_MAX else None


def check_column(name: str, t: TextCells, p: Problems) -> Column:
    """Validate one contract column (factorised text) and return it normalised."""
    kind = BY_NAME[name].kind
    clean = t.clean
    if BY_NAME[name].required:
        p.flag_values(name, t, [None if v is not None else "missing required value" for v in clean])
    if kind in (Kind.ID, Kind.TEXT):
        return t.as_text(clean)
    if kind is Kind.INTEGER:
        cand = [v if v is not None and _INT_RE.fullmatch(v) else None for v in clean]
        n = t.numbers(cand)
        good = n >= 1
        why = [
            f"not an integer >= 1: '{v}'" if v is not None and not g else None
            for v, g in zip(clean, good.tolist(), strict=True)
        ]
        p.flag_values(name, t, why)
        return np.where(good, n, np.nan)[t.codes]
    if kind is Kind.DATE:
        days = [_date(v) for v in clean]
        why = [
            f"unparseable date '{v}'" if v is not None and d is None else None
            for v, d in zip(clean, days, strict=True)
        ]
        p.flag_values(name, t, why)
        return np.array(days, dtype="datetime64[ns]")[t.codes]  # None -> NaT
    if kind is Kind.HTS:
        digits = [None if v is None else _HTS_SEP_RE.sub("", v) for v in clean]
        why = [
            f"not an HTS code of 6 to 10 digits: '{v}'"
            if v is not None and not _HTS_RE.fullmatch(dg or "")
            else None
            for v, dg in zip(clean, digits, strict=True)
        ]
        p.flag_values(name, t, why)
        return t.as_text(digits)
    if kind is Kind.COUNTRY:
        up = t.mapped("utf8_upper")
        codes = country_codes()
        why = [
            f"not an ISO 3166-1 alpha-2 code: '{v}'" if v is not None and u not in codes else None
            for v, u in zip(clean, up, strict=True)
        ]
        p.flag_values(name, t, why)
        return t.as_text(up)
    if kind is Kind.LOCODE:
        up = [None if u is None else u.replace(" ", "") for u in t.mapped("utf8_upper")]
        codes = country_codes()
        why = [
            f"not a UN/LOCODE (country + 3 characters): '{v}'"
            if v is not None and not (_LOCODE_RE.fullmatch(u or "") and (u or "")[:2] in codes)
            else None
            for v, u in zip(clean, up, strict=True)
        ]
        p.flag_values(name, t, why)
        return t.as_text(up)
    if kind is Kind.PORT:
        why = [
            f"not a 4-digit CBP port code: '{v}'"
            if v is not None and not _PORT_RE.fullmatch(v)
            else None
            for v in clean
        ]
        p.flag_values(name, t, why)
        return t.as_text(clean)
    if kind is Kind.TRANSPORT:
        low = t.mapped("utf8_lower")
        modes = "/".join(sorted(TRANSPORT_MODES))
        why = [
            f"not one of {modes}: '{v}'" if v is not None and lw not in TRANSPORT_MODES else None
            for v, lw in zip(clean, low, strict=True)
        ]
        p.flag_values(name, t, why)
        return t.as_text(low)
    if kind is Kind.NUMBER:
        x = t.numbers()
        ok = np.isfinite(x) & (x >= 0)
        why = [
            f"not a finite number >= 0: '{v}'" if v is not None and not g else None
            for v, g in zip(clean, ok.tolist(), strict=True)
        ]
        p.flag_values(name, t, why)
        return x[t.codes]
    raise AssertionError(f"label or unknown kind {kind}")  # labels are checked in check_labels


RawColumns = pd.DataFrame | Mapping[str, Sequence[str | None]]


def cells_of(raw: RawColumns, name: str, p: Problems) -> TextCells:
    """The column ``name`` of ``raw`` factorised, registered with ``p`` for its report."""
    t = TextCells(raw[name])
    p.texts[name] = t
    return t


def check_labels(raw: RawColumns, n: int, p: Problems) -> dict[str, Column]:
    """Validate the label columns and the rules that tie them together."""
    out: dict[str, Column] = {}
    if "inspected" in raw:
        t = cells_of(raw, "inspected", p)
        low = t.mapped("utf8_lower")
        why = [
            "missing value (expected true/false)"
            if v is None
            else None
            if lw in TRUE_VALUES or lw in FALSE_VALUES
            else f"not a boolean (true/false/1/0/yes/no): '{v}'"
            for v, lw in zip(t.clean, low, strict=True)
        ]
        p.flag_values("inspected", t, why)
        out["inspected"] = np.array([lw in TRUE_VALUES for lw in low], dtype=bool)[t.codes]
        not_inspected = np.array([lw in FALSE_VALUES for lw in low], dtype=bool)[t.codes]
    else:
        # No label columns: a scoring file. Its lines were not inspected as far as we know.
        out["inspected"] = np.zeros(n, dtype=bool)
        not_inspected = np.ones(n, dtype=bool)
    if "inspection_reason" in raw:
        t = cells_of(raw, "inspection_reason", p)
        low = t.mapped("utf8_lower")
        why = [
            f"not one of random/targeted/tip: '{v}'"
            if v is not None and lw not in INSPECTION_REASONS
            else None
            for v, lw in zip(t.clean, low, strict=True)
        ]
        p.flag_values("inspection_reason", t, why)
        unexpected = t.present()[t.codes] & not_inspected
        p.flag_rows("inspection_reason", t, unexpected, "set on a line not inspected: '{v}'")
        out["inspection_reason"] = t.as_text(low)
    if "violation" in raw:
        t = cells_of(raw, "violation", p)
        # pandas writes a 0/1 column holding NaN as 0.0/1.0, so accept those spellings too.
        x = t.numbers()
        ok = (x == 0.0) | (x == 1.0)
        why = [
            f"not 1, 0 or empty: '{v}'" if v is not None and not g else None
            for v, g in zip(t.clean, ok.tolist(), strict=True)
        ]
        p.flag_values("violation", t, why)
        unexpected = t.present()[t.codes] & not_inspected
        p.flag_rows("violation", t, unexpected, "set on a line not inspected: '{v}'")
        out["violation"] = x[t.codes]
    return out
