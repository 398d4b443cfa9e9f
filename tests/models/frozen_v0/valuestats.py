"""Typical unit values and densities per good and origin, fitted in training.

A declared unit value far below what is typical for the same HS subheading and origin is a
classic sign of forced-labour or transshipped goods (and of undervaluation). Medians and
robust spreads are fitted on training lines and stored with the model; serving only applies
them, backing off from (HS6, origin) to HS6, heading, chapter and the global figure when a
group is too small.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

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


def value_features(signals: pd.DataFrame, origin: pd.Series, stats: dict[str, Any]) -> pd.DataFrame:
    """Robust z-scores of each measure against the most specific fitted group.

    Returns:
        Frame aligned with ``signals``: ``<measure>_z`` and ``<measure>_typical`` (the
        median used, kept as evidence for the reasons).
    """
    out = pd.DataFrame(index=signals.index)
    for m in MEASURES:
        per = stats[m]
        med = pd.Series(np.nan, index=signals.index)
        scale = pd.Series(np.nan, index=signals.index)
        for level in LEVELS:
            table = per["|".join(level)]
            if not table:
                continue
            key = _keys(signals, origin, level)
            todo = med.isna()
            med[todo] = key[todo].map({k: v[0] for k, v in table.items()}).astype("float64")
            scale[todo] = key[todo].map({k: v[1] for k, v in table.items()}).astype("float64")
        med = med.fillna(per["global"][0])
        scale = scale.fillna(per["global"][1])
        out[f"{m}_z"] = (signals[m] - med) / scale
        out[f"{m}_typical"] = med
    return out
