"""Key and scope checks on their own: a tiny app with the real dependencies, no model.

A failure here names the cause (the key, the scope, the rate), not a 401 or 403 far away
in a scoring test.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from serving.api.deps import (
    KEY_SECURITY,
    AdminKey,
    BatchKey,
    FeedbackKey,
    ScoreKey,
    caller,
    request_id,
    require,
    scoring,
)
from serving.auth import KeyStore, Principal, create_key
from serving.limits import RateLimiter


def _run(coro):  # type: ignore[no-untyped-def]
    """``asyncio.run`` in a thread of its own.

    The browser tests' sync Playwright keeps an event loop running in the main thread for
    the session, where ``asyncio.run`` would refuse to start another.
    """
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _app(keys: Path, per_minute: float = 600.0, burst: int = 100) -> FastAPI:
    """Routes ``/dep/...`` check the key with ``require``, ``/call/...`` with ``caller``."""
    # The scope dependencies are made here, as the routes' module-level aliases are at import.
    app = FastAPI()
    app.state.keys = KeyStore(keys)
    app.state.limiter = RateLimiter(per_minute, burst)

    @app.get("/dep/score")
    async def score(
        who: Annotated[Principal, Depends(require("score"))],
        rid: Annotated[str, Depends(request_id)],
    ) -> dict[str, str]:
        return {"key_id": who.key_id, "request_id": rid}

    @app.get("/dep/admin")
    async def admin(who: Annotated[Principal, Depends(require("admin"))]) -> dict[str, str]:
        return {"key_id": who.key_id}

    @app.get("/call/score")
    async def score_call(
        request: Request, rid: Annotated[str, Depends(request_id)]
    ) -> dict[str, str]:
        return {"key_id": caller(request, "score").key_id, "request_id": rid}

    @app.get("/call/admin")
    async def admin_call(request: Request) -> dict[str, str]:
        return {"key_id": caller(request, "admin").key_id}

    return app


# Each check through the dependency and through the route's own call: the same answers.
VIA = pytest.mark.parametrize("via", ["/dep", "/call"])


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "keys.json"
    scorer = create_key(path, "screening-1", ["score"])
    admin = create_key(path, "ops-1", ["admin", "score"])
    return path, scorer, admin


@VIA
def test_a_key_is_accepted_as_bearer_or_x_api_key(keys: tuple[Path, str, str], via: str) -> None:
    path, scorer, _ = keys
    client = TestClient(_app(path))
    for headers in ({"Authorization": f"Bearer {scorer}"}, {"X-API-Key": scorer}):
        r = client.get(f"{via}/score", headers=headers)
        assert r.status_code == 200, headers
        assert r.json()["key_id"] == "screening-1"
        assert r.headers["X-Request-ID"] == r.json()["request_id"] != ""


@VIA
def test_the_bearer_key_wins_over_x_api_key(keys: tuple[Path, str, str], via: str) -> None:
    path, scorer, admin = keys
    client = TestClient(_app(path))
    r = client.get(
        f"{via}/score", headers={"Authorization": f"Bearer {admin}", "X-API-Key": scorer}
    )
    assert r.json()["key_id"] == "ops-1"


@VIA
@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": ""}, {"X-API-Key": "flr_unknown"}, {"Authorization": "Bearer flr_nope"}],
)
def test_a_missing_or_unknown_key_is_401_with_a_bearer_challenge(
    keys: tuple[Path, str, str], headers: dict[str, str], via: str
) -> None:
    client = TestClient(_app(keys[0]))
    r = client.get(f"{via}/score", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"detail": "missing or unknown API key"}
    assert r.headers["WWW-Authenticate"] == "Bearer"


@VIA
def test_a_key_without_the_scope_is_403_naming_the_scope(
    keys: tuple[Path, str, str], via: str
) -> None:
    path, scorer, admin = keys
    client = TestClient(_app(path))
    r = client.get(f"{via}/admin", headers={"X-API-Key": scorer})
    assert r.status_code == 403
    assert r.json() == {"detail": "this key lacks the 'admin' scope"}
    assert client.get(f"{via}/admin", headers={"X-API-Key": admin}).status_code == 200


@VIA
def test_a_key_over_its_rate_is_429_and_other_keys_are_not(
    keys: tuple[Path, str, str], via: str
) -> None:
    path, scorer, admin = keys
    client = TestClient(_app(path, per_minute=1.0, burst=2))
    ok = [client.get(f"{via}/score", headers={"X-API-Key": scorer}).status_code for _ in range(2)]
    assert ok == [200, 200]
    r = client.get(f"{via}/score", headers={"X-API-Key": scorer})
    assert r.status_code == 429
    # One token a minute: the next one is about 60 s away.
    assert 55 <= int(r.headers["Retry-After"]) <= 60
    assert client.get(f"{via}/score", headers={"X-API-Key": admin}).status_code == 200


@VIA
def test_a_refused_scope_takes_no_token_from_the_rate(
    keys: tuple[Path, str, str], via: str
) -> None:
    path, scorer, _ = keys
    client = TestClient(_app(path, per_minute=1.0, burst=1))
    assert client.get(f"{via}/admin", headers={"X-API-Key": scorer}).status_code == 403
    assert client.get(f"{via}/score", headers={"X-API-Key": scorer}).status_code == 200


def test_each_scope_alias_checks_its_own_scope() -> None:
    # The routes use these aliases; each dependency is named for the scope it checks.
    aliases = {"score": ScoreKey, "batch": BatchKey, "feedback": FeedbackKey, "admin": AdminKey}
    for scope, alias in aliases.items():
        assert alias.__metadata__[0].dependency.__name__ == f"require_{scope}"
    assert require("batch").__name__ == "require_batch"


def test_scoring_takes_the_model_once_with_the_store_and_instruments() -> None:
    holder = SimpleNamespace(get=lambda: "model-v1")
    state = SimpleNamespace(
        holder=holder, store="store", instruments="instruments", drift="drift",
        shadows="shadows", tips="tips",
    )  # fmt: skip
    request = SimpleNamespace(app=SimpleNamespace(state=state))
    got = _run(scoring(request))  # type: ignore[arg-type]
    assert (got.model, got.holder, got.store, got.instruments, got.drift, got.shadows) == (
        "model-v1",
        holder,
        "store",
        "instruments",
        "drift",
        "shadows",
    )
    assert got.tips == "tips"


def test_the_caller_the_gate_verified_is_taken_without_checking_again(tmp_path: Path) -> None:
    """The gate verified the key before the body was read; the route takes its caller as is."""
    from starlette.requests import Request

    from serving.api.deps import principal
    from serving.api.gate import PRINCIPAL

    who = Principal(key_id="gate-checked", scopes=frozenset({"score"}))
    app = SimpleNamespace(state=SimpleNamespace(keys=KeyStore(tmp_path / "none.json")))
    scope = {"type": "http", "headers": [], "app": app, "state": {PRINCIPAL: who}}
    # No key presented and none on file: only the gate's verdict can let this through.
    assert _run(principal(Request(scope), None, None)) is who


def test_a_request_the_gate_did_not_see_has_its_key_verified_here(
    keys: tuple[Path, str, str],
) -> None:
    """A route outside the gate: no ``state`` in the scope at all, the key checked here."""
    from fastapi import HTTPException
    from starlette.requests import Request

    from serving.api.deps import principal

    path, scorer, _ = keys
    app = SimpleNamespace(state=SimpleNamespace(keys=KeyStore(path)))
    scope = {"type": "http", "headers": [], "app": app}  # no "state": the gate never ran
    assert _run(principal(Request(scope), None, scorer)).key_id == "screening-1"
    with pytest.raises(HTTPException) as refused:
        _run(principal(Request(dict(scope)), None, "flr_unknown"))
    assert refused.value.status_code == 401


def test_caller_takes_the_gate_verified_caller_and_still_checks_scope_and_rate(
    tmp_path: Path,
) -> None:
    """The gate's verdict stands for the key; the scope and the rate are checked after it."""
    from fastapi import HTTPException
    from starlette.requests import Request as StarletteRequest

    from serving.api.gate import PRINCIPAL

    who = Principal(key_id="gate-checked", scopes=frozenset({"score"}))
    limiter = RateLimiter(1.0, 1)
    state = SimpleNamespace(keys=KeyStore(tmp_path / "none.json"), limiter=limiter)
    app = SimpleNamespace(state=state)

    def request() -> StarletteRequest:
        return StarletteRequest(
            {"type": "http", "headers": [], "app": app, "state": {PRINCIPAL: who}}
        )

    assert caller(request(), "score") is who
    with pytest.raises(HTTPException) as over:
        caller(request(), "score")  # the one token was taken
    assert over.value.status_code == 429
    with pytest.raises(HTTPException) as lacking:
        caller(request(), "admin")
    assert lacking.value.status_code == 403


def test_the_route_that_checks_its_own_key_documents_the_key_schemes(
    keys: tuple[Path, str, str],
) -> None:
    spec = _app(keys[0]).openapi()
    schemes = spec["components"]["securitySchemes"]
    assert [next(iter(r)) for r in KEY_SECURITY] == list(schemes) == ["HTTPBearer", "APIKeyHeader"]
    # What a key dependency documents, which the score route declares by hand.
    assert spec["paths"]["/dep/score"]["get"]["security"] == KEY_SECURITY
