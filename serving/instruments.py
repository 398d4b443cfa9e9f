"""The app's Prometheus instruments (counters, histograms, gauges) on a per-app registry.

A registry per app keeps several apps in one process (tests) apart. Not to be confused with
the model's quality metrics (``LoadedModel.metrics``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from models.scoring.drift import DriftReport

# models.scoring.drift.PRESUMPTION, not imported here: that module brings pandas with it.
_PRESUMPTION = "presumption"
LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Instruments:
    """Every Prometheus metric the app exports (``GET /metrics``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "flrisk_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "flrisk_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Counter(
            "flrisk_scored_lines", "Lines scored, by risk band.", ["band"], registry=self.registry
        )
        self.shadow_scores = Counter(
            "flrisk_shadow_scored_lines",
            "Lines scored by the shadow model, by its band (never returned).",
            ["band"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "flrisk_model_info",
            "The served model (value 1).",
            ["name", "version", "alias", "bundle_hash"],
            registry=self.registry,
        )
        self.reloads = Counter(
            "flrisk_model_reloads", "Reload attempts by outcome.", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.audit_failures = Counter(
            "flrisk_audit_failures", "Requests refused because the audit store failed.",
            registry=self.registry,
        )  # fmt: skip
        self.drift_psi = Gauge(
            "flrisk_drift_psi",
            "PSI of each drift measure (model features, score, list_match, unseen_category, "
            "presumption and one per basis) over the window of recently scored lines against "
            "the model's training lines.",
            ["measure"], registry=self.registry,
        )  # fmt: skip
        self.drift_window = Gauge(
            "flrisk_drift_window_lines", "Scored lines in the drift window.",
            registry=self.registry,
        )  # fmt: skip
        self.drift_moved = Gauge(
            "flrisk_drift_moved_measures", "Drift measures whose PSI exceeds the threshold.",
            registry=self.registry,
        )  # fmt: skip
        self.drift_presumption = Gauge(
            "flrisk_drift_presumption_rate", "Share of lines presumed (any basis) in the "
            "model's training reference and in the drift window.", ["of"],
            registry=self.registry,
        )  # fmt: skip
        self.drift_threshold = Gauge(
            "flrisk_drift_threshold", "PSI above which a drift measure counts as moved.",
            registry=self.registry,
        )  # fmt: skip

        self.webhooks = Counter(
            "flrisk_webhook_deliveries", "Webhook outbox rows by delivery outcome "
            "(delivered, failed: to be tried again, dead: dead-lettered).", ["outcome"],
            registry=self.registry,
        )  # fmt: skip
        self.alerts = Counter(
            "flrisk_alerts", "Trade alerts raised by re-screens and drift, by kind.", ["kind"],
            registry=self.registry,
        )  # fmt: skip

    def set_drift(self, report: DriftReport | None, threshold: float) -> None:
        """Set the drift gauges from a window's report (none: PSI cleared, window 0)."""
        self.drift_psi.clear()
        self.drift_threshold.set(threshold)
        self.drift_window.set(report.lines if report else 0)
        self.drift_moved.set(len(report.moved()) if report else 0)
        for m in report.measures if report else ():
            self.drift_psi.labels(measure=m.name).set(m.psi)
        self.drift_presumption.clear()
        rate = report.rate(_PRESUMPTION) if report else None
        if rate is not None:
            self.drift_presumption.labels(of="reference").set(rate[0])
            self.drift_presumption.labels(of="window").set(rate[1])

    def set_model(self, info: dict[str, object] | None) -> None:
        """Point the info gauge at the served model (cleared when none)."""
        self.model_info.clear()
        if info:
            self.model_info.labels(
                name=str(info["name"]),
                version=str(info["version"]),
                alias=str(info.get("alias") or ""),
                bundle_hash=str(info["bundle_hash"]),
            ).set(1)
