"""The served model's drift: a rolling window of what it scored, its PSI, and the alerts.

Every scoring path (JSON requests, file uploads and jobs) asks the scorer for each line's
drift bins (``Scorer.score(observe=True)``: a few array look-ups per measure) and adds them
to :class:`DriftMonitor`'s window: the last ``FLRISK_DRIFT_WINDOW`` lines of the served
model, in memory (it starts empty after a restart and on a model change; the audit store
keeps every line). The PSI of each measure over the window is computed when asked
(``/metrics``, the model page) and, after every ``CHECK_EVERY`` new lines, checked against
``FLRISK_DRIFT_THRESHOLD``: when a measure crosses it, one alert is recorded (a
``drift_alerts`` row and an audit row, :mod:`models.store.drift`); the next one waits until
every measure is back under the threshold (or the model changes).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from models.audit_rows import AuditRows
from models.scoring.drift import DriftReport, drift_report
from models.scoring.psi import DriftReference
from models.store import AuditStore, AuditUnavailableError, DriftAlert, DriftAlerts, now_iso
from serving.instruments import Instruments
from serving.model_holder import LoadedModel

log = logging.getLogger(__name__)
CHECK_EVERY = 500  # new lines between two threshold checks


@dataclass
class _Window:
    """One model's ring of drift bins (``capacity`` lines x measures)."""

    model: LoadedModel
    reference: DriftReference
    bins: np.ndarray
    filled: int = 0
    next: int = 0
    unchecked: int = 0
    alerted: bool = False


class DriftMonitor:
    """The rolling drift window of the served model, its PSI and its alerts.

    Args:
        store: The audit store (alerts are written there).
        capacity: Lines kept in the window.
        threshold: PSI above which a measure counts as moved.
        min_lines: Lines the window must hold before its PSI is checked (fewer give noise).
    """

    def __init__(self, store: AuditStore, capacity: int, threshold: float, min_lines: int) -> None:
        self.alerts = DriftAlerts(store)
        self.capacity = capacity
        self.threshold = threshold
        self.min_lines = min(min_lines, capacity)
        self._window: _Window | None = None
        self._checking = False
        self._lock = threading.Lock()

    def observe(self, model: LoadedModel, bins: np.ndarray | None) -> None:
        """Add scored lines' drift bins to the window; check it in the background when due.

        A model other than the window's starts a new window. The check (a store write when
        it raises an alert) runs on a thread of its own, never on the caller's: the caller
        may be the event loop.
        """
        if self._add(model, bins):
            with self._lock:
                if self._checking:
                    return
                self._checking = True
            threading.Thread(target=self._check_once, name="flrisk-drift", daemon=True).start()

    def _check_once(self) -> None:
        try:
            self.check()
        except Exception:  # never let monitoring take anything down
            log.exception("drift check failed")
        finally:
            with self._lock:
                self._checking = False

    def _add(self, model: LoadedModel, bins: np.ndarray | None) -> bool:
        """Add bins to the window; whether a threshold check is due."""
        reference = model.scorer.bundle.drift
        if bins is None or reference is None or not len(bins):
            return False
        with self._lock:
            w = self._window
            if w is None or w.model.bundle_hash != model.bundle_hash:
                empty = np.zeros((self.capacity, len(reference.measures)), dtype=np.int16)
                w = self._window = _Window(model, reference, empty)
            take = bins[-self.capacity :]
            idx = (w.next + np.arange(len(take))) % self.capacity
            w.bins[idx] = take
            w.next = int((w.next + len(take)) % self.capacity)
            w.filled = min(self.capacity, w.filled + len(take))
            w.unchecked += len(bins)
            return w.unchecked >= CHECK_EVERY and w.filled >= self.min_lines

    def report(self) -> tuple[LoadedModel, DriftReport] | None:
        """The window's model and the PSI of every measure over it; None while empty."""
        with self._lock:
            w = self._window
            if w is None or not w.filled:
                return None
            counts = w.reference.counts(w.bins[: w.filled])
            model = w.model
        return model, drift_report(w.reference, counts, self.threshold)

    def check(self) -> DriftAlert | None:
        """Check the window against the threshold; record and return a new alert, if any.

        Never raises: a store that cannot be written leaves the check to the next lines.
        """
        got = self.report()
        if got is None:
            return None
        model, report = got
        with self._lock:
            w = self._window
            if w is None or w.model is not model or report.lines < self.min_lines:
                return None
            w.unchecked = 0
            moved = report.moved()
            if not moved:
                w.alerted = False
                return None
            if w.alerted:
                return None
            w.alerted = True
        alert = DriftAlert(
            ts=now_iso(), model_version=model.resolved.uri, bundle_hash=model.bundle_hash,
            threshold=self.threshold, window_lines=report.lines,
            measures=[m.as_dict() for m in moved],
        )  # fmt: skip
        row = AuditRows("drift", "-").event("drift_alert", alert.detail(), model.stamp)
        try:
            self.alerts.record(alert, row)
        except AuditUnavailableError as exc:
            log.error("drift alert not recorded (%s): %s", exc, [m.name for m in moved])
            with self._lock:
                w.alerted = False  # tried again at the next check
            return None
        log.warning("drift alert for %s: %s", model.resolved.uri,
                    "; ".join(m.describe() for m in moved))  # fmt: skip
        return alert

    def publish(self, instruments: Instruments) -> None:
        """Set the drift gauges to the window's figures (cleared while it is empty)."""
        got = self.report()
        instruments.set_drift(got[1] if got else None, self.threshold)
