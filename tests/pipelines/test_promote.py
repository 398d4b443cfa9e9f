"""The promotion gate's decisions (no registry needed)."""

import json

from pipelines.promote import decide, stored_metrics_comparable


def _tags(window="2025-07..09", digest="abc", view="random_sample", pr_auc=0.5):
    return {
        "holdout": json.dumps({"test_window": window, "data_digest": digest}),
        "holdout_metrics": json.dumps({"view": view, "pr_auc": pr_auc}),
    }


def test_gate_needs_a_positive_gain_of_at_least_the_margin():
    assert decide({"pr_auc": 0.6}, {"pr_auc": 0.5}, "pr_auc", 0.05)[0]
    assert not decide({"pr_auc": 0.52}, {"pr_auc": 0.5}, "pr_auc", 0.05)[0]
    assert not decide({"pr_auc": 0.5}, {"pr_auc": 0.5}, "pr_auc", 0.0)[0]


def test_stored_metrics_compare_only_the_same_holdout_in_the_same_view():
    assert stored_metrics_comparable(_tags(), _tags(pr_auc=0.7))
    assert not stored_metrics_comparable(_tags(), _tags(digest="other"))
    # Same holdout, but one run had the hidden truth: its headline is another view.
    assert not stored_metrics_comparable(_tags(view="hidden_truth"), _tags())
    assert not stored_metrics_comparable({}, {})
