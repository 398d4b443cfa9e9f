"""The model being served: resolved once, swapped atomically on reload, never half-loaded.

Requests call :meth:`ModelHolder.get` once at their start and keep that reference, so a
reload that swaps ``current`` mid-request never changes the model a request is using, and
the old model stays alive until its last request finishes (plain reference counting).
"""

from __future__ import annotations

import gc
import json
import logging
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.audit_rows import ModelStamp
from models.reference.snapshot import ReferenceWatcher
from models.scoring.bundle import ModelIntegrityError
from models.scoring.check import warm
from models.scoring.lookup import (
    ModelNotFoundError,
    ResolvedModel,
    fetch_bundle,
    registered_tags,
    resolve,
)
from models.scoring.scorer import Scorer
from models.settings import Settings
from serving.memory import release_free_memory

log = logging.getLogger(__name__)


class ModelUnavailableError(RuntimeError):
    """No model is loaded (none registered, registry unreachable, or refused)."""


class RegistryUnavailableError(RuntimeError):
    """The registry could not be reached or names no model for the URI."""


@dataclass(frozen=True)
class LoadedModel:
    """A verified scorer and what identifies it."""

    scorer: Scorer
    resolved: ResolvedModel
    tags: dict[str, str] = field(default_factory=dict)
    loaded_at: float = field(default_factory=time.time)

    @property
    def bundle_hash(self) -> str:
        """Hash of the bundle's model and feature state."""
        return self.scorer.bundle.bundle_hash

    @property
    def stamp(self) -> ModelStamp:
        """What the audit log records of this model with each decision."""
        return ModelStamp(self.resolved.uri, self.bundle_hash)

    def info(self, reference_versions: dict[str, str] | None = None) -> dict[str, Any]:
        """Identity for responses: name, version, alias, hash, reference versions.

        Args:
            reference_versions: The reference tables a response's lines were matched
                against (``Scores.reference_versions``); default: those the model was
                trained with, which ``model_reference_versions`` always gives.
        """
        trained = dict(self.scorer.bundle.reference_versions)
        return {
            "name": self.resolved.name,
            "version": self.resolved.version,
            "alias": self.resolved.alias,
            "bundle_hash": self.bundle_hash,
            "reference_versions": dict(reference_versions or trained),
            "model_reference_versions": trained,
        }

    def metrics(self) -> dict[str, Any]:
        """Holdout metrics from the version tags, else from the bundle's meta."""
        raw = self.tags.get("holdout_metrics")
        if raw:
            try:
                parsed = json.loads(raw)
                if isinstance(parsed, dict):
                    return parsed
            except ValueError:
                pass
        meta_metrics = self.scorer.bundle.meta.get("metrics", {})
        return dict(meta_metrics) if isinstance(meta_metrics, dict) else {}


@dataclass(frozen=True)
class ReloadResult:
    """What a reload did."""

    changed: bool
    previous: dict[str, Any] | None
    current: dict[str, Any]


