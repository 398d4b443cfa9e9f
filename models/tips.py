"""Tips and allegations: filing (with duplicates found), triage, and tips as evidence.

A tip names parties (manufacturer, shipper, importer: names, addresses, IDs), goods (HS
codes, descriptions), a country, the allegation, its source and the day it was received.
Filed, it is compared with the earlier tips by the entity resolution the lists use: a tip
naming a party with the same normalised name as an earlier, not dismissed tip, about
overlapping goods (the same HS heading or description) or the same country, is linked as a
duplicate of that tip, not made a new lead. Triage moves a tip ``new`` -> ``corroborated``
-> ``dismissed`` (or ``new`` -> ``dismissed``), each time with who and why; every change is
one audit row in the same transaction as the change.

The tips that count as evidence on lines are read through :class:`TipBook`, which
re-reads them whenever the store says they changed: a tip filed through one server worker
is evidence on the next line any worker scores.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import inspect

from models.audit_rows import AuditRows
from models.errors import UserError
from models.reference.entities import normalize_name
from models.scoring.tip_reasons import SOURCES, TipIndex
from models.settings import Settings
from models.store import AuditStore, TipStore

ROLES = ("manufacturer", "shipper", "importer")
SOURCE_TYPES = tuple(SOURCES)
STATUSES = ("new", "corroborated", "dismissed")
# Triage: where a tip may go from each status.
NEXT = {"new": ("corroborated", "dismissed"), "corroborated": ("dismissed",), "dismissed": ()}


class TipError(UserError, ValueError):
    """A tip that cannot be filed or triaged as asked (the message says why)."""

    hint = "Triage goes new -> corroborated -> dismissed; a dismissed tip stays dismissed."


class UnknownTipError(UserError, LookupError):
    """No tip has this id."""

    hint = "List the tips (GET /v1/tips) for their ids."


def _heading(hs: str) -> str:
    digits = "".join(ch for ch in str(hs or "") if ch.isdigit())
    return digits[:4] if len(digits) >= 4 else ""


def _overlaps(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two tips are about overlapping goods (HS heading, description) or one country."""
    if a.get("country") and a.get("country") == b.get("country"):
        return True
    heads_a = {_heading(g.get("hs", "")) for g in a["goods"]} - {""}
    heads_b = {_heading(g.get("hs", "")) for g in b["goods"]} - {""}
    if heads_a & heads_b:
        return True
    desc_a = {normalize_name(g.get("description") or "") for g in a["goods"]} - {""}
    desc_b = {normalize_name(g.get("description") or "") for g in b["goods"]} - {""}
    return bool(desc_a & desc_b)


