"""The served model's evaluation figures in plain words, with intervals and a verdict.

The training run logs ``evaluation/metrics.json``: per view and model, every metric's value
and 95% bootstrap interval (``{"value", "lo", "hi"}``). The Model page shows the model's
figures in the registered headline view, each with one sentence saying what it means, and
says when the sample behind a figure is too small to tell (:data:`RULE`).
"""

from __future__ import annotations

import math
from typing import Any

# A figure is too small to tell when its 95% interval is wider than this (it spans most of
# [0, 1]), or when every bootstrap resample gave the same 0 or 1 (a handful of lines, all
# violations or none), or when it could not be computed at all.
WIDE = 0.5
RULE = (
    "A figure is marked “too small to tell” when its 95% interval is wider than 0.5 (it "
    "spans most of the range from 0 to 1), when every resample gave exactly 0 or exactly 1 "
    "(a handful of lines, all violations or none), or when it could not be computed."
)
HEADLINE_ORDER = ("hidden_truth", "random_sample", "all_inspected")
VIEWS = {
    "hidden_truth": "every line of the test window, against the simulator's hidden truth",
    "random_sample": "the lines of the test window that were inspected at random (unbiased, "
    "but few violations)",
    "all_inspected": "every inspected line of the test window (biased toward the lines the "
    "old rules chose to inspect)",
}
# Metric -> (short label, what it means in one plain sentence).
METRICS: dict[str, tuple[str, str]] = {
    "precision_at_1": (
        "Hit rate, riskiest 1%",
        "Of the 1% of lines the model ranks riskiest, the share that were violations.",
    ),
    "precision_at_5": (
        "Hit rate, riskiest 5%",
        "Of the 5% of lines the model ranks riskiest, the share that were violations.",
    ),
    "recall_at_5": (
        "Violations found, riskiest 5%",
        "Of all violations, the share found by inspecting the 5% of lines ranked riskiest.",
    ),
    "value_caught_at_5": (
        "Value found, riskiest 5%",
        "Of the declared value of violating lines, the share in the 5% ranked riskiest.",
    ),
    "pr_auc": (
        "Ranking quality (PR-AUC)",
        "How well the score puts violations ahead of other lines at every cut-off: 1 is "
        "perfect, the base rate is what chance gives.",
    ),
    "base_rate": (
        "Base rate",
        "The share of lines that were violations: what inspecting at random would find.",
    ),
    "brier": (
        "Calibration error (Brier)",
        "The average squared gap between the risk score and the outcome: lower is better, "
        "and small values mean a score reads as a probability.",
    ),
}


def _number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def too_small(value: float, lo: float, hi: float) -> bool:
    """Whether a figure's sample is too small to tell anything (see :data:`RULE`)."""
    if any(math.isnan(x) for x in (value, lo, hi)):
        return True
    return hi - lo > WIDE or (lo == hi == value and value in (0.0, 1.0))


def headline_figures(evaluation: dict[str, Any] | None, tagged: dict[str, Any]) -> dict[str, Any]:
    """The model's figures in the headline view, in plain words.

    Args:
        evaluation: ``metrics.json`` of the training run (``{view: {model: {metric:
            {value, lo, hi}}}}``), or None when the run logged none.
        tagged: The version's ``holdout_metrics`` (``view`` and point values), the fallback.

    Returns:
        ``view``, ``view_text``, ``rule`` and ``rows``: per known metric, ``name``,
        ``label``, ``meaning``, ``value``, ``lo``, ``hi`` (None without an interval) and
        ``too_small`` (None when it cannot be judged without an interval).
    """
    views = evaluation or {}
    view = str(tagged.get("view", ""))
    if view not in views:
        view = next((v for v in HEADLINE_ORDER if v in views), view)
    model = views.get(view, {}).get("model", {})
    rows = []
    row: dict[str, Any]
    for name, (label, meaning) in METRICS.items():
        if name in model:
            m = model[name]
            value, lo, hi = _number(m.get("value")), _number(m.get("lo")), _number(m.get("hi"))
            row = {"value": value, "lo": lo, "hi": hi, "too_small": too_small(value, lo, hi)}
        elif name in tagged:
            row = {"value": _number(tagged[name]), "lo": None, "hi": None, "too_small": None}
        else:
            continue
        rows.append({"name": name, "label": label, "meaning": meaning, **row})
    return {"view": view, "view_text": VIEWS.get(view, ""), "rule": RULE, "rows": rows}
