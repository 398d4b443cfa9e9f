"""The importers' ``/check`` page: a key in the form (with its token) or in a header."""

from __future__ import annotations

import html
from types import SimpleNamespace

from checktools import by_id, page_token, post_list, report_of
from fastapi.testclient import TestClient

from serving.auth import create_key


def test_importer_key_in_the_form_shows_the_findings(api: SimpleNamespace) -> None:
    key = create_key(api.settings.keys_path(), "importer", ["check"])
    r = post_list(api.client, {"api_key": key, "csrf_token": page_token(api.client)})
    assert r.status_code == 200, r.text
    assert key not in r.text  # the key is never written back into the page
    assert "Worklists" not in r.text  # not the officers' workbench
    report = report_of(r.text)
    found = by_id(report["suppliers"])
    assert found["CLEAN"] == []
    upstream = [f for f in found["T1"] if f["evidence"].get("supplier_id") == "T3"]
    assert upstream[0]["evidence"]["path"] == ["T3", "T2", "T1"]
    shown = html.unescape(r.text)
    for findings in found.values():  # every finding's sentence is on the page, not only in data
        for f in findings:
            assert f["text"] in shown
    assert "No finding on the public lists." in shown
    assert 'id="bad-rows"' in r.text and "names no supplier_id" in shown


def test_form_without_its_token_is_refused(api: SimpleNamespace) -> None:
    key = create_key(api.settings.keys_path(), "importer", ["check"])
    page_token(api.client)
    r = post_list(api.client, {"api_key": key, "csrf_token": "forged"})
    assert r.status_code == 400 and 'id="report-data"' not in r.text
    fresh = TestClient(api.client.app)  # no cookie from the page at all
    r = post_list(fresh, {"api_key": key, "csrf_token": "forged"})
    assert r.status_code == 400


def test_key_in_a_header_needs_no_form_token(api: SimpleNamespace) -> None:
    key = create_key(api.settings.keys_path(), "importer", ["check"])
    fresh = TestClient(api.client.app)
    r = post_list(fresh, {}, headers={"X-API-Key": key})
    assert r.status_code == 200 and report_of(r.text)["tiers"]


def test_unknown_key_and_missing_scope_are_refused(api: SimpleNamespace) -> None:
    r = post_list(api.client, {"api_key": "flr_nope", "csrf_token": page_token(api.client)})
    assert r.status_code == 401 and "not valid" in r.text
    r = post_list(api.client, {"api_key": api.keys["scorer"],
                               "csrf_token": page_token(api.client)})  # fmt: skip
    assert r.status_code == 403 and "'check' scope" in html.unescape(r.text)
    key = create_key(api.settings.keys_path(), "importer", ["check"])
    r = post_list(api.client, {"api_key": key, "csrf_token": page_token(api.client)},
                  body="supplier_id,name\nA,B\n")  # fmt: skip
    assert r.status_code == 422 and "address" in r.text
