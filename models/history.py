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

from models.distinct import combine, factorize

COUNTS = ("n", "n_insp", "n_viol", "n_risky")


def month_index(dates: pd.Series) -> pd.Series:
    """Months since year 0, an integer that sorts like the calendar."""
    d = pd.to_datetime(dates)
    return (d.dt.year * 12 + d.dt.month - 1).astype("int64")


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
    _lookup: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def fit(cls, key: str, parties: pd.Series, frame: pd.DataFrame) -> PartyHistory:
        """Count lines, inspections, violations and risky lines per party and month.

        Args:
            key: Name used for the features (``hist_<key>_...``).
            parties: Party identifier per line (missing: not counted).
            frame: Lines with ``entry_date``, ``inspected``, ``violation`` and a boolean
                ``risky`` column (risky goods, routes or places), aligned with ``parties``.
        """
        df = pd.DataFrame(
            {
                "party": parties.to_numpy(),
                "month": month_index(frame["entry_date"]).to_numpy(),
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

    def features(self, parties: pd.Series, months: pd.Series, prior_rate: float) -> pd.DataFrame:
        """History features of each line from the months strictly before its own.

        Args:
            parties: Party identifier per line.
            months: ``month_index`` of each line's entry date.
            prior_rate: Global violation rate among inspected lines, the smoothing prior.

        Returns:
            Frame aligned with ``parties``: prior lines, inspections, smoothed violation
            rate, share of risky lines, months since first seen (NaN when never seen).
        """
        # Features depend only on (party, month): compute them once per distinct pair.
        pcodes, puniq = factorize(parties.to_numpy())
        mcodes, muniq = factorize(months.to_numpy())
        pair, first = combine(pcodes, mcodes)
        pos_p, pos_m = pcodes[first], mcodes[first]
        p_vals = np.append(puniq, [None])[pos_p]
        m_vals = np.asarray(muniq, dtype="int64")[pos_m] if len(first) else np.zeros(0, "int64")
        distinct = self._features(p_vals, m_vals, prior_rate)
        out = pd.DataFrame({c: distinct[c].to_numpy()[pair] for c in distinct.columns})
        out.index = parties.index
        return out

    def _features(self, parties: np.ndarray, months: np.ndarray, prior_rate: float) -> pd.DataFrame:
        k = self.key
        left = pd.DataFrame(
            {
                "party": parties,
                "month": months - 1,
                "_pos": np.arange(len(parties)),
            }
        )
        known = left.dropna(subset=["party"]).sort_values("month", kind="stable")
        known["party"] = known["party"].astype(object)
        if self._lookup is None:  # converted once, not per chunk
            self._lookup = self.table.astype({"month": "int64", "party": object})
        table = self._lookup
        merged = pd.merge_asof(
            known.astype({"month": "int64"}),
            table,
            on="month",
            by="party",
            direction="backward",
        ).set_index("_pos")
        out = pd.DataFrame(index=np.arange(len(parties)))
        n = merged["n"].reindex(out.index).fillna(0.0)
        n_insp = merged["n_insp"].reindex(out.index).fillna(0.0)
        n_viol = merged["n_viol"].reindex(out.index).fillna(0.0)
        n_risky = merged["n_risky"].reindex(out.index).fillna(0.0)
        first = merged["first_month"].reindex(out.index)
        # Beta-binomial smoothing: a party with two clean inspections is not "0% risk".
        strength = 5.0
        out[f"hist_{k}_lines"] = np.log1p(n)
        out[f"hist_{k}_inspected"] = np.log1p(n_insp)
        out[f"hist_{k}_viol_rate"] = np.where(
            n_insp > 0, (n_viol + strength * prior_rate) / (n_insp + strength), np.nan
        )
        out[f"hist_{k}_violations"] = n_viol
        out[f"hist_{k}_risky_share"] = np.where(n > 0, n_risky / n.where(n > 0, 1.0), np.nan)
        out[f"hist_{k}_months_known"] = (months - first.to_numpy()).astype("float64")
        return out

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
        cols = ("party", "month", "first_month", *COUNTS)
        table = pd.DataFrame({c: data[c] for c in cols})
        table["party"] = table["party"].astype(object)
        return cls(key=data["key"], table=table)
