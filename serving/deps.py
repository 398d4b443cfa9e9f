"""The app's shared objects as FastAPI dependencies (``Annotated`` aliases, full-stack style).

The API (:mod:`serving.api.deps`) and the workbench (:mod:`serving.workbench.deps`) build on
these. The objects live on ``app.state`` (built by :func:`serving.app.create_app`), so several
apps with different settings can coexist in one process (tests do). The dependencies are
``async`` because none of them blocks: FastAPI runs plain ``def`` dependencies in the thread
pool, and a hop there and back per dependency costs more than scoring one line.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request

from models.settings import Settings
from models.store import AuditStore, ShadowScores
from serving.auth import KeyStore
from serving.drift import DriftMonitor
from serving.instruments import Instruments
from serving.jobs import JobManager
from serving.limits import RateLimiter
from serving.model_holder import LoadedModel, ModelHolder
from serving.throttle import FailureThrottle


def new_request_id() -> str:
    """A fresh request id (written to the audit; the API echoes it in ``X-Request-ID``)."""
    return uuid.uuid4().hex


def from_state(name: str) -> Callable[[Request], Coroutine[Any, Any, Any]]:
    """A dependency returning ``app.state.<name>``; its ``Annotated`` alias below gives its type."""

    async def get(request: Request) -> Any:
        return getattr(request.app.state, name)

    get.__name__ = f"get_{name}"
    return get


SettingsDep = Annotated[Settings, Depends(from_state("settings"))]
HolderDep = Annotated[ModelHolder, Depends(from_state("holder"))]
StoreDep = Annotated[AuditStore, Depends(from_state("store"))]
InstrumentsDep = Annotated[Instruments, Depends(from_state("instruments"))]
JobsDep = Annotated[JobManager, Depends(from_state("jobs"))]
KeysDep = Annotated[KeyStore, Depends(from_state("keys"))]
LimiterDep = Annotated[RateLimiter, Depends(from_state("limiter"))]
ThrottleDep = Annotated[FailureThrottle, Depends(from_state("throttle"))]
DriftDep = Annotated[DriftMonitor, Depends(from_state("drift"))]
ShadowsDep = Annotated[ShadowScores, Depends(from_state("shadows"))]


async def current_model(holder: HolderDep) -> LoadedModel:
    """The served model, taken once for the whole request (reloads never change it midway).

    Raises ``ModelUnavailableError`` (answered 503 by the app) when none is loaded.
    """
    return holder.get()


ModelDep = Annotated[LoadedModel, Depends(current_model)]
