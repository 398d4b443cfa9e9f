"""Tips as evidence on lines: which lines a tip names, and the ``tip`` reason they get.

A tip (an allegation from an NGO, the public, a partner agency or an anonymous source)
names parties; a line entered on or after the tip's receipt whose manufacturer, shipper or
importer is one of them gets a reason with code ``tip`` citing the tip. Parties are matched
as the entity lists match them: the same normalised name (:func:`~models.reference.entities.
normalize_name`), or the same declared ID (importer number, MID). A tip naming a
manufacturer or a shipper names a supplier: it is evidence on lines where that party
manufactures or ships. Dismissed tips and tips linked as duplicates of an earlier one are
not evidence (a duplicate is counted as a further report of its original).

The reason is said on every line it concerns, whether or not the line was explained. On an
explained line scored by a model trained with the tip features
(:mod:`models.features.tips`), the line's tip reasons carry the model's contribution of
those features, shared equally; otherwise ``contribution`` and ``share`` are 0. The
matching of tips to lines is :mod:`models.features.tips`', shared with the features.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from models.contract.batch import Lines
from models.features.cache import SignalCache
from models.features.tips import PartyHits, TipFact, TipIndex, name_key, party_hits
from models.json_text import reasons_text
from models.scoring.explain import TIP_GROUP, group_totals

__all__ = ["SOURCES", "TipFact", "TipIndex", "merge_reasons", "name_key", "tip_reasons"]

# Who a source is, in a sentence.
SOURCES = {
    "ngo": "an NGO",
    "public": "a member of the public",
    "partner_agency": "a partner agency",
    "anonymous": "an anonymous source",
}
MAX_TIP_REASONS = 3  # per line, the most recent first


def sentence(fact: TipFact, role: str) -> str:
    """The reason's sentence: when, from whom, about which party of the line."""
    status = "A corroborated allegation" if fact.status == "corroborated" else "An allegation"
    more = f", reported {fact.reports} times" if fact.reports > 1 else ""
    who = SOURCES.get(fact.source_type, fact.source_type)
    return (
        f"{status} received {fact.received} from {who} names this {role} (tip {fact.tip_id}{more})."
    )


def tip_reasons(
    lines: Lines,
    index: TipIndex,
    cache: SignalCache,
    explained: tuple[np.ndarray, np.ndarray, Mapping[str, np.ndarray]] | None = None,
    hits: PartyHits | None = None,
) -> dict[int, list[dict[str, Any]]]:
    """The ``tip`` reasons of each line a tip names, by line position.

    A tip counts for lines entered on or after the day it was received; a dismissed tip
    gives none.

    Args:
        lines: The lines.
        index: The tips.
        cache: Signal memo (normalised names).
        explained: The explained lines' positions, their ``pred_contrib`` rows and every
            line's features (in the model's order): each such line's tip reasons share
            equally the contribution (log-odds) of the tip counts the line has, and its
            share, so that they add up to it. A count of 0 is no evidence (it falls in the
            part of the score no reason explains). Other lines' tip reasons carry 0.
        hits: :func:`~models.features.tips.party_hits` of these lines and tips, if already
            made (the tip features' matching).
    """
    if not index or not len(lines):
        return {}
    found: dict[int, dict[int, tuple[TipFact, str]]] = {}
    dates = np.asarray(lines["entry_date"]).astype("datetime64[D]")
    for role, rows, facts in party_hits(lines, index, cache) if hits is None else hits:
        for fact in facts:
            if fact.status == "dismissed":
                continue
            later = rows[dates[rows] >= np.datetime64(fact.received, "D")]
            for i in later.tolist():
                found.setdefault(i, {}).setdefault(fact.tip_id, (fact, role))
    weights = _weights(explained, found) if explained is not None else {}
    out: dict[int, list[dict[str, Any]]] = {}
    for i, by_tip in found.items():
        chosen = sorted(by_tip.values(), key=lambda fr: (fr[0].received, fr[0].tip_id))
        shown = list(reversed(chosen[-MAX_TIP_REASONS:]))
        c, share = weights.get(i, (0.0, 0.0))
        k = len(shown)
        out[i] = [_reason(f, role, c / k, share / k) for f, role in shown]
    return out


def _weights(
    explained: tuple[np.ndarray, np.ndarray, Mapping[str, np.ndarray]], named: Mapping[int, Any]
) -> dict[int, tuple[float, float]]:
    """The tip counts' contribution and share of each explained line a tip names."""
    idx, contrib, X = explained
    names = list(X)
    cols = [j for j, f in enumerate(names) if f.startswith(TIP_GROUP + "_")]
    if not cols:
        return {}
    at = np.flatnonzero(np.isin(idx, np.fromiter(named, dtype=np.int64, count=len(named))))
    if not len(at):
        return {}
    rows, lines = contrib[at], idx[at]
    counted = np.column_stack([np.asarray(X[names[j]])[lines] > 0 for j in cols])
    c = (rows[:, cols] * counted).sum(axis=1)
    total = group_totals(rows, names)
    share = np.divide(c, total, out=np.zeros_like(c), where=total > 0)
    return {int(i): (float(x), float(y)) for i, x, y in zip(lines, c, share, strict=True)}


def _reason(fact: TipFact, role: str, c: float, share: float) -> dict[str, Any]:
    return {
        "code": "tip",
        # The model's direction when it weighs tips (a negative weight is said, not hidden).
        "direction": "lowers" if c < 0 else "raises",
        "text": sentence(fact, role),
        "evidence": {
            "tip_id": fact.tip_id,
            "received_date": fact.received,
            "source_type": fact.source_type,
            "status": fact.status,
            "role": role,
            "party": fact.party,
            "reports": fact.reports,
        },
        "contribution": round(c, 4),
        "share": round(share, 4),
    }


def merge_reasons(existing: Any, extra: list[dict[str, Any]], as_json: bool) -> Any:
    """A line's reasons with its tip reasons after the presumption and those raising the risk."""
    items = json.loads(existing) if isinstance(existing, str) else list(existing or [])
    at = sum(1 for r in items if r.get("direction") in ("presumes", "raises"))
    merged = [*items[:at], *extra, *items[at:]]
    return reasons_text(merged) if as_json else merged
