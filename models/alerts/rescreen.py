"""Re-screening: lines scored in the look-back window against what a reference change changed.

When the reference moves from version A to B, only the listings added or modified (and
partner alerts approved) can make a past line newly matched or newly presumed. They are
matched against the *distinct* party names of the window (a few thousand names stand for a
million lines), then the lines naming a hit are read, and one alert per line and listing is
stored. A line is presumed when the listing (UFLPA Entity List, WRO or Finding) was in force
on its entry date; matched otherwise (listed later, or a partner alert: evidence, never a
presumption). Each alert's key is the line and the listing's content, so the same change
never alerts a line twice, whoever re-screens (the server, ``flrisk rescreen``) and however
often.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from models.alerts.messages import alert_json, deliveries, enforcement_action, key_of, row_hash
from models.audit_rows import AuditRows
from models.reference.entities import EntityMatch, EntityMatcher
from models.reference.snapshot import ReferenceSnapshot, snapshot_of
from models.store import Alerts, AuditStore, Outbox

PRESUMING = ("UFLPA", "WRO", "FINDING")
ROLES = (("manufacturer_name", "manufacturer"), ("shipper_name", "shipper"))
# Scores lines again with the new reference: inputs -> score per line (None: no model).
Rescore = Callable[[list[dict[str, Any]], ReferenceSnapshot], list[float]]


@dataclass(frozen=True)
class Change:
    """What a reference change changed: listings added or modified, partner alerts added."""

    added: pd.DataFrame
    modified: pd.DataFrame
    previous: pd.DataFrame  # the modified listings as they were
    partners: pd.DataFrame
    removed: list[str]

    def empty(self) -> bool:
        """Nothing that could make a line newly matched."""
        return self.added.empty and self.modified.empty and self.partners.empty


@dataclass
class Result:
    """What a re-screen did."""

    names: int = 0
    lines: int = 0
    alerts: list[dict[str, Any]] = field(default_factory=list)
    actions: int = 0
    seconds: float = 0.0


def diff(old: ReferenceSnapshot, new: ReferenceSnapshot) -> Change:
    """Listings and partner alerts that differ between two versions."""
    before = old.entities.set_index("entity_id", drop=False)
    after = new.entities.set_index("entity_id", drop=False)
    cols = [c for c in after.columns if c in before.columns]
    added = after[~after.index.isin(before.index)]
    both = after.index[after.index.isin(before.index)]
    same = (after.loc[both, cols].astype(str) == before.loc[both, cols].astype(str)).all(axis=1)
    modified_ids = list(same.index[~same.to_numpy()])
    old_partners = set(old.partner_alerts["alert_id"])
    partners = new.partner_alerts[~new.partner_alerts["alert_id"].isin(old_partners)]
    return Change(
        added=added.reset_index(drop=True),
        modified=after.loc[modified_ids].reset_index(drop=True),
        previous=before.loc[modified_ids].reset_index(drop=True),
        partners=partners.reset_index(drop=True),
        removed=sorted(set(before.index) - set(after.index)),
    )


def in_force(row: Mapping[Any, Any], day: str) -> bool:
    """Whether a listing was in force on ``day`` (ISO date; unknown: not in force)."""
    start, end = str(row.get("effective_date", "") or ""), str(row.get("end_date", "") or "")
    if not day:
        return False
    return (not start or start <= day) and (not end or day < end)


def _hits(matcher: EntityMatcher | None, names: list[tuple[str, str]]) -> dict[str, EntityMatch]:
    """Declared name -> its match, for the names that match (each normalised name once)."""
    if matcher is None or not names:
        return {}
    hit = matcher.hits([norm for _, norm in names])
    found = [name for name, norm in names if norm in hit]
    return {n: m for n, m in zip(found, matcher.match(found), strict=True) if m.similarity > 0}


def rescreen(
    store: AuditStore,
    old: ReferenceSnapshot,
    new: ReferenceSnapshot,
    *,
    since: str | None = None,
    days: int = 180,
    rescore: Rescore | None = None,
    webhook_urls: Sequence[str] = (),
    partner_urls: Sequence[str] = (),
    who: str = "rescreen",
) -> Result:
    """Re-screen the lines scored since ``since`` (default: ``days`` ago) for ``old`` -> ``new``.

    Stores the alerts (idempotent), writes an audit row per new alert, queues them and the
    enforcement actions added for the webhooks (partner authorities' URLs get the actions
    only, :func:`~models.alerts.messages.deliveries`), and records ``new`` as re-screened.
    """
    t0 = time.perf_counter()
    alerts = Alerts(store)
    alerts.index(new.matcher.normalize)
    since = since or (datetime.now(UTC) - timedelta(days=days)).isoformat()
    change = diff(old, new)
    result = Result()
    if not change.empty():
        names = alerts.distinct_names(since)
        result.names = len(names)
        rows = _alert_rows(alerts, change, new, old, names, since, rescore)
        result.lines = len({(r["entry_id"], r["line_no"]) for r in rows})
        result.alerts = [alert_json(a) for a in alerts.add(rows)]
        if result.alerts:
            audit = AuditRows(f"rescreen-{new.version}", who)
            store.record(
                audit.event("alert", {k: a[k] for k in ("id", "entry_id", "line_no", "entity_id",
                                                        "kind", "reference_version")})
                for a in result.alerts
            )  # fmt: skip
        actions = [enforcement_action(r, new.version) for r in change.added.to_dict("records")]
        actions = [a for a in actions if a["basis"] in PRESUMING]
        result.actions = len(actions)
        outbox = Outbox(store)
        for urls, messages in deliveries([*actions, *result.alerts], webhook_urls, partner_urls):
            outbox.enqueue(urls, messages)
    alerts.mark_screened(new.version)
    result.seconds = time.perf_counter() - t0
    return result


def _alert_rows(
    alerts: Alerts,
    change: Change,
    new: ReferenceSnapshot,
    old: ReferenceSnapshot,
    names: list[tuple[str, str]],
    since: str,
    rescore: Rescore | None,
) -> list[dict[str, Any]]:
    """One alert row per line naming a changed listing, newly matched or newly presumed."""
    listings = pd.concat([change.added, change.modified], ignore_index=True)
    now = _hits(EntityMatcher(listings, spellings=new.spellings) if len(listings) else None, names)
    before = _hits(
        EntityMatcher(change.previous, spellings=old.spellings) if len(change.previous) else None,
        names,
    )
    partner_table = change.partners.rename(columns={"alert_id": "entity_id"}).assign(list="PARTNER")
    partner = _hits(
        EntityMatcher(partner_table, spellings=new.spellings) if len(partner_table) else None,
        names,
    )
    hit_names = set(now) | set(partner)
    if not hit_names:
        return []
    by_id = {str(r["entity_id"]): r for r in listings.to_dict("records")}
    by_id |= {str(r["entity_id"]): r for r in partner_table.to_dict("records")}
    prev_by_id = {str(r["entity_id"]): r for r in change.previous.to_dict("records")}
    lines = alerts.lines_naming(hit_names, since)
    rows: list[dict[str, Any]] = []
    for line in lines:
        done: set[str] = set()
        for col, role in ROLES:
            name = line[col]
            for match in (now.get(name), partner.get(name)):
                if match is None or str(match.entity_id) in done:
                    continue
                eid = str(match.entity_id)
                listing = by_id[eid]
                day = line["entry_date"] or ""
                if match.list == "PARTNER":
                    kind, change_kind = "partner", "partner"
                else:
                    kind = (
                        "presumed"
                        if match.list in PRESUMING and in_force(listing, day)
                        else ("matched")
                    )
                    change_kind = "modified" if eid in prev_by_id else "added"
                    was = before.get(name)
                    if was is not None and str(was.entity_id) == eid:
                        was_presumed = in_force(prev_by_id[eid], day)
                        if kind != "presumed" or was_presumed:
                            continue  # matched before, and no newly presumed
                done.add(eid)
                rows.append(_row(line, role, name, match, listing, kind, change_kind, new))
    _add_scores(alerts, rows, lines, new, rescore)
    return rows


def _row(
    line: dict[str, Any], role: str, name: str, match: EntityMatch, listing: Mapping[Any, Any],
    kind: str, change_kind: str, new: ReferenceSnapshot,
) -> dict[str, Any]:  # fmt: skip
    evidence = {
        "matched_alias": match.matched_alias,
        "declared": name,
        "list": match.list,
        "citation": str(listing.get("citation", "")),
        "effective_date": str(listing.get("effective_date", "")),
        "in_force_on_entry_date": kind == "presumed",
    }
    if kind == "partner":
        evidence["authority"] = str(listing.get("authority", ""))
    return {
        "alert_key": key_of(str(line["entry_id"]), str(line["line_no"]), str(match.entity_id),
                            row_hash(listing)),
        "kind": kind,
        "entry_id": line["entry_id"],
        "line_no": line["line_no"],
        "entry_date": line["entry_date"],
        "party_role": role,
        "party_name": name,
        "entity_id": str(match.entity_id),
        "entity_name": match.entity_name,
        "list": match.list,
        "effective_date": str(listing.get("effective_date", "")),
        "citation": str(listing.get("citation", "")),
        "similarity": float(match.similarity),
        "evidence_json": json.dumps(evidence, sort_keys=True),
        "reference_version": new.version,
        "change": change_kind,
        "score_then": line["risk_score"],
        "score_now": None,
        "audit_id": line["audit_id"],
    }  # fmt: skip


def _add_scores(
    alerts: Alerts,
    rows: list[dict[str, Any]],
    lines: list[dict[str, Any]],
    new: ReferenceSnapshot,
    rescore: Rescore | None,
) -> None:
    """Each alerted line's score now, with the new reference (when a model is at hand)."""
    ids = sorted({r["audit_id"] for r in rows})
    scores: dict[int, float] = {}
    if rescore is not None and ids:
        inputs = alerts.inputs(ids)
        try:
            got = rescore([inputs[i] for i in ids], new)
            scores = dict(zip(ids, (float(s) for s in got), strict=True))
        except Exception:
            scores = {}
    for r in rows:
        r["score_now"] = scores.get(r["audit_id"])


def catch_up(
    store: AuditStore,
    current: ReferenceSnapshot,
    root: Path,
    *,
    first: str | None = None,
    **options: Any,
) -> Result | None:
    """Re-screen from the version last re-screened to ``current``, if they differ.

    Args:
        store: The store.
        current: The current snapshot.
        root: The reference root its versions are under.
        first: The baseline when nothing was re-screened yet (None: take ``current`` as
            the baseline and re-screen nothing, as a server does on its first start).
        **options: Passed to :func:`rescreen`.

    Returns:
        What was done, or None when there was nothing to compare.
    """
    alerts = Alerts(store)
    last = alerts.screened_version() or first
    if last is None or last == current.version:
        if last is None:
            alerts.mark_screened(current.version)
        return None
    try:
        old = snapshot_of(
            last, current.folder.parent.parent if current.version != "shipped" else None
        )
    except OSError:
        alerts.mark_screened(current.version)  # the baseline is gone: start from here
        return None
    return rescreen(store, old, current, **options)
