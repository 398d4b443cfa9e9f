"""What a training run records: its parameters, metrics and the registered version's tags."""

from __future__ import annotations

import json
from datetime import date
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


def metric_key(flat: str) -> str:
    """The MLflow name of a ``view.model.metric[_lo|_hi]`` metric: grouped for the MLflow UI.

    The UI puts metrics in sections by the part before the first ``/``: one section per
    evaluation view of the test window (``test.hidden_truth/model.pr_auc``), and the bounds
    of the 95% intervals in a section of their own per view (``test.hidden_truth.ci/...``)
    so that each view's section holds one chart per model and metric.
    """
    view, rest = flat.replace("@", "_at_").split(".", 1)
    section = f"test.{view}.ci" if rest.endswith(("_lo", "_hi")) else f"test.{view}"
    return f"{section}/{rest}"


def run_metrics(result: TrainResult) -> dict[str, float]:
    """Test-window metrics (``test.<view>/<model>.<metric>``) and the strategy comparison.

    ``strategy/<strategy>.<metric>``: each candidate strategy on the validation window, the
    figures the choice was made on.
    """
    return {
        **{metric_key(k): v for k, v in flat_metrics(result.results).items()},
        **{
            f"strategy/{s}.{m}": v for s, ms in result.strategy_table.items() for m, v in ms.items()
        },
    }


def run_name(data: list[Path], digest: str, day: date | None = None) -> str:
    """The run's name in the MLflow UI: what it was trained on, and when.

    ``train.csv d41d8cd9 2026-03-14``: the first data file's name (``+N`` more files), the
    start of the training lines' digest (the same data gives the same digest, whatever the
    file is called) and the day of the run.
    """
    files = data[0].name + (f" +{len(data) - 1}" if len(data) > 1 else "")
    return f"{files} {digest[:8]} {(day or date.today()).isoformat()}"


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
