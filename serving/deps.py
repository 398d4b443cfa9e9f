"""FastAPI dependencies, as ``Annotated`` aliases (full-stack-template style).

The objects live on ``app.state`` (built by :func:`serving.app.create_app`), so several
apps with different settings can coexist in one process (tests do). The dependencies are
``async`` because none of them blocks: FastAPI runs plain ``def`` dependencies in the thread
pool, and a hop there and back per dependency costs more than scoring one line. Settings and
the store also have plain getters, for the workbench's synchronous code.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from models.settings import Settings
from models.store import AuditStore
from serving.auth import KeyStore, Principal
from serving.jobs import JobManager
from serving.limits import RateLimiter
from serving.metrics import Metrics
from serving.model_holder import LoadedModel, ModelHolder

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`")


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> ModelHolder:
    """The app's model holder."""
    holder: ModelHolder = request.app.state.holder
    return holder


def get_store(request: Request) -> AuditStore:
    """The app's audit store."""
    store: AuditStore = request.app.state.store
    return store


async def get_metrics(request: Request) -> Metrics:
    """The app's Prometheus metrics."""
    metrics: Metrics = request.app.state.metrics
    return metrics


async def get_jobs(request: Request) -> JobManager:
    """The app's background job manager."""
    jobs: JobManager = request.app.state.jobs
    return jobs


async def _settings(request: Request) -> Settings:
    return get_settings(request)


async def _store(request: Request) -> AuditStore:
    return get_store(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
StoreDep = Annotated[AuditStore, Depends(_store)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]


async def current_model(holder: HolderDep) -> LoadedModel:
    """The served model, taken once for the whole request (reloads never change it midway).

    Raises ``ModelUnavailableError`` (answered 503 by the app) when none is loaded.
    """
    return holder.get()


ModelDep = Annotated[LoadedModel, Depends(current_model)]


@dataclass(frozen=True)
class Scoring:
    """What scoring needs, as one dependency.

    FastAPI's cost is per dependency, and the scoring endpoint answers in a few milliseconds.

    Attributes:
        model: The served model, taken once for the whole request.
        holder: Its holder (for the shadow model).
        store: The audit store.
        metrics: The app's Prometheus metrics.
    """

    model: LoadedModel
    holder: ModelHolder
    store: AuditStore
    metrics: Metrics


async def scoring(request: Request) -> Scoring:
    """The served model with the audit store and metrics; 503 when no model is loaded."""
    state = request.app.state
    holder: ModelHolder = state.holder
    return Scoring(holder.get(), holder, state.store, state.metrics)


ScoringDep = Annotated[Scoring, Depends(scoring)]


def new_request_id() -> str:
    """A fresh request id (echoed in ``X-Request-ID`` and written to the audit)."""
    return uuid.uuid4().hex


async def request_id(response: Response) -> str:
    """A fresh id for this request, echoed in ``X-Request-ID`` and written to the audit."""
    rid = new_request_id()
    response.headers["X-Request-ID"] = rid
    return rid


RequestIdDep = Annotated[str, Depends(request_id)]


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    """The caller behind the presented key; 401 without a key or with an unknown one."""
    presented = bearer.credentials if bearer is not None else api_key
    unauthorized = HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail="missing or unknown API key",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if not presented:
        raise unauthorized
    keys: KeyStore = request.app.state.keys
    found = keys.verify(presented)
    if found is None:
        raise unauthorized
    return found


def require(scope: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: a key holding ``scope`` (403 otherwise), within its rate (429)."""

    async def check(request: Request, who: Annotated[Principal, Depends(principal)]) -> Principal:
        if scope not in who.scopes:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail=f"this key lacks the '{scope}' scope"
            )
        limiter: RateLimiter = request.app.state.limiter
        limiter.enforce(who.key_id)
        return who

    check.__name__ = f"require_{scope}"
    return check


ScoreKey = Annotated[Principal, Depends(require("score"))]
BatchKey = Annotated[Principal, Depends(require("batch"))]
FeedbackKey = Annotated[Principal, Depends(require("feedback"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]
