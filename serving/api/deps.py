"""The API's own dependencies: the caller's key and scope, scoring's objects, the request id.

The app's shared objects (settings, store, model...) are in :mod:`serving.deps`. The key
and scoring dependencies read ``app.state`` themselves rather than through those: the
scoring endpoint answers in a few milliseconds and FastAPI's cost is per dependency.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Request, Response, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from models.store import AuditStore, ShadowScores
from models.tips import TipBook
from serving.api.gate import PRINCIPAL
from serving.auth import KeyStore, Principal, presented_key
from serving.deps import new_request_id
from serving.drift import DriftMonitor
from serving.instruments import Instruments
from serving.limits import RateLimiter
from serving.model_holder import LoadedModel, ModelHolder

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer <key>`")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: <key>`")


@dataclass(frozen=True)
class Scoring:
    """What scoring needs, as one dependency.

    FastAPI's cost is per dependency, and the scoring endpoint answers in a few milliseconds.

    Attributes:
        model: The served model, taken once for the whole request.
        holder: Its holder (for the shadow model).
        store: The audit store.
        instruments: The app's Prometheus instruments.
        drift: The drift window of the served model.
        shadows: Where shadow scores are kept.
        tips: The tips that are evidence on scored lines.
    """

    model: LoadedModel
    holder: ModelHolder
    store: AuditStore
    instruments: Instruments
    drift: DriftMonitor
    shadows: ShadowScores
    tips: TipBook


def scoring_of(request: Request) -> Scoring:
    """The served model with the audit store and instruments; 503 when no model is loaded."""
    state = request.app.state
    holder: ModelHolder = state.holder
    return Scoring(
        holder.get(), holder, state.store, state.instruments, state.drift, state.shadows,
        state.tips,
    )  # fmt: skip


async def scoring(request: Request) -> Scoring:
    """:func:`scoring_of` as a dependency."""
    return scoring_of(request)


ScoringDep = Annotated[Scoring, Depends(scoring)]


async def request_id(response: Response) -> str:
    """A fresh id for this request, echoed in ``X-Request-ID`` and written to the audit."""
    rid = new_request_id()
    response.headers["X-Request-ID"] = rid
    return rid


RequestIdDep = Annotated[str, Depends(request_id)]


def verified(request: Request, presented: str | None) -> Principal:
    """The caller behind the presented key; 401 without a key or with an unknown one.

    The key gate (:mod:`serving.api.gate`) has verified it already, before the body was read,
    and left the caller in the request's state; the key is verified here only for a route
    the gate does not cover.
    """
    checked: Principal | None = request.scope.get("state", {}).get(PRINCIPAL)
    if checked is not None:
        return checked
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


async def principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    """The caller behind the presented key (:func:`verified`).

    The two headers stay parameters: they document the API's security schemes.
    """
    return verified(request, bearer.credentials if bearer is not None else api_key)


def permit(request: Request, who: Principal, scope: str) -> Principal:
    """``who`` if its key holds ``scope`` (403 otherwise) and is within its rate (429)."""
    if scope not in who.scopes:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this key lacks the '{scope}' scope")
    limiter: RateLimiter = request.app.state.limiter
    limiter.enforce(who.key_id)
    return who


def require(scope: str) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency: a key holding ``scope`` (403 otherwise), within its rate (429)."""

    async def check(request: Request, who: Annotated[Principal, Depends(principal)]) -> Principal:
        return permit(request, who, scope)

    check.__name__ = f"require_{scope}"
    return check


def caller(request: Request, scope: str) -> Principal:
    """What ``Depends(require(scope))`` gives, called by the route itself.

    For the route that answers one line in a few milliseconds (``POST /v1/score``): FastAPI's
    cost is per dependency, and the key's three (the two headers, the scope) cost about as
    much as the HTTP exchange. The same checks in the same order: the key (401), its scope
    (403), its rate (429). Such a route declares :data:`KEY_SECURITY` in its OpenAPI entry.
    """
    return permit(request, verified(request, presented_key(request.scope["headers"])), scope)


# The OpenAPI security requirement of a route that checks its key with :func:`caller`:
# the schemes a key dependency documents (either header).
KEY_SECURITY: list[dict[str, list[str]]] = [{_bearer.scheme_name: []}, {_api_key.scheme_name: []}]


ScoreKey = Annotated[Principal, Depends(require("score"))]
BatchKey = Annotated[Principal, Depends(require("batch"))]
FeedbackKey = Annotated[Principal, Depends(require("feedback"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]
CheckKey = Annotated[Principal, Depends(require("check"))]
TipsKey = Annotated[Principal, Depends(require("tips"))]
CasesKey = Annotated[Principal, Depends(require("cases"))]
PartiesKey = Annotated[Principal, Depends(require("parties"))]
AlertsKey = Annotated[Principal, Depends(require("alerts"))]
PartnerKey = Annotated[Principal, Depends(require("partner"))]

# A stored row's id in a path: a 64-bit integer (a larger one is a 422, not a database error).
RowId = Annotated[int, Path(ge=1, le=2**63 - 1, description="A stored row's id.")]
