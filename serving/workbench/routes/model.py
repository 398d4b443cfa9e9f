"""The Model page: the served version, its evaluation reports and plots, its monitoring."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from serving.deps import DriftDep, HolderDep, SettingsDep, ShadowsDep
from serving.workbench.deps import ScoreSession
from serving.workbench.model_page import model_page, plot_path
from serving.workbench.monitoring import monitoring_page
from serving.workbench.pages import PageError, render, served_model

router = APIRouter(include_in_schema=False)


@router.get("/model")
async def model(
    request: Request,
    _session: ScoreSession,
    holder: HolderDep,
    settings: SettingsDep,
    drift: DriftDep,
    shadows: ShadowsDep,
) -> Response:
    """The served model: identity, metrics, plots, model card, drift, shadow challenger."""
    served = served_model(holder)
    data = await run_in_threadpool(model_page, settings, served)
    data.update(await run_in_threadpool(monitoring_page, served, drift, shadows))
    return render(request, "model.html", data)


@router.get("/model/plots/{name}")
async def model_plot(
    name: str, _session: ScoreSession, holder: HolderDep, settings: SettingsDep
) -> Response:
    """A plot of the served version's evaluation (only the known names)."""
    path = plot_path(settings, served_model(holder), name)
    if path is None:
        raise PageError(404, "No such plot", f"The served model has no plot {name}.")
    return FileResponse(path, media_type="image/png")
