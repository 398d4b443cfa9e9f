"""The app's shared objects as FastAPI dependencies (``Annotated`` aliases, full-stack style).

The API (:mod:`serving.api.deps`) and the workbench (:mod:`serving.workbench.deps`) build on
these. The objects live on ``app.state`` (built by :func:`serving.app.create_app`), so several
apps with different settings can coexist in one process (tests do). The dependencies are
``async`` because none of them blocks: FastAPI runs plain ``def`` dependencies in the thread
pool, and a hop there and back per dependency costs more than scoring one line.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request

from models.settings import Settings
from models.store import AuditStore
from serving.auth import KeyStore
from serving.instruments import Instruments
from serving.jobs import JobManager
from serving.limits import RateLimiter
from serving.model_holder import LoadedModel, ModelHolder


def new_request_id() -> str:
    """A fresh request id (written to the audit; the API echoes it in ``X-Request-ID``)."""
    return uuid.uuid4().hex


async def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


async def get_holder(request: Request) -> ModelHolder:
    """The app's model holder."""
    holder: ModelHolder = request.app.state.holder
    return holder


async def get_store(request: Request) -> AuditStore:
    """The app's audit store."""
    store: AuditStore = request.app.state.store
    return store


async def get_instruments(request: Request) -> Instruments:
    """The app's Prometheus instruments."""
    instruments: Instruments = request.app.state.instruments
    return instruments


async def get_jobs(request: Request) -> JobManager:
    """The app's background job manager."""
    jobs: JobManager = request.app.state.jobs
    return jobs


async def get_keys(request: Request) -> KeyStore:
    """The app's API keys."""
    keys: KeyStore = request.app.state.keys
    return keys


async def get_limiter(request: Request) -> RateLimiter:
    """The app's per-key rate limiter."""
    limiter: RateLimiter = request.app.state.limiter
    return limiter


SettingsDep = Annotated[Settings, Depends(get_settings)]
HolderDep = Annotated[ModelHolder, Depends(get_holder)]
StoreDep = Annotated[AuditStore, Depends(get_store)]
InstrumentsDep = Annotated[Instruments, Depends(get_instruments)]
JobsDep = Annotated[JobManager, Depends(get_jobs)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]


async def current_model(holder: HolderDep) -> LoadedModel:
    """The served model, taken once for the whole request (reloads never change it midway).

    Raises ``ModelUnavailableError`` (answered 503 by the app) when none is loaded.
    """
    return holder.get()


ModelDep = Annotated[LoadedModel, Depends(current_model)]
