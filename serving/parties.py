"""Party profiles and entries' statuses for both front ends, and where more of them plug in.

The API (``GET /v1/parties/{kind}/{id}``) and the workbench (``/parties/{kind}/{id}``)
show the same profile (:func:`models.parties.build_profile`) and the same importer summary
(:func:`summary_csv`); the worklist's outcome column comes from :func:`entry_statuses`.

Tips and cases are plugged in below; plugging in more:

- :data:`SECTIONS`: callables ``(AuditStore, Party) -> Section | None``; each adds a titled
  table to every profile (the tips naming the party: match ``Party.names``, normalised by
  ``normalize_name``; its open and closed cases: match ``Party.lines``).
- :data:`STATUS_SOURCES`: callables ``(AuditStore, entry_ids) -> {entry_id: status}``; a
  status they give (``case open``) is shown instead of the entry's outcome.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import date
from functools import partial
from typing import Any

from models.audit_rows import AuditRows
from models.cases import OPEN, REVIEW, cases_of_entries, get_case
from models.parties import Party, Profile, Section, build_profile, worst
from models.parties import entry_statuses as _statuses
from models.store import AuditStore, PartyLines
from models.tips import tips_naming
from serving.csv_cells import guard_cell

PartySection = Callable[[AuditStore, Party], Section | None]
StatusSource = Callable[[AuditStore, Sequence[str]], dict[str, str]]


def tips_section(store: AuditStore, party: Party) -> Section:
    """The tips naming the party: by any of its IDs, or any spelling of its cluster."""
    found: dict[int, dict[str, Any]] = {}
    for party_id in party.ids:
        for tip in tips_naming(store, kind=party.kind, party_id=party_id):
            found[int(tip["id"])] = tip
    for name in party.names:
        for tip in tips_naming(store, kind=party.kind, name=name):
            found[int(tip["id"])] = tip
    rows = [
        {k: tip.get(k, "") for k in ("id", "received_date", "source_type", "status", "allegation")}
        for _, tip in sorted(found.items())
    ]
    return Section(
        "Tips naming this party",
        ("id", "received_date", "source_type", "status", "allegation"),
        rows,
        empty="No tip names this party.",
    )


def cases_section(store: AuditStore, party: Party) -> Section:
    """The open and closed cases holding lines of the party's entries."""
    entries = sorted({entry for entry, _ in party.lines})
    rows = [
        {k: case.get(k, "") for k in ("id", "title", "status", "owner", "opened_at", "closed_at")}
        for case in cases_of_entries(store, entries)
    ]
    return Section(
        "Cases",
        ("id", "title", "status", "owner", "opened_at", "closed_at"),
        rows,
        empty="No case holds this party's lines.",
    )


def case_statuses(store: AuditStore, entry_ids: Sequence[str]) -> dict[str, str]:
    """``case open`` (or the closed case's outcome) for entries some case holds."""
    out: dict[str, str] = {}
    wanted = set(entry_ids)
    # Newest first: an entry shows its latest case.
    for case in cases_of_entries(store, list(entry_ids)):
        status = str(case["status"])
        label = "case open" if status in (OPEN, REVIEW) else f"case {status.replace('_', '-')}"
        held = {str(ln["entry_id"]) for ln in get_case(store, int(case["id"]))["lines"]}
        for entry in sorted(held & wanted):
            out.setdefault(entry, label)
    return out


SECTIONS: tuple[PartySection, ...] = (tips_section, cases_section)
STATUS_SOURCES: tuple[StatusSource, ...] = (case_statuses,)
SUMMARY_COLUMNS = (
    "entry_id", "entry_date", "lines", "declared_value_usd", "max_risk_score", "inspected_lines",
    "violation_lines", "status", "list_matches", "xinjiang_terms",
)  # fmt: skip


class BadPeriodError(ValueError):
    """A period whose dates are not ISO dates, or whose end is before its start."""


def period_of(start: str | None, end: str | None) -> tuple[str, str] | None:
    """``(start, end)`` as ISO dates (either may be open), or None for no period.

    Raises:
        BadPeriodError: A date is not ``YYYY-MM-DD``, or ``end`` is before ``start``.
    """
    if not start and not end:
        return None
    try:
        lo = date.fromisoformat(start).isoformat() if start else "0000-01-01"
        hi = date.fromisoformat(end).isoformat() if end else "9999-12-31"
    except ValueError as exc:
        raise BadPeriodError(f"dates are YYYY-MM-DD: {exc}") from exc
    if hi < lo:
        raise BadPeriodError(f"the period ends ({hi}) before it starts ({lo})")
    return lo, hi


