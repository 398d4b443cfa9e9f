"""The officer's worklist as pure functions over DataFrames: rank, filter, sort, page, export.

Nothing here touches the web layer or the model, so every rule an officer relies on (how an
entry is ranked, what the capacity cut-off means, how a CSV cell is defused) is testable on
a small hand-made frame.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.reference.hs import RISK_COLUMNS, hs6_of, risk_goods
from models.scoring.presumption import join_presumptions
from models.selection import RANDOM_CHECK, RISK, select
from serving.csv_cells import FORMULA_PREFIXES, guard_cell

__all__ = ["FORMULA_PREFIXES", "guard_cell"]  # re-exported: tests and callers import them here

PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
# Display sort keys -> entries-table columns; "risk" is the ranking itself.
SORT_KEYS: dict[str, str] = {
    "risk": "risk_score",
    "entry": "entry_id",
    "date": "entry_date",
    "importer": "importer_name",
    "supplier": "supplier",
    "origin": "country_of_origin",
    "port": "port_of_entry",
    "lines": "n_lines",
}
EXPORT_COLUMNS = (
    "rank", "entry_id", "entry_date", "risk_score", "risk_band", "presumption", "within_capacity",
    "selection",
    "top_line_no", "n_lines", "line_score_sum", "importer_id", "importer_name", "supplier",
    "country_of_origin", "port_of_entry", "hts_code", "hs_chapter", "sector",
    "goods_description", "top_reason",
)  # fmt: skip
ENTRY_FIELDS = (
    "entry_date", "importer_id", "importer_name", "manufacturer_name", "shipper_name",
    "country_of_origin", "port_of_entry", "hts_code", "goods_description",
)  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """What the officer narrowed the worklist to; empty strings mean "any"."""

    port: str = ""
    country: str = ""
    chapter: str = ""
    sector: str = ""
    band: str = ""
    q: str = ""  # search: part of an entry id, an importer (name or id) or a supplier

    def active(self) -> bool:
        """Whether any filter is set."""
        return any((self.port, self.country, self.chapter, self.sector, self.band, self.q))


@dataclass(frozen=True)
class Page:
    """One page of a sorted, filtered worklist."""

    rows: pd.DataFrame
    number: int
    size: int
    total_rows: int

    @property
    def pages(self) -> int:
        """How many pages the filtered worklist has (at least 1)."""
        return max(1, math.ceil(self.total_rows / self.size))

    @property
    def first(self) -> int:
        """1-based position of the page's first row (0 when empty)."""
        return 0 if self.total_rows == 0 else (self.number - 1) * self.size + 1

    @property
    def last(self) -> int:
        """1-based position of the page's last row."""
        return min(self.total_rows, self.number * self.size)


@dataclass(frozen=True)
class Capacity:
    """What examining ``n`` entries buys: the riskiest, and an exploration share at random.

    Attributes:
        n: Entries selected.
        cutoff: Score of the last entry taken for its risk (None: nothing selected).
        expected_entries: Sum of the selected entries' scores.
        expected_lines: Sum of every line's score in those entries.
        lines: Lines in those entries.
        random: Entries drawn for a random check (``selection == "random_check"``).
        expected_cost: Expected violating entries forgone by the random checks.
        explore: The exploration share.
        seed: The seed of the draw.
        selection: Per row of the entries given, ``risk``, ``random_check`` or ``""``.
    """

    n: int
    cutoff: float | None
    expected_entries: float
    expected_lines: float
    lines: int
    random: int = 0
    expected_cost: float = 0.0
    explore: float = 0.0
    seed: int = 0
    selection: np.ndarray | None = None


