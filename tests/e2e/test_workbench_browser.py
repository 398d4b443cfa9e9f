"""An officer's day in a real browser: sign in, upload, rank, capacity, entry, outcome, export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.browser

NASTY = ['=HYPERLINK("http://evil","x")', "@SUM(A1:A2)", "+33 1 23", "-cmd"]
NO_OVERFLOW = "document.documentElement.scrollWidth <= document.documentElement.clientWidth"


def _day_file(sim_dir: Path, out: Path) -> Path:
    """One simulated day (~2,000 lines), a few importer names made formula-like."""
    lines = pd.read_csv(sim_dir / "score.csv", dtype=str, keep_default_na=False)
    first = sorted(lines["entry_date"].unique())[:3]
    day = lines[lines["entry_date"].isin(first)].head(2000).reset_index(drop=True)
    # Whole entries get the names: the export has one row per entry (its top line's importer).
    for name, entry_id in zip(NASTY, day["entry_id"].unique(), strict=False):
        day.loc[day["entry_id"] == entry_id, "importer_name"] = name
    path = out / "day.csv"
    day.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def officer(browser: Any, server: SimpleNamespace, screenshots: Path) -> Iterator[SimpleNamespace]:
    """A signed-in officer (1280x800) with a day uploaded."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(server.base + "/")
    assert page.url.endswith("/signin")
    page.fill("#api_key", "flr_not_a_key")
    page.click("button[type=submit]")
    assert "That API key is not valid" in page.inner_text("[role=alert]")
    page.fill("#api_key", server.key)
    page.screenshot(path=str(screenshots / "01-signin.png"))
    page.click("button[type=submit]")
    page.wait_for_url("**/worklists")
    page.screenshot(path=str(screenshots / "02-start.png"), full_page=True)
    day = _day_file(server.sim_dir, server.root)
    page.set_input_files("#file", str(day))
    page.click("form[action='/worklists/upload'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/worklists/[0-9a-f]{32}$"))
    yield SimpleNamespace(page=page, context=context, url=page.url, server=server, day=day)
    context.close()


def test_worklist_is_ranked_and_capacity_moves_the_cutoff(
    officer: SimpleNamespace, screenshots: Path
) -> None:
    page = officer.page
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() == 50
    scores = [
        float(t) for t in page.locator("table.worklist tbody tr td:nth-child(4)").all_inner_texts()
    ]
    assert scores == sorted(scores, reverse=True)
    first = rows.nth(0)
    assert first.locator(".band").inner_text().strip().lower() in {"high", "elevated", "low"}
    assert first.locator("td.reason").inner_text().strip() not in {"", "–"}  # top reason shown
    page.screenshot(path=str(screenshots / "03-worklist.png"), full_page=True)
    cutoff_50 = float(page.inner_text("#cutoff"))
    page.fill("#capacity", "10")
    page.fill("#explore", "0")  # the plain top of the ranking (random checks: below)
    page.click("form.inline button[type=submit]")
    page.wait_for_url(re.compile(r".*capacity=10.*"))
    cutoff_10 = float(page.inner_text("#cutoff"))
    assert cutoff_10 >= cutoff_50
    assert cutoff_10 == pytest.approx(scores[9], abs=1e-4)
    assert float(page.inner_text("#expected")) > 0
    assert page.locator("table.worklist tr.within").count() == 10
    page.select_option("#f-band", "high")
    page.click("form.filters button[type=submit]")
    # Read the filtered page, not the one still shown while a slow server answers.
    page.wait_for_url(re.compile(r".*band=high.*"))
    bands = page.locator("table.worklist tbody .band").all_inner_texts()
    assert bands and {b.strip().lower() for b in bands} == {"high"}
    page.goto(officer.url)


def test_entry_detail_shows_chart_evidence_and_records_an_outcome(
    officer: SimpleNamespace, screenshots: Path
) -> None:
    from models.store import AuditStore

    page = officer.page
    page.goto(officer.url)
    entry_id = page.locator("a.entry-link").first.inner_text().strip()
    page.locator("a.entry-link").first.click()
    page.wait_for_url(re.compile(r".*/entries/.*"))
    assert entry_id in page.inner_text("h1")
    chart = page.locator("svg.waterfall").first
    assert chart.is_visible()
    labels = chart.locator("text").all_text_contents()
    assert "baseline (average line)" in labels and "this line" in labels
    assert any(t.startswith(("+", "\u2212")) for t in labels)  # signed bar values
    assert page.locator(".evidence").first.is_visible()
    assert page.locator("#model-version").inner_text().startswith("models:/")
    page.screenshot(path=str(screenshots / "04-entry.png"), full_page=True)
    form = page.locator("form.outcome").first
    line_no = form.locator("input[name=line_no]").input_value()
    form.locator("input[value=detained]").check()
    form.locator("textarea").fill("Detained under WRO")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*saved=.*"))
    assert "Outcome recorded" in page.inner_text("#outcomes")
    assert "detained" in page.inner_text("#outcomes table")
    store = AuditStore(officer.server.audit_url)
    try:
        rows = store.audit_rows()
    finally:
        store.dispose()
    mine = [r for r in rows if r["entry_id"] == entry_id]
    assert {"workbench_view", "feedback"} <= {r["action"] for r in mine}
    outcome = [r for r in rows if r["action"] == "workbench_outcome"]
    assert outcome and f'"entry_id":"{entry_id}"' in outcome[-1]["input_json"]
    assert f'"line_no":{line_no}' in outcome[-1]["input_json"]


