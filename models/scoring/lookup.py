"""Resolving registered models: ``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` to a bundle.

Both ``flrisk score`` and the API go through here, so a URI means the same bundle, verified
the same way, everywhere: its files against its manifest, and the manifest's hashes against
the ``bundle_hash`` and ``model_hash`` tags that training recorded on the registered version
(a file changed in the artifact store together with its manifest is refused).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.errors import UserError
from models.mlflow_env import quiet_mlflow
from models.scoring.bundle import (
    MODEL_FILE,
    ModelBundle,
    ModelIntegrityError,
    load_bundle,
    manifest_bundle_hash,
    verify_bundle,
)
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


def registered_tags(resolved: ResolvedModel, settings: Settings) -> dict[str, str]:
    """The tags of a registered version (provenance, hashes, metrics)."""
    return dict(client(settings).get_model_version(resolved.name, resolved.version).tags)


def check_registered(
    manifest: Mapping[str, Any], resolved: ResolvedModel, tags: Mapping[str, str]
) -> None:
    """Refuse a bundle whose hashes differ from those recorded at training.

    ``load_bundle`` checks files against the manifest beside them, which whoever can change
    a file in the artifact store can rewrite too; the version's tags were written by
    training in the registry, a store of its own.

    Args:
        manifest: The bundle's manifest, already checked against its files.
        resolved: The version it was downloaded for (named in the refusal).
        tags: That version's registry tags.

    Raises:
        ModelIntegrityError: No ``bundle_hash`` tag to compare with, or a hash differs.
    """
    loaded = manifest_bundle_hash(manifest)
    registered = tags.get("bundle_hash")
    if not registered:
        raise ModelIntegrityError(
            f"{resolved.uri} has no bundle_hash tag in the registry: its bundle cannot be "
            f"checked against what training registered (loaded bundle hash {loaded}); "
            "refusing model"
        )
    differs = []
    if registered != loaded:
        differs.append(f"bundle hash {loaded} != {registered} recorded in the registry")
    model_tag = tags.get("model_hash")
    model_loaded = str(manifest["files"][MODEL_FILE])
    if model_tag and model_tag != model_loaded:
        differs.append(f"{MODEL_FILE} hash {model_loaded} != {model_tag} recorded in the registry")
    if differs:
        raise ModelIntegrityError(
            f"{resolved.uri}: the bundle in the artifact store is not the one registered at "
            f"training ({'; '.join(differs)}): refusing model"
        )


def fetch_bundle(
    resolved: ResolvedModel,
    settings: Settings,
    dst: Path | None = None,
    *,
    tags: Mapping[str, str] | None = None,
    check_timeout_s: float | None = None,
) -> ModelBundle:
    """Download a registered version's bundle, verify it, and load it.

    Verified twice before LightGBM parses anything: every file against the manifest, and
    the manifest against the hashes recorded in the registry at training.

    Args:
        resolved: The version to load.
        settings: Registry and LightGBM threads.
        dst: Download into this folder (default: MLflow's temporary one).
        tags: The version's registry tags, if already read (else read here).
        check_timeout_s: If set, a child process loads the bundle and scores a warm-up line
            first (at most this long), and it is loaded here only if the child succeeded:
            for servers, which a native LightGBM abort would kill
            (:func:`models.scoring.check.check_in_child`).

    Raises:
        ModelIntegrityError: A file differs from the manifest, the manifest from the
            registry, or the child could not load it.
    """
    from mlflow.artifacts import download_artifacts

    if tags is None:
        tags = registered_tags(resolved, settings)
    client(settings)
    local = Path(
        download_artifacts(
            artifact_uri=resolved.uri,
            dst_path=str(dst) if dst else None,
            tracking_uri=settings.tracking_uri(),
        )
    )
    folder = local / "artifacts" / BUNDLE_ARTIFACT
    folder = folder if folder.is_dir() else local
    try:
        manifest = verify_bundle(folder)
        check_registered(manifest, resolved, tags)
        checked = manifest_bundle_hash(manifest)
        if check_timeout_s is not None:
            from models.scoring.check import check_in_child

            check_in_child(
                folder,
                num_threads=settings.num_threads,
                timeout_s=check_timeout_s,
                bundle_hash=checked,
            )
        bundle = load_bundle(folder, num_threads=settings.num_threads)
        if bundle.bundle_hash != checked:  # the folder changed since it was checked
            raise ModelIntegrityError(f"bundle hash {bundle.bundle_hash} != {checked} checked")
        return bundle
    except ModelIntegrityError as exc:
        # Name the version (a folder name is a temporary path, meaningless to the reader).
        msg = str(exc).replace(str(folder), "the bundle")
        raise ModelIntegrityError(
            msg if msg.startswith(resolved.uri) else f"{resolved.uri}: {msg}"
        ) from exc
