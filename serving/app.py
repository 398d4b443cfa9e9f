"""The application: ``create_app`` composes it; the model is loaded in the lifespan.

The app's shared objects (settings, model holder, audit store, keys, rate limiter,
instruments, jobs) are made here and kept on ``app.state``; the API (``serving/api``) and the
workbench (``serving/workbench``) reach them through the dependencies of
:mod:`serving.deps`. Nothing happens at import time. ``flrisk serve`` runs ``create_app`` as
a uvicorn factory in one worker process, so LightGBM is loaded once and never forked.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from models.reference.snapshot import ReferenceWatcher
from models.scoring.bundle import ModelIntegrityError
from models.settings import Settings, get_settings
from models.store import AuditStore, AuditUnavailableError, ShadowScores
from models.tips import TipBook
from serving.alerts_service import AlertsService
from serving.api.body import document_bodies
from serving.api.gate import KeyGateMiddleware
from serving.api.router import include as include_api
from serving.auth import KeyStore, bootstrap_admin_key
from serving.check.router import install as install_check_page
from serving.drift import DriftMonitor
from serving.errors import ScrubbedErrorsMiddleware, validation_error_handler
from serving.instruments import Instruments
from serving.jobs import JobManager
from serving.limits import BodySizeLimitMiddleware, RateLimiter
from serving.memory import arrow_on_system_malloc, import_lean, limit_malloc_arenas
from serving.middleware import MetricsMiddleware, SecurityHeadersMiddleware
from serving.model_holder import ModelHolder, ModelUnavailableError, RegistryUnavailableError
from serving.throttle import FailureThrottle, audit_failures

log = logging.getLogger(__name__)
# The workbench is optional: an install without the package serves the API alone.
WORKBENCH = "serving.workbench"
# Start-up waits this long for the model, then serves (not ready) while it keeps loading.
STARTUP_LOAD_WAIT_S = 20.0
# With no periodic reload, a server without a model retries this often.
NO_MODEL_RETRY_S = 15.0


def _print_bootstrap_key(settings: Settings) -> None:
    # Printed to stdout once, never logged: the demo needs a key and has no other channel.
    key = bootstrap_admin_key(settings.keys_path())
    if key:
        print(
            f"\nflrisk: created API key 'admin' (all scopes) in {settings.keys_path()}:\n"
            f"    {key}\nIt is shown only now; send it as 'Authorization: Bearer <key>'.\n",
            flush=True,
        )


async def _watch_model(app: FastAPI, interval: float) -> None:
    """Re-resolve the alias every ``interval`` s; with none, retry only while no model loaded.

    A registry that is down when the server starts thus never needs a restart: the server
    answers 503 (not ready) and picks the model up once the registry answers again.
    """
    holder: ModelHolder = app.state.holder
    while True:
        await asyncio.sleep(interval if interval > 0 else NO_MODEL_RETRY_S)
        if interval <= 0 and holder.current is not None:
            continue
        try:
            result = await run_in_threadpool(holder.reload)
            if result.changed:
                app.state.instruments.set_model(result.current)
        except (RegistryUnavailableError, ModelIntegrityError) as exc:
            log.warning("model check kept the current model: %s", exc)
        except Exception:  # never let the watcher die: it is how a failed start recovers
            log.exception("model check failed")


async def _initial_load(app: FastAPI) -> None:
    """Load the model, waiting at most ``STARTUP_LOAD_WAIT_S``; then go on in the background.

    An unreachable registry (an HTTP tracking server retrying with back-off) must not keep
    the server from answering ``/healthz`` and a 503 ``/readyz``.
    """
    holder: ModelHolder = app.state.holder

    def done(_fut: asyncio.Future[None]) -> None:
        app.state.instruments.set_model(holder.current.info() if holder.current else None)

    load = asyncio.ensure_future(run_in_threadpool(holder.start))
    load.add_done_callback(done)
    app.state.initial_load = load
    finished, _ = await asyncio.wait({load}, timeout=STARTUP_LOAD_WAIT_S)
    if not finished:
        log.warning("model still loading after %.0f s: not ready until it is", STARTUP_LOAD_WAIT_S)


async def _audit_auth_failures(app: FastAPI, interval: float) -> None:
    """Every ``interval`` s, audit the failed keys and sign-ins counted but not yet written."""
    throttle: FailureThrottle = app.state.throttle
    while True:
        await asyncio.sleep(interval)
        await run_in_threadpool(audit_failures, app.state.store, throttle.drain())


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create the audit tables, the demo key, load the model; stop jobs at shutdown."""
    settings: Settings = app.state.settings
    store: AuditStore = app.state.store
    limit_malloc_arenas()  # before the thread pool's threads first allocate
    arrow_on_system_malloc()  # before the model's tables are read
    try:
        await run_in_threadpool(store.create)
    except SQLAlchemyError as exc:  # not ready until it answers; scoring will 503
        log.error("audit store unavailable at start: %s", type(exc).__name__)
    if settings.bootstrap_key:
        _print_bootstrap_key(settings)
    await _initial_load(app)
    app.state.alerts.start()
    tasks = [
        asyncio.create_task(_watch_model(app, settings.reload_interval_s)),
        asyncio.create_task(_audit_auth_failures(app, settings.auth_audit_interval_s)),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        app.state.jobs.shutdown()
        await run_in_threadpool(app.state.alerts.stop)
        audit_failures(store, app.state.throttle.drain(everything=True))
        store.dispose()


def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, AuditUnavailableError):
        detail = "audit store unavailable: nothing was scored"
    else:
        detail = f"no model available: {exc}"
    return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": "30"})


