"""Model loads that must never take the server down (issue rows 4 and 5), on real servers.

A model file that LightGBM aborts on (a native ``std::terminate``, not an exception) used to
kill the process at start-up and on ``POST /v1/admin/reload``. Now a child process loads and
scores it first: the server answers 409 on reload (the old model serves on) and starts not
ready. The registry's hash check has its own tests (tests/serving/api/test_reload.py,
tests/models/test_model_check.py); here the registry agrees with the malformed bundle, as if
training had registered it so.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pandas as pd
import pytest
from bundletools import malform_native, record_in_registry
from reltools import (
    add_keys,
    app_settings,
    auth,
    lines_json,
    make_settings,
    register,
    server_process,
)

from models.scoring.bundle import ModelBundle
from models.scoring.lookup import client as mlflow_client

pytestmark = pytest.mark.integration


def _registry(root: Path, bundle: ModelBundle, champion_malformed: bool) -> SimpleNamespace:
    """v1: the good model; v2: the same bundle with a model file LightGBM aborts on."""
    settings = make_settings(root)
    v1 = register(bundle, settings)
    v2 = register(bundle, settings, alias=None)
    record_in_registry(settings, v2.name, v2.version, malform_native(v2.bundle_dir))
    if champion_malformed:
        mlflow_client(settings).set_registered_model_alias(v2.name, "champion", v2.version)
    return SimpleNamespace(settings=settings, v1=v1, v2=v2)


def test_malformed_model_on_reload_is_409_and_the_old_one_serves_on(
    tmp_path: Path, bundle: ModelBundle, lines: pd.DataFrame
) -> None:
    reg = _registry(tmp_path / "registry", bundle, champion_malformed=False)
    settings = app_settings(tmp_path / "app", reg)
    keys = add_keys(settings)
    body = {"lines": lines_json(lines.head(3))}
    with server_process(settings) as srv:
        mlflow_client(reg.settings).set_registered_model_alias("flrisk", "champion", reg.v2.version)
        t0 = time.monotonic()
        r = httpx.post(f"{srv.url}/v1/admin/reload", headers=auth(keys["admin"]), timeout=300)
        took = time.monotonic() - t0
        assert r.status_code == 409, r.text
        detail = r.json()["detail"]
        assert f"models:/flrisk/{reg.v2.version}: loading it in a child process failed" in detail
        assert "the child was killed by SIGABRT" in detail
        assert detail.endswith(f"still serving models:/flrisk/{reg.v1.version}")
        assert srv.proc.poll() is None  # alive
        ready = httpx.get(f"{srv.url}/readyz", timeout=30)
        assert ready.status_code == 200 and ready.json()["model"]["version"] == reg.v1.version
        r = httpx.post(f"{srv.url}/v1/score", json=body, headers=auth(keys["scorer"]), timeout=30)
        assert r.status_code == 200 and r.json()["model"]["version"] == reg.v1.version
        # Asked again: refused at once, from what the child said (no second child).
        r = httpx.post(f"{srv.url}/v1/admin/reload", headers=auth(keys["admin"]), timeout=300)
        assert r.status_code == 409 and "SIGABRT" in r.json()["detail"]
        assert srv.proc.poll() is None
    print(f"\nmalformed model on reload: 409 after {took:.1f} s, the old model serving on")


def test_malformed_champion_at_start_is_alive_and_not_ready(
    tmp_path: Path, bundle: ModelBundle
) -> None:
    reg = _registry(tmp_path / "registry", bundle, champion_malformed=True)
    settings = app_settings(tmp_path / "app", reg)
    keys = add_keys(settings)
    with server_process(settings, ready=False) as srv:
        deadline = time.monotonic() + 300
        while True:
            r = httpx.get(f"{srv.url}/readyz", timeout=30)
            assert r.status_code == 503, r.text
            if "refused" in (r.json()["model_error"] or ""):
                break
            assert time.monotonic() < deadline, r.json()
            time.sleep(0.2)
        body = r.json()
        assert body["status"] == "not ready" and body["model"] is None
        assert f"models:/flrisk/{reg.v2.version}" in body["model_error"]
        assert "SIGABRT" in body["model_error"]
        assert httpx.get(f"{srv.url}/healthz", timeout=30).status_code == 200
        assert srv.proc.poll() is None  # alive
        # Pointing the alias back at a good version makes it ready without a restart.
        mlflow_client(reg.settings).set_registered_model_alias("flrisk", "champion", reg.v1.version)
        r = httpx.post(f"{srv.url}/v1/admin/reload", headers=auth(keys["admin"]), timeout=300)
        assert r.status_code == 200 and r.json()["current"]["version"] == reg.v1.version, r.text
        assert httpx.get(f"{srv.url}/readyz", timeout=30).status_code == 200
