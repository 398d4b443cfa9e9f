"""API fuzzing: schemathesis against the live OpenAPI of a running server.

Every operation is called with generated inputs (valid and invalid), once with an all-scope
key and once as generated (no key, or a random one). Properties: no 5xx; every response
matches its documented status, content type and schema; protected routes never answer 2xx
without a valid key. The seed is fixed, so a run is reproducible.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import schemathesis
from conftest import add_keys, app_settings, auth, live_server
from schemathesis.config import SchemathesisConfig

pytestmark = pytest.mark.integration

SEED = 20251117
MAX_EXAMPLES = 30
PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs", "/redoc"}
CONFIG = f"""
seed = {SEED}
[generation]
max-examples = {MAX_EXAMPLES}
mode = "all"
database = "none"
"""
TALLY: Counter[str] = Counter()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, shared_registry: SimpleNamespace) -> Iterator[SimpleNamespace]:
    from serving.app import create_app

    root: Path = tmp_path_factory.mktemp("fuzz-app")
    # Generous limits: the fuzzer must reach the handlers, not the rate limiter.
    settings = app_settings(
        root, shared_registry, rate_limit_per_minute=1e6, rate_limit_burst=100_000,
        sync_file_lines=50,
    )  # fmt: skip
    keys = add_keys(settings)
    app = create_app(settings)
    with live_server(app) as url:
        yield SimpleNamespace(url=url, keys=keys, app=app)
    print(f"\nAPI fuzzing: {sum(TALLY.values())} requests, statuses {dict(sorted(TALLY.items()))}")


@pytest.fixture(scope="module")
def api_schema(live: SimpleNamespace) -> Any:
    config = SchemathesisConfig.from_str(CONFIG)
    return schemathesis.openapi.from_url(f"{live.url}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")




@schema.parametrize()
def test_every_operation(case: Any, live: SimpleNamespace) -> None:
    # 1. As generated: no key or a made-up one. Must never be a 2xx on a protected route.
    r = case.call(base_url=live.url, timeout=60)
    TALLY[str(r.status_code)] += 1
    assert r.status_code < 500, (case.method, case.path, r.status_code, r.text[:500])
    if case.path not in PUBLIC:
        assert not 200 <= r.status_code < 300, ("auth ignored", case.method, case.path, r.text[:300])
    case.validate_response(r)
    # 2. With an all-scope key: reaches the handler; still no 5xx and every answer documented.
    r = case.call(base_url=live.url, headers=auth(live.keys["admin"]), timeout=60)
    TALLY[str(r.status_code)] += 1
    assert r.status_code < 500, (case.method, case.path, r.status_code, r.text[:500])
    case.validate_response(r)
