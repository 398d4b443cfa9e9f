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
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from serving.api.deps import AdminKey, BatchKey, FeedbackKey, ScoreKey, request_id, require, scoring
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
    # The scope dependencies are made here, as the routes' module-level aliases are at import.
    app = FastAPI()
    app.state.keys = KeyStore(keys)
    app.state.limiter = RateLimiter(per_minute, burst)

    @app.get("/score")
    async def score(
        who: Annotated[Principal, Depends(require("score"))],
        rid: Annotated[str, Depends(request_id)],
    ) -> dict[str, str]:
        return {"key_id": who.key_id, "request_id": rid}

    @app.get("/admin")
    async def admin(who: Annotated[Principal, Depends(require("admin"))]) -> dict[str, str]:
        return {"key_id": who.key_id}

    return app


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str, str]:
    path = tmp_path / "keys.json"
    scorer = create_key(path, "screening-1", ["score"])
    admin = create_key(path, "ops-1", ["admin", "score"])
    return path, scorer, admin


def test_a_key_is_accepted_as_bearer_or_x_api_key(keys: tuple[Path, str, str]) -> None:
    path, scorer, _ = keys
    client = TestClient(_app(path))
    for headers in ({"Authorization": f"Bearer {scorer}"}, {"X-API-Key": scorer}):
        r = client.get("/score", headers=headers)
        assert r.status_code == 200, headers
        assert r.json()["key_id"] == "screening-1"
        assert r.headers["X-Request-ID"] == r.json()["request_id"] != ""


def test_the_bearer_key_wins_over_x_api_key(keys: tuple[Path, str, str]) -> None:
    path, scorer, admin = keys
    client = TestClient(_app(path))
    r = client.get("/score", headers={"Authorization": f"Bearer {admin}", "X-API-Key": scorer})
    assert r.json()["key_id"] == "ops-1"


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": ""}, {"X-API-Key": "flr_unknown"}, {"Authorization": "Bearer flr_nope"}],
)
def test_a_missing_or_unknown_key_is_401_with_a_bearer_challenge(
    keys: tuple[Path, str, str], headers: dict[str, str]
) -> None:
    client = TestClient(_app(keys[0]))
    r = client.get("/score", headers=headers)
    assert r.status_code == 401
    assert r.json() == {"detail": "missing or unknown API key"}
    assert r.headers["WWW-Authenticate"] == "Bearer"


def test_a_key_without_the_scope_is_403_naming_the_scope(keys: tuple[Path, str, str]) -> None:
    path, scorer, admin = keys
    client = TestClient(_app(path))
    r = client.get("/admin", headers={"X-API-Key": scorer})
    assert r.status_code == 403
    assert r.json() == {"detail": "this key lacks the 'admin' scope"}
    assert client.get("/admin", headers={"X-API-Key": admin}).status_code == 200


def test_a_key_over_its_rate_is_429_and_other_keys_are_not(keys: tuple[Path, str, str]) -> None:
    path, scorer, admin = keys
    client = TestClient(_app(path, per_minute=1.0, burst=2))
    ok = [client.get("/score", headers={"X-API-Key": scorer}).status_code for _ in range(2)]
    assert ok == [200, 200]
    r = client.get("/score", headers={"X-API-Key": scorer})
    assert r.status_code == 429
    # One token a minute: the next one is about 60 s away.
    assert 55 <= int(r.headers["Retry-After"]) <= 60
    assert client.get("/score", headers={"X-API-Key": admin}).status_code == 200


def test_a_refused_scope_takes_no_token_from_the_rate(keys: tuple[Path, str, str]) -> None:
    path, scorer, _ = keys
    client = TestClient(_app(path, per_minute=1.0, burst=1))
    assert client.get("/admin", headers={"X-API-Key": scorer}).status_code == 403
    assert client.get("/score", headers={"X-API-Key": scorer}).status_code == 200


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
