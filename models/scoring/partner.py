"""Approved partner alerts as evidence on a line: a reason, never a presumption.

A partner authority's trade alert, once an admin approved it (``flrisk reference approve``),
is part of the reference snapshot. A line whose manufacturer or shipper matches the alert's
entity gets a reason "Manufacturer matches a partner alert from AUTHORITY, DATE" with the
alert as evidence. It moves neither the score (the model never saw it) nor the presumption
(the UFLPA presumption rests on US lists only).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.contract.batch import Lines
from models.features.distinct import factorize, texts_of
from models.reference.snapshot import ReferenceSnapshot

ROLES = (("manufacturer_name", "Manufacturer"), ("shipper_name", "Shipper"))
CODE = "partner_alert"


def partner_reasons(lines: Lines, reference: ReferenceSnapshot) -> dict[int, dict[str, Any]]:
    """The partner-alert reason of each line that has one, by line position.

    Names are matched once per distinct name; with no approved alert this costs nothing.
    """
    matcher = reference.partner_matcher
    if matcher is None or not len(lines):
        return {}
    alerts = reference.partner_alerts.set_index("alert_id")
    out: dict[int, dict[str, Any]] = {}
    for col, role in ROLES:
        if col not in lines:
            continue
        codes, uniques = factorize(lines[col])
        texts = texts_of(uniques)[:-1]
        found = {k: m for k, m in enumerate(matcher.match(texts)) if m.similarity > 0}
        if not found:
            continue
        for code, match in found.items():
            alert = alerts.loc[str(match.entity_id)]
            authority, since = str(alert["authority"]), str(alert["effective_date"])
            reason = {
                "code": CODE,
                "direction": "raises",
                "text": (
                    f"{role} matches a partner alert from {authority}, {since}: "
                    f"{match.entity_name} (similarity {match.similarity:.0f})"
                ),
                "evidence": {
                    "alert_id": str(match.entity_id),
                    "authority": authority,
                    "effective_date": since,
                    "entity": match.entity_name,
                    "matched_alias": match.matched_alias,
                    "similarity": match.similarity,
                    "basis": str(alert["basis"]),
                    "citation": str(alert["citation"]),
                },
                "contribution": 0.0,
                "share": 0.0,
            }
            for i in np.flatnonzero(codes == code):
                out.setdefault(int(i), reason)
    return out
