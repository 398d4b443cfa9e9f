"""One headline view everywhere: the least biased view the data has."""

import numpy as np
import pandas as pd
import pytest

from pipelines.config import EvaluationConfig
from pipelines.evaluate import evaluate_scores, headline_metrics, headline_view, views


def _frame(reasons):
    n = len(reasons)
    inspected = np.array([r is not None for r in reasons])
    return pd.DataFrame(
        {
            "inspected": inspected,
            "violation": np.where(inspected, np.arange(n) % 2, np.nan),
            "inspection_reason": pd.Series(reasons, dtype=object),
            "declared_value_usd": np.ones(n),
        }
    )


MIXED = ["random", "tip", None, "rules", "random", None, "rules", "random"] * 10


def test_simulated_data_with_hidden_truth_heads_on_the_truth():
    frame = _frame(MIXED)
    truth = np.arange(len(frame)) % 3 == 0
    assert set(views(frame, truth)) == {"random_sample", "all_inspected", "hidden_truth"}
    assert headline_view(views(frame, truth)) == "hidden_truth"


def test_real_data_with_a_random_sample_heads_on_the_random_sample():
    assert headline_view(views(_frame(MIXED), None)) == "random_sample"


def test_only_targeted_inspections_head_on_all_inspected_lines():
    targeted = [r if r != "random" else "rules" for r in MIXED]
    assert headline_view(views(_frame(targeted), None)) == "all_inspected"


def test_all_random_inspections_head_on_all_inspected_lines():
    # Every inspection random: all_inspected is the random sample itself.
    assert headline_view(views(_frame(["random"] * 20), None)) == "all_inspected"


def test_no_labels_no_headline():
    with pytest.raises(ValueError, match="no labelled evaluation view"):
        headline_view(views(_frame([None] * 10), None))


def test_headline_metrics_name_their_view():
    frame = _frame(MIXED)
    score = np.linspace(0, 1, len(frame))
    cfg = EvaluationConfig(capacities=(0.05,), bootstrap=0, seed=1)
    res = evaluate_scores(frame, {"model": score}, {"model": score}, None, cfg)
    m = headline_metrics(res)
    assert m["view"] == "random_sample"
    assert m["pr_auc"] == res["random_sample"]["model"]["pr_auc"]["value"]
