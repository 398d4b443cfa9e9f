"""The served model's drift: a rolling window of what it scored, its PSI, and its alerts.

Every scoring path (JSON requests, file uploads and jobs) asks the scorer for each line's
drift bins (``Scorer.score(observe=True)``: a few array look-ups per measure) and adds them
to :class:`DriftMonitor`'s window: the last ``FLRISK_DRIFT_WINDOW`` lines of the served
model, in memory (it starts empty after a restart and on a model change; the audit store
keeps every line). The PSI of each measure over the window is computed when asked
(``/metrics``, the model page) and, after every ``CHECK_EVERY`` new lines, checked against
``FLRISK_DRIFT_THRESHOLD``. A crossing raises a drift alert through the trade-alert
mechanism, once per episode (:mod:`models.alerts.drift`): the episode is kept in the store,
so a restart, or another worker with its own window, does not raise it again; a check that
finds every measure back under the threshold closes it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from models.alerts.drift import DriftWindow, clear_drift, open_episode, raise_drift_alert
from models.alerts.messages import DRIFT
from models.scoring.drift import DriftReport, drift_report
from models.scoring.psi import DriftReference
from models.store import AuditStore, AuditUnavailableError
from serving.instruments import Instruments
from serving.model_holder import LoadedModel

log = logging.getLogger(__name__)
CHECK_EVERY = 500  # new lines between two threshold checks


@dataclass
class _Window:
    """One model's ring of drift bins (``capacity`` lines x measures) and when each was added."""

    model: LoadedModel
    reference: DriftReference
    bins: np.ndarray
    times: np.ndarray
    filled: int = 0
    next: int = 0
    unchecked: int = 0


class DriftMonitor:
    """The rolling drift window of the served model, its PSI and its alerts.

    Args:
        store: The audit store (drift episodes and their alerts are written there).
        capacity: Lines kept in the window.
        threshold: PSI above which a measure counts as moved.
        min_lines: Lines the window must hold before its PSI is checked (fewer give noise).
        webhook_urls: Screening systems' webhooks a drift alert is queued for.
        instruments: Where raised alerts are counted (``flrisk_alerts_total{kind="drift"}``).
        partner_urls: Partner authorities' webhooks: given to the one routing rule, which
            never sends them a drift alert.
    """

    def __init__(
        self,
        store: AuditStore,
        capacity: int,
        threshold: float,
        min_lines: int,
        webhook_urls: Sequence[str] = (),
        instruments: Instruments | None = None,
        partner_urls: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.capacity = capacity
        self.threshold = threshold
        self.min_lines = min(min_lines, capacity)
        self.webhook_urls = tuple(webhook_urls)
        self.partner_urls = tuple(partner_urls)
        self.instruments = instruments
        self._window: _Window | None = None
        self._checking = False
        self._lock = threading.Lock()

    def observe(self, model: LoadedModel, bins: np.ndarray | None) -> None:
        """Add scored lines' drift bins to the window; check it in the background when due.

        A model other than the window's starts a new window. The check (a store write when
        it raises or clears an alert) runs on a thread of its own, never on the caller's:
        the caller may be the event loop.
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
                w = self._window = _Window(model, reference, empty, np.zeros(self.capacity))
            take = bins[-self.capacity :]
            idx = (w.next + np.arange(len(take))) % self.capacity
            w.bins[idx] = take
            w.times[idx] = time.time()
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

    def window(self) -> DriftWindow | None:
        """The lines the window holds and when they were scored; None while empty."""
        with self._lock:
            w = self._window
            if w is None or not w.filled:
                return None
            held = w.times[: w.filled]
            first, last = float(held.min()), float(held.max())
            lines = w.filled
        return DriftWindow(lines, self.capacity, _iso(first), _iso(last))

    def check(self) -> dict[str, Any] | None:
        """Check the window against the threshold; raise or clear the model's drift episode.

        Returns:
            The drift alert raised (``alert_json``), or None: nothing moved, the model's
            episode was open already, or the store could not be written (the next check
            tries again; this never raises).
        """
        got = self.report()
        window = self.window()
        if got is None or window is None:
            return None
        model, report = got
        with self._lock:
            w = self._window
            if w is None or w.model is not model or report.lines < self.min_lines:
                return None
            w.unchecked = 0
        moved = report.moved()
        try:
            # A read first: a write transaction only when the episode's state changes.
            is_open = open_episode(self.store, model.stamp)
            if not moved:
                if is_open and clear_drift(self.store, model.stamp, report):
                    log.info("drift back under PSI %g for %s", self.threshold, model.resolved.uri)
                return None
            if is_open:
                return None
            alert = raise_drift_alert(
                self.store, model.stamp, report, window, self.webhook_urls, self.partner_urls
            )
        except AuditUnavailableError as exc:
            log.error("drift alert not recorded (%s): %s", exc, [m.name for m in moved])
            return None
        if alert is not None:
            if self.instruments is not None:
                self.instruments.alerts.labels(DRIFT).inc()
            log.warning("drift alert %s for %s: %s", alert["id"], model.resolved.uri,
                        "; ".join(m.describe() for m in moved))  # fmt: skip
        return alert

    def publish(self, instruments: Instruments) -> None:
        """Set the drift gauges to the window's figures (cleared while it is empty)."""
        got = self.report()
        instruments.set_drift(got[1] if got else None, self.threshold)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