def entries_table(lines: pd.DataFrame, scored: pd.DataFrame) -> pd.DataFrame:
    """One row per entry, ranked: an entry is as risky as its riskiest line.

    Args:
        lines: Contract-shaped lines (the reader's frame), in the order they were scored.
        scored: ``Scorer.score`` output for ``lines`` (same order).

    Returns:
        Entries in ranking order (presumed entries first, then riskiest first, ties by
        ``entry_id``) with ``rank``, ``presumption`` (its lines' bases), ``risk_score``,
        ``risk_band``, ``top_line_no``, ``n_lines``, ``line_score_sum``, the top line's
        descriptive fields, ``supplier`` (manufacturer, else shipper), ``hs_chapter`` and
        ``sector`` (UFLPA/ILAB risk-goods sector, "" when none).
    """
    cols = [c for c in ENTRY_FIELDS if c in lines.columns]
    df = lines[cols].reset_index(drop=True).copy()
    df["entry_id"] = scored["entry_id"].astype(str).to_numpy()
    df["line_no"] = scored["line_no"].astype(int).to_numpy()
    df["risk_score"] = scored["risk_score"].astype(float).to_numpy()
    df["risk_band"] = scored["risk_band"].astype(str).to_numpy()
    presumption = scored.get("presumption", "")
    df["presumption"] = pd.Series(presumption, index=scored.index).astype(str).to_numpy()
    if not len(df):
        return _empty_entries()
    grouped = df.groupby("entry_id", sort=False)["risk_score"]
    n_lines, sums = grouped.transform("size"), grouped.transform("sum")
    df = df.assign(n_lines=n_lines.astype(int), line_score_sum=sums)
    df["presumed"] = df["presumption"] != ""
    bases = df[df["presumed"]].groupby("entry_id")["presumption"].agg(join_presumptions)
    # Riskiest line first within each entry: the entry's score and band are its.
    df = df.sort_values(["entry_id", "risk_score", "line_no"], ascending=[True, False, True])
    riskiest = df.drop_duplicates("entry_id", keep="first").set_index("entry_id")
    # The line that speaks for the entry (its fields, its first reason): a presumed line
    # when there is one, else the riskiest.
    df = df.sort_values(["entry_id", "presumed"], ascending=[True, False], kind="stable")
    top = df.drop_duplicates("entry_id", keep="first").rename(columns={"line_no": "top_line_no"})
    for c in ("risk_score", "risk_band"):
        top[c] = riskiest.loc[top["entry_id"], c].to_numpy()
    # Presumed entries rank first (the law presumes them, whatever their score), then by score.
    top["presumption"] = top["entry_id"].map(bases).fillna("").astype(str).to_numpy()
    top = top.sort_values(
        ["presumed", "risk_score", "entry_id"], ascending=[False, False, True], kind="stable"
    )
    top = top.drop(columns="presumed").reset_index(drop=True)
    # The entry's sector is its top line's: looked up for entries only, not every line.
    top["sector"] = sectors(top).to_numpy()
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    for c in ENTRY_FIELDS:
        if c not in top.columns:
            top[c] = pd.NA
    manufacturer = top["manufacturer_name"].astype("string")
    top["supplier"] = manufacturer.fillna(top["shipper_name"].astype("string")).fillna("")
    hts = top["hts_code"].astype("string").fillna("")
    top["hs_chapter"] = hts.str.replace(".", "", regex=False).str[:2]
    if "entry_date" in top and len(top):
        top["entry_date"] = pd.to_datetime(top["entry_date"]).dt.strftime("%Y-%m-%d")
    for c in (
        "importer_id",
        "importer_name",
        "manufacturer_name",
        "shipper_name",
        "country_of_origin",
        "port_of_entry",
    ):
        top[c] = top[c].astype("string").fillna("")
    top["goods_description"] = top["goods_description"].astype("string").fillna("")
    return top


def _empty_entries() -> pd.DataFrame:
    cols = [*EXPORT_COLUMNS, *ENTRY_FIELDS]
    return pd.DataFrame({c: pd.Series(dtype="object") for c in dict.fromkeys(cols)})


def sectors(lines: pd.DataFrame) -> pd.Series:
    """Risk-goods sector of each line (by HS subheading and origin), "" when not a risk good."""
    if not len(lines):
        return pd.Series([], dtype="object")
    keys = [
        (hs6_of(h) if isinstance(h, str) else "", o.strip().upper() if isinstance(o, str) else "")
        for h, o in zip(lines["hts_code"], lines["country_of_origin"], strict=True)
    ]
    distinct = list(dict.fromkeys(keys))
    sector = RISK_COLUMNS.index("rg_sector")
    found = {k: row[sector] for k, row in zip(distinct, risk_goods(distinct), strict=True)}
    return pd.Series([found[k] or "" for k in keys], dtype="string")


# Where the search looks: the entry id, the importer's name and id, the supplier (the
# manufacturer, else the shipper) and both parties' declared names.
SEARCHED = ("entry_id", "importer_name", "importer_id", "supplier", "manufacturer_name",
            "shipper_name")  # fmt: skip


def search_mask(entries: pd.DataFrame, text: str) -> np.ndarray:
    """Entries where any searched field contains ``text`` (case-insensitive, as typed)."""
    needle = text.strip().casefold()
    mask = np.zeros(len(entries), dtype=bool)
    for column in (c for c in SEARCHED if c in entries.columns):
        values = entries[column].astype("string").fillna("").str.casefold()
        mask |= values.str.contains(needle, regex=False).to_numpy(dtype=bool)
    return mask


def filter_entries(entries: pd.DataFrame, f: Filters) -> pd.DataFrame:
    """Entries matching every set filter (exact, case-insensitive for codes) and the search."""
    mask = np.ones(len(entries), dtype=bool)
    if f.q.strip():
        mask &= search_mask(entries, f.q)
    for column, value in (
        ("port_of_entry", f.port),
        ("country_of_origin", f.country),
        ("hs_chapter", f.chapter),
        ("sector", f.sector),
        ("risk_band", f.band),
    ):
        if value:
            mask &= entries[column].astype(str).str.upper().to_numpy() == value.strip().upper()
    return entries[mask]


