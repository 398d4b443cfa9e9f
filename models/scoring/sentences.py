"""Reason sentences: what one evidence group says about one line, in one direction.

Each sentence maker reads a line's evidence (:class:`Row`) and the direction of the group's
contribution, and returns the sentence and its evidence, or ``None`` when the line carries no
evidence that could stand as a reason in that direction. A contribution that comes from a
field the line does not declare, from a party with no past inspections, or from a check that
found nothing is not evidence that the line is risky: the absence of evidence is never a
reason to inspect: a check that ran on declared fields and found nothing (no listed entity,
no Xinjiang place) is said only when it lowers the risk. A finding (a listed entity, a
Xinjiang place, an ILAB listing) is said in whichever direction the model took it, so that
it is never hidden from the officer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import pandas as pd

Said = tuple[str, dict[str, Any]]
NAN = float("nan")
Sentence = Callable[["Row", bool], Said | None]
_UNSEEN: Any = object()
# Distinct records worded per history sentence before its memo starts again.
_MEMO_SIZE = 100_000


class Row(Protocol):
    """One line's evidence, as the sentence makers read it: ``row.get(name)``.

    Values are what the line's columns hold (NumPy scalars, strings, NaN or NA); a name the
    line has no column for gives ``default``.
    """

    def get(self, key: str, default: Any = None) -> Any:
        """The line's value of ``key``."""


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _s(v: Any) -> str:
    """Text of a value; missing values (None, NaN, NA) give ``""``."""
    if type(v) is str:  # the common case first: most evidence columns hold text
        return v
    if v is None or v is pd.NA or v != v:  # NaN is the one value unequal to itself
        return ""
    return str(v)


def _count(v: Any) -> float:
    """A history count as a float; missing is no past record (0).

    NaN is truthy, so ``_num(v) or 0.0`` would keep it; a scalar test beats
    ``np.nan_to_num``, which builds arrays, on this per-reason path.
    """
    x = _num(v)
    return x if x == x else 0.0


def _num(v: Any) -> float:
    """A value as a float; missing (None, NA, empty text) gives NaN."""
    if v is None or v is pd.NA:
        return float("nan")
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def undeclared(line: Row) -> frozenset[str]:
    """The screening fields the line does not declare."""
    return _fields(_s(line.get("ev_missing")))


@lru_cache(maxsize=1024)
def _fields(text: str) -> frozenset[str]:
    # A few distinct values (which fields are missing), read by several sentences per line.
    return frozenset(c for c in text.split("|") if c)


def linked(role: str, via: str, spelling: str) -> str:
    """How a party was resolved when not by its own spelling: "The manufacturer ... matches"."""
    if via.startswith("affiliate of"):
        return f"The {role} matches '{spelling}', an {via}; that listing is"
    return (
        f"The {role} is linked by {via} to a line of this entry naming '{spelling}', which matches"
    )


def _entity(line: Row, up: bool) -> Said | None:
    sims = {"manufacturer": line.get("mfr_list_sim"), "shipper": line.get("shp_list_sim")}
    screened = [role for role, sim in sims.items() if not math.isnan(_num(sim))]
    if not screened:
        return None  # no party name declared: nothing was screened
    role = max(screened, key=lambda r: _num(sims[r]))
    pre = "ev_mfr_" if role == "manufacturer" else "ev_shp_"
    ent = _s(line.get(pre + "entity_name"))
    if ent:
        ev = {
            "role": role,
            "entity_id": _s(line.get(pre + "entity_id")),
            "entity": ent,
            "matched_alias": _s(line.get(pre + "entity_alias")),
            "similarity": round(_num(sims[role]), 1),
            "list": _s(line.get(pre + "entity_list")),
            "citation": _s(line.get(pre + "entity_citation")),
        }
        via = _s(line.get(pre + "entity_via"))
        if via:
            ev["linked_by"] = via
            return (
                f"{linked(role, via, str(ev['matched_alias'] or ent))} {ev['list']} listed entity "
                f"'{ent}' (similarity {ev['similarity']:.0f}/100, {ev['citation']})."
            ), ev
        return (
            f"The {role} name matches {ev['list']} listed entity '{ent}' "
            f"(similarity {ev['similarity']:.0f}/100, {ev['citation']})."
        ), ev
    if up:
        return None  # no match is not a reason to inspect
    names = " and ".join(f"{r} name" for r in screened)
    verb = "does" if len(screened) == 1 else "do"
    return (
        f"No match on the entity lists: the {names} {verb} not match any UFLPA or WRO "
        "listed entity."
    ), {"screened": screened}


