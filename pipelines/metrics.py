"""Ranking and calibration metrics at inspection capacities, with bootstrap intervals.

Every metric is computed from a ranking of *all* lines of the evaluation window; labels may
exist on only part of them (``labelled`` mask), e.g. the random-inspection sample. Precision
at k% is then the violation rate among labelled lines that fall in the top k% of all lines:
an unbiased estimate when the labelled lines are a random sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def top_mask(
    scores: np.ndarray, share: float, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Boolean mask of the top ``share`` of lines by score (ties broken at random)."""
    n = len(scores)
    k = max(1, round(share * n))
    jitter = (rng or np.random.default_rng(0)).random(n) * 1e-12
    order = np.argsort(-(scores + jitter), kind="stable")
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def average_precision(y: np.ndarray, s: np.ndarray, w: np.ndarray | None = None) -> float:
    """Area under the precision-recall curve (step-wise, as scikit-learn's AP)."""
    if len(y) == 0 or y.sum() == 0:
        return float("nan")
    w = np.ones_like(s, dtype=float) if w is None else w
    order = np.argsort(-s, kind="stable")
    y, w = y[order], w[order]
    keep = w > 0
    y, w = y[keep], w[keep]
    if (y * w).sum() == 0:
        return float("nan")
    tp = np.cumsum(y * w)
    fp = np.cumsum((1 - y) * w)
    precision = tp / np.maximum(tp + fp, 1e-12)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * precision))


def _weighted(
    y: np.ndarray,
    s: np.ndarray,
    tops: dict[str, np.ndarray],
    w: np.ndarray,
    values: np.ndarray | None,
    probs: np.ndarray | None,
) -> dict[str, float]:
    out: dict[str, float] = {}
    pos = float((w * y).sum())
    for tag, top in tops.items():
        wt = w * top
        out[f"precision_at_{tag}"] = (
            float((wt * y).sum() / wt.sum()) if wt.sum() > 0 else float("nan")
        )
        out[f"recall_at_{tag}"] = float((wt * y).sum() / pos) if pos > 0 else float("nan")
        if values is not None and tag == "5":
            v = values * y * w
            out["value_caught_at_5"] = (
                float(v[top].sum() / v.sum()) if v.sum() > 0 else float("nan")
            )
    out["pr_auc"] = average_precision(y, s, w)
    out["base_rate"] = float(pos / w.sum()) if w.sum() > 0 else float("nan")
    if probs is not None:
        out["brier"] = (
            float((w * (probs - y) ** 2).sum() / w.sum()) if w.sum() > 0 else float("nan")
        )
    return out


Draws = tuple[dict[str, float], dict[str, np.ndarray]]


def bootstrap_draws(
    scores: np.ndarray,
    y: np.ndarray,
    labelled: np.ndarray,
    capacities: list[float],
    n_boot: int,
    seed: int,
    values: np.ndarray | None = None,
    probs: np.ndarray | None = None,
) -> Draws:
    """Point metrics of one ranking and their value on each bootstrap resample.

    The top-k% cut-offs are set on the ranking of *all* lines of the window (what an officer
    would inspect); the labelled lines, the only source of uncertainty about the truth, are
    resampled with replacement. Resamples are drawn over the labelled lines in window order,
    so rankings of the same window evaluated with the same ``seed`` see the same resampled
    lines: their draws are paired (see ``paired_difference``).

    Args:
        scores: Score of every line in the window.
        y: 0/1 label per line (ignored where not ``labelled``).
        labelled: Lines whose label counts for this view.
        capacities: Shares of lines an officer can inspect (e.g. 0.01, 0.05).
        n_boot: Bootstrap resamples (0: point estimates only).
        seed: Seed of the resampling.
        values: Declared value per line, for the share of violating value caught at 5%.
        probs: Calibrated probabilities, for the Brier score.

    Returns:
        ``(point, draws)``: ``{metric: value}`` and ``{metric: array of n_boot values}``.
    """
    # Named by the percentage: 0.05 -> "5", 0.005 -> "0.5" (rounded to drop float noise).
    tops = {f"{round(c * 100, 6):g}": top_mask(scores, c)[labelled] for c in capacities}
    yl = y[labelled].astype(float)
    sl = scores[labelled]
    order = np.argsort(-sl, kind="stable")
    yl, sl = yl[order], sl[order]
    tops = {k: v[order] for k, v in tops.items()}
    vl = None if values is None else np.nan_to_num(values[labelled][order], nan=0.0)
    pl = None if probs is None else probs[labelled][order]
    point = _weighted(yl, sl, tops, np.ones_like(yl), vl, pl)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(n_boot):
        w = np.bincount(rng.integers(0, len(yl), len(yl)), minlength=len(yl)).astype(float)
        for k, v in _weighted(yl, sl, tops, w[order], vl, pl).items():
            draws[k].append(v)
    return point, {k: np.array(v, dtype=float) for k, v in draws.items()}


def intervals(point: dict[str, float], draws: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """``{metric: {"value", "lo", "hi"}}``: point values with 95% percentile intervals."""
    out: dict[str, dict[str, float]] = {}
    for k, v in point.items():
        arr = draws[k][~np.isnan(draws[k])]
        lo, hi = np.percentile(arr, [2.5, 97.5]) if len(arr) else (np.nan, np.nan)
        out[k] = {"value": v, "lo": float(lo), "hi": float(hi)}
    return out


def paired_difference(a: Draws, b: Draws) -> dict[str, dict[str, float]]:
    """Metric of ranking ``a`` minus that of ``b``, with a 95% paired bootstrap interval.

    Both must come from ``bootstrap_draws`` on the same window, labels and seed, so each
    resample holds the same lines for both. The interval of the difference is then much
    narrower than the two marginal intervals suggest: what the lines' luck does to one
    ranking it largely does to the other. An interval above zero means ``a`` ranks better
    (below zero for the Brier score, where lower is better).

    Returns:
        ``{metric: {"value", "lo", "hi"}}`` for metrics both rankings have.
    """
    (pa, da), (pb, db) = a, b
    keep = [k for k in pa if k != "base_rate" and k in pb and not np.isnan(pa[k] - pb[k])]
    return intervals({k: pa[k] - pb[k] for k in keep}, {k: da[k] - db[k] for k in keep})


def reliability(probs: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict[str, Any]]:
    """Reliability table: mean predicted vs observed rate per quantile bin of ``probs``."""
    if len(probs) == 0:
        return []
    edges = np.unique(np.quantile(probs, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, probs, side="right") - 1, 0, max(len(edges) - 2, 0))
    rows = []
    for b in np.unique(which):
        m = which == b
        rows.append(
            {
                "bin": int(b),
                "n": int(m.sum()),
                "predicted": float(probs[m].mean()),
                "observed": float(y[m].mean()),
            }
        )
    return rows
