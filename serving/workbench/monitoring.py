"""What the Model page shows of monitoring: drift of recent lines, alerts, the shadow challenger."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from models.alerts.messages import DRIFT, alert_json
from models.scoring.drift import PRESUMPTION, DriftReport
from models.shadow_report import shadow_figures
from models.store import Alerts, AuditUnavailableError, ShadowScores
from serving.drift import DriftMonitor
from serving.model_holder import LoadedModel

log = logging.getLogger(__name__)
SHADOW_DAYS = 30  # the page compares the shadow model over this many recent days
DRIFT_ROWS = 15  # measures listed, worst first
ALERTS = 5


def monitoring_page(
    model: LoadedModel, drift: DriftMonitor, shadows: ShadowScores
) -> dict[str, Any]:
    """The drift window's figures, the latest drift alerts and the shadow comparison."""
    got = drift.report()
    # A window of the model served before (no line scored since the swap) is not shown.
    report = got[1] if got and got[0].bundle_hash == model.bundle_hash else None
    since = (datetime.now(UTC) - timedelta(days=SHADOW_DAYS)).isoformat()
    try:
        alerts = [alert_json(r) for r in Alerts(drift.store).recent(kind=DRIFT, limit=ALERTS)]
        pairs = shadow_figures(shadows.with_outcomes(since))
    except AuditUnavailableError as exc:  # the rest of the page still shows
        log.warning("monitoring figures unavailable: %s", exc)
        alerts, pairs = [], []
    return {
        "drift": {
            "has_reference": model.scorer.bundle.drift is not None,
            "threshold": drift.threshold,
            "capacity": drift.capacity,
            "min_lines": drift.min_lines,
            "lines": report.lines if report else 0,
            "score_psi": report.psi("score") if report else None,
            "presumption": _presumption(report),
            "moved": [m.name for m in report.moved()] if report else [],
            "rows": [m.as_dict() for m in report.measures[:DRIFT_ROWS]] if report else [],
        },
        "drift_alerts": alerts,
        "shadow": {"days": SHADOW_DAYS, "pairs": [p.as_dict() for p in pairs[-3:]]},
    }


def _presumption(report: DriftReport | None) -> dict[str, Any] | None:
    """The presumption rate in training and in the window, and its PSI (None without)."""
    rate = report.rate(PRESUMPTION) if report else None
    if report is None or rate is None:
        return None
    psi = report.psi(PRESUMPTION)
    return {"reference": rate[0], "now": rate[1], "psi": psi, "moved": psi > report.threshold}
