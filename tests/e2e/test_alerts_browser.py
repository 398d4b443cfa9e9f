"""The Alerts page in a real browser: a reference update alerts two scored lines; the count
shows in the navigation, filters narrow the list, an officer acknowledges one and opens the
entry line it names."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
import pytest

from models.reference import tables as reference
from pipelines import reference_cli

pytestmark = pytest.mark.browser

ENTITY = (
    "entity_id,name,aliases,list,sector,region,country,effective_date,citation,source\n"
    "UFLPA-9100,Platypus Textile Dyeing Co. Ltd,Platypus Dyeing,UFLPA,apparel,Xinjiang,CN,"
    "2030-01-01,99 FR 1 (2030-01-01),browser test\n"
)


def _score_two(server: SimpleNamespace) -> None:
    lines = pd.read_csv(server.sim_dir / "score.csv", dtype=str, keep_default_na=False).head(4)
    body = []
    for i, row in enumerate(lines.to_dict("records")):
        line = {k: v for k, v in row.items() if v != "" and k not in ("inspected", "violation")}
        line["entry_id"] = f"BROWSER-{i}"
        line["manufacturer_name"] = f"ORDINARY MAKER {i} LTD"
        body.append(line)
    body[1]["manufacturer_name"] = "PLATYPUS TEXTILE DYEING CO LTD"
    body[3]["manufacturer_name"] = "Platypus Textile Dyeing Company Limited"
    r = httpx.post(f"{server.base}/v1/score", json={"lines": body, "reasons": 0},
                   headers={"Authorization": f"Bearer {server.key}"}, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text


def test_alerts_page_counts_filters_acknowledges_and_links_the_entry(
    browser: Any, server: SimpleNamespace, screenshots: Path, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    _score_two(server)
    source = tmp_path / "entities.csv"
    source.write_text(ENTITY)
    monkeypatch.setenv(reference.ENV_DIR, str(server.root / "data" / "reference"))
    reference_cli.update(str(source), "entities", entities_rows=True)
    reference.clear_caches()
    headers = {"Authorization": f"Bearer {server.key}"}
    deadline = time.monotonic() + 120
    while True:
        got = httpx.get(f"{server.base}/v1/alerts", headers=headers, timeout=30).json()["alerts"]
        if len([a for a in got if a["entry_id"].startswith("BROWSER-")]) == 2:
            break
        assert time.monotonic() < deadline, got
        time.sleep(0.5)

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(server.base + "/signin")
    page.fill("#api_key", server.key)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklists")
    count = page.inner_text("#nav-alerts .count")
    assert int(count) >= 2
    page.click("#nav-alerts")
    page.wait_for_url("**/alerts")
    rows = page.locator("#alerts tbody tr")
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    ours = [t for t in texts if "BROWSER-" in t]
    assert sorted(t.split()[2] for t in ours) == ["BROWSER-1", "BROWSER-3"], ours
    # Listed in 2030, after the lines' entry dates: matched (listed later), not presumed.
    assert all("matched" in t and "Platypus Textile Dyeing" in t for t in ours)
    page.screenshot(path=str(screenshots / "20-alerts.png"), full_page=True)
    # A filter on a kind with no alert of ours hides them.
    page.select_option("#f-kind", "partner")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/alerts?**kind=partner**")
    assert "BROWSER-" not in page.inner_text("main")
    page.select_option("#f-kind", "matched")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/alerts?**kind=matched**")
    # Acknowledge one: it leaves the new list, the count drops.
    row = page.locator("#alerts tbody tr", has_text="BROWSER-1")
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url("**/alerts?saved=*")
    assert "acknowledged" in page.inner_text("[role=status]")
    assert "BROWSER-1 " not in page.inner_text("#alerts") + " "
    assert int(page.inner_text("#nav-alerts .count")) == int(count) - 1
    # The entry link opens the line as it was scored, with the alert's evidence.
    page.locator("#alerts a", has_text="BROWSER-3").click()
    page.wait_for_url("**/alerts/*")
    assert "Entry BROWSER-3" in page.inner_text("h1")
    assert "Platypus Textile Dyeing Company Limited" in page.inner_text("#line")
    page.screenshot(path=str(screenshots / "21-alert-entry.png"), full_page=True)
    context.close()