def _parties(parties: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(parties):
        role = p.get("role")
        if role not in ROLES:
            raise TipError(f"parties[{i}].role: {role!r} is not one of {list(ROLES)}")
        name, pid = (p.get("name") or "").strip(), (p.get("party_id") or "").strip()
        if not name and not pid:
            raise TipError(f"parties[{i}]: a party needs a name or an ID")
        out.append({
            "role": role, "name": name or None, "name_key": normalize_name(name) or None,
            "address": (p.get("address") or "").strip() or None, "party_id": pid or None,
        })  # fmt: skip
    if not out:
        raise TipError("parties: a tip names at least one party")
    return out


def file_tip(
    store: AuditStore, tip: Mapping[str, Any], *, key_id: str, request_id: str
) -> dict[str, Any]:
    """Store a tip, linked as a duplicate of an earlier one when it is one, and audit it.

    Args:
        store: The store.
        tip: ``parties`` (``role, name, address, party_id``), ``goods`` (``hs,
            description``), ``country``, ``allegation``, ``source_type``, ``received_date``.
        key_id: Who filed it (an officer's or a system's key).
        request_id: The request id of its audit row.

    Returns:
        The stored tip (with ``duplicate_of`` set when it duplicates an earlier tip).

    Raises:
        TipError: A party without role, name or ID; an unknown source type.
        AuditUnavailableError: Nothing was stored.
    """
    if tip.get("source_type") not in SOURCE_TYPES:
        raise TipError(
            f"source_type: {tip.get('source_type')!r} is not one of {list(SOURCE_TYPES)}"
        )
    parties = _parties(tip.get("parties") or [])
    goods = [
        {
            "hs": str(g.get("hs") or "").strip(),
            "description": str(g.get("description") or "").strip(),
        }
        for g in tip.get("goods") or []
    ]
    tips = TipStore(store)
    rows = AuditRows(request_id, key_id)
    new = {"country": tip.get("country") or None, "goods": goods}
    with tips.write("tip filing") as (conn, append):
        duplicate_of = None
        for p in parties:
            for earlier in tips.naming(name_key=p["name_key"], party_id=p["party_id"], conn=conn):
                live = earlier["status"] != "dismissed" and earlier["duplicate_of"] is None
                if live and _overlaps(new, earlier):
                    duplicate_of = int(earlier["id"])
                    break
            if duplicate_of is not None:
                break
        record = {
            "received_date": str(tip["received_date"]), "source_type": tip["source_type"],
            "country": new["country"], "allegation": str(tip["allegation"]),
            "goods_json": json.dumps(goods, ensure_ascii=False), "status": "new",
            "duplicate_of": duplicate_of, "filed_at": rows.ts, "filed_by": key_id,
        }  # fmt: skip
        tip_id = tips.insert(conn, record, parties)
        tips.bump(conn)
        detail = {"tip_id": tip_id, "duplicate_of": duplicate_of, "parties": parties,
                  "goods": goods, "source_type": tip["source_type"],
                  "received_date": record["received_date"], "country": new["country"]}  # fmt: skip
        append([rows.event("tip_file", detail)])
        stored = tips.get(tip_id, conn)
    assert stored is not None
    return stored


def triage_tip(
    store: AuditStore, tip_id: int, status: str, note: str, *, key_id: str, request_id: str
) -> dict[str, Any]:
    """Move a tip to ``status`` with who and why, audited in the same transaction.

    Raises:
        UnknownTipError: No such tip.
        TipError: The move is not allowed (``dismissed`` is final), or no reason given.
        AuditUnavailableError: Nothing was stored.
    """
    if status not in STATUSES:
        raise TipError(f"status: {status!r} is not one of {list(STATUSES)}")
    if not note.strip():
        raise TipError("note: say why (the triage is audited with its reason)")
    tips = TipStore(store)
    rows = AuditRows(request_id, key_id)
    with tips.write("tip triage") as (conn, append):
        tip = tips.get(tip_id, conn)
        if tip is None:
            raise UnknownTipError(f"no tip {tip_id}")
        if status not in NEXT[tip["status"]]:
            raise TipError(f"tip {tip_id} is {tip['status']}: it cannot become {status}")
        values: dict[str, Any] = {
            "status": status, "triaged_at": rows.ts, "triaged_by": key_id, "triage_note": note,
        }  # fmt: skip
        values[f"{status}_at"] = rows.ts
        tips.set_fields(conn, tip_id, values)
        tips.bump(conn)
        detail = {"tip_id": tip_id, "from": tip["status"], "to": status, "note": note}
        append([rows.event("tip_triage", detail)])
        stored = tips.get(tip_id, conn)
    assert stored is not None
    return stored


def get_tip(store: AuditStore, tip_id: int) -> dict[str, Any]:
    """One tip with the ids of its duplicates.

    Raises:
        UnknownTipError: No such tip.
    """
    tips = TipStore(store)
    tip = tips.get(tip_id)
    if tip is None:
        raise UnknownTipError(f"no tip {tip_id}")
    tip["duplicates"] = tips.duplicates_of(tip_id)
    return tip


# The roles a tip may name a party of each kind in (a supplier manufactures or ships).
KIND_ROLES = {
    "importer": ("importer",),
    "manufacturer": ("manufacturer", "shipper"),
    "shipper": ("manufacturer", "shipper"),
}


def tips_naming(
    store: AuditStore,
    *,
    kind: str | None = None,
    name: str | None = None,
    party_id: str | None = None,
) -> list[dict[str, Any]]:
    """Tips naming a party, oldest first: by name (any spelling the lists resolve alike) or ID.

    Args:
        store: The store.
        kind: ``importer``, ``manufacturer`` or ``shipper`` (a supplier is named as either
            of the last two, as the ``tip`` reason matches them); None: any role.
        name: The party's name as declared.
        party_id: The party's ID (importer number, MID).
    """
    key = normalize_name(name) if name else None
    roles = KIND_ROLES[kind] if kind else None
    return TipStore(store).naming(name_key=key or None, party_id=party_id or None, roles=roles)


def load_tips(settings: Settings) -> list[dict[str, Any]]:
    """Every tip in the store, oldest first (none when there is no store yet).

    For batch scoring and training (``flrisk score``, ``flrisk train``): read once per run.
    """
    url = settings.audit_store_url()
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and path != ":memory:" and not Path(path).is_file():
        return []
    store = AuditStore(url)
    try:
        if not inspect(store.engine).has_table("tips"):
            return []
        return TipStore(store).all()
    finally:
        store.dispose()


def load_tip_index(settings: Settings) -> TipIndex:
    """The tips in the store as evidence and features (none when there is no store yet).

    For batch scoring (``flrisk score``): read once, at the start of the run.
    """
    return TipIndex.from_tips(load_tips(settings))


class TipBook:
    """The tips that count as evidence, re-read when the store says they changed.

    One cheap query per use (:meth:`TipStore.revision`) tells whether any tip was filed or
    triaged since the last read, by this process or another.
    """

    def __init__(self, store: AuditStore) -> None:
        self._tips = TipStore(store)
        self._lock = threading.Lock()
        self._seen: int | None = None
        self._index = TipIndex()

    def index(self) -> TipIndex:
        """The current tips as a :class:`~models.scoring.tip_reasons.TipIndex`."""
        rev = self._tips.revision()
        with self._lock:
            if rev != self._seen:
                self._index = TipIndex.from_tips(self._tips.all() if rev else [])
                self._seen = rev
            return self._index