def create_app(settings: Settings | None = None, *, model_uri: str | None = None) -> FastAPI:
    """Build the API (and the workbench, when installed).

    Args:
        settings: Settings to use; default: from the environment.
        model_uri: Model to serve; default ``models:/{model_name}@{model_alias}``.

    Returns:
        The app; the model is loaded when its lifespan starts.
    """
    settings = settings or get_settings()
    if settings.lean_imports:
        import_lean()  # before anything imports LightGBM or MLflow with all their extras
    app = FastAPI(
        title="flrisk",
        summary="Forced-labour risk scores for US import entry lines",
        version="1",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.reference = ReferenceWatcher(settings.reference_root())
    app.state.holder = ModelHolder(settings, model_uri, app.state.reference)
    app.state.store = AuditStore(settings.audit_store_url())
    app.state.tips = TipBook(app.state.store)
    app.state.keys = KeyStore(settings.keys_path())
    app.state.limiter = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst)
    app.state.throttle = FailureThrottle(
        settings.auth_failures_per_minute, settings.auth_failure_burst,
        settings.auth_audit_interval_s,
    )  # fmt: skip
    app.state.instruments = Instruments()
    app.state.drift = DriftMonitor(
        app.state.store, settings.drift_window, settings.drift_threshold, settings.drift_min_lines,
        webhook_urls=settings.webhook_urls, instruments=app.state.instruments,
        partner_urls=settings.partner_webhook_urls,
    )  # fmt: skip
    app.state.shadows = ShadowScores(app.state.store)
    app.state.alerts = AlertsService(
        settings, app.state.store, app.state.holder, app.state.reference, app.state.instruments
    )
    app.state.jobs = JobManager(settings.data_dir / "jobs", tips=app.state.tips)
    app.add_exception_handler(ModelUnavailableError, _unavailable)
    app.add_exception_handler(AuditUnavailableError, _unavailable)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    include_api(app)
    install_check_page(app)
    document_bodies(app)
    if importlib.util.find_spec(WORKBENCH) is not None:
        importlib.import_module(f"{WORKBENCH}.router").install(app)
    # Added first = innermost: an unexpected exception becomes a plain 500 that the other
    # middleware see (metrics count it), logged without its message.
    app.add_middleware(ScrubbedErrorsMiddleware)
    # Added last = outermost: limits run first, headers land on every response. The key gate
    # is inside CORS (preflights and CORS headers of a 401 are CORS's) and refuses keyless
    # requests before any body is read.
    app.add_middleware(
        KeyGateMiddleware, keys=app.state.keys, throttle=app.state.throttle, store=app.state.store
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(
        BodySizeLimitMiddleware,
        json_limit=settings.max_json_bytes,
        upload_limit=settings.max_upload_bytes,
    )
    app.add_middleware(MetricsMiddleware, instruments=app.state.instruments)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
