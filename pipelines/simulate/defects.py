"""Bad-row injection: realistic defects in a share of the training rows, with a record.

Each injected row gets exactly one defect that the contract calls a bad row, so a reader
test can check that it reports exactly the rows listed in ``defects.csv``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.simulate.scenario import DEFECT_KINDS, Scenario

_REQUIRED = ("entry_id", "entry_date", "hts_code", "country_of_origin")
_BAD_COUNTRIES = np.array(["XX", "CHN", "VNM", "C1", "QQ"], dtype=object)


def inject(
    rng: np.random.Generator, sc: Scenario, frame: pd.DataFrame, share: float
) -> pd.DataFrame:
    """Damage ``share`` of the rows of ``frame`` in place.

    Args:
        rng: The simulation's generator.
        sc: Scenario (``defects.kinds`` gives the mix of defect kinds).
        frame: Training rows as written (contract + label columns).
        share: Fraction of rows to damage.

    Returns:
        One row per defect: ``row`` (file line number, header = 1), ``column``, ``kind``,
        ``value`` (the injected text).
    """
    n = len(frame)
    total = round(share * n)
    empty = pd.DataFrame({"row": [], "column": [], "kind": [], "value": []})
    if total == 0:
        return empty
    weights = np.array([sc.defects.kinds.get(k, 0.0) for k in DEFECT_KINDS])
    counts = rng.multinomial(total, weights / weights.sum())
    inspected = frame["inspected"].to_numpy(dtype=bool)
    free = np.ones(n, dtype=bool)
    records = []
    for kind, k in zip(DEFECT_KINDS, counts, strict=True):
        if kind == "violation_uninspected":
            pool = np.flatnonzero(free & ~inspected)
        elif kind == "violation_value":
            pool = np.flatnonzero(free & inspected)
            pool = pool if pool.size >= k else np.flatnonzero(free)
        else:
            pool = np.flatnonzero(free)
        rows = np.sort(rng.choice(pool, size=min(int(k), pool.size), replace=False))
        free[rows] = False
        column, values = _damage(rng, kind, frame, rows)
        frame.loc[frame.index[rows], column] = values
        records.append(
            pd.DataFrame(
                {
                    "row": rows + 2,
                    "column": column,
                    "kind": kind,
                    "value": pd.Series(values, dtype=object).astype(str),
                }
            )
        )
    out = pd.concat(records, ignore_index=True)
    return out.sort_values("row", kind="stable").reset_index(drop=True)


def _damage(
    rng: np.random.Generator, kind: str, frame: pd.DataFrame, rows: np.ndarray
) -> tuple[str, np.ndarray]:
    k = len(rows)
    if kind == "missing_required":
        column = _REQUIRED[int(rng.integers(len(_REQUIRED)))]
        return column, np.full(k, None, dtype=object)
    if kind == "hts_letters":
        digits = frame["hts_code"].iloc[rows].str.replace(".", "", regex=False).str[:4]
        letter = pd.Series(rng.choice(list("AOIS"), k), index=digits.index)
        return "hts_code", (digits.str[:2] + letter + digits.str[3:]).to_numpy(dtype=object)
    if kind == "hts_short":
        codes = frame["hts_code"].iloc[rows].str.replace(".", "", regex=False).str[:4]
        return "hts_code", codes.to_numpy(dtype=object)
    if kind == "negative_weight":
        return "gross_weight_kg", -np.abs(frame["gross_weight_kg"].iloc[rows].to_numpy()) - 1.0
    if kind == "bad_date":
        year = frame["entry_date"].iloc[rows].str[:4].to_numpy(dtype=object)
        tail = rng.choice(np.array(["-13-45", "-00-10", "-02-30", "-11-31"], dtype=object), k)
        return "entry_date", year + tail
    if kind == "bad_country":
        return "country_of_origin", rng.choice(_BAD_COUNTRIES, k)
    if kind == "violation_uninspected":
        return "violation", rng.choice(np.array(["0", "1"], dtype=object), k)
    return "violation", rng.choice(np.array(["2", "-1", "yes"], dtype=object), k)
