"""Leads and cases in a real browser: file a tip, see it on the entry, open a case, close it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest

from models.feedback import load_feedback_lines
from models.settings import Settings

pytestmark = pytest.mark.browser
NO_OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


@pytest.fixture(scope="module")
def desk(browser: Any, server: SimpleNamespace, tmp_path_factory: Any) -> Iterator[SimpleNamespace]:
    """A signed-in officer and a small day whose first entry's manufacturer a tip will name."""
    lines = pd.read_csv(server.sim_dir / "score.csv", dtype=str, keep_default_na=False)
    first = sorted(lines["entry_date"].unique())[0]
    day = lines[lines["entry_date"] == first].head(300).reset_index(drop=True)
    named = day[day["manufacturer_name"] != ""].iloc[0]
    path = tmp_path_factory.mktemp("tips") / "small-day.csv"
    day.to_csv(path, index=False)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(server.base + "/signin")
    page.fill("#api_key", server.key)
    page.click("button[type=submit]")
    page.wait_for_url("**/worklists")
    yield SimpleNamespace(page=page, context=context, server=server, day=path,
                          entry_id=str(named["entry_id"]), supplier=str(named["manufacturer_name"]),
                          first=first)  # fmt: skip
    context.close()


def test_file_a_tip_open_a_case_attach_a_document_and_close_it(
    desk: SimpleNamespace, screenshots: Path, tmp_path: Path
) -> None:
    page, base = desk.page, desk.server.base
    # File a tip naming the supplier, in another spelling, received before the day.
    page.click("nav >> text=Tips")
    page.wait_for_url("**/tips")
    page.select_option("#party_role_0", "manufacturer")
    page.fill("#party_name_0", desk.supplier.lower() + " limited")
    page.fill("#hs", "6109")
    page.fill("#country", "CN")
    page.fill("#allegation", "Workers' passports withheld at the mill.")
    page.select_option("#source_type", "ngo")
    page.fill("#received_date", "2001-01-01")
    page.click("form.tip-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/tips/\d+\?filed=1$"))
    tip_id = int(re.search(r"/tips/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    assert "Tip filed" in page.inner_text("[role=status]")
    page.goto(base + "/tips")
    assert f"#{tip_id}" in page.inner_text("table.tips")
    page.screenshot(path=str(screenshots / "20-tips.png"), full_page=True)

    # The entry of that supplier shows the tip as evidence.
    page.goto(base + "/worklists")
    page.set_input_files("#file", str(desk.day))
    page.click("form[action='/worklists/upload'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/worklists/[0-9a-f]{32}$"))
    page.goto(f"{page.url}/entries/{quote(desk.entry_id, safe='')}")
    reasons = page.locator(".tip-reason").all_inner_texts()
    assert reasons and all(f"(tip {tip_id})" in r for r in reasons)
    assert page.evaluate(NO_OVERFLOW)

    # Open a case from the entry, on the tip.
    form = page.locator("form.open-case")
    assert str(tip_id) in form.locator("#case-open-tips").input_value()
    form.locator("#case-open-date").fill(desk.first)
    form.locator("#case-open-note").fill("Held at the port on the NGO's report.")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/cases/\d+$"))
    case_url = page.url
    assert page.inner_text("#case-status") == "detained"
    assert desk.entry_id in page.inner_text(".case-lines")

    # Attach a document: a PDF by its content.
    pdf = tmp_path / "detention-notice.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")
    page.set_input_files("#doc-file", str(pdf))
    page.click("form.attach button[type=submit]")
    page.wait_for_url(re.compile(r".*#documents$"))
    docs = page.inner_text("table.documents")
    assert "detention-notice.pdf" in docs and "application/pdf" in docs

    # Review, then close as excluded.
    for status in ("admissibility_review", "excluded"):
        page.select_option("#case-next", status)
        page.click("form.case-change button[type=submit]")
        page.wait_for_url(re.compile(r".*saved=1$"))
        assert page.inner_text("#case-status") == status.replace("_", " ")
    assert "This case is closed" in page.inner_text("main")
    trail = page.locator("table.trail tbody tr")
    assert trail.count() == 4  # open, document, two status changes
    page.screenshot(path=str(screenshots / "21-case.png"), full_page=True)
    assert page.evaluate(NO_OVERFLOW)
    page.goto(base + "/cases?status=excluded")
    assert page.locator("a.case-link", has_text=case_url.rsplit("/", 1)[-1]).count() == 1

    # The outcome is the entry's label for the next training run.
    settings = Settings(data_dir=desk.server.root, audit_url=desk.server.audit_url)
    labels = load_feedback_lines(
        settings, ["entry_id", "line_no", "violation", "inspection_reason"]
    )
    mine = labels.frame[labels.frame["entry_id"] == desk.entry_id]
    assert len(mine) >= 1 and set(mine["violation"]) == {1.0}
    assert set(mine["inspection_reason"]) == {"tip"}
