"""The learned effect of the tip features, for the model card (``tip_effect.json``).

Two views, both of the registered model on the test window's lines (features as each line
had them: tips received by its entry date, statuses as of that day):

- **Contribution**: the mean TreeSHAP contribution (log-odds) of the tip features, summed,
  for lines no tip names, lines named only by new tips, and lines named by a corroborated
  tip. It is what the ``tip`` reasons of such lines carry.
- **What a tip does to the same lines**: up to 2,000 lines no tip names, scored as they are,
  then with one new tip naming their manufacturer, then with one corroborated tip instead
  (``tip_mfr_new`` or ``tip_mfr_corroborated`` set to 1). The mean change of the log-odds
  and of the calibrated score is the model's learned weight of each status: nothing in the
  recipe sets a corroborated tip above a new one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.features.tips import TIP_FEATURES
from models.scoring.scorer import calibrate
from pipelines.fit import TrainResult

SAMPLE = 2_000


def tip_effect(result: TrainResult, seed: int = 0) -> dict[str, Any]:
    """The tip features' effect (see the module doc); ``{"features": False}`` without them."""
    X = result.explain_features
    cols = [c for c in TIP_FEATURES if c in X.columns]
    if not cols:
        return {"features": False}
    booster, cal = result.bundle.booster, result.bundle.calibration
    counts = X[cols].to_numpy(dtype=float)
    corr = counts[:, [j for j, c in enumerate(cols) if c.endswith("_corroborated")]].sum(axis=1)
    named = counts.sum(axis=1) > 0
    groups = {
        "no tip": ~named,
        "new tips only": named & (corr == 0),
        "a corroborated tip": corr > 0,
    }
    rng = np.random.default_rng(seed)
    at = [list(X.columns).index(c) for c in cols]
    contribution = {}
    for label, mask in groups.items():
        rows = np.flatnonzero(mask)
        if len(rows) > SAMPLE:
            rows = np.sort(rng.choice(rows, SAMPLE, replace=False))
        mean = None
        if len(rows):
            shap = np.asarray(booster.predict(X.iloc[rows], pred_contrib=True))[:, at]
            mean = round(float(shap.sum(axis=1).mean()), 4)
        contribution[label] = {"lines": int(mask.sum()), "mean_contribution": mean}
    base = np.flatnonzero(~named)
    if len(base) > SAMPLE:
        base = np.sort(rng.choice(base, SAMPLE, replace=False))
    counterfactual = {}
    if len(base) and "tip_mfr_new" in cols:
        plain = X.iloc[base]
        m0 = np.asarray(booster.predict(plain, raw_score=True))
        p0 = calibrate(m0, cal)
        for status in ("new", "corroborated"):
            changed = plain.copy()
            changed[f"tip_mfr_{status}"] = 1.0
            m1 = np.asarray(booster.predict(changed, raw_score=True))
            counterfactual[status] = {
                "mean_log_odds_change": round(float((m1 - m0).mean()), 4),
                "mean_score_before": round(float(p0.mean()), 5),
                "mean_score_after": round(float(calibrate(m1, cal).mean()), 5),
            }
    return {
        "features": True,
        "lines": len(X),
        "contribution": contribution,
        "one_tip_on_the_manufacturer": {"lines": len(base), **counterfactual},
    }


def tip_effect_md(effect: dict[str, Any], tips: dict[str, int] | None) -> str:
    """The model card's section on tips."""
    if not effect.get("features"):
        return (
            "The model has no tip features: it was trained without tips (`flrisk train "
            "--tips FILE`, or tips in the audit store). Tips still give lines their `tip` "
            "reason, with contribution 0."
        )
    given = tips or {}
    n_named, n_corr = given.get("lines_named", 0), given.get("lines_corroborated", 0)
    rows = "\n".join(
        f"| {label} | {v['lines']:,} | "
        + ("n/a" if v["mean_contribution"] is None else f"{v['mean_contribution']:+.3f}")
        + " |"
        for label, v in effect["contribution"].items()
    )
    cf = effect["one_tip_on_the_manufacturer"]
    what = "\n".join(
        f"| one {status} tip | {cf[status]['mean_log_odds_change']:+.3f} | "
        f"{cf[status]['mean_score_before']:.4f} -> {cf[status]['mean_score_after']:.4f} |"
        for status in ("new", "corroborated")
        if status in cf
    )
    return f"""Tips given: {given.get("tips", 0):,} (originals; duplicates count in their
original); training lines named by a tip received by their entry date:
{n_named:,}, by a tip corroborated before it: {n_corr:,}.
Statuses are taken as of each line's entry date, so no line learns from a corroboration or
dismissal its own inspection caused; dismissed tips stop counting from their dismissal.

Mean TreeSHAP contribution of the tip features (log-odds, summed) on the test window's lines:

| lines | count | mean contribution |
|---|---|---|
{rows}

The same {cf["lines"]:,} test lines no tip names, with one tip naming their manufacturer
(`tip_mfr_new` or `tip_mfr_corroborated` set to 1; the weights are learned, not set):

| change | mean log-odds change | mean score |
|---|---|---|
{what}"""
