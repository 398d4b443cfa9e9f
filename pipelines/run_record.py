"""What a training run records: its parameters, metrics and the registered version's tags."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.config import TrainConfig, flat_params
from pipelines.evaluate import flat_metrics, headline_metrics
from pipelines.fit import TrainResult


def run_params(
    cfg: TrainConfig, data: list[Path], mapping: Path | None, result: TrainResult, commit: str
) -> dict[str, str]:
    """Every configuration value (``table.key``) and the run's inputs and choices."""
    return {
        **flat_params(cfg.tables()),
        "data": ",".join(str(d) for d in data),
        "mapping": str(mapping or ""),
        "strategy": result.chosen,
        "git_commit": commit,
        "data_digest": result.data_digest,
        "lightgbm_targeted_applied": str(result.targeted_labels).lower(),
    }


def run_metrics(result: TrainResult) -> dict[str, float]:
    """Test-window metrics (``view.model.metric``) and the strategy comparison."""
    return {
        **{k.replace("@", "_at_"): v for k, v in flat_metrics(result.results).items()},
        **{
            f"strategy.{s}.{m}": v for s, ms in result.strategy_table.items() for m, v in ms.items()
        },
    }


def report_extra(cfg: TrainConfig, commit: str) -> dict[str, str]:
    """Facts of the run the model card states besides the result."""
    return {"git_commit": commit, "selection_metric": cfg.learning.selection_metric}


def version_tags(result: TrainResult, commit: str, run_id: str) -> dict[str, str]:
    """Tags of the registered version: provenance, the holdout and its headline metrics.

    The bundle must have been saved (its hashes are set then).
    """
    holdout = {"test_window": result.windows["test"], "data_digest": result.data_digest}
    return {
        "bundle_hash": result.bundle.bundle_hash,
        "model_hash": result.bundle.model_hash,
        "git_commit": commit,
        "strategy": result.chosen,
        "run_id": run_id,
        "holdout": json.dumps(holdout),
        "holdout_metrics": json.dumps(headline_metrics(result.results)),
        "fitted_period": json.dumps(result.bundle.meta.get("fitted_period")),
    }
