"""Webhook delivery from the outbox: signed batches, at least once, backoff, dead letters.

Each due row of the outbox (``models/store/outbox.py``) is posted with the other due rows of
its URL as one JSON batch ``{"alerts": [...]}``, each item carrying its idempotency key; the
raw body is signed with ``FLRISK_WEBHOOK_SECRET`` in ``X-Flrisk-Signature: sha256=<hex>``.
A 2xx marks the batch delivered; anything else schedules the next try after
``FLRISK_WEBHOOK_BACKOFF_S * 2**(tries-1)`` seconds, and the last of
``FLRISK_WEBHOOK_MAX_TRIES`` tries dead-letters the rows. A row is marked only after the
answer: a server killed mid-delivery sends it again after its restart (receivers
de-duplicate by the idempotency key).
"""

from __future__ import annotations

import json
import logging

import httpx

from models.alerts.messages import SIGNATURE_HEADER, sign
from models.settings import Settings
from models.store import AuditStore, Outbox
from serving.instruments import Instruments

log = logging.getLogger(__name__)
_TIMEOUT_S = 10.0


def deliver_due(store: AuditStore, settings: Settings, instruments: Instruments) -> int:
    """Post every due batch once; returns the rows delivered."""
    outbox = Outbox(store)
    delivered = 0
    for url, rows in outbox.due().items():
        items = [json.loads(r["body_json"]) for r in rows]
        body = json.dumps({"alerts": items}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        if settings.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(settings.webhook_secret, body)
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=_TIMEOUT_S)
            error = None if answer.is_success else f"HTTP {answer.status_code}"
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        if error is None:
            outbox.delivered([r["id"] for r in rows])
            instruments.webhooks.labels("delivered").inc(len(rows))
            delivered += len(rows)
            continue
        dead = outbox.failed(
            rows, error, backoff_s=settings.webhook_backoff_s, max_tries=settings.webhook_max_tries
        )
        instruments.webhooks.labels("failed").inc(len(rows) - dead)
        instruments.webhooks.labels("dead").inc(dead)
        log.warning("webhook %s: %s (%d rows, %d dead-lettered)", url, error, len(rows), dead)
    return delivered
