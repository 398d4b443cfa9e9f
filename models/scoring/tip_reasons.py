"""Tips as evidence on lines: which lines a tip names, and the ``tip`` reason they get.

A tip (an allegation from an NGO, the public, a partner agency or an anonymous source)
names parties; a line entered on or after the tip's receipt whose manufacturer, shipper or
importer is one of them gets a reason with code ``tip`` citing the tip. Parties are matched
as the entity lists match them: the same normalised name (:func:`~models.reference.entities.
normalize_name`), or the same declared ID (importer number, MID). A tip naming a
manufacturer or a shipper names a supplier: it is evidence on lines where that party
manufactures or ships. Dismissed tips and tips linked as duplicates of an earlier one are
not evidence (a duplicate is counted as a further report of its original).

The reason is evidence beside the model's: it is said on every line it concerns, whether
or not the line was explained, and carries no contribution of its own (``contribution`` and
``share`` 0) unless a model trained with the tip counts weighs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.contract.batch import Lines
from models.features.cache import SignalCache
from models.features.distinct import factorize
from models.features.parties import party_keys
from models.reference.entities import normalize_name

# Who a source is, in a sentence.
SOURCES = {
    "ngo": "an NGO",
    "public": "a member of the public",
    "partner_agency": "a partner agency",
    "anonymous": "an anonymous source",
}
SUPPLIER_ROLES = ("manufacturer", "shipper")
# The line's columns a party of each kind is declared in: (role said, name column, ID column).
_LINE_PARTIES = (
    ("manufacturer", "manufacturer_name", "manufacturer_id"),
    ("shipper", "shipper_name", None),
    ("importer", "importer_name", "importer_id"),
)
MAX_TIP_REASONS = 3  # per line, the most recent first


@dataclass(frozen=True)
class TipFact:
    """What a line's reason says of one tip naming one party.

    Attributes:
        tip_id: The tip.
        received: Its received date (ISO ``YYYY-MM-DD``).
        source_type: ``ngo``, ``public``, ``partner_agency`` or ``anonymous``.
        status: ``new`` or ``corroborated``.
        kind: ``supplier`` (a manufacturer or shipper) or ``importer``.
        party: The party's name as the tip gave it.
        reports: The tip and the later tips linked to it as duplicates.
    """

    tip_id: int
    received: str
    source_type: str
    status: str
    kind: str
    party: str
    reports: int


@dataclass
class TipIndex:
    """Active tips by the party keys they name: ``(kind, "N:" + normalised name)`` or ID."""

    by_name: dict[tuple[str, str], list[TipFact]] = field(default_factory=dict)
    by_id: dict[tuple[str, str], list[TipFact]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.by_name or self.by_id)

    @classmethod
    def from_tips(cls, tips: Iterable[Mapping[str, Any]]) -> TipIndex:
        """The index of the tips that count as evidence.

        Args:
            tips: Tips as the store gives them (``status``, ``duplicate_of``, ``parties``...).
        """
        tips = list(tips)
        reports: dict[int, int] = {}
        for t in tips:
            if t.get("duplicate_of") is not None and t["status"] != "dismissed":
                reports[int(t["duplicate_of"])] = reports.get(int(t["duplicate_of"]), 0) + 1
        out = cls()
        for t in tips:
            if t["status"] == "dismissed" or t.get("duplicate_of") is not None:
                continue
            for p in t["parties"]:
                kind = "supplier" if p["role"] in SUPPLIER_ROLES else "importer"
                fact = TipFact(
                    int(t["id"]), str(t["received_date"]), str(t["source_type"]),
                    str(t["status"]), kind, str(p.get("name") or p.get("party_id") or ""),
                    1 + reports.get(int(t["id"]), 0),
                )  # fmt: skip
                # The store keeps the normalised name: no need to normalise it again.
                norm = p.get("name_key")
                key = "N:" + norm if norm else name_key(p.get("name") or "")
                if key:
                    out.by_name.setdefault((kind, key), []).append(fact)
                if p.get("party_id"):
                    out.by_id.setdefault((kind, str(p["party_id"]).strip()), []).append(fact)
        return out


def name_key(name: str) -> str | None:
    """A party's key by name, as the line's party keys have it (``N:`` + normalised)."""
    norm = normalize_name(name) if name else ""
    return "N:" + norm if norm else None


def _hits(
    col: Any, keys: Mapping[tuple[str, str], list[TipFact]], kind: str
) -> list[tuple[np.ndarray, list[TipFact]]]:
    """For each party key of ``col`` that tips name: the lines holding it and its tips."""
    codes, uniq = factorize(col)
    out = []
    for j, value in enumerate(uniq.tolist()):
        facts = keys.get((kind, str(value)))
        if facts:
            out.append((np.flatnonzero(codes == j), facts))
    return out


def sentence(fact: TipFact, role: str) -> str:
    """The reason's sentence: when, from whom, about which party of the line."""
    status = "A corroborated allegation" if fact.status == "corroborated" else "An allegation"
    more = f", reported {fact.reports} times" if fact.reports > 1 else ""
    who = SOURCES.get(fact.source_type, fact.source_type)
    return (
        f"{status} received {fact.received} from {who} names this {role} (tip {fact.tip_id}{more})."
    )


def tip_reasons(
    lines: Lines, index: TipIndex, cache: SignalCache
) -> dict[int, list[dict[str, Any]]]:
    """The ``tip`` reasons of each line a tip names, by line position.

    A tip counts for lines entered on or after the day it was received.
    """
    if not index or not len(lines):
        return {}
    found: dict[int, dict[int, tuple[TipFact, str]]] = {}
    dates = np.asarray(lines["entry_date"]).astype("datetime64[D]")
    for role, name_col, id_col in _LINE_PARTIES:
        kind = "importer" if role == "importer" else "supplier"
        groups = []
        if name_col in lines:
            groups += _hits(party_keys(None, lines[name_col], cache), index.by_name, kind)
        if id_col is not None and id_col in lines:
            groups += _hits(lines[id_col], index.by_id, kind)
        for rows, facts in groups:
            for fact in facts:
                later = rows[dates[rows] >= np.datetime64(fact.received, "D")]
                for i in later.tolist():
                    found.setdefault(i, {}).setdefault(fact.tip_id, (fact, role))
    out: dict[int, list[dict[str, Any]]] = {}
    for i, by_tip in found.items():
        chosen = sorted(by_tip.values(), key=lambda fr: (fr[0].received, fr[0].tip_id))
        out[i] = [_reason(f, role) for f, role in reversed(chosen[-MAX_TIP_REASONS:])]
    return out


def _reason(fact: TipFact, role: str) -> dict[str, Any]:
    return {
        "code": "tip",
        "direction": "raises",
        "text": sentence(fact, role),
        "evidence": {
            "tip_id": fact.tip_id,
            "received_date": fact.received,
            "source_type": fact.source_type,
            "status": fact.status,
            "role": role,
            "party": fact.party,
            "reports": fact.reports,
        },
        "contribution": 0.0,
        "share": 0.0,
    }


def merge_reasons(existing: Any, extra: list[dict[str, Any]], as_json: bool) -> Any:
    """A line's reasons with its tip reasons after the presumption and those raising the risk."""
    items = json.loads(existing) if isinstance(existing, str) else list(existing or [])
    at = sum(1 for r in items if r.get("direction") in ("presumes", "raises"))
    merged = [*items[:at], *extra, *items[at:]]
    return json.dumps(merged, ensure_ascii=False) if as_json else merged
