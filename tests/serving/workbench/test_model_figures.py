"""The Model page's figures: plain words, intervals, and "too small to tell"."""

from __future__ import annotations

import math

from serving.workbench.figures import METRICS, RULE, headline_figures, too_small


def _m(value: float, lo: float, hi: float) -> dict[str, float]:
    return {"value": value, "lo": lo, "hi": hi}


# The shape of a training run's evaluation/metrics.json: a random sample too small to judge.
EVALUATION = {
    "random_sample": {
        "model": {
            "precision_at_1": _m(0.0, 0.0, 0.0),
            "precision_at_5": _m(0.5, 0.0, 1.0),
            "recall_at_5": _m(1.0, 1.0, 1.0),
            "pr_auc": _m(0.583, 0.417, 1.0),
            "base_rate": _m(0.0215, 0.0, 0.054),
            "brier": _m(0.0115, 0.0015, 0.024),
        },
        "logistic": {"precision_at_1": _m(1.0, 1.0, 1.0)},
    },
    "all_inspected": {"model": {"precision_at_5": _m(0.478, 0.318, 0.634)}},
}


def test_a_random_sample_too_small_to_judge_is_said_so():
    fig = headline_figures(EVALUATION, {"view": "random_sample", "pr_auc": 0.583})
    rows = {r["name"]: r for r in fig["rows"]}
    assert fig["view"] == "random_sample" and "random" in fig["view_text"]
    # precision_at_1 0.000 [0, 0]: no violation in a handful of lines is no result.
    assert rows["precision_at_1"]["too_small"] is True
    assert rows["precision_at_5"]["too_small"] is True  # interval spans [0, 1]
    assert rows["recall_at_5"]["too_small"] is True  # every resample 1.0
    assert rows["pr_auc"]["too_small"] is True  # interval 0.58 wide
    assert rows["base_rate"]["too_small"] is False
    assert rows["brier"]["too_small"] is False
    assert (rows["brier"]["lo"], rows["brier"]["hi"]) == (0.0015, 0.024)
    assert fig["rule"] == RULE and "0.5" in RULE


def test_every_figure_has_a_plain_label_and_one_sentence():
    fig = headline_figures(EVALUATION, {"view": "random_sample"})
    for row in fig["rows"]:
        assert "_" not in row["label"] and row["meaning"].endswith(".")
        assert row["meaning"].count(". ") == 0  # one sentence
    logged = EVALUATION["random_sample"]["model"]
    assert [r["name"] for r in fig["rows"]] == [n for n in METRICS if n in logged]


def test_the_headline_view_is_the_tagged_one_else_the_least_biased():
    assert headline_figures(EVALUATION, {"view": "all_inspected"})["view"] == "all_inspected"
    assert headline_figures(EVALUATION, {})["view"] == "random_sample"
    only = {"all_inspected": EVALUATION["all_inspected"]}
    fig = headline_figures(only, {"view": "random_sample"})
    assert fig["view"] == "all_inspected" and fig["rows"][0]["too_small"] is False


def test_without_intervals_the_tagged_values_are_shown_unjudged():
    fig = headline_figures(None, {"view": "random_sample", "pr_auc": 0.5, "precision_at_5": 0.25})
    rows = {r["name"]: r for r in fig["rows"]}
    assert rows["pr_auc"] == {**rows["pr_auc"], "value": 0.5, "lo": None, "too_small": None}
    assert set(rows) == {"pr_auc", "precision_at_5"}


def test_the_rule():
    assert too_small(0.4, 0.12, 0.71)  # wider than 0.5
    assert not too_small(0.4, 0.2, 0.6)
    assert too_small(0.0, 0.0, 0.0) and too_small(1.0, 1.0, 1.0)
    assert not too_small(0.3, 0.3, 0.3)
    assert too_small(math.nan, math.nan, math.nan)