def _load(uri: str, settings: Settings, reference: ReferenceWatcher | None = None) -> LoadedModel:
    """Resolve ``uri`` and load its bundle, verified, after a child process loaded it.

    The bundle's files must match its manifest and the manifest the hashes recorded in the
    registry at training; then a child process must load it and score a warm-up line (a
    malformed model file can abort LightGBM, which would take this server with it).

    Raises:
        RegistryUnavailableError: Unknown model/alias or registry unreachable.
        ModelIntegrityError: Refused: hashes differ, or the child could not load it.
    """
    from mlflow.exceptions import MlflowException

    try:
        resolved = resolve(uri, settings)
        tags = registered_tags(resolved, settings)
        with tempfile.TemporaryDirectory(prefix="flrisk-model-") as tmp:
            bundle = fetch_bundle(
                resolved,
                settings,
                dst=Path(tmp),
                tags=tags,
                check_timeout_s=settings.model_check_timeout_s,
            )
    except ModelIntegrityError:
        raise
    except (ModelNotFoundError, MlflowException, OSError, ConnectionError) as exc:
        raise RegistryUnavailableError(f"{uri}: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:  # unreadable manifest or state: refuse it
        raise ModelIntegrityError(f"{uri}: cannot load the bundle: {exc}") from exc
    scorer = Scorer(bundle, version=resolved.uri)
    if reference is not None:  # scores against the current reference version, re-checked
        scorer.reference_source = reference.current
    warm(scorer)
    return LoadedModel(scorer=scorer, resolved=resolved, tags=tags)


class ModelHolder:
    """Holds the served model (and an optional shadow model) for one app."""

    def __init__(
        self,
        settings: Settings,
        model_uri: str | None = None,
        reference: ReferenceWatcher | None = None,
    ) -> None:
        self.settings = settings
        self.reference = reference
        self.uri = model_uri or f"models:/{settings.model_name}@{settings.model_alias}"
        self.shadow_uri = (
            f"models:/{settings.model_name}@{settings.shadow_alias}"
            if settings.shadow_alias
            else None
        )
        self.current: LoadedModel | None = None
        self.shadow: LoadedModel | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._earlier: LoadedModel | None = None  # the last model loaded by ``model_for``

    def get(self) -> LoadedModel:
        """The current model; take it once per request and keep using it.

        Raises:
            ModelUnavailableError: Nothing is loaded.
        """
        model = self.current  # one attribute read: atomic under the GIL
        if model is None:
            raise ModelUnavailableError(self.last_error or "no model loaded")
        return model

    def model_for(self, uri: str, bundle_hash: str) -> LoadedModel:
        """The model registered as ``uri`` with this bundle hash: served, shadow, or loaded.

        A stored worklist is explained by the model that scored it, also after the served
        model moved on (a restart, a promotion). A model loaded here is verified like the
        served one; the last one is kept.

        Raises:
            ModelUnavailableError: It cannot be loaded, or ``uri`` now holds another bundle.
        """
        for model in (self.current, self.shadow, self._earlier):
            if model is not None and model.bundle_hash == bundle_hash:
                return model
        try:
            loaded = _load(uri, self.settings)
        except (RegistryUnavailableError, ModelIntegrityError) as exc:
            raise ModelUnavailableError(f"{uri} cannot be loaded: {exc}") from exc
        if loaded.bundle_hash != bundle_hash:
            raise ModelUnavailableError(f"{uri} no longer holds the model that scored this")
        self._earlier = loaded
        return loaded

    def start(self) -> None:
        """Load at startup; failures leave the app running but not ready."""
        try:
            self.reload()
        except (RegistryUnavailableError, ModelIntegrityError) as exc:
            log.warning("serving without a model: %s", exc)

    def reload(self) -> ReloadResult:
        """Re-resolve the URI and swap to its version if it differs from the current one.

        The new bundle is fully loaded and verified before the swap; if loading fails, the
        current model keeps serving and the error is raised.

        Raises:
            RegistryUnavailableError: The registry cannot resolve the URI now.
            ModelIntegrityError: The new bundle fails hash verification (refused).
        """
        with self._lock:  # one reload at a time; requests never take this lock
            previous = self.current
            try:
                if previous is not None and self._same_version(previous):
                    self._reload_shadow()
                    return ReloadResult(False, previous.info(), previous.info())
                loaded = _load(self.uri, self.settings, self.reference)
            except ModelIntegrityError as exc:
                self.last_error = f"model refused: {exc}"
                log.error("refused model %s: %s", self.uri, exc)
                raise
            except RegistryUnavailableError as exc:
                if previous is None:
                    self.last_error = str(exc)
                raise
            self.current = loaded
            self.last_error = None
            # What is alive now (the model, reference tables, libraries) stays alive: take it
            # out of the cyclic collector's scans, which otherwise cost more than scoring a
            # line (CPython's gc.freeze, meant for exactly this).
            gc.freeze()
            release_free_memory()
            log.info("serving %s (bundle %s)", loaded.resolved.uri, loaded.bundle_hash[:12])
            self._reload_shadow()
            return ReloadResult(True, previous.info() if previous else None, loaded.info())

    def _same_version(self, model: LoadedModel) -> bool:
        try:
            now = resolve(self.uri, self.settings)
        except ModelNotFoundError as exc:
            raise RegistryUnavailableError(str(exc)) from exc
        except Exception as exc:  # MLflow / network errors: registry unreachable
            raise RegistryUnavailableError(f"{self.uri}: {exc}") from exc
        return now.version == model.resolved.version and now.name == model.resolved.name

    def _reload_shadow(self) -> None:
        if self.shadow_uri is None:
            return
        try:
            current = self.shadow
            if current is not None:
                now = resolve(self.shadow_uri, self.settings)
                if now.version == current.resolved.version:
                    return
            self.shadow = _load(self.shadow_uri, self.settings, self.reference)
            log.info("shadow scoring with %s", self.shadow.resolved.uri)
        except (RegistryUnavailableError, ModelIntegrityError, ModelNotFoundError) as exc:
            log.warning("no shadow model: %s", exc)
            self.shadow = None
