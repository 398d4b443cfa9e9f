"""Party profiles: one importer, manufacturer or shipper across every line scored.

A profile is built from what the store holds (:class:`models.store.PartyLines`): the
audited scored lines, the reasons stored with them or shown to officers, and the outcome in
force of each judged line. Which lines are the party's is decided here, by entity
resolution with the entity lists' normalisation (:func:`models.reference.entities
.normalize_name`):

- The key names a party by its id (``importer_id``, ``manufacturer_id``) when some line
  declares that id ("id" mode): its lines are those with the id, and those with no id whose
  name normalises to a name seen with the id. A line with another id is another party.
- Otherwise the key is a name ("name" mode; shippers have no id): the party's lines are
  those whose declared name normalises to the key's normalisation.

The spellings behind the normalised names are the party's cluster. More sections (tips,
cases) come from :data:`SectionSource` callables given to :func:`build_profile`.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from models.reference.entities import GENERIC, normalize_name
from models.reference.tables import place_spellings
from models.store import PartyLines

# kind -> (id field or None, name field)
KINDS: dict[str, tuple[str | None, str]] = {
    "importer": ("importer_id", "importer_name"),
    "manufacturer": ("manufacturer_id", "manufacturer_name"),
    "shipper": (None, "shipper_name"),
}
MAX_ROWS = 100_000  # audit rows read per query for one profile (newest first)
# An entry's status is its most serious line's: the first of these that a line has.
STATUS_ORDER = (
    "seized", "excluded", "detained", "violation found", "under review", "released",
    "examined", "not examined",
)  # fmt: skip


class UnknownKindError(ValueError):
    """A party kind other than importer, manufacturer or shipper."""


@dataclass(frozen=True)
class Party:
    """Who a profile is about, as the sections see it.

    Attributes:
        kind: ``importer``, ``manufacturer`` or ``shipper``.
        key: The id or name asked for.
        mode: ``id`` or ``name`` (see the module's docstring).
        names: The normalised names of the cluster.
        ids: The ids seen on the party's lines.
        lines: ``(entry_id, line_no)`` of every line of the party.
    """

    kind: str
    key: str
    mode: str
    names: frozenset[str]
    ids: frozenset[str]
    lines: frozenset[tuple[str, int]]


@dataclass
class Section:
    """One more part of a profile (tips, cases): a titled table."""

    title: str
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    empty: str = "None."


# What adds a section to a profile: called with the party, returns its section (or None).
SectionSource = Callable[[Party], Section | None]


@dataclass
class Profile:
    """Everything the page and the API show of one party."""

    party: Party
    cluster: list[dict[str, Any]]
    months: list[dict[str, Any]]
    totals: dict[str, Any]
    outcomes: list[dict[str, Any]]
    list_matches: list[dict[str, Any]]
    presumption: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def line_status(outcome: Mapping[str, Any] | None) -> str:
    """What happened to a line, in an officer's words, from its outcome in force."""
    if not outcome:
        return "not examined"
    if outcome.get("status") == "review":
        return "under review"
    if outcome.get("outcome"):
        return str(outcome["outcome"])
    if outcome.get("violation") == 1:
        return "violation found"
    return "examined" if outcome.get("inspected") else "not examined"


def worst(statuses: Iterable[str]) -> str:
    """The most serious of some line statuses (an entry's status); unknown words rank mid."""
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    middle = rank["under review"] + 0.5
    return min(statuses, key=lambda s: rank.get(s, middle), default="not examined")


def entry_statuses(outcomes: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each judged entry's status from its lines' outcomes (:meth:`PartyLines.outcomes`)."""
    by_entry: dict[str, list[str]] = defaultdict(list)
    for o in outcomes:
        by_entry[str(o["entry_id"])].append(line_status(o))
    return {e: worst(s) for e, s in by_entry.items()}


def _search_words(normalised: str) -> list[str]:
    """Words a declared spelling of this name almost surely contains, to narrow the query.

    Distinctive words (not generic, not a Xinjiang place respelt by the normalisation) are
    kept as typed on manifests; the longest of them is searched for.
    """
    places = set(place_spellings().values())
    words = [w for w in normalised.split() if w not in GENERIC and w not in places and len(w) > 2]
    return [max(words, key=len)] if words else normalised.split()[:1]


def _line(row: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        line = json.loads(row["input_json"])
    except (TypeError, ValueError):
        return None
    return line if isinstance(line, dict) else None


def _reasons(text: Any) -> list[dict[str, Any]]:
    try:
        found = json.loads(text)["reasons"] if text else []
    except (TypeError, ValueError, KeyError):
        return []
    return [r for r in found if isinstance(r, dict)] if isinstance(found, list) else []


def _read(
    reader: PartyLines, patterns: Iterable[str]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(r, ln) for r in reader.scored_lines(patterns, MAX_ROWS) if (ln := _line(r))]


def _name_of(line: Mapping[str, Any], name_field: str) -> str:
    return normalize_name(str(line.get(name_field) or ""))


def _match(kind: str, key: str, reader: PartyLines) -> tuple[str, list[dict[str, Any]]]:
    """The party's mode and its scored lines (newest scoring of each line, with its line)."""
    id_field, name_field = KINDS[kind]
    ours: list[tuple[dict[str, Any], dict[str, Any]]] = []
    if id_field:  # the key as an id: the exact field in the line's canonical JSON
        pattern = f'"{id_field}":{json.dumps(key, ensure_ascii=False)}'
        ours = [(r, ln) for r, ln in _read(reader, [pattern]) if ln.get(id_field) == key]
    if ours and id_field:
        mode = "id"
        names = {_name_of(ln, name_field) for _r, ln in ours} - {""}
        words = {w for n in names for w in _search_words(n)}
        ours += [
            (r, ln) for r, ln in _read(reader, words)
            if not ln.get(id_field) and _name_of(ln, name_field) in names
        ]  # fmt: skip
    else:
        mode = "name"
        key_name = normalize_name(key)
        if key_name:
            ours = [
                (r, ln) for r, ln in _read(reader, _search_words(key_name))
                if _name_of(ln, name_field) == key_name
            ]  # fmt: skip
    newest: dict[tuple[str, int], dict[str, Any]] = {}
    for r, ln in sorted(ours, key=lambda p: -int(p[0]["id"])):
        k = (str(r["entry_id"]), int(r["line_no"]))
        if k not in newest:
            newest[k] = {**r, "line": ln}
    return mode, list(newest.values())


def build_profile(
    reader: PartyLines,
    kind: str,
    key: str,
    *,
    period: tuple[str, str] | None = None,
    sections: Sequence[SectionSource] = (),
) -> Profile:
    """The profile of one party from the store's scored lines and outcomes.

    Args:
        reader: The store's party reads.
        kind: ``importer``, ``manufacturer`` or ``shipper``.
        key: The party's id, or its name (any spelling).
        period: ``(first, last)`` entry dates (ISO, inclusive) to keep, or None for all.
        sections: More sections to add (tips, cases), in order.

    Raises:
        UnknownKindError: ``kind`` is not a party kind.
        AuditUnavailableError: The store cannot be read.
    """
    if kind not in KINDS:
        raise UnknownKindError(f"unknown party kind {kind!r}; known: {', '.join(KINDS)}")
    mode, found = _match(kind, key.strip(), reader)
    if period is not None:
        lo, hi = period
        found = [f for f in found if lo <= str(f["line"].get("entry_date", ""))[:10] <= hi]
    id_field, name_field = KINDS[kind]
    keys = [(str(f["entry_id"]), int(f["line_no"])) for f in found]
    entry_ids = sorted({e for e, _n in keys})
    outcomes = {(str(o["entry_id"]), int(o["line_no"])): o for o in reader.outcomes(entry_ids)}
    shown = _shown_reasons(reader, entry_ids)
    lines = []
    for f in found:
        k = (str(f["entry_id"]), int(f["line_no"]))
        reasons = _reasons(f["reasons_json"]) or shown.get(k, [])
        lines.append(_line_record(f, k, reasons, outcomes.get(k)))
    lines.sort(key=lambda x: (x["entry_date"], x["entry_id"], x["line_no"]))
    ids = {str(f["line"].get(id_field) or "") for f in found} if id_field else set()
    party = Party(
        kind, key, mode,
        names=frozenset(_name_of(f["line"], name_field) for f in found) - {""},
        ids=frozenset(ids - {""}), lines=frozenset(keys),
    )  # fmt: skip
    return Profile(
        party=party,
        cluster=_cluster(found, name_field),
        months=_months(lines),
        totals=_totals(lines),
        outcomes=[x for x in reversed(lines) if x["judged"]][:200],
        list_matches=_list_matches(lines),
        presumption=_presumption(lines),
        lines=lines,
        sections=[s for s in (source(party) for source in sections) if s is not None],
    )


def _shown_reasons(reader: PartyLines, entry_ids: list[str]) -> dict[tuple[str, int], list[Any]]:
    out: dict[tuple[str, int], list[Any]] = {}
    for r in sorted(reader.shown_reasons(entry_ids), key=lambda r: -int(r["id"])):
        k = (str(r["entry_id"]), int(r["line_no"]))
        if k not in out and (reasons := _reasons(r["reasons_json"])):
            out[k] = reasons
    return out


def _line_record(
    f: Mapping[str, Any], k: tuple[str, int], reasons: list[dict[str, Any]],
    outcome: Mapping[str, Any] | None,
) -> dict[str, Any]:  # fmt: skip
    ln = f["line"]
    raised = {r.get("code"): r for r in reasons if r.get("direction") == "raises"}
    listed = raised.get("listed_entity", {}).get("evidence", {})
    xj = raised.get("xinjiang_address", {}).get("evidence", {})
    try:
        value = float(ln.get("declared_value_usd") or 0.0)
    except (TypeError, ValueError):
        value = 0.0
    labelled = outcome is not None and outcome.get("status") == "labelled"
    return {
        "entry_id": k[0], "line_no": k[1], "entry_date": str(ln.get("entry_date", ""))[:10],
        "hts_code": str(ln.get("hts_code", "")),
        "country_of_origin": str(ln.get("country_of_origin", "")),
        "declared_value_usd": value, "risk_score": float(f["risk_score"] or 0.0),
        "risk_band": str(f["risk_band"] or ""), "scored_at": str(f["ts"]),
        "status": line_status(outcome), "judged": outcome is not None,
        "inspected": bool(labelled and outcome and outcome.get("inspected")),
        "violation": bool(labelled and outcome and outcome.get("violation") == 1),
        "list_match": listed if listed.get("entity") else None,
        "xinjiang_terms": list(xj.get("terms", [])),
        "explained": bool(reasons),
    }  # fmt: skip


def _cluster(found: list[dict[str, Any]], name_field: str) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for f in found:
        spelling = str(f["line"].get(name_field) or "")
        if not spelling:
            continue
        date = str(f["line"].get("entry_date", ""))[:10]
        s = seen.setdefault(spelling, {"spelling": spelling, "normalised": normalize_name(spelling),
                                       "lines": 0, "first": date, "last": date})  # fmt: skip
        s["lines"] += 1
        s["first"], s["last"] = min(s["first"], date), max(s["last"], date)
    return sorted(seen.values(), key=lambda s: (-s["lines"], s["spelling"]))


def _months(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for x in lines:
        by[x["entry_date"][:7]].append(x)
    return [
        {"month": m, "lines": len(xs), "entries": len({x["entry_id"] for x in xs}),
         "value_usd": sum(x["declared_value_usd"] for x in xs),
         "mean_score": sum(x["risk_score"] for x in xs) / len(xs),
         "high": sum(x["risk_band"] == "high" for x in xs),
         "inspected": sum(x["inspected"] for x in xs),
         "violations": sum(x["violation"] for x in xs)}
        for m, xs in sorted(by.items())
    ]  # fmt: skip


def _totals(lines: list[dict[str, Any]]) -> dict[str, Any]:
    dates = [x["entry_date"] for x in lines if x["entry_date"]]
    return {
        "lines": len(lines), "entries": len({x["entry_id"] for x in lines}),
        "value_usd": sum(x["declared_value_usd"] for x in lines),
        "inspected": sum(x["inspected"] for x in lines),
        "violations": sum(x["violation"] for x in lines),
        "under_review": sum(x["status"] == "under review" for x in lines),
        "list_match_lines": sum(x["list_match"] is not None for x in lines),
        "explained_lines": sum(x["explained"] for x in lines),
        "first_date": min(dates, default=""), "last_date": max(dates, default=""),
    }  # fmt: skip


def _list_matches(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by: dict[tuple[str, str], dict[str, Any]] = {}
    for x in lines:
        m = x["list_match"]
        if m is None:
            continue
        k = (str(m.get("entity_id", "")), str(m.get("role", "")))
        e = by.setdefault(k, {**{f: m.get(f, "") for f in ("entity_id", "entity", "list",
                                                           "citation", "role")},
                              "aliases": Counter(), "lines": 0, "last": ""})  # fmt: skip
        e["lines"] += 1
        e["aliases"][str(m.get("matched_alias", ""))] += 1
        e["last"] = max(e["last"], x["entry_date"])
    out = []
    for e in by.values():
        e["aliases"] = [a for a, _n in e["aliases"].most_common() if a]
        out.append(e)
    return sorted(out, key=lambda e: (-e["lines"], e["entity"]))


def _presumption(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Lines under the UFLPA's rebuttable presumption by the evidence stored with them.

    Goods made in Xinjiang or by a UFLPA-listed entity are presumed made with forced labour
    (19 U.S.C. 4651 note, sec. 3). A line counts when a reason raising its score says so.
    """
    xj = [x for x in lines if x["xinjiang_terms"]]
    uflpa = [
        x for x in lines if x["list_match"] and "UFLPA" in str(x["list_match"].get("list", ""))
    ]
    keys = {(x["entry_id"], x["line_no"]) for x in xj + uflpa}
    terms = Counter(t for x in xj for t in x["xinjiang_terms"])
    return {
        "lines": len(keys),
        "xinjiang_lines": len(xj),
        "uflpa_listed_lines": len(uflpa),
        "terms": [t for t, _n in terms.most_common(10)],
        "entries": sorted({e for e, _n in keys})[:200],
    }
