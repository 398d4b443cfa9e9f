"""Browser-test fixtures: the real app under uvicorn, and Debian's Chromium driven by Playwright.

The server runs in a subprocess against the test session's registered model (``registered_model``
in tests/conftest.py) with its own keys file, audit store and demo data, so the tests see
exactly what an officer would. Chromium is the system one (/usr/bin/chromium): no browser
download. Without it the tests are skipped with the reason; CI installs it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian chromium is not installed at /usr/bin/chromium (apt-get install chromium)"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def server(
    chromium_path: Path, registered_model: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimpleNamespace]:
    """``flrisk serve``'s app on a free port, with an all-scope key and the simulated demo day."""
    from serving.auth import SCOPES, create_key

    root = tmp_path_factory.mktemp("e2e")
    keys_file = root / "api_keys.json"
    key = create_key(keys_file, "officer-e2e", SCOPES)
    audit_url = f"sqlite:///{root / 'audit.db'}"
    port = _free_port()
    env = {
        **os.environ,
        "FLRISK_DATA_DIR": str(root / "data"),
        "MLFLOW_TRACKING_URI": registered_model.settings.tracking_uri(),
        "FLRISK_API_KEYS_FILE": str(keys_file),
        "FLRISK_AUDIT_URL": audit_url,
        "FLRISK_BOOTSTRAP_KEY": "false",
        "FLRISK_DEMO_DATA": str(registered_model.sim_dir / "score.csv"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serving.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    # A busy shared machine can take minutes to load and check the model.
    ready_s = float(os.environ.get("FLRISK_E2E_READY_S", "120"))
    deadline = time.time() + ready_s
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(root / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"server not ready in {ready_s:.0f} s")
            time.sleep(0.3)
        yield SimpleNamespace(base=base, key=key, audit_url=audit_url, root=root,
                              sim_dir=registered_model.sim_dir)  # fmt: skip
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
