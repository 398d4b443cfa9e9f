"""Typical unit values and densities per good and origin, fitted in training.

A declared unit value far below what is typical for the same HS subheading and origin is a
classic sign of forced-labour or transshipped goods (and of undervaluation). Medians and
robust spreads are fitted on training lines and stored with the model; serving only applies
them, backing off from (HS6, origin) to HS6, heading, chapter and the global figure when a
group is too small.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.features.distinct import combine, factorize

LEVELS: tuple[tuple[str, ...], ...] = (
    ("hs6", "origin"),
    ("hs6",),
    ("hs_heading",),
    ("hs_chapter",),
)
MEASURES = ("log_unit_value", "log_value_per_kg")
MIN_GROUP = 20


def _keys(signals: pd.DataFrame, origin: pd.Series, level: tuple[str, ...]) -> pd.Series:
    parts = [
        origin.fillna("").astype(str) if c == "origin" else signals[c].astype(str) for c in level
    ]
    key = parts[0]
    for p in parts[1:]:
        key = key + ":" + p
    return key


def fit_value_stats(signals: pd.DataFrame, origin: pd.Series) -> dict[str, Any]:
    """Median and robust scale (1.4826 x MAD) of each measure per level's groups.

    Args:
        signals: Output of :func:`models.features.signals.derive_signals` for the training lines.
        origin: Declared country of origin, aligned with ``signals``.

    Returns:
        JSON-ready dict: ``{measure: {"global": [median, scale], level: {key: [median, scale]}}}``.
    """
    stats: dict[str, Any] = {}
    for m in MEASURES:
        x = signals[m]
        ok = x.notna()
        med = float(x[ok].median()) if ok.any() else 0.0
        mad = float((x[ok] - med).abs().median()) if ok.any() else 1.0
        per: dict[str, Any] = {"global": [med, max(1.4826 * mad, 0.05)]}
        for level in LEVELS:
            key = _keys(signals, origin, level)[ok]
            g = pd.DataFrame({"k": key, "x": x[ok]}).groupby("k")["x"]
            size, median = g.size(), g.median()
            spread = (
                pd.DataFrame({"k": key, "d": (x[ok] - key.map(median).astype("float64")).abs()})
                .groupby("k")["d"]
                .median()
            )
            keep = size[size >= MIN_GROUP].index
            per["|".join(level)] = {
                k: [round(float(median[k]), 6), round(max(1.4826 * float(spread[k]), 0.05), 6)]
                for k in keep
            }
        stats[m] = per
    return stats


GOODS_COLUMNS = ("hs6", "hs_heading", "hs_chapter")


def value_features(
    signals: Mapping[str, Any], origin: Any, stats: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Robust z-scores of each measure against the most specific fitted group.

    Args:
        signals: ``hs6``, ``hs_heading``, ``hs_chapter`` (text, missing: NaN/None) and the
            ``MEASURES`` (float) per line.
        origin: Declared country of origin per line.
        stats: Output of :func:`fit_value_stats`.

    Returns:
        ``<measure>_z`` and ``<measure>_typical`` (the median used, kept as evidence for
        the reasons) float64 arrays.
    """
    # The typical value depends only on (hs6, heading, chapter, origin): look it up once per
    # distinct combination, then spread it to the lines.
    factors = [factorize(signals[c]) for c in GOODS_COLUMNS] + [factorize(origin)]
    combo, first = combine(*(codes for codes, _ in factors))
    # Per distinct combination, each part as text; a missing goods code is None (no group
    # matches it) and a missing origin is "", as the fitted keys were written.
    parts = {
        name: [
            str(uniques[codes[i]]) if codes[i] >= 0 else (None if name != "origin" else "")
            for i in first
        ]
        for name, (codes, uniques) in zip((*GOODS_COLUMNS, "origin"), factors, strict=True)
    }
    out: dict[str, np.ndarray] = {}
    for m in MEASURES:
        med, scale = _typical(parts, len(first), stats[m])
        x = np.asarray(signals[m], dtype="float64")
        out[f"{m}_z"] = (x - med[combo]) / scale[combo]
        out[f"{m}_typical"] = med[combo]
    return out


def _typical(
    parts: dict[str, list[str | None]], n: int, per: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray]:
    """Median and scale of the most specific fitted group of each distinct combination."""
    med = np.full(n, float(per["global"][0]))
    scale = np.full(n, float(per["global"][1]))
    found = np.zeros(n, dtype=bool)
    for level in LEVELS:
        table = per["|".join(level)]
        if not table:
            continue
        for i in range(n):
            if found[i]:
                continue
            vals = [parts[c][i] for c in level]
            if any(v is None for v in vals):
                continue
            hit = table.get(":".join(vals))  # type: ignore[arg-type]
            if hit is not None:
                med[i], scale[i], found[i] = float(hit[0]), float(hit[1]), True
    return med, scale