def _xinjiang(line: Row, up: bool) -> Said | None:
    terms = [
        t
        for t in (
            _s(line.get("ev_mfr_xj_terms")),
            _s(line.get("ev_shp_xj_terms")),
            _s(line.get("ev_names_xj_terms")),
        )
        if t
    ]
    if terms:
        found = sorted(set("|".join(terms).split("|")))
        place = _s(line.get("ev_mfr_xj_place")) or _s(line.get("ev_shp_xj_place"))
        return (
            f"Party names or addresses point to Xinjiang: {', '.join(found)}"
            + (f" ({place})." if place else ".")
        ), {"terms": found, "place": place}
    parties = {"manufacturer_name", "manufacturer_address", "shipper_name"}
    if up or parties <= undeclared(line):
        return None
    return "No Xinjiang place name or postal code in the party names or addresses.", {}


def _description(line: Row, up: bool) -> Said | None:
    terms = [t for t in _s(line.get("ev_desc_terms")).split("|") if t]
    if terms:
        return f"The goods description contains tell-tale terms: {', '.join(terms)}.", {
            "terms": terms
        }
    if up or "goods_description" in undeclared(line):
        return None
    return "The goods description has no tell-tale terms.", {}


def _goods(line: Row, up: bool) -> Said | None:
    good, origin = _s(line.get("ev_rg_good")), _s(line.get("country_of_origin_raw"))
    ev = {
        "hs6": _s(line.get("hs6")),
        "good": good,
        "origin": origin,
        "sector": _s(line.get("rg_sector")),
        "rules": _s(line.get("ev_rg_rule_ids")).split("|"),
        "ilab_forced_labor": bool(line.get("rg_ilab_fl", 0)),
        "uflpa_priority": bool(line.get("rg_priority", 0)),
    }
    if ev["ilab_forced_labor"] or ev["uflpa_priority"]:
        if ev["ilab_forced_labor"]:
            return (
                f"HS {ev['hs6']} ({good}) from {origin} is on the ILAB list of goods produced "
                "with forced labour."
            ), ev
        return f"HS {ev['hs6']} is in a UFLPA high-priority sector ({ev['sector']}).", ev
    if good:
        return (
            f"HS {ev['hs6']} ({good}) is listed by ILAB only for other origins or as a derived "
            "good."
        ), ev
    if up:
        heading = _s(line.get("hs_heading"))
        return (
            f"HS {ev['hs6']} is not a listed forced-labour risk good, but the model rates "
            f"goods of heading {heading} above average."
        ), {**ev, "heading": heading}
    return f"HS {ev['hs6']} is not a listed forced-labour risk good.", ev


def _route(line: Row, up: bool) -> Said | None:
    ev = {
        "origin": _s(line.get("country_of_origin_raw")),
        "export": _s(line.get("country_of_export_raw")),
        "lading_country": _s(line.get("lading_country")),
        "manufacturer_address_country": _s(line.get("mfr_addr_country")),
        "shipper_address_country": _s(line.get("shp_addr_country")),
        "mid_country": _s(line.get("mid_country")),
    }
    known = {k: v for k, v in ev.items() if k != "origin" and v}
    if not ev["origin"] or not known:
        return None  # nothing to compare the declared origin with
    odd = [f"{k.replace('_', ' ')} {v}" for k, v in known.items() if v != ev["origin"]]
    if odd:
        return f"Declared origin {ev['origin']} but {', '.join(odd)}.", ev
    agree = ", ".join(k.replace("_", " ") for k in known)
    if up:
        return f"Shipped straight from the declared origin {ev['origin']} ({agree}).", ev
    return f"Route consistent with declared origin {ev['origin']} ({agree}).", ev


def _origin(line: Row, up: bool) -> Said | None:
    o = _s(line.get("country_of_origin_raw"))
    return (f"Declared country of origin {o}.", {"origin": o}) if o else None


