"""Partner alerts: received pending, approved into a new reference version, or rejected.

An approved partner alert is a row of the next reference version's ``partner_alerts.csv``:
evidence in scoring ("partner alert from AUTHORITY, DATE", :mod:`models.scoring.partner`),
never a UFLPA presumption. Publishing the version triggers a re-screen like any update.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pandas as pd

from models.audit_rows import AuditRows
from models.errors import UserError
from models.reference.snapshot import PARTNER_COLUMNS, PARTNER_FILE
from models.reference.tables import current_dir
from models.reference.versions import publish
from models.store import AuditStore, PartnerChanges, now_iso


class PartnerChangeError(UserError, ValueError):
    """No pending partner alert has this id."""

    hint = "List them with `flrisk alerts partners` (or the workbench's Alerts page)."


def receive(store: AuditStore, source: str, payload: dict[str, Any], request_id: str) -> int:
    """Store a partner alert, pending an admin's decision (audited); returns its id."""
    change_id = PartnerChanges(store).add(source, payload)
    store.record([AuditRows(request_id, source).event("partner_alert", {"id": change_id,
                                                                         **payload})])  # fmt: skip
    return change_id


def _pending(store: AuditStore, change_id: int) -> dict[str, Any]:
    change = PartnerChanges(store).get(change_id)
    if change is None or change["status"] != "pending":
        state = "unknown" if change is None else change["status"]
        raise PartnerChangeError(f"partner alert {change_id} is not pending ({state})")
    return change


def approve(store: AuditStore, change_id: int, who: str, root: Path | None = None) -> str:
    """Approve a pending partner alert: publish a reference version holding it.

    Returns:
        The new reference version.

    Raises:
        PartnerChangeError: No pending partner alert has this id.
    """
    change = _pending(store, change_id)
    payload = json.loads(change["payload_json"])
    folder = current_dir(root)
    table = (
        pd.read_csv(folder / PARTNER_FILE, dtype=str, keep_default_na=False)
        if (folder / PARTNER_FILE).is_file()
        else pd.DataFrame(columns=list(PARTNER_COLUMNS))
    )
    row = {
        "alert_id": f"PARTNER-{change_id}",
        "name": payload["entity"],
        "aliases": "|".join(payload.get("aliases", [])),
        "address": payload.get("address", ""),
        "country": payload.get("country", ""),
        "hs_scope": "|".join(payload.get("goods_scope_hs", [])),
        "basis": payload.get("basis", ""),
        "authority": payload["authority"],
        "effective_date": payload["effective_date"],
        "citation": payload.get("citation", ""),
        "approved_by": who,
        "approved_at": now_iso(),
    }
    table = pd.concat([table, pd.DataFrame([row])], ignore_index=True)[list(PARTNER_COLUMNS)]
    out = io.StringIO()
    table.to_csv(out, index=False, lineterminator="\n")
    version = publish({PARTNER_FILE: out.getvalue()}, root)
    if not PartnerChanges(store).decide(change_id, "approved", who, version):
        raise PartnerChangeError(f"partner alert {change_id} was decided meanwhile")
    store.record([AuditRows(f"approve-{change_id}", who).event(
        "reference_approve", {"id": change_id, "version": version})])  # fmt: skip
    return version


def reject(store: AuditStore, change_id: int, who: str) -> None:
    """Reject a pending partner alert (audited); it never reaches scoring."""
    _pending(store, change_id)
    if not PartnerChanges(store).decide(change_id, "rejected", who):
        raise PartnerChangeError(f"partner alert {change_id} was decided meanwhile")
    store.record(
        [AuditRows(f"reject-{change_id}", who).event("reference_reject", {"id": change_id})]
    )