def sort_entries(entries: pd.DataFrame, key: str = "risk", descending: bool = True) -> pd.DataFrame:
    """Entries sorted by a display key; the risk rank breaks ties so order is stable.

    Raises:
        ValueError: Unknown sort key.
    """
    if key not in SORT_KEYS:
        raise ValueError(f"unknown sort key {key!r}; known: {sorted(SORT_KEYS)}")
    if key == "risk":  # rank 1 is the riskiest: descending risk is ascending rank
        return entries.sort_values("rank", ascending=descending, kind="stable")
    column = SORT_KEYS[key]
    values = entries[column]
    if values.dtype == object or str(values.dtype) == "string":
        values = values.astype("string").fillna("").str.upper()
    order = pd.DataFrame({"k": values.to_numpy(), "rank": entries["rank"].to_numpy()})
    idx = order.sort_values(["k", "rank"], ascending=[not descending, True], kind="stable").index
    return entries.iloc[idx.to_numpy()]


def page_of(entries: pd.DataFrame, number: int, size: int = DEFAULT_PAGE_SIZE) -> Page:
    """Page ``number`` (1-based, clamped to the last page) of ``size`` rows."""
    size = size if size in PAGE_SIZES else DEFAULT_PAGE_SIZE
    pages = max(1, math.ceil(len(entries) / size))
    number = min(max(1, number), pages)
    start = (number - 1) * size
    return Page(entries.iloc[start : start + size], number, size, len(entries))


def capacity(
    entries: pd.DataFrame,
    n: int,
    explore: float = 0.0,
    seed: int = 0,
    strata: str | None = None,
) -> Capacity:
    """Cut-off and expected finds when ``n`` entries are examined.

    The ``n`` are chosen by :func:`models.selection.select`: the riskiest entries, and a
    share ``explore`` drawn at random (seeded; spread over the column ``strata``'s values
    when given) from the rest. ``expected_entries`` is the sum of the selected entries'
    scores (each entry scored by its riskiest line): the expected number of examined entries
    with a violation, a slight undercount for entries with several risky lines.
    ``expected_lines`` is the sum of every line's score in those entries: the expected
    number of violating lines.
    """
    ranked = entries.sort_values("rank", kind="stable")
    groups = ranked[strata].astype(str).to_numpy() if strata else None
    presumed = (
        (ranked["presumption"].astype(str) != "").to_numpy() if "presumption" in ranked else None
    )
    sel = select(ranked["risk_score"].to_numpy(dtype=float), n, explore, seed, groups, presumed)
    kind = pd.Series(sel.kind, index=ranked.index).reindex(entries.index).to_numpy()
    if not sel.capacity:
        return Capacity(max(0, n), None, 0.0, 0.0, 0, explore=explore, seed=seed, selection=kind)
    chosen = ranked.iloc[sel.chosen]
    risk = ranked.iloc[sel.risk]
    return Capacity(
        n=sel.capacity,
        cutoff=float(risk["risk_score"].iloc[-1]) if len(risk) else None,
        expected_entries=float(chosen["risk_score"].sum()),
        expected_lines=float(chosen["line_score_sum"].sum()),
        lines=int(chosen["n_lines"].sum()),
        random=len(sel.random),
        expected_cost=sel.expected_cost,
        explore=explore,
        seed=seed,
        selection=kind,
    )


def _never_text(dtype: Any) -> bool:
    types = pd.api.types
    return bool(
        types.is_numeric_dtype(dtype) or types.is_datetime64_any_dtype(dtype)
        or types.is_timedelta64_dtype(dtype)
    )  # fmt: skip


def export_csv(entries: pd.DataFrame, within: int = 0) -> str:
    """The worklist as CSV text, text cells defused against formula injection.

    Args:
        entries: Filtered, sorted entries (``entries_table`` rows, optional ``top_reason``
            and ``selection``: then the selected entries are ``within_capacity``).
        within: Without a ``selection`` column: entries ranked ``<= within`` are flagged
            ``within_capacity``.
    """
    out = entries.copy()
    if "selection" in out:
        picked = out["selection"].isin([RISK, RANDOM_CHECK]).to_numpy()
        out["within_capacity"] = np.where(picked, "yes", "no")
    else:
        out["within_capacity"] = np.where(out["rank"] <= within, "yes", "no") if within else ""
        out["selection"] = ""
    if "top_reason" not in out:
        out["top_reason"] = ""
    out["risk_score"] = out["risk_score"].astype(float).round(6)
    out["line_score_sum"] = out["line_score_sum"].astype(float).round(6)
    out = out[list(EXPORT_COLUMNS)]
    for c in out.columns:
        # Every column that can hold text: object, pandas' "str" (pandas 3) and "string",
        # categories; only numbers, booleans and datetimes cannot start a formula.
        if not _never_text(out[c].dtype):
            out[c] = out[c].astype(object).where(out[c].notna(), "").map(guard_cell)
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue()


def options(entries: pd.DataFrame, column: str, limit: int = 300) -> list[str]:
    """Distinct non-empty values of a column, sorted, for a filter's choices."""
    values = entries[column].astype("string").dropna()
    return sorted(v for v in values.unique().tolist() if v)[:limit]
