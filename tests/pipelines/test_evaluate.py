from dataclasses import replace

import numpy as np
import pandas as pd

from pipelines.config import EvaluationConfig
from pipelines.evaluate import evaluate_scores, flat_metrics, metrics_table


def _window(n=3_000, seed=0):
    rng = np.random.default_rng(seed)
    risk = rng.random(n)
    truth = (rng.random(n) < risk**3).astype(float)
    inspected = rng.random(n) < 0.3
    frame = pd.DataFrame(
        {
            "inspected": inspected,
            "violation": np.where(inspected, truth, np.nan),
            "inspection_reason": np.where(inspected, "random", None),
            "declared_value_usd": rng.lognormal(8, 1, n),
        }
    )
    return rng, risk, truth, frame


def test_model_rows_get_paired_differences_against_the_baselines():
    rng, risk, truth, frame = _window()
    scores = {
        "model": risk,
        "logistic": risk + rng.normal(0, 0.2, len(risk)),
        "random": rng.random(len(risk)),
    }
    cfg = EvaluationConfig(capacities=(0.01, 0.05), bootstrap=50, seed=1)
    res = evaluate_scores(frame, scores, {"model": risk}, truth, cfg)
    truth_view = res["hidden_truth"]
    assert set(truth_view) == {"model", "logistic", "random", "model_minus_logistic"}
    diff = truth_view["model_minus_logistic"]["pr_auc"]
    expected = truth_view["model"]["pr_auc"]["value"] - truth_view["logistic"]["pr_auc"]["value"]
    assert np.isclose(diff["value"], expected) and diff["lo"] > 0
    assert "brier" not in truth_view["model_minus_logistic"]  # the logistic has no probabilities
    assert "hidden_truth.model_minus_logistic.pr_auc_lo" in flat_metrics(res)
    table = metrics_table(res)
    p1 = truth_view["model_minus_logistic"]["precision_at_1"]["value"]
    assert f"| model_minus_logistic | {p1:+.3f}" in table
    assert "paired" in table


def test_no_differences_without_a_bootstrap_or_a_model():
    _, risk, truth, frame = _window(500)
    cfg = EvaluationConfig(capacities=(0.05,), bootstrap=0, seed=1)
    res = evaluate_scores(frame, {"model": risk, "logistic": risk}, {}, truth, cfg)
    assert set(res["hidden_truth"]) == {"model", "logistic"}
    res = evaluate_scores(
        frame, {"a": risk, "logistic": risk}, {}, truth, replace(cfg, bootstrap=20)
    )
    assert set(res["hidden_truth"]) == {"a", "logistic"}
