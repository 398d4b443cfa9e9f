"""Tips and cases in the workbench (TestClient): file and triage a tip, a case from an entry."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from test_workbench import csrf_of, day_csv, sign_in, upload

from models.feedback import load_feedback_lines

SUPPLIER = "KASHGAR GOLDEN THREAD COTTON CO LTD"


@pytest.fixture
def officer(make_client: Callable[..., Any], model_source: SimpleNamespace) -> SimpleNamespace:
    client, keys, settings = make_client()
    csrf = sign_in(client, keys["admin"])
    return SimpleNamespace(client=client, csrf=csrf, settings=settings, lines=model_source.lines)


def _tip_form(csrf: str, **extra: str) -> dict[str, str]:
    return {"csrf_token": csrf, "party_role_0": "manufacturer",
            "party_name_0": "Kashgar Golden Thread Cotton Limited", "hs": "5205",
            "description": "cotton yarn", "country": "cn", "allegation": "Detained workers.",
            "source_type": "ngo", "received_date": "2020-01-01", **extra}  # fmt: skip


def test_a_tip_filed_in_the_workbench_is_a_reason_on_the_entry_page(
    officer: SimpleNamespace,
) -> None:
    c = officer.client
    r = c.post("/tips", data=_tip_form(officer.csrf))
    assert r.status_code == 200 and "Tip filed" in r.text, r.text
    tip_id = int(re.search(r"/tips/(\d+)", str(r.url)).group(1))  # type: ignore[union-attr]
    assert f"#{tip_id}" in c.get("/tips").text  # in the queue of new tips
    n = len(officer.lines.head(30))
    r = upload(c, officer.csrf, day_csv(officer.lines.head(30), manufacturer_name=[SUPPLIER] * n))
    assert r.status_code == 200, r.text
    link = re.search(r'href="(/worklists/[0-9a-f]+/entries/[^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    page = c.get(link).text
    assert f"names this manufacturer (tip {tip_id})" in page
    assert 'action="/cases"' in page  # the officer may open a case here

    triage = {"csrf_token": officer.csrf, "status": "dismissed", "note": "hoax"}
    r = c.post(f"/tips/{tip_id}/triage", data=triage)
    assert r.status_code == 200 and "dismissed" in r.text
    assert "names this manufacturer" not in c.get(link).text
    r = c.post("/tips", data=_tip_form(officer.csrf, allegation=""))
    assert r.status_code == 422 and "Tip not filed" in r.text


def test_a_case_opened_from_an_entry_is_changed_documented_and_closed(
    officer: SimpleNamespace,
) -> None:
    c = officer.client
    r = upload(c, officer.csrf, day_csv(officer.lines.head(30)))
    wl_id = str(r.url).rstrip("/").rsplit("/", 1)[-1]
    entry_page = c.get(re.search(r'href="(/worklists/[0-9a-f]+/entries/[^"]+)"', r.text).group(1))  # type: ignore[union-attr]
    entry_id = re.search(r'name="entry_id" value="([^"]+)"', entry_page.text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": officer.csrf, "wl_id": wl_id, "entry_id": entry_id, "line_no": "",
            "date": "2024-02-03", "note": "held"}  # fmt: skip
    r = c.post("/cases", data=form)
    assert r.status_code == 200 and "Case #" in r.text, r.text
    case_url = str(r.url)
    csrf = csrf_of(r.text)
    step = {"csrf_token": csrf, "status": "admissibility_review", "date": "2024-02-10"}
    assert c.post(f"{case_url}/change", data=step).status_code == 200
    r = c.post(f"{case_url}/documents", data={"csrf_token": csrf},
               files={"file": ("letter.pdf", b"%PDF-1.4 test", "application/pdf")})  # fmt: skip
    assert r.status_code == 200 and "letter.pdf" in r.text
    r = c.post(f"{case_url}/documents", data={"csrf_token": csrf},
               files={"file": ("letter.pdf", b"plain words", "application/pdf")})  # fmt: skip
    assert r.status_code == 422 and "Document not attached" in r.text
    r = c.post(f"{case_url}/change", data={"csrf_token": csrf, "status": "re_exported"})
    assert r.status_code == 200 and "This case is closed" in r.text
    assert c.get("/cases?status=re_exported").text.count("case-link") == 1
    labels = load_feedback_lines(officer.settings, [*officer.lines.columns]).frame
    assert len(labels) >= 1 and set(labels["entry_id"]) == {entry_id}
    assert set(labels["violation"]) == {1.0}
    # Without the form's token nothing changes.
    r = c.post("/cases", data={**form, "csrf_token": "forged"})
    assert r.status_code == 403