def _value(line: Row, up: bool) -> Said | None:
    lv = _num(line.get("log_unit_value", NAN))
    if math.isnan(lv):
        return None  # quantity or value not declared: nothing to compare
    z, typ = _num(line.get("log_unit_value_z", NAN)), _num(line.get("log_unit_value_typical"))
    if math.isnan(z) or math.isnan(typ):
        uv = round(float(np.exp(lv)), 4)
        return (
            f"Unit value ${uv:,.2f}; no typical value is known for this subheading and origin.",
            {"unit_value_usd": uv},
        )
    ratio = float(np.exp(lv - typ))
    ev = {
        "unit_value_usd": round(float(np.exp(lv)), 4),
        "typical_usd": round(float(np.exp(typ)), 4),
        "ratio_to_typical": round(ratio, 3),
        "robust_z": round(z, 2),
    }
    where = "below" if ratio < 1 else "above"
    return (
        f"Unit value ${ev['unit_value_usd']:,.2f} is {_pct(abs(1 - ratio))} {where} the typical "
        f"${ev['typical_usd']:,.2f} for this subheading and origin."
    ), ev


def _record(ev: dict[str, Any]) -> str:
    return (
        f"{_n(ev['prior_violations'], 'violation')} in "
        f"{_n(ev['prior_inspections'], 'past inspection')} "
        f"over {_n(ev['prior_lines'], 'line')}"
    )


def history(who: str, key: str, party: str) -> Sentence:
    """Sentence maker for the past inspections of the line's ``party`` (a context column).

    Raising the risk needs a past violation or past lines with risky goods, routes or places;
    lowering it needs past inspections. A party the line does not name, or one never seen
    or never inspected, is no evidence either way.
    """
    inspected_col, violations_col = f"hist_{key}_inspected", f"hist_{key}_violations"
    lines_col, share_col = f"hist_{key}_lines", f"hist_{key}_risky_share"
    # The sentence is a function of the four counts and the direction, and a party's counts
    # repeat on all its lines: each distinct record is worded once (a copy per use).
    memo: dict[tuple[float, float, float, float | None, bool], Said | None] = {}

    def fn(line: Row, up: bool) -> Said | None:
        if _s(line.get(party)) == "":
            return None
        n_log = _count(line.get(inspected_col, 0.0))
        v = _count(line.get(violations_col, 0.0))
        lines_log = _count(line.get(lines_col, 0.0))
        share = _num(line.get(share_col, NAN))
        # NaN is unequal to itself: a key holds None for it, so equal records share a key.
        at = (n_log, v, lines_log, None if share != share else share, up)
        said = memo.get(at, _UNSEEN)
        if said is _UNSEEN:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            said = memo[at] = _history(who, up, math.expm1(n_log), v, math.expm1(lines_log), share)
        return None if said is None else (said[0], dict(said[1]))

    return fn


def _history(who: str, up: bool, n: float, v: float, lines: float, share: float) -> Said | None:
    """The sentence of one party's record (see :func:`history`); counts as floats."""
    ev = {
        "prior_lines": round(lines),
        "prior_inspections": round(n),
        "prior_violations": round(v),
    }
    if up and ev["prior_violations"] > 0:
        return f"The {who} had {_record(ev)}.", ev
    if up:
        risky = round(share * lines) if not math.isnan(share) else 0
        if risky <= 0:
            return None
        inspected = (
            f" ({_n(ev['prior_inspections'], 'past inspection')}, no violation)"
            if ev["prior_inspections"]
            else ""
        )
        return (
            f"{_n(risky, 'past line')} of the {who}'s {ev['prior_lines']:,} had risky "
            f"goods, routes or places{inspected}."
        ), {**ev, "prior_risky_lines": risky}
    if ev["prior_inspections"] <= 0:
        return None
    return f"The {who} had {_record(ev)}.", ev


def _shipper(line: Row, up: bool) -> Said | None:
    missing = undeclared(line)
    if "shipper_name" in missing:
        return None
    trader = _num(line.get("shipper_trader", 0.0)) == 1
    other = _num(line.get("shipper_ne_mfr", 0.0)) == 1
    abroad = _num(line.get("shipper_ctry_ne_mfr", 0.0)) == 1
    ev = {"trader": trader, "not_manufacturer": other, "other_country": abroad}
    if up:
        parts = [
            *(["its name reads as a trader or forwarder"] if trader else []),
            *(["it is not the manufacturer"] if other else []),
            *(["it is in another country than the manufacturer"] if abroad else []),
        ]
        return (f"The shipper is an intermediary: {'; '.join(parts)}.", ev) if parts else None
    if trader or other or "manufacturer_name" in missing:
        return None
    return "The shipper is the manufacturer itself.", ev