def party_profile(
    store: AuditStore, kind: str, key: str, period: tuple[str, str] | None = None
) -> Profile:
    """The profile of one party with every plugged-in section (see the module docstring).

    Raises:
        UnknownKindError: ``kind`` is not importer, manufacturer or shipper.
        AuditUnavailableError: The store cannot be read.
    """
    sections = [partial(source, store) for source in SECTIONS]
    return build_profile(PartyLines(store), kind, key, period=period, sections=sections)


def entry_statuses(store: AuditStore, entry_ids: Sequence[str]) -> dict[str, str]:
    """Each entry's status: a plugged-in status (a case), else its lines' outcomes."""
    found = _statuses(PartyLines(store).outcomes(entry_ids)) if entry_ids else {}
    for source in STATUS_SOURCES:
        found.update(source(store, entry_ids))
    return found


def summary_rows(profile: Profile) -> list[dict[str, Any]]:
    """One row per entry of the profile's lines (a period's, when it was built with one)."""
    by: dict[str, list[dict[str, Any]]] = {}
    for x in profile.lines:
        by.setdefault(x["entry_id"], []).append(x)
    rows = []
    for entry_id, xs in sorted(by.items(), key=lambda p: (p[1][0]["entry_date"], p[0])):
        matches = sorted({str(x["list_match"]["entity"]) for x in xs if x["list_match"]})
        rows.append({
            "entry_id": entry_id, "entry_date": xs[0]["entry_date"], "lines": len(xs),
            "declared_value_usd": round(sum(x["declared_value_usd"] for x in xs), 2),
            "max_risk_score": round(max(x["risk_score"] for x in xs), 6),
            "inspected_lines": sum(x["inspected"] for x in xs),
            "violation_lines": sum(x["violation"] for x in xs),
            "status": worst([x["status"] for x in xs]),
            "list_matches": "; ".join(matches),
            "xinjiang_terms": "; ".join(sorted({t for x in xs for t in x["xinjiang_terms"]})),
        })  # fmt: skip
    return rows


def summary_csv(profile: Profile, period: tuple[str, str] | None) -> str:
    """The importer summary for a civil-penalty referral, as CSV text.

    A header block names the party, its cluster and the period; then one row per entry
    (lines, declared value, inspections, violations, status, list matches), then a
    ``TOTAL`` row. Text cells are defused against formula injection.
    """
    p = profile.party
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    lo, hi = period or (profile.totals["first_date"], profile.totals["last_date"])
    head = [
        ("party_kind", p.kind), ("party", p.key), ("matched_by", p.mode),
        ("ids_seen", "; ".join(sorted(p.ids))),
        ("spellings_seen", "; ".join(c["spelling"] for c in profile.cluster)),
        ("period_from", lo), ("period_to", hi),
    ]  # fmt: skip
    for k, v in head:
        out.writerow([k, guard_cell(v)])
    out.writerow([])
    out.writerow(SUMMARY_COLUMNS)
    rows = summary_rows(profile)
    for r in rows:
        out.writerow([guard_cell(r[c]) for c in SUMMARY_COLUMNS])
    t = profile.totals
    out.writerow([
        "TOTAL", "", t["lines"], round(t["value_usd"], 2), "", t["inspected"], t["violations"],
        "", "; ".join(m["entity"] for m in profile.list_matches), "",
    ])  # fmt: skip
    return buf.getvalue()


def profile_json(profile: Profile) -> dict[str, Any]:
    """A profile as the API answers it (per-line rows left out: the summary CSV has them)."""
    p = profile.party
    return {
        "party": {"kind": p.kind, "key": p.key, "matched_by": p.mode, "ids": sorted(p.ids),
                  "normalised_names": sorted(p.names)},
        "cluster": profile.cluster, "totals": profile.totals, "months": profile.months,
        "outcomes": [{k: x[k] for k in ("entry_id", "line_no", "entry_date", "status",
                                        "inspected", "violation")} for x in profile.outcomes],
        "list_matches": profile.list_matches, "presumption": profile.presumption,
        "sections": [{"title": s.title, "columns": list(s.columns), "rows": s.rows}
                     for s in profile.sections],
    }  # fmt: skip


def audit_party(
    store: AuditStore, request_id: str, key_id: str, action: str, detail: dict[str, Any]
) -> None:
    """One audit row for a profile read or a summary export (who looked at whom)."""
    store.record([AuditRows(request_id, key_id).event(action, detail)])
