"""Tips as a feature: how many tips named a line's parties before its entry, by status.

One index of the tips (:class:`TipIndex`) and one matching of tips to lines
(:func:`party_hits`) serve both the ``tip`` reason (:mod:`models.scoring.tip_reasons`) and
the model's tip features, so a reason and the count behind it never disagree about which
tips name a line. Parties are matched as the entity lists match them: the same normalised
name (``N:`` + :func:`~models.reference.entities.normalize_name`) or the same declared ID.
A tip naming a manufacturer or shipper names a *supplier*: it counts where that party
manufactures or ships; an importer's tip counts where it imports.

The features (``TIP_FEATURES``), per line and per role of the line's party (manufacturer,
shipper, importer): the tips naming that party received on or before the line's entry date
that are ``new``, and those ``corroborated``. Dismissed tips do not count, and a duplicate
counts only as part of its original (it is the same lead).

**Leak-free.** A status is taken *as known when the line's risk was decided*:

- in training, as of the line's entry date: a tip counts as corroborated only if it was
  corroborated, and stops counting only if it was dismissed, on a day before the line's entry
  date. A tip corroborated (or dismissed) because of this line's own inspection, which can
  only happen after the line was entered, therefore never changes the line's features;
- in serving, as the store says now (``status_as_of=None``): a dismissed tip has stopped
  counting, a corroborated one counts as such. For a line entered after every status change
  this is the same count training computes (the equivalence tests pin it).

A tip received on the line's entry date counts (as it gives the line its ``tip`` reason): a
tip is an allegation from outside, received whatever the line's inspection finds; what an
inspection can change is the tip's status, dated strictly before the entry day to count.
Nothing here is learned from data: how much a count weighs (and whether a corroborated tip
weighs more than a new one) is the model's to learn; the counts are computed from the tips
given, in training from the store or a tips file, in serving from the store as of the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from models.contract.batch import Column, Lines
from models.features.cache import SignalCache
from models.features.distinct import factorize
from models.features.parties import party_keys
from models.reference.entities import normalize_name

SUPPLIER_ROLES = ("manufacturer", "shipper")
# The line's columns a party of each kind is declared in: (role said, name column, ID column).
LINE_PARTIES = (
    ("manufacturer", "manufacturer_name", "manufacturer_id"),
    ("shipper", "shipper_name", None),
    ("importer", "importer_name", "importer_id"),
)
# Feature name prefix of each line role.
_ROLE_PREFIX = {"manufacturer": "tip_mfr", "shipper": "tip_shp", "importer": "tip_imp"}
COUNTED = ("new", "corroborated")
TIP_FEATURES = tuple(f"{_ROLE_PREFIX[role]}_{s}" for role, _, _ in LINE_PARTIES for s in COUNTED)
_NEVER = np.datetime64("NaT", "D")


@dataclass(frozen=True)
class TipFact:
    """One tip naming one party, as a line's reason and features read it.

    Attributes:
        tip_id: The tip.
        received: Its received date (ISO ``YYYY-MM-DD``).
        source_type: ``ngo``, ``public``, ``partner_agency`` or ``anonymous``.
        status: Its status now: ``new``, ``corroborated`` or ``dismissed``.
        kind: ``supplier`` (a manufacturer or shipper) or ``importer``.
        party: The party's name as the tip gave it.
        reports: The tip and the later, not dismissed, tips linked to it as duplicates.
        corroborated: The day it was corroborated (ISO), or None.
        dismissed: The day it was dismissed (ISO), or None.
    """

    tip_id: int
    received: str
    source_type: str
    status: str
    kind: str
    party: str
    reports: int
    corroborated: str | None = None
    dismissed: str | None = None


def _day(value: Any) -> str | None:
    """The ISO day of a date or timestamp text (``2026-03-02T10:00:00Z`` -> ``2026-03-02``)."""
    text = str(value or "").strip()
    return text[:10] if text else None


@dataclass
class TipIndex:
    """Tips (originals, dismissed ones too) by the party keys they name.

    Keys: ``(kind, "N:" + normalised name)`` in ``by_name``, ``(kind, ID)`` in ``by_id``.
    Built once per read of the tips (``TipBook``, ``flrisk score``, training) and shared by
    the reasons and the features of every line scored with it.
    """

    by_name: dict[tuple[str, str], list[TipFact]] = field(default_factory=dict)
    by_id: dict[tuple[str, str], list[TipFact]] = field(default_factory=dict)
    records: list[dict[str, Any]] = field(default_factory=list, repr=False)

    def __bool__(self) -> bool:
        # Dismissed tips too: in training, a tip dismissed after a line's entry counted then.
        return bool(self.by_name or self.by_id)

    @property
    def live(self) -> bool:
        """Whether any tip counts as evidence now (one not dismissed)."""
        return any(f.status != "dismissed" for fs in self.by_name.values() for f in fs) or any(
            f.status != "dismissed" for fs in self.by_id.values() for f in fs
        )

    @classmethod
    def from_tips(cls, tips: Iterable[Mapping[str, Any]]) -> TipIndex:
        """The index of the tips.

        Args:
            tips: Tips as the store gives them (``id, received_date, source_type, status,
                duplicate_of, corroborated_at, dismissed_at, parties``: ``role, name,
                name_key, party_id``), or as a tips file is read.
        """
        records = [dict(t) for t in tips]
        reports: dict[int, int] = {}
        for t in records:
            if t.get("duplicate_of") is not None and t["status"] != "dismissed":
                reports[int(t["duplicate_of"])] = reports.get(int(t["duplicate_of"]), 0) + 1
        out = cls(records=records)
        for t in records:
            if t.get("duplicate_of") is not None:
                continue
            for p in t["parties"]:
                kind = "supplier" if p["role"] in SUPPLIER_ROLES else "importer"
                fact = TipFact(
                    int(t["id"]), str(t["received_date"]), str(t["source_type"]),
                    str(t["status"]), kind, str(p.get("name") or p.get("party_id") or ""),
                    1 + reports.get(int(t["id"]), 0),
                    _day(t.get("corroborated_at")), _day(t.get("dismissed_at")),
                )  # fmt: skip
                # The store keeps the normalised name: no need to normalise it again.
                norm = p.get("name_key")
                key = "N:" + norm if norm else name_key(p.get("name") or "")
                if key:
                    out.by_name.setdefault((kind, key), []).append(fact)
                if p.get("party_id"):
                    out.by_id.setdefault((kind, str(p["party_id"]).strip()), []).append(fact)
        return out


# (line role, lines, tips) of every party a tip names: what :func:`party_hits` gives.
PartyHits = list[tuple[str, np.ndarray, list[TipFact]]]


def name_key(name: str) -> str | None:
    """A party's key by name, as the line's party keys have it (``N:`` + normalised)."""
    norm = normalize_name(name) if name else ""
    return "N:" + norm if norm else None


def _hits(
    col: Any, keys: Mapping[tuple[str, str], list[TipFact]], kind: str
) -> list[tuple[np.ndarray, list[TipFact]]]:
    """For each party key of ``col`` that tips name: the lines holding it and its tips.

    One pass over the lines whatever the number of parties named (a stable sort of the
    lines that hold one), not one comparison of every line per party.
    """
    codes, uniq = factorize(col)
    found: list[tuple[int, list[TipFact]]] = []
    for j, v in enumerate(uniq.tolist()):
        facts = keys.get((kind, str(v)))
        if facts:
            found.append((j, facts))
    if not found:
        return []
    slot = np.full(len(uniq) + 1, -1, dtype=np.int64)
    for s, (j, _) in enumerate(found):
        slot[j] = s
    of_line = slot[codes]
    rows = np.flatnonzero(of_line >= 0)
    rows = rows[np.argsort(of_line[rows], kind="stable")]
    bounds = np.searchsorted(of_line[rows], np.arange(len(found) + 1))
    return [(rows[bounds[s] : bounds[s + 1]], facts) for s, (_, facts) in enumerate(found)]


def party_hits(lines: Lines, index: TipIndex, cache: SignalCache) -> PartyHits:
    """Every (line role, lines, tips) where tips name the party the lines declare in that role.

    A tip may reach a line by name and by ID at once: counts and reasons take each tip once
    per line and role.
    """
    out = []
    for role, name_col, id_col in LINE_PARTIES:
        kind = "importer" if role == "importer" else "supplier"
        if name_col in lines:
            for rows, facts in _hits(party_keys(None, lines[name_col], cache), index.by_name, kind):
                out.append((role, rows, facts))
        if id_col is not None and id_col in lines:
            for rows, facts in _hits(lines[id_col], index.by_id, kind):
                out.append((role, rows, facts))
    return out


def _as_day(text: str | None) -> np.datetime64:
    return np.datetime64(text, "D") if text else _NEVER


def tip_features(
    lines: Lines,
    index: TipIndex | None,
    cache: SignalCache,
    status_as_of: Column | None = None,
    hits: PartyHits | None = None,
) -> dict[str, np.ndarray]:
    """The tip counts of each line (``TIP_FEATURES``, float64; 0 where no tip names it).

    Args:
        lines: The lines.
        index: The tips (None or empty: every count 0).
        cache: Signal memo (normalised names).
        status_as_of: Per line, the day whose eve the tips' statuses are taken at (training:
            the entry dates); None: the statuses as they are now (serving).
        hits: :func:`party_hits` of these lines and tips, if already made.
    """
    n = len(lines)
    out = {name: np.zeros(n, dtype=np.float64) for name in TIP_FEATURES}
    if not index or not n:
        return out
    entry = np.asarray(lines["entry_date"]).astype("datetime64[D]")
    as_of = None if status_as_of is None else np.asarray(status_as_of).astype("datetime64[D]")
    roles = [role for role, _, _ in LINE_PARTIES]
    found: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # (role, tip, lines, corroborated)
    for party_role, rows, facts in party_hits(lines, index, cache) if hits is None else hits:
        for fact in facts:
            live = rows[entry[rows] >= np.datetime64(fact.received, "D")]
            if as_of is None:
                if fact.status == "dismissed":
                    continue
                corroborated = np.full(len(live), fact.status == "corroborated")
            else:
                gone = _as_day(fact.dismissed)
                if not np.isnat(gone):
                    live = live[~(gone < as_of[live])]
                since = _as_day(fact.corroborated)
                corroborated = np.zeros(len(live), bool) if np.isnat(since) else since < as_of[live]
            if len(live):
                found.append((roles.index(party_role), fact.tip_id, live, corroborated))
    if not found:
        return out
    role = np.concatenate([np.full(len(f[2]), f[0], dtype=np.int64) for f in found])
    tip = np.concatenate([np.full(len(f[2]), f[1], dtype=np.int64) for f in found])
    at = np.concatenate([f[2] for f in found]).astype(np.int64)
    corr = np.concatenate([f[3] for f in found])
    # A tip matched by name and by ID, or naming two parties of one line in one role (a
    # manufacturer that also ships), counts once per line and role: one packed key each.
    rank = np.searchsorted(np.unique(tip), tip).astype(np.int64)
    _, first = np.unique((rank * len(roles) + role) * n + at, return_index=True)
    role, at, corr = role[first], at[first], corr[first]
    for r, name in enumerate(roles):
        prefix = _ROLE_PREFIX[name]
        mine = role == r
        out[f"{prefix}_corroborated"] += np.bincount(at[mine & corr], minlength=n)
        out[f"{prefix}_new"] += np.bincount(at[mine & ~corr], minlength=n)
    return out
