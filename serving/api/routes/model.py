"""The served model's identity and quality figures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from serving.api.deps import ScoreKey
from serving.api.responses import AUTH, NO_MODEL
from serving.api.schemas import ModelInfo
from serving.deps import HolderDep, ModelDep

router = APIRouter(prefix="/v1", tags=["model"])


@router.get(
    "/model",
    response_model=ModelInfo,
    summary="The served model",
    responses={200: {"description": "The model now serving."}, **AUTH, **NO_MODEL},
)
def model_info(_who: ScoreKey, model: ModelDep, holder: HolderDep) -> dict[str, Any]:
    """Name, version, alias, bundle hash, holdout metrics, thresholds, features."""
    bundle = model.scorer.bundle
    shadow = holder.shadow.info() if holder.shadow is not None else None
    current = holder.reference.current().versions if holder.reference is not None else None
    return {
        **model.info(current),
        "uri": model.resolved.uri,
        "metrics": model.metrics(),
        "thresholds": bundle.thresholds,
        "features": list(bundle.state.feature_names),
        "passthrough": dict(bundle.state.passthrough),
        "meta": bundle.meta,
        "loaded_at": model.loaded_at,
        "shadow": shadow,
    }
