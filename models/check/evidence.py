"""What the public lists say about each supplier: the direct findings and their evidence.

Four findings rest on a supplier's own row: ``entity_list`` (its name resolves to an entity
on the UFLPA Entity List), ``wro`` (to a producer named in a CBP Withhold Release Order or
Finding), ``xinjiang`` (its address names a place in Xinjiang) and ``ilab_goods`` (its goods
and country are on the ILAB List of Goods as made with forced labour). Each is computed once
per distinct value (name, address, goods and country), so a list where the same factory
appears under many customers costs one look-up per factory.

Lists are judged as in force on the day of the check: an entity whose listing takes effect
later is not a finding yet.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, NamedTuple

import pandas as pd
import pycountry

from models.reference.entities import EntityMatch, EntityMatcher
from models.reference.geography import find_xinjiang
from models.reference.tables import load_entities, load_risk_goods

# Which matcher resolves a name for which finding: a firm can be on both lists.
LIST_GROUPS: dict[str, tuple[str, ...]] = {"entity_list": ("UFLPA",), "wro": ("WRO", "FINDING")}
LIST_TITLES = {
    "UFLPA": "UFLPA Entity List",
    "WRO": "CBP Withhold Release Order",
    "FINDING": "CBP Finding",
}
ILAB_BASES = ("ilab_forced_labor", "ilab_derived")
UFLPA_XINJIANG = "Uyghur Forced Labor Prevention Act, Pub. L. 117-78, sec. 3(a)"
_WORD = re.compile(r"[a-z]+")


class Finding(NamedTuple):
    """One finding about a supplier: its code, a sentence, and the evidence behind it."""

    code: str
    text: str
    evidence: dict[str, Any]


# The matchers of the entity table last seen, per (group, day): rebuilt when the table is
# reloaded (``flrisk reference update``) and kept otherwise, so names matched by one check
# are a dictionary look-up for the next.
_MATCHERS: dict[tuple[str, date], tuple[pd.DataFrame, EntityMatcher]] = {}


def match_listed(names: list[str], today: date) -> dict[str, list[EntityMatch]]:
    """Resolve names against the entity lists in force on ``today``, one matcher per group.

    This is the one place the self-check uses :class:`EntityMatcher`.

    Args:
        names: Distinct supplier names.
        today: The day the lists are judged on (listings effective later are left out).

    Returns:
        Per group of ``LIST_GROUPS`` (``entity_list``, ``wro``), one match per name.
    """
    table = load_entities()
    out: dict[str, list[EntityMatch]] = {}
    for group, lists in LIST_GROUPS.items():
        held = _MATCHERS.get((group, today))
        if held is None or held[0] is not table:
            day = today.isoformat()
            keep = table["list"].isin(lists) & (table["effective_date"] <= day)
            if "end_date" in table.columns:  # a listing lifted before the day is not in force
                keep &= (table["end_date"] == "") | (table["end_date"] > day)
            in_force = table[keep]
            for key in [k for k in _MATCHERS if k[0] == group]:
                del _MATCHERS[key]
            held = (table, EntityMatcher(in_force.reset_index(drop=True)))
            _MATCHERS[(group, today)] = held
        out[group] = held[1].match(names)
    return out


def _entity_rows() -> dict[str, dict[str, str]]:
    table = load_entities()
    return {
        str(r["entity_id"]): {str(k): str(v) for k, v in r.items()}
        for r in table.to_dict("records")
    }


def listed_findings(names: list[str], today: date) -> dict[str, list[Finding]]:
    """``entity_list`` and ``wro`` findings of each distinct name."""
    matches = match_listed(names, today)
    rows = _entity_rows()
    out: dict[str, list[Finding]] = {name: [] for name in names}
    for group, found in matches.items():
        for name, match in zip(names, found, strict=True):
            if not match.entity_name:
                continue
            row = rows[str(match.entity_id)]
            title = LIST_TITLES.get(match.list, match.list)
            evidence = {
                "entity_id": str(match.entity_id),
                "listed_name": match.entity_name,
                "matched_alias": match.matched_alias,
                "similarity": match.similarity,
                "list": title,
                "effective_date": row["effective_date"],
                "citation": match.citation,
                "source": row["source"],
            }
            if group == "wro":
                evidence["goods_scope"] = row["sector"]
                if row.get("hs_scope"):  # the order's HS headings, where the table has them
                    evidence["hs_scope"] = row["hs_scope"].split("|")
                text = (
                    f"The name matches '{match.matched_alias}' (similarity "
                    f"{match.similarity:g}), a producer named in a {title} of "
                    f"{row['effective_date']} ({match.citation}) covering "
                    f"{row['sector']}."
                )
            else:
                text = (
                    f"The name matches '{match.matched_alias}' (similarity "
                    f"{match.similarity:g}), listed as {match.entity_name} on the {title} "
                    f"since {row['effective_date']} ({match.citation})."
                )
            out[name].append(Finding(group, text, evidence))
    return out


def xinjiang_findings(addresses: list[str], countries: list[str]) -> list[list[Finding]]:
    """``xinjiang`` findings of each distinct (address, country) pair."""
    out: list[list[Finding]] = []
    for (hit, terms, place, postal), country in zip(
        find_xinjiang(addresses), countries, strict=True
    ):
        if hit:
            text = f"The address names {place}, in Xinjiang ({terms.replace('|', ', ')})."
        elif postal and country == "CN":
            text = "The address holds a postcode in Xinjiang's range (830000 to 849999)."
        else:
            out.append([])
            continue
        evidence = {"place": place, "terms": terms, "postcode_in_range": postal,
                    "citation": UFLPA_XINJIANG}  # fmt: skip
        out.append([Finding("xinjiang", text, evidence)])
    return out


class _IlabIndex:
    """ILAB rows of the risk-goods table by HS prefix and by good name, per country."""

    def __init__(self, table: pd.DataFrame) -> None:
        self.table = table
        ilab = table[table["basis"].isin(ILAB_BASES)]
        self.by_prefix: dict[str, list[dict[str, str]]] = {}
        # The good's name before any bracket ("Beans (green, soy, yellow)" -> "beans"), as
        # words: a goods description is searched for it word by word, not as a substring.
        self.by_words: dict[tuple[str, ...], list[dict[str, str]]] = {}
        for record in ilab.to_dict("records"):
            row = {str(k): str(v) for k, v in record.items()}
            self.by_prefix.setdefault(str(row["hs_prefix"]), []).append(row)
            words = tuple(_WORD.findall(str(row["good"]).split("(")[0].lower()))
            if words:
                self.by_words.setdefault(words, []).append(row)
        self.longest = max((len(w) for w in self.by_words), default=0)

    def rows(self, hts: str, goods: str, country: str) -> list[dict[str, str]]:
        digits = "".join(ch for ch in hts if ch.isdigit())
        found: list[dict[str, str]] = []
        if len(digits) >= 6:
            for prefix in (digits[:4], digits[:6]):
                found += [
                    r for r in self.by_prefix.get(prefix, []) if r["country"] in ("", country)
                ]
        if goods:
            words = _WORD.findall(goods.lower())
            for form in (words, [w.removesuffix("s") for w in words]):
                for size in range(1, self.longest + 1):
                    for start in range(len(form) - size + 1):
                        rows = self.by_words.get(tuple(form[start : start + size]), [])
                        found += [r for r in rows if r["country"] in ("", country)]
        return list({r["rule_id"]: r for r in found}.values())


_ILAB: list[_IlabIndex] = []


def _country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code)
    return str(getattr(found, "common_name", None) or found.name) if found else code


def _ilab_index() -> _IlabIndex:
    table = load_risk_goods()
    if not _ILAB or _ILAB[0].table is not table:
        _ILAB[:] = [_IlabIndex(table)]
    return _ILAB[0]


def ilab_findings(keys: list[tuple[str, str, str]]) -> list[list[Finding]]:
    """``ilab_goods`` findings of each distinct ``(hts_code, goods, country)``."""
    index = _ilab_index()
    out: list[list[Finding]] = []
    for hts, goods, country in keys:
        rows = index.rows(hts, goods, country)
        if not rows:
            out.append([])
            continue
        named = sorted({r["good"] for r in rows})
        derived = any(r["basis"] == "ilab_derived" for r in rows)
        how = (
            "made with inputs produced with forced labour" if derived else "made with forced labour"
        )
        text = (
            f"{' and '.join(named)} from {_country_name(country)} are on the US Department "
            f"of Labor's ILAB List of Goods as {how}."
        )
        evidence = {
            "goods": named,
            "country": country,
            "hts_code": hts,
            "rule_ids": [r["rule_id"] for r in rows],
            "hs_prefixes": sorted({r["hs_prefix"] for r in rows}),
            "citation": sorted({r["source"] for r in rows}),
        }
        out.append([Finding("ilab_goods", text, evidence)])
    return out
