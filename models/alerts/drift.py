"""Drift alerts through the trade-alert mechanism: one per crossing episode, internal only.

When the served model's drift window has a measure above the threshold and the model has
no open episode, :func:`raise_drift_alert` opens one: an alert of kind ``drift`` in the
store's ``alerts`` (listed by ``GET /v1/alerts``, ``flrisk alerts list`` and the
workbench's Alerts page with the others), queued for the screening systems' webhooks, with
a ``drift_alert`` audit row, in one transaction (:class:`~models.store.drift.DriftEpisodes`).
While the episode is open nothing more is raised, however many checks see the drift; when a
check sees every measure back under the threshold, :func:`clear_drift` closes it, and the
next crossing is a new episode and a new alert.

A drift alert describes this system's model, not a party or a listing: it is never sent to
partner authorities (:func:`~models.alerts.messages.deliveries`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.alerts.messages import DRIFT, alert_json, deliveries, key_of
from models.audit_rows import AuditRows, ModelStamp
from models.scoring.drift import DriftReport
from models.store import AuditStore
from models.store.drift import DriftEpisodes

REQUEST_ID = "drift"


@dataclass(frozen=True)
class DriftWindow:
    """The scored lines a drift report was computed over.

    Attributes:
        lines: Lines in the window.
        capacity: Lines the window keeps at most.
        first_scored: When the oldest of them was scored (UTC, ISO 8601).
        last_scored: When the newest was.
    """

    lines: int
    capacity: int
    first_scored: str
    last_scored: str

    def as_dict(self) -> dict[str, Any]:
        """Plain values (JSON)."""
        return {
            "lines": self.lines,
            "capacity": self.capacity,
            "first_scored": self.first_scored,
            "last_scored": self.last_scored,
        }


def _alert_row(
    model: ModelStamp, report: DriftReport, window: DriftWindow, episode: int
) -> dict[str, Any]:
    facts = {
        "model_version": model.version,
        "bundle_hash": model.bundle_hash,
        "episode": episode,
        "threshold": report.threshold,
        "window": window.as_dict(),
        "measures": [m.as_dict() for m in report.moved()],
    }
    return {
        # One key per model and episode: the same crossing never alerts twice, a webhook
        # retry carries the same key.
        "alert_key": key_of(DRIFT, model.bundle_hash, str(episode)),
        "kind": DRIFT,
        "evidence_json": json.dumps(facts, sort_keys=True),
    }


def raise_drift_alert(
    store: AuditStore,
    model: ModelStamp,
    report: DriftReport,
    window: DriftWindow,
    webhook_urls: Sequence[str] = (),
    partner_urls: Sequence[str] = (),
) -> dict[str, Any] | None:
    """Open a drift episode for ``model`` with its alert; None when one is open already.

    Args:
        store: The store.
        model: The served model.
        report: The window's report; its moved measures are the alert's.
        window: The window the report covers.
        webhook_urls: Screening systems' webhooks (the alert is queued for each).
        partner_urls: Partner authorities' webhooks (never sent a drift alert; passed so
            the one routing rule decides).

    Returns:
        The alert as :func:`~models.alerts.messages.alert_json` gives it, or None.

    Raises:
        AuditUnavailableError: The store could not be written; nothing was recorded.
    """

    def audit_of(alert: Mapping[str, Any]) -> list[Any]:
        body = alert_json(alert)
        detail = {k: body[k] for k in ("id", "episode", "threshold", "window", "measures")}
        return [AuditRows(REQUEST_ID, "-").event("drift_alert", detail, model)]

    def messages_of(alert: Mapping[str, Any]) -> Any:
        return deliveries([alert_json(alert)], webhook_urls, partner_urls)

    row = DriftEpisodes(store).open(
        model.bundle_hash,
        model.version,
        lambda episode: _alert_row(model, report, window, episode),
        audit_of,
        messages_of,
    )
    return alert_json(row) if row is not None else None


def clear_drift(store: AuditStore, model: ModelStamp, report: DriftReport) -> bool:
    """Close ``model``'s open drift episode (every measure is back under the threshold).

    Returns:
        Whether an episode was open (and is now closed, with a ``drift_clear`` audit row).

    Raises:
        AuditUnavailableError: The store could not be written; nothing was recorded.
    """

    def audit_of(episode: Mapping[str, Any]) -> list[Any]:
        detail = {
            "episode": episode["episode"],
            "alert_id": episode["alert_id"],
            "window_lines": report.lines,
            "worst_psi": report.measures[0].psi if report.measures else 0.0,
        }
        return [AuditRows(REQUEST_ID, "-").event("drift_clear", detail, model)]

    return DriftEpisodes(store).clear(model.bundle_hash, audit_of) is not None


def open_episode(store: AuditStore, model: ModelStamp) -> bool:
    """Whether ``model`` has an open drift episode (one cheap indexed read)."""
    return DriftEpisodes(store).open_episode(model.bundle_hash) is not None