def _missing(line: Row, up: bool) -> Said | None:
    # An undeclared field is the absence of evidence: never a reason either way.
    if up or undeclared(line):
        return None
    return "All screening fields were declared.", {}


def _entry(line: Row, up: bool) -> Said | None:
    n = _num(line.get("lines_in_entry", NAN))
    if math.isnan(n):
        return None
    return f"The entry has {int(n)} line(s).", {"lines_in_entry": int(n)}


SENTENCES: dict[str, Sentence] = {
    "listed_entity": _entity,
    "xinjiang_address": _xinjiang,
    "goods_description": _description,
    "risk_goods": _goods,
    "route": _route,
    "origin": _origin,
    "unit_value": _value,
    "importer_history": history("importer", "imp", "imp_key"),
    "manufacturer_history": history("manufacturer", "mfr", "mfr_key"),
    "shipper_history": history("shipper", "shp", "shp_key"),
    "goods_history": history("subheading", "hs6", "hs6"),
    "shipper_role": _shipper,
    "missing_data": _missing,
    "entry_shape": _entry,
}


def _entity_reads(pre: str) -> tuple[str, ...]:
    return tuple(pre + f for f in ("name", "id", "alias", "list", "citation", "via"))


def _history_reads(key: str, party: str) -> tuple[str, ...]:
    return (
        party,
        *(f"hist_{key}_{s}" for s in ("inspected", "violations", "lines", "risky_share")),
    )


# The columns each sentence maker reads: a sentence is a function of these values and the
# direction, so a batch words it once per distinct set of values (``explain.reasons_for``).
# A maker reading a column not listed here fails loudly there (its row refuses the read).
READS: dict[str, tuple[str, ...]] = {
    "listed_entity": (
        "mfr_list_sim",
        "shp_list_sim",
        *_entity_reads("ev_mfr_entity_"),
        *_entity_reads("ev_shp_entity_"),
    ),
    "xinjiang_address": (
        "ev_mfr_xj_terms",
        "ev_shp_xj_terms",
        "ev_names_xj_terms",
        "ev_mfr_xj_place",
        "ev_shp_xj_place",
        "ev_missing",
    ),
    "goods_description": ("ev_desc_terms", "ev_missing"),
    "risk_goods": (
        "ev_rg_good",
        "country_of_origin_raw",
        "hs6",
        "rg_sector",
        "ev_rg_rule_ids",
        "rg_ilab_fl",
        "rg_priority",
        "hs_heading",
    ),
    "route": (
        "country_of_origin_raw",
        "country_of_export_raw",
        "lading_country",
        "mfr_addr_country",
        "shp_addr_country",
        "mid_country",
    ),
    "origin": ("country_of_origin_raw",),
    "unit_value": ("log_unit_value", "log_unit_value_z", "log_unit_value_typical"),
    "importer_history": _history_reads("imp", "imp_key"),
    "manufacturer_history": _history_reads("mfr", "mfr_key"),
    "shipper_history": _history_reads("shp", "shp_key"),
    "goods_history": _history_reads("hs6", "hs6"),
    "shipper_role": ("ev_missing", "shipper_trader", "shipper_ne_mfr", "shipper_ctry_ne_mfr"),
    "missing_data": ("ev_missing",),
    "entry_shape": ("lines_in_entry",),
}


def field_reads(group: str) -> tuple[str, ...]:
    """The columns :func:`field_sentence` reads for a pass-through column's group."""
    kind, col = group.split(":", 1)
    own = (col + "_raw", col)
    return (*own, *_history_reads(col, col)[1:]) if kind == "history" else own


def field_sentence(group: str, line: Row, up: bool) -> Said | None:
    """Sentence of a pass-through column's group (``field:<col>`` or ``history:<col>``)."""
    kind, col = group.split(":", 1)
    val = _s(line.get(col + "_raw", line.get(col)))
    if not val:
        return None  # the line does not declare it
    if kind == "history":
        said = history(f"value {val} of {col}", col, col + "_raw")(line, up)
        return None if said is None else (said[0], {"field": col, "value": val, **said[1]})
    return f"Field {col} = {val}.", {"field": col, "value": val}
