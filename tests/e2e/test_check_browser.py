"""An importer in a real browser: the supplier self-check page with an importer key."""

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
from checktools import write_chain

from serving.auth import create_key

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SimpleNamespace]:
    """The app under uvicorn with an empty registry: the self-check needs no model."""
    root = tmp_path_factory.mktemp("e2e-check")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "FLRISK_DATA_DIR": str(root / "data"),
           # No registry answers (the discard port): the server starts without a model.
           "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
           "FLRISK_API_KEYS_FILE": str(root / "api_keys.json"),
           "FLRISK_AUDIT_URL": f"sqlite:///{root / 'audit.db'}",
           "FLRISK_BOOTSTRAP_KEY": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    log = (root / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "serving.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--log-level", "warning"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    try:
        while True:  # live, not ready: there is no model to load, and none is needed
            if proc.poll() is not None:
                raise RuntimeError(f"server exited: {(root / 'server.log').read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError("server not live in 300 s")
            time.sleep(0.3)
        yield SimpleNamespace(base=base, root=root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_importer_checks_a_three_tier_list(
    browser: Any, server: SimpleNamespace, screenshots: Path
) -> None:
    key = create_key(server.root / "api_keys.json", "importer-e2e", ["check"])
    suppliers = write_chain(server.root / "suppliers.csv")
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        page.goto(server.base + "/check")
        page.fill("#api_key", "flr_not_a_key")
        page.set_input_files("#file", str(suppliers))
        page.click("button[type=submit]")
        assert "not valid" in page.inner_text("[role=alert]")
        page.fill("#api_key", key)
        page.set_input_files("#file", str(suppliers))
        page.click("button[type=submit]")
        page.wait_for_selector("#suppliers")
        # The tier-1 supplier hears of the listed alias at tier 3, with the path.
        t1 = page.locator("tr[data-supplier='T1']")
        upstream = t1.locator(".finding[data-code='upstream']")
        assert upstream.count() == 2
        assert "T3 (Luopu Meixin Hair) -> T2 (Blue River Weaving Co) -> T1" in t1.inner_text()
        t3 = page.locator("tr[data-supplier='T3']")
        assert t3.locator(".finding[data-code='entity_list']").count() == 1
        t3.locator(".finding[data-code='entity_list'] summary").first.click()
        assert "UFLPA-0003" in t3.inner_text()
        x1 = page.locator("tr[data-supplier='X1']")
        assert x1.locator(".finding[data-code='xinjiang']").count() == 1
        clean = page.locator("tr[data-supplier='CLEAN']")
        assert "No finding on the public lists." in clean.inner_text()
        assert page.locator("#tiers tbody tr").count() == 3
        assert page.locator("#bad-rows tbody tr").count() == 5
        # The page's own stylesheet loaded under the CSP (nothing inline, nothing blocked).
        color = page.eval_on_selector(".none", "e => getComputedStyle(e).color")
        assert color == "rgb(46, 125, 50)"
        page.screenshot(path=str(screenshots / "20-check.png"), full_page=True)
        # The same key does not open the officers' workbench.
        page.goto(server.base + "/signin")
        page.fill("#api_key", key)
        page.click("button[type=submit]")
        assert "/check" in page.inner_text("[role=alert]")
        assert not page.url.endswith("/worklists")
        # Statuses the page answers on purpose (401, 403) and the favicon's 404 aside,
        # nothing went wrong in the browser: no script or style blocked by the CSP.
        assert [p for p in problems if not p.startswith("Failed to load resource")] == []
    finally:
        context.close()
