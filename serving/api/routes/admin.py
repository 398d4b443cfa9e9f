"""Administration: reload the model behind the alias."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from models.scoring.bundle import ModelIntegrityError
from serving.api.deps import AdminKey
from serving.api.responses import AUTH, problem
from serving.api.schemas import ReloadOut
from serving.deps import HolderDep, InstrumentsDep
from serving.model_holder import RegistryUnavailableError

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post(
    "/reload",
    response_model=ReloadOut,
    summary="Reload the model behind the alias",
    responses={
        200: {"description": "Swapped to the alias's version, or already serving it."},
        **AUTH,
        409: problem(
            "The new version was refused (its hashes differ from the manifest or from the "
            "registry's, or a child process could not load it); the old one serves on."
        ),
        503: problem("The registry could not resolve the alias; the current model serves on."),
    },
)
async def reload(_who: AdminKey, holder: HolderDep, instruments: InstrumentsDep) -> Any:
    """Resolve the alias again and swap atomically; in-flight requests finish on the old one."""
    serving = holder.current.resolved.uri if holder.current else "nothing"
    try:
        result = await run_in_threadpool(holder.reload)
    except ModelIntegrityError as exc:
        instruments.reloads.labels("refused").inc()
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"model refused ({exc}); still serving {serving}"
        ) from exc
    except RegistryUnavailableError as exc:
        instruments.reloads.labels("unavailable").inc()
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail=f"registry unavailable ({exc}); still serving {serving}",
        ) from exc
    instruments.reloads.labels("changed" if result.changed else "unchanged").inc()
    instruments.set_model(result.current)
    return {"changed": result.changed, "previous": result.previous, "current": result.current}
