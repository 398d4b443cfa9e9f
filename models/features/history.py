"""Party history: what past inspections say about an importer, manufacturer or shipper.

The fitted state holds, per party and month, cumulative counts up to the end of that month.
A line looks up the counts of months strictly before its own month, so a training line never
sees its own outcome or any later one, and a line scored after training sees all of history:
the same lookup serves training and serving.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.contract.batch import is_small
from models.features.distinct import factorize, spread

COUNTS = ("n", "n_insp", "n_viol", "n_risky")
# Months are packed with the party code into one int64 search key; the offset keeps any
# month (including month - 1 of month 0) non-negative in the low 32 bits.
_MONTH_OFFSET = 1 << 31


def month_index(dates: pd.Series | np.ndarray | pd.api.extensions.ExtensionArray) -> np.ndarray:
    """Months since year 0 (``year * 12 + month - 1``), an integer that sorts like the calendar.

    Args:
        dates: ``datetime64`` dates (the reader's form of ``entry_date``).
    """
    months = np.asarray(dates, dtype="datetime64[ns]").astype("datetime64[M]").astype("int64")
    return months + 1970 * 12  # type: ignore[no-any-return]


@dataclass
class PartyHistory:
    """Cumulative monthly counts for one party key (e.g. the importer).

    Attributes:
        key: Name of the column holding the party identifier.
        table: Columns ``party, month, first_month`` and the cumulative ``COUNTS``; one row
            per party and active month, sorted by month.
    """

    key: str
    table: pd.DataFrame = field(repr=False)

    @classmethod
    def fit(cls, key: str, parties: pd.Series | np.ndarray, frame: pd.DataFrame) -> PartyHistory:
        """Count lines, inspections, violations and risky lines per party and month.

        Args:
            key: Name used for the features (``hist_<key>_...``).
            parties: Party identifier per line (missing: not counted).
            frame: Lines with ``entry_date``, ``inspected``, ``violation`` and a boolean
                ``risky`` column (risky goods, routes or places), aligned with ``parties``.
        """
        df = pd.DataFrame(
            {
                "party": np.asarray(parties, dtype=object),
                "month": month_index(frame["entry_date"]),
                "n": 1,
                "n_insp": frame["inspected"].fillna(False).astype(bool).astype("int64").to_numpy(),
                "n_viol": (frame["violation"].fillna(0) == 1).astype("int64").to_numpy(),
                "n_risky": frame["risky"].astype("int64").to_numpy(),
            }
        ).dropna(subset=["party"])
        monthly = df.groupby(["party", "month"], sort=True)[list(COUNTS)].sum().reset_index()
        monthly[list(COUNTS)] = monthly.groupby("party")[list(COUNTS)].cumsum()
        monthly["first_month"] = monthly.groupby("party")["month"].transform("min")
        monthly = monthly.sort_values(["month", "party"], kind="stable").reset_index(drop=True)
        return cls(key=key, table=monthly)

    def features(
        self, parties: np.ndarray, months: np.ndarray, prior_rate: float
    ) -> dict[str, np.ndarray]:
        """History features of each line from the months strictly before its own.

        Args:
            parties: Party identifier per line (object array or text column; missing: None
                or NaN).
            months: ``month_index`` of each line's entry date (int64 array).
            prior_rate: Global violation rate among inspected lines, the smoothing prior.

        Returns:
            Feature name -> array aligned with ``parties``: prior lines, inspections,
            smoothed violation rate, share of risky lines, months since first seen (NaN
            when never seen). See :func:`history_features`, which this is for one history.
        """
        return history_features(HistoryLookup([self]), [parties], months, prior_rate)

    def _sorted(self) -> tuple[dict[Any, int], np.ndarray, np.ndarray, np.ndarray]:
        """The table as search arrays.

        Party codes; packed (party, month) keys in sorted order; per key, its party's code
        (plus a last -2, read by position -1: no party); per key, the ``COUNTS``
        and ``first_month`` (plus a last row for "no history"). A lookup is then one binary
        search and one take. Not kept: :class:`HistoryLookup`, built once per model, holds
        them joined (a copy kept here too was 12.5 MB of a served model's memory).
        """
        codes, uniques = pd.factorize(self.table["party"].astype(object), sort=False)
        month = self.table["month"].to_numpy(dtype=np.int64)
        keys = (codes.astype(np.int64) << 32) + (month + _MONTH_OFFSET)
        order = np.argsort(keys, kind="stable")
        cols = [self.table[c].to_numpy(dtype=np.float64)[order] for c in COUNTS]
        values = np.column_stack([*cols, self.table["first_month"].to_numpy(np.float64)[order]])
        values = np.vstack([values, [0.0] * len(COUNTS) + [np.nan]])
        position = {p: i for i, p in enumerate(uniques)}
        keys = keys[order]
        party_at = np.append(keys >> 32, np.int64(-2))
        return position, keys, party_at, values

    def to_json(self) -> dict[str, Any]:
        """Column-oriented dict for the model's JSON state."""
        return {
            "key": self.key,
            "party": self.table["party"].astype(str).tolist(),
            **{
                c: self.table[c].astype("int64").tolist() for c in ("month", "first_month", *COUNTS)
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartyHistory:
        """Inverse of :meth:`to_json`."""
        # Parties as codes into their distinct names: one string per party, not one per
        # party and month.
        party = pd.Categorical(data["party"])
        ints = {c: np.asarray(data[c], dtype=np.int64) for c in ("month", "first_month", *COUNTS)}
        return cls(key=data["key"], table=pd.DataFrame({"party": party, **ints}))


class HistoryLookup:
    """Several histories' search arrays as one, so a batch looks all of them up at once.

    Each history's parties get codes after the previous history's (``bases``), so the
    packed (party, month) keys of all histories, each sorted, concatenate into one sorted
    array, and a backward as-of search over it finds, for a line's party, the same row as a
    search over that party's own history. Built once per model (the feature state holds it).
    """

    def __init__(self, histories: list[PartyHistory]) -> None:
        """Concatenate the ``histories``' search arrays (:meth:`PartyHistory._sorted`)."""
        self.histories = histories
        self.codes_of: list[dict[Any, int]] = []
        bases, keys, party_at, values = [], [], [], []
        base = 0
        for hist in histories:
            codes_of, own_keys, own_party_at, own_values = hist._sorted()
            self.codes_of.append(codes_of)
            bases.append(base)
            keys.append(own_keys + (np.int64(base) << 32))
            party_at.append(own_party_at[:-1] + base)
            values.append(own_values[:-1])
            base += len(codes_of)
        self.bases = np.asarray(bases, dtype=np.int64).reshape(-1, 1)
        # Where each history's rows start in the joined arrays (and where the last ends).
        self.starts = np.cumsum([0, *(len(k) for k in keys)]).tolist()
        self.keys = np.concatenate([np.zeros(0, dtype=np.int64), *keys])
        # A last -2 (no party's code), read by position -1, as in each history's own arrays.
        self.party_at = np.append(np.concatenate([np.zeros(0, dtype=np.int64), *party_at]), -2)
        # The last row stands for "no history": zero counts, no first month.
        self.values = np.vstack([*values, [0.0] * len(COUNTS) + [np.nan]])


def history_features(
    lookup: HistoryLookup, parties: list[Any], months: np.ndarray, prior_rate: float
) -> dict[str, np.ndarray]:
    """Every history's features of each line (see :meth:`PartyHistory.features`).

    A few lines look all histories up at once: one search, one take and one set of
    arithmetic (a request of one line pays per NumPy call, not per value). Many lines look
    up one history at a time, whose arrays stay in the CPU's caches. Each value is computed
    as a history's own lookup computes it, either way.

    Args:
        lookup: The histories' joined search arrays.
        parties: Per history, in ``lookup.histories`` order, the party of each line.
        months: ``month_index`` of each line's entry date (int64 array).
        prior_rate: Global violation rate among inspected lines, the smoothing prior.

    Returns:
        ``hist_<key>_<feature>`` -> array aligned with the lines, history by history.
    """
    rows = range(len(lookup.histories))
    blocks = [list(rows)] if is_small(len(months)) else [[r] for r in rows]
    out: dict[str, np.ndarray] = {}
    for block in blocks:
        out.update(_block_features(lookup, block, parties, months, prior_rate))
    return out


def _block_features(
    lookup: HistoryLookup, rows: list[int], parties: list[Any], months: np.ndarray, prior: float
) -> dict[str, np.ndarray]:
    """:func:`history_features` of the histories ``rows`` (positions in ``lookup``)."""
    n, h = len(months), len(rows)
    own = np.empty((h, n), dtype=np.int64)
    for k, row in enumerate(rows):
        # Party code of each line, looked up once per distinct party (missing: -1).
        pcodes, puniq = factorize(parties[row])
        codes_of = lookup.codes_of[row]
        own[k] = spread([codes_of.get(p, -1) for p in puniq], pcodes, -1, "int64")
    known = (own >= 0).ravel()
    pid = (own + lookup.bases[rows]).ravel()
    # Latest row of the same party with month <= month - 1 (what a backward as-of join by
    # party finds), via one binary search over (party, month) packed into int64.
    query = (pid << 32) + np.tile(months.astype(np.int64) - 1 + _MONTH_OFFSET, h)
    # Searched among the block's own histories' rows (contiguous, as the rows are in order):
    # one history's arrays stay in the CPU's caches. A position just before them is another
    # history's row or the last row, whose party is never the line's: no hit, as wanted.
    lo, hi = lookup.starts[rows[0]], lookup.starts[rows[-1] + 1]
    pos = np.searchsorted(lookup.keys[lo:hi], query, side="right") + (lo - 1)
    # Element-wise, no masked assignment. An unknown party's code (base - 1) may be another
    # history's party: ``known`` rules it out.
    hit = known & (lookup.party_at[pos] == pid)
    # Lines without history read the last row: zero counts, no first month.
    count, insp, viol, risky, first = lookup.values[np.where(hit, pos, -1)].T
    # Beta-binomial smoothing: a party with two clean inspections is not "0% risk".
    strength = 5.0
    # No division by zero can occur (counts are >= 0, the divisors >= 1), so no
    # ``np.errstate``, whose context costs more than the arithmetic on a few lines.
    cols = {
        "lines": np.log1p(count),
        "inspected": np.log1p(insp),
        "viol_rate": np.where(insp > 0, (viol + strength * prior) / (insp + strength), np.nan),
        "violations": viol,
        "risky_share": np.where(count > 0, risky / np.where(count > 0, count, 1.0), np.nan),
        "months_known": (np.tile(months, h) - first).astype("float64"),
    }
    hits = hit.reshape(h, n)
    out: dict[str, np.ndarray] = {}
    for k, row in enumerate(rows):
        part = slice(k * n, (k + 1) * n)
        for name, col in cols.items():
            value = col[part]
            if name == "violations":
                # int64 when every line found a history (a count); float when some did not
                # (NaN-free zeros, but the column is shared with those lines).
                value = value.astype(np.int64) if hits[k].all() else value.copy()
            out[f"hist_{lookup.histories[row].key}_{name}"] = value
    return out
