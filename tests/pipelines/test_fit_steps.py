"""The fit steps as functions: strategy choice, samples, refit rounds, bands, inputs."""

import numpy as np
import pandas as pd

from pipelines.config import BandsConfig, load_config
from pipelines.labelled import merge_feedback, sort_lines
from pipelines.refit import band_thresholds, refit_rounds
from pipelines.strategy import Sampler, best_strategy, selection_view


def test_best_strategy_by_the_metric_nan_never_wins_first_wins_a_tie():
    table = {
        "inspected": {"pr_auc": 0.50, "precision_at_5": 0.9},
        "ipw": {"pr_auc": 0.55, "precision_at_5": 0.4},
        "pu": {"pr_auc": float("nan"), "precision_at_5": 0.9},
    }
    assert best_strategy(table, "pr_auc") == "ipw"
    assert best_strategy(table, "precision_at_5") == "inspected"
    assert (
        best_strategy({"pu": {"pr_auc": float("nan")}, "ipw": {"pr_auc": 0.0}}, "pr_auc") == "ipw"
    )


def test_selection_view_is_weighted_only_with_a_propensity():
    assert selection_view(None) == "all_inspected"
    assert selection_view(np.ones(3)) == "inspected_ipw"


def test_sampler_draws_from_the_given_rows_in_global_row_numbers():
    inspected = np.array([True, False, True, True, False, True])
    violation = np.array([1, np.nan, 0, 1, np.nan, 0], dtype=float)
    learning = load_config(None).learning
    sample = Sampler(inspected, violation, None, learning, seed=0)
    rows = np.array([2, 3, 4, 5])
    s = sample("inspected", rows)
    np.testing.assert_array_equal(s.rows, [2, 3, 5])
    np.testing.assert_array_equal(s.y, [0, 1, 0])


def test_refit_gets_a_few_more_rounds_than_early_stopping_never_fewer_than_ten():
    assert refit_rounds(60) == 70  # 15% more, plus one
    assert refit_rounds(3) == 10


def test_band_thresholds_flag_the_configured_shares():
    scores = np.random.default_rng(0).random(10_000)
    t = band_thresholds(scores, BandsConfig(high_share=0.01, elevated_share=0.05))
    assert abs((scores >= t["high"]).mean() - 0.01) < 0.001
    assert abs((scores >= t["elevated"]).mean() - 0.05) < 0.001


def test_feedback_replaces_the_same_lines_file_labels():
    frame = pd.DataFrame(
        {"entry_id": ["A", "A", "B"], "line_no": [1, 2, 1], "violation": [0, 0, 0]}
    )
    feedback = pd.DataFrame({"entry_id": ["A"], "line_no": [2], "violation": [1]})
    merged = merge_feedback(frame, feedback).frame
    assert len(merged) == 3
    assert merged.set_index(["entry_id", "line_no"]).loc[("A", 2), "violation"] == 1
    assert merge_feedback(frame, feedback.iloc[:0]).frame is frame


def test_lines_are_sorted_in_time_whatever_the_file_order():
    frame = pd.DataFrame(
        {
            "entry_date": pd.to_datetime(["2025-02-01", "2025-01-01", "2025-01-01"]),
            "entry_id": ["A", "C", "B"],
            "line_no": [1, 1, 1],
        }
    )
    out = sort_lines(frame)
    assert list(out["entry_id"]) == ["B", "C", "A"] and list(out.index) == [0, 1, 2]
