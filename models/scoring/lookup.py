"""Resolving registered models: ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` to a bundle.

Both ``flrisk score`` and the API go through here, so a URI means the same bundle, verified
the same way, everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from models.errors import UserError
from models.mlflow_env import quiet_mlflow
from models.scoring.bundle import ModelBundle, load_bundle
from models.settings import Settings

URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))$")
BUNDLE_ARTIFACT = "bundle"


class ModelNotFoundError(UserError, LookupError):
    """The URI names no registered model version (or the alias is unset)."""

    hint = (
        "A model URI is models:/NAME/VERSION or models:/NAME@ALIAS (e.g. models:/flrisk@champion); "
        "`make mlflow-ui` lists the registered versions, `flrisk train` registers a new one."
    )


@dataclass(frozen=True)
class ResolvedModel:
    """A concrete registered version behind a URI."""

    name: str
    version: str
    alias: str | None

    @property
    def uri(self) -> str:
        """``models:/NAME/VERSION``."""
        return f"models:/{self.name}/{self.version}"


def client(settings: Settings):  # type: ignore[no-untyped-def]  # MlflowClient is untyped
    """An MLflow client on the configured tracking and registry store."""
    quiet_mlflow()
    import mlflow

    uri = settings.tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    # Artifact downloads of models:/ URIs resolve through the process-wide URIs.
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def resolve(model_uri: str, settings: Settings) -> ResolvedModel:
    """Turn a model URI into its concrete version (aliases are resolved now, once).

    Raises:
        ModelNotFoundError: Malformed URI, unknown model, version or alias.
    """
    m = URI.match(model_uri)
    if not m:
        raise ModelNotFoundError(
            f"not a model URI: {model_uri!r} (want models:/NAME/VERSION or models:/NAME@ALIAS)"
        )
    from mlflow.exceptions import MlflowException

    c = client(settings)
    name = m["name"]
    try:
        if m["alias"]:
            mv = c.get_model_version_by_alias(name, m["alias"])
            return ResolvedModel(name=name, version=str(mv.version), alias=m["alias"])
        mv = c.get_model_version(name, m["version"])
        return ResolvedModel(name=name, version=str(mv.version), alias=None)
    except MlflowException as exc:
        raise ModelNotFoundError(f"{model_uri}: {exc.message}") from exc


def fetch_bundle(
    resolved: ResolvedModel, settings: Settings, dst: Path | None = None
) -> ModelBundle:
    """Download a registered version's bundle and load it with hash verification."""
    from mlflow.artifacts import download_artifacts

    client(settings)
    local = Path(
        download_artifacts(
            artifact_uri=resolved.uri,
            dst_path=str(dst) if dst else None,
            tracking_uri=settings.tracking_uri(),
        )
    )
    folder = local / "artifacts" / BUNDLE_ARTIFACT
    return load_bundle(folder if folder.is_dir() else local, num_threads=settings.num_threads)
