"""What a training run records: parameters, metrics and version tags, from its result."""

import json
from pathlib import Path
from types import SimpleNamespace

from pipelines.config import load_config
from pipelines.run_record import run_metrics, run_params, version_tags


def test_the_run_record_is_built_from_the_result():
    result = SimpleNamespace(
        chosen="ipw",
        data_digest="d" * 64,
        targeted_labels=True,
        windows={"test": ("2025-07", "2025-09")},
        strategy_table={"ipw": {"pr_auc": 0.4}},
        results={
            "random_sample": {"model": {"pr_auc": {"value": 0.5, "lo": 0.4, "hi": 0.6}}},
            "hidden_truth": {"model": {"pr_auc": {"value": 0.7, "lo": 0.6, "hi": 0.8}}},
        },
        bundle=SimpleNamespace(bundle_hash="b", model_hash="m"),
    )
    params = run_params(load_config(None), [Path("a.csv")], None, result, "c0ffee")
    assert params["lightgbm.num_leaves"] == "15" and params["learning.strategies"].startswith("[")
    assert params["lightgbm_targeted_applied"] == "true" and params["mapping"] == ""
    metrics = run_metrics(result)
    assert metrics["hidden_truth.model.pr_auc_lo"] == 0.6 and metrics["strategy.ipw.pr_auc"] == 0.4
    tags = version_tags(result, "c0ffee", "r1")
    assert json.loads(tags["holdout_metrics"]) == {"view": "hidden_truth", "pr_auc": 0.7}
    assert json.loads(tags["holdout"])["test_window"] == ["2025-07", "2025-09"]