def test_random_checks_are_marked_and_their_outcome_is_stored_as_random(
    officer: SimpleNamespace, screenshots: Path
) -> None:
    from models.store import AuditStore

    page = officer.page
    page.goto(officer.url)
    page.fill("#capacity", "40")
    page.fill("#explore", "10")
    page.click("form.inline button[type=submit]")
    page.wait_for_url(re.compile(r".*explore=10.*"))
    assert page.inner_text("#random-checks").strip() == "4"
    assert float(page.inner_text("#explore-cost")) >= 0
    # The random checks are drawn from below the riskiest 36, anywhere in the list: page on
    # until one shows, marked.
    page.select_option("#f-size", "200")
    page.click("form.filters button[type=submit]")
    marked = page.locator("table.worklist tr.random-check")
    for _ in range(10):
        if marked.count():
            break
        page.click("a[rel=next]")
    assert marked.count() >= 1
    row = marked.first
    assert "random check" in row.inner_text()
    rank = int(row.locator("td").first.inner_text())
    assert rank > 36
    page.screenshot(path=str(screenshots / "09-random-check.png"), full_page=True)
    entry_id = row.locator("a.entry-link").inner_text().strip()
    row.locator("a.entry-link").click()
    page.wait_for_url(re.compile(r".*/entries/.*"))
    assert "Random check" in page.inner_text("#random-check")
    form = page.locator("form.outcome").first
    line_no = int(form.locator("input[name=line_no]").input_value())
    form.locator("input[value=released]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r".*saved=.*"))
    assert "random" in page.inner_text("#outcomes table")
    store = AuditStore(officer.server.audit_url)
    try:
        stored = [f for f in store.feedback_for(entry_id) if f["line_no"] == line_no]
    finally:
        store.dispose()
    assert stored and stored[-1]["inspection_reason"] == "random"


def test_export_is_defused_against_formula_injection(officer: SimpleNamespace) -> None:
    page = officer.page
    page.goto(officer.url)
    with page.expect_download() as info:
        page.click("#export")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) > 50  # every entry of the day, not just the shown page
    names = {r["importer_name"] for r in rows}
    for nasty in NASTY:
        assert nasty not in names and "'" + nasty in names
    for r in rows:
        assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in r.values())


def test_keyboard_reaches_the_worklist_and_opens_an_entry(officer: SimpleNamespace) -> None:
    page = officer.page
    page.goto(officer.url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('entry-link')"):
            break
    else:
        pytest.fail("Tab never reached an entry link")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # visible focus
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/entries/.*"))


def test_model_page_shows_version_metrics_and_plots(
    officer: SimpleNamespace, screenshots: Path
) -> None:
    page = officer.page
    page.goto(officer.server.base + "/model")
    assert page.inner_text("#model-v").strip().isdigit()
    assert "How well it finds violations" in page.inner_text("main")
    figures = page.inner_text("#figures")
    assert "What it means" in figures and "Hit rate, riskiest 5%" in figures
    assert "precision_at" not in figures  # plain names, not MLflow's
    assert "wider than 0.5" in page.inner_text("main")  # the "too small to tell" rule
    images = page.locator(".plots img")
    assert images.count() >= 2
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
        # A lazy image starts loading once scrolled to: wait for its load (or its error).
        width = images.nth(i).evaluate(
            "img => img.complete ? img.naturalWidth : new Promise(done => {"
            " img.addEventListener('load', () => done(img.naturalWidth), {once: true});"
            " img.addEventListener('error', () => done(0), {once: true}); })"
        )
        assert width > 0
    assert page.locator(".md table").count() >= 1  # metrics.md rendered
    page.screenshot(path=str(screenshots / "05-model.png"), full_page=True)


def test_bad_upload_shows_the_quarantine_report(
    officer: SimpleNamespace, screenshots: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "entry_id,line_no,entry_date,hts_code,country_of_origin\n"
        "E1,1,yesterday,6109.10.0012,CN\nE2,0,2025-01-02,12,VN\n"
    )
    page = officer.page
    page.goto(officer.server.base + "/worklists")
    page.set_input_files("#file", str(bad))
    page.click("form[action='/worklists/upload'] button[type=submit]")
    page.wait_for_selector("table.quarantine")
    text = page.inner_text("main")
    assert "could not be scored" in text and "yesterday" in text and "Traceback" not in text
    page.screenshot(path=str(screenshots / "06-bad-upload.png"), full_page=True)


def test_demo_date_can_be_picked(officer: SimpleNamespace) -> None:
    page = officer.page
    page.goto(officer.server.base + "/worklists")
    page.click("form[action='/worklists/demo'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/worklists/[0-9a-f]{32}$"))
    assert "demo data" in page.inner_text("h1")


