"""What a training run records: parameters, metrics and version tags, from its result."""

import json
from pathlib import Path
from types import SimpleNamespace

from pipelines.config import load_config
from pipelines.run_record import run_metrics, run_name, run_params, version_tags


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
        bundle=SimpleNamespace(bundle_hash="b", model_hash="m", meta={}),
    )
    params = run_params(load_config(None), [Path("a.csv")], None, result, "c0ffee")
    assert params["lightgbm.num_leaves"] == "15" and params["learning.strategies"].startswith("[")
    assert params["lightgbm_targeted_applied"] == "true" and params["mapping"] == ""
    metrics = run_metrics(result)
    # Grouped for the MLflow UI (a section per part before the first '/').
    assert metrics["test.hidden_truth/model.pr_auc"] == 0.7
    assert metrics["test.hidden_truth.ci/model.pr_auc_lo"] == 0.6
    assert metrics["strategy/ipw.pr_auc"] == 0.4
    assert all("/" in k for k in metrics)
    tags = version_tags(result, "c0ffee", "r1")
    assert json.loads(tags["holdout_metrics"]) == {"view": "hidden_truth", "pr_auc": 0.7}
    assert json.loads(tags["holdout"])["test_window"] == ["2025-07", "2025-09"]


def test_a_run_is_named_by_its_data_digest_and_day():
    from datetime import date

    name = run_name([Path("data/sim/train.csv")], "0123456789abcdef", date(2026, 3, 14))
    assert name == "train.csv 01234567 2026-03-14"
    assert run_name([Path("a.csv"), Path("b.csv")], "f" * 64, date(2026, 3, 14)).startswith(
        "a.csv +1 ffffffff"
    )
