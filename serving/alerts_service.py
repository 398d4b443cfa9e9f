"""The server's trade-alert loop: notice reference changes, re-screen, deliver webhooks.

One background thread, woken when the reference watcher swaps versions (a request noticed
the pointer move) and otherwise every ``POLL_S`` seconds: it indexes the lines scored since
its last pass, re-screens when the current reference version is not the one last
re-screened (also after a restart, for an update made while the server was down), and
posts the webhook outbox's due batches. Nothing here blocks a request.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

from models.alerts.rescreen import catch_up
from models.reference.snapshot import ReferenceSnapshot, ReferenceWatcher
from models.settings import Settings
from models.store import Alerts, AuditStore
from serving.instruments import Instruments
from serving.model_holder import ModelHolder
from serving.service import validate_request
from serving.webhooks import deliver_due

log = logging.getLogger(__name__)
POLL_S = 1.0


class AlertsService:
    """Runs re-screens and webhook deliveries for one app."""

    def __init__(
        self,
        settings: Settings,
        store: AuditStore,
        holder: ModelHolder,
        reference: ReferenceWatcher,
        instruments: Instruments,
    ) -> None:
        self.settings = settings
        self.store = store
        self.holder = holder
        self.reference = reference
        self.instruments = instruments
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0
        reference.on_change(lambda _old, _new: self._wake.set())

    def start(self) -> None:
        """Start the loop (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="flrisk-alerts", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the loop; a delivery under way finishes (it is marked only after)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception:  # never let the loop die: the next pass tries again
                log.exception("trade-alert pass failed")
            self._wake.wait(POLL_S)
            self._wake.clear()

    def step(self) -> None:
        """One pass: index, re-screen if the reference moved, deliver due webhooks."""
        if self.store.file_problem():
            return  # never re-create a removed store file; scoring answers 503 meanwhile
        current = self.reference.current()
        Alerts(self.store).index(current.matcher.normalize)
        result = catch_up(
            self.store, current, self.settings.reference_root(),
            days=self.settings.rescreen_days, rescore=self._rescore,
            webhook_urls=self.settings.webhook_urls,
            partner_urls=self.settings.partner_webhook_urls, who="server",
        )  # fmt: skip
        if result is not None:
            for kind, n in Counter(a["kind"] for a in result.alerts).items():
                self.instruments.alerts.labels(kind).inc(n)
            log.info(
                "re-screened %d names for reference %s in %.2f s: %d alerts, %d actions",
                result.names, current.version, result.seconds, len(result.alerts), result.actions,
            )  # fmt: skip
        if self.settings.webhook_urls or self.settings.partner_webhook_urls:
            deliver_due(self.store, self.settings, self.instruments)
        self.passes += 1

    def _rescore(self, inputs: list[dict[str, Any]], reference: ReferenceSnapshot) -> list[float]:
        model = self.holder.get()
        read = validate_request(inputs, model.scorer.bundle.state.passthrough)
        scores = model.scorer.score(read.lines, reasons=0, reference=reference).risk_score
        return [float(s) for s in scores]