def test_narrow_window_has_no_horizontal_overflow(
    browser: Any, officer: SimpleNamespace, screenshots: Path
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies(officer.context.cookies())
    page = context.new_page()
    try:
        page.goto(officer.url)
        assert page.evaluate(NO_OVERFLOW)
        page.screenshot(path=str(screenshots / "07-narrow-worklist.png"), full_page=True)
        page.locator("a.entry-link").first.click()
        page.wait_for_url(re.compile(r".*/entries/.*"))
        assert page.evaluate(NO_OVERFLOW)
        page.screenshot(path=str(screenshots / "08-narrow-entry.png"), full_page=True)
        page.goto(officer.server.base + "/model")
        assert page.evaluate(NO_OVERFLOW)
    finally:
        context.close()
    assert officer.page.evaluate(NO_OVERFLOW)  # and at 1280x800


def test_search_narrows_the_worklist(officer: SimpleNamespace, screenshots: Path) -> None:
    page = officer.page
    page.goto(officer.url)
    wanted = page.locator("a.entry-link").nth(4).inner_text().strip()
    page.fill("#f-q", wanted)
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*[?&]q=.*"))
    assert [t.strip() for t in page.locator("a.entry-link").all_inner_texts()] == [wanted]
    assert page.locator("table.worklist tbody td.status").first.inner_text().strip()
    page.screenshot(path=str(screenshots / "09-search.png"), full_page=True)
    # By importer, in another case than declared: every row shown names it.
    page.goto(officer.url)
    importer = page.locator("table.worklist tbody tr td:nth-child(7)").nth(10).inner_text()
    page.fill("#f-q", importer.strip().lower())
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r".*[?&]q=.*"))
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() >= 1 and "(filtered)" in page.inner_text("#wl-caption")
    for i in range(rows.count()):
        text = rows.nth(i).inner_text().lower()
        assert importer.strip().lower() in text
    page.fill("#f-q", "no such importer or supplier anywhere")
    page.click("form.filters button[type=submit]")
    assert "No entries match these filters." in page.inner_text("table.worklist")
    page.goto(officer.url)


def test_party_profile_page(officer: SimpleNamespace, screenshots: Path, browser: Any) -> None:
    page = officer.page
    page.goto(officer.url)
    link = page.locator("table.worklist a.party-link[href^='/parties/importer/']").first
    name = link.inner_text().strip()
    link.click()
    page.wait_for_url(re.compile(r".*/parties/importer/.*"))
    assert "Importer" in page.inner_text("h1")
    # The upload's per-line audit may still be running: the lines appear once it is written.
    for _ in range(60):
        if int(page.inner_text("#t-lines").replace(",", "")) > 0:
            break
        page.wait_for_timeout(1000)
        page.reload()
    assert int(page.inner_text("#t-lines").replace(",", "")) > 0
    spellings = page.locator("#party-cluster tbody tr td:first-child").all_inner_texts()
    assert name in [s.strip() for s in spellings]
    assert page.locator("svg.months").is_visible()
    assert page.locator("#party-months tbody tr").count() >= 1
    assert "UFLPA" in page.inner_text("#party-presumption")
    page.screenshot(path=str(screenshots / "10-party.png"), full_page=True)
    with page.expect_download() as dl:
        page.click("#party-export")
    text = Path(dl.value.path()).read_text(encoding="utf-8")
    assert "TOTAL" in text and "spellings_seen" in text
    # A period narrows it; the export follows the period.
    first = page.locator("#party-months tbody tr td:first-child").first.inner_text().strip()
    page.fill("#p-from", f"{first}-01")
    page.click("form.period button[type=submit]")
    page.wait_for_url(re.compile(r".*from=.*"))
    assert "from=" in (page.get_attribute("#party-export", "href") or "")
    narrow = browser.new_context(viewport={"width": 390, "height": 844})
    narrow.add_cookies(officer.context.cookies())
    try:
        p2 = narrow.new_page()
        p2.goto(page.url)
        assert p2.evaluate(NO_OVERFLOW)
    finally:
        narrow.close()
    page.goto(officer.url)
