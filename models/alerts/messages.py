"""The JSON of alerts and enforcement actions, and the signature of webhook bodies.

docs/alerts.md documents the formats (line alerts, drift alerts, enforcement actions) and who
receives which (:func:`deliveries`). An enforcement action (an entity, WRO or Finding
that took effect here) goes out in the same format a partner authority sends in
(``POST /v1/alerts/inbound``), so two systems can exchange them both ways.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SIGNATURE_HEADER = "X-Flrisk-Signature"
DRIFT = "drift"  # the alert kind of a drift episode
# What partner authorities receive: the two-way exchange format, nothing internal.
PARTNER_TYPES = frozenset({"enforcement_action"})
US_AUTHORITY = {"UFLPA": "DHS FLETF", "WRO": "CBP", "FINDING": "CBP"}


class EnforcementAction(BaseModel):
    """An enforcement action that took effect: the entity, its goods scope and legal basis."""

    model_config = ConfigDict(extra="forbid")

    entity: str = Field(min_length=2, max_length=300, description="The entity's name.")
    aliases: list[str] = Field(default_factory=list, max_length=50)
    address: str = Field(default="", max_length=500)
    country: str = Field(default="", max_length=2, description="ISO 3166-1 alpha-2.")
    goods_scope_hs: list[str] = Field(
        default_factory=list, max_length=100, description="HS headings or subheadings."
    )
    basis: str = Field(min_length=1, max_length=200, description="The legal basis.")
    authority: str = Field(min_length=2, max_length=128, description="Who issued it.")
    effective_date: date
    citation: str = Field(default="", max_length=300)

    @field_validator("goods_scope_hs")
    @classmethod
    def _hs_digits(cls, value: list[str]) -> list[str]:
        for code in value:
            if not (code.isdigit() and len(code) in (2, 4, 6, 8, 10)):
                raise ValueError(f"goods_scope_hs: {code!r} is not an HS code (2 to 10 digits)")
        return value


def enforcement_action(row: Mapping[Any, Any], version: str) -> dict[str, Any]:
    """The outbound message of a listing added in reference ``version``."""
    aliases = [a.strip() for a in str(row.get("aliases", "")).split("|") if a.strip()]
    listed = str(row.get("list", ""))
    body: dict[str, Any] = {
        "type": "enforcement_action",
        "action_id": f"{row['entity_id']}@{row.get('effective_date') or version}",
        "entity": str(row["name"]),
        "aliases": aliases,
        "address": str(row.get("address", "") or ""),
        "country": str(row.get("country", "") or ""),
        "goods_scope_hs": [],
        "basis": listed,
        "authority": US_AUTHORITY.get(listed, listed),
        "effective_date": str(row.get("effective_date", "") or ""),
        "citation": str(row.get("citation", "") or ""),
        "reference_version": version,
    }
    body["idempotency_key"] = key_of("enforcement_action", body["action_id"], _row_hash(row))
    return body


def alert_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """An alert as the API, the CLI and webhooks give it (a line alert or a drift alert)."""
    if row["kind"] == DRIFT:
        return drift_alert_json(row)
    return {
        "type": "line_alert",
        "id": row["id"],
        "idempotency_key": row["alert_key"],
        "created": row["ts"],
        "kind": row["kind"],
        "status": row["status"],
        "entry_id": row["entry_id"],
        "line_no": row["line_no"],
        "entry_date": row["entry_date"],
        "party_role": row["party_role"],
        "party_name": row["party_name"],
        "entity_id": row["entity_id"],
        "entity_name": row["entity_name"],
        "list": row["list"],
        "effective_date": row["effective_date"],
        "citation": row["citation"],
        "similarity": row["similarity"],
        "evidence": json.loads(row["evidence_json"] or "{}"),
        "reference_version": row["reference_version"],
        "change": row["change"],
        "score_then": row["score_then"],
        "score_now": row["score_now"],
        "acknowledged_by": row["ack_by"],
        "acknowledged_at": row["ack_ts"],
    }


def drift_alert_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A drift alert: the model, the measures that moved (PSI, threshold), the window."""
    facts = json.loads(row["evidence_json"] or "{}")
    return {
        "type": "drift_alert",
        "id": row["id"],
        "idempotency_key": row["alert_key"],
        "created": row["ts"],
        "kind": DRIFT,
        "status": row["status"],
        "model_version": facts.get("model_version"),
        "bundle_hash": facts.get("bundle_hash"),
        "episode": facts.get("episode"),
        "threshold": facts.get("threshold"),
        "window": facts.get("window", {}),
        "measures": facts.get("measures", []),
        "acknowledged_by": row["ack_by"],
        "acknowledged_at": row["ack_ts"],
    }


def outbox_message(body: Mapping[str, Any]) -> dict[str, Any]:
    """An outbox row's message of a webhook body (its key, its type as kind, its JSON)."""
    return {
        "idempotency_key": body["idempotency_key"],
        "kind": body["type"],
        "body_json": json.dumps(body),
    }


def deliveries(
    bodies: Sequence[Mapping[str, Any]],
    webhook_urls: Sequence[str],
    partner_urls: Sequence[str] = (),
) -> list[tuple[list[str], list[dict[str, Any]]]]:
    """Who receives which webhook bodies, as ``(URLs, outbox messages)`` pairs.

    Screening systems (``FLRISK_WEBHOOK_URLS``) receive every body. Partner authorities
    (``FLRISK_PARTNER_WEBHOOK_URLS``) receive only the exchange format,
    :data:`PARTNER_TYPES`: line alerts name entries and drift alerts describe this
    system's model, and neither is an enforcement action.
    """
    out: list[tuple[list[str], list[dict[str, Any]]]] = []
    everything = [outbox_message(b) for b in bodies]
    if webhook_urls and everything:
        out.append((list(webhook_urls), everything))
    shared = [outbox_message(b) for b in bodies if b.get("type") in PARTNER_TYPES]
    if partner_urls and shared:
        out.append((list(partner_urls), shared))
    return out


def key_of(*parts: str) -> str:
    """An idempotency key: the SHA-256 of the parts."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def _row_hash(row: Mapping[Any, Any]) -> str:
    return key_of(*(f"{k}={row[k]}" for k in sorted(row)))


def row_hash(row: Mapping[Any, Any]) -> str:
    """A hash of a reference row's content (a modification is a new change)."""
    return _row_hash(row)


def sign(secret: str, body: bytes) -> str:
    """The ``X-Flrisk-Signature`` value of ``body``: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """Whether ``signature`` is ``body``'s (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, body), signature)
