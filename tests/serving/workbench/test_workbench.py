"""The officer workbench through TestClient (the pure worklist functions: test_worklist.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from servetools import HEADER, expanding_parquet, lines_json, no_paths, wide_csv

from models.feedback import load_feedback_lines

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def sign_in(client: TestClient, key: str) -> str:
    page = client.get("/signin")
    r = client.post("/signin", data={"api_key": key, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 200, r.text
    return csrf_of(r.text)


def day_csv(frame: pd.DataFrame, **overrides: list[str]) -> bytes:
    raw = pd.DataFrame(lines_json(frame))
    for col, values in overrides.items():
        raw.loc[: len(values) - 1, col] = values
    return raw.to_csv(index=False).encode()


def upload(client: TestClient, csrf: str, body: bytes, name: str = "day.csv") -> Any:
    return client.post(
        "/worklists/upload", data={"csrf_token": csrf}, files={"file": (name, body, "text/csv")}
    )


@pytest.fixture
def wb(make_client: Callable[..., Any], model_source: SimpleNamespace) -> SimpleNamespace:
    client, keys, settings = make_client()
    return SimpleNamespace(client=client, keys=keys, settings=settings, lines=model_source.lines)


@pytest.fixture
def signed_in(wb: SimpleNamespace) -> SimpleNamespace:
    wb.csrf = sign_in(wb.client, wb.keys["admin"])
    return wb


def _worklist_id(url: Any) -> str:
    return str(url).rstrip("/").rsplit("/", 1)[-1]


# ------------------------------------------------------------------ sign-in and CSRF


def test_wrong_key_gets_a_readable_error_and_no_session(wb: SimpleNamespace) -> None:
    page = wb.client.get("/signin")
    r = wb.client.post("/signin", data={"api_key": "flr_wrong", "csrf_token": csrf_of(page.text)})
    assert r.status_code == 401
    assert "That API key is not valid" in r.text
    assert "Traceback" not in r.text
    assert "flrisk_session" not in r.cookies
    actions = [row["action"] for row in wb.client.app.state.store.audit_rows()]
    assert "workbench_signin_failed" in actions


def test_signin_without_its_form_token_is_refused(wb: SimpleNamespace) -> None:
    r = wb.client.post("/signin", data={"api_key": wb.keys["admin"], "csrf_token": "forged"})
    assert r.status_code == 400
    assert "expired" in r.text


def test_session_cookie_is_httponly_and_samesite_strict(wb: SimpleNamespace) -> None:
    page = wb.client.get("/signin")
    r = wb.client.post(
        "/signin",
        data={"api_key": wb.keys["admin"], "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"].lower()
    assert "flrisk_session=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert any(
        row["action"] == "workbench_signin" and row["key_id"] == "admin"
        for row in wb.client.app.state.store.audit_rows()
    )


def test_pages_need_a_session(wb: SimpleNamespace) -> None:
    for path in ("/worklists", "/model", "/worklists/abc"):
        r = wb.client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/signin", path


def test_post_with_a_wrong_csrf_token_is_refused(signed_in: SimpleNamespace) -> None:
    r = upload(signed_in.client, "not-the-token", day_csv(signed_in.lines))
    assert r.status_code == 403
    assert "security token" in r.text
    r = signed_in.client.post("/signout", data={})
    assert r.status_code == 403


def test_key_without_score_scope_sees_a_readable_403(wb: SimpleNamespace) -> None:
    page = wb.client.get("/signin")
    r = wb.client.post(
        "/signin", data={"api_key": wb.keys["officer"], "csrf_token": csrf_of(page.text)}
    )
    assert r.url.path == "/worklists"
    assert r.status_code == 403
    assert "lacks the &#39;score&#39; scope" in r.text


def test_sign_out_ends_the_session(signed_in: SimpleNamespace) -> None:
    r = signed_in.client.post("/signout", data={"csrf_token": signed_in.csrf})
    assert r.url.path == "/signin"
    assert signed_in.client.get("/worklists", follow_redirects=False).status_code == 303


def test_revoking_the_key_ends_its_sessions(signed_in: SimpleNamespace) -> None:
    from models.keys import revoke_key

    assert signed_in.client.get("/worklists", follow_redirects=False).status_code == 200
    revoke_key(signed_in.settings.keys_path(), "admin")
    r = signed_in.client.get("/worklists", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/signin"


# ------------------------------------------------------------------ pages


def test_upload_ranks_entries_and_pages_render(signed_in: SimpleNamespace) -> None:
    c = signed_in.client
    r = upload(c, signed_in.csrf, day_csv(signed_in.lines))
    assert r.status_code == 200, r.text
    assert "Examination capacity" in r.text and "Export this worklist" in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'")
    wl = c.app.state.workbench.worklists.get(_worklist_id(r.url))
    # Presumed entries first (the law), then by score within each part.
    presumed = (wl.entries["presumption"] != "").to_numpy()
    assert (presumed[:-1] >= presumed[1:]).all()
    for part in (presumed, ~presumed):
        scores = wl.entries["risk_score"].to_numpy()[part]
        assert (scores[:-1] >= scores[1:]).all()
    # The page's first entry is the riskiest, and its link opens the entry.
    link = re.search(r'class="entry-link" href="([^"]+)"', r.text)
    assert link and wl.entries["entry_id"].iloc[0] in link.group(1)
    entry = c.get(link.group(1))
    assert entry.status_code == 200
    assert '<svg class="waterfall"' in entry.text and "baseline" in entry.text
    assert wl.model.resolved.uri in entry.text
    assert "Record the inspection result" in entry.text
    # Reasons in two groups; "no match on the entity lists" only ever lowers the risk.
    assert "What raises the risk" in entry.text and "What lowers it" in entry.text
    raises = entry.text.split("What raises the risk", 1)[1].split("What lowers it", 1)[0]
    assert 'class="contrib up"' in raises and 'class="contrib down"' not in raises
    assert "No match on the entity lists" not in raises
    page = c.get("/model")
    assert page.status_code == 200
    # Plain names, a sentence each, intervals and the "too small to tell" rule.
    figures = page.text.split('id="figures"', 1)[1].split("</table>", 1)[0]
    assert "Hit rate, riskiest 5%" in figures and "What it means" in figures
    assert "precision_at" not in figures and "0.300 to 0.700" in figures
    p_at_1 = figures.split("Hit rate, riskiest 1%", 1)[1].split("</tr>", 1)[0]
    assert "too small to tell" in p_at_1  # 0.000 [0, 0] on a random sample is no result
    assert "too small to tell" not in figures.split("Ranking quality", 1)[1].split("</tr>")[0]
    assert "wider than 0.5" in page.text
    filtered = c.get(f"/worklists/{wl.id}?band=high&sort=importer&order=asc&page=99&size=25")
    assert filtered.status_code == 200


def test_uploaded_text_is_escaped(signed_in: SimpleNamespace) -> None:
    evil = "<script>alert(1)</script>"
    # On every line of the first entry: the worklist shows an entry's riskiest line, and
    # which line that is depends on the model.
    ids = signed_in.lines["entry_id"].astype(str)
    n = int((ids == ids.iloc[0]).cumprod().sum())
    body = day_csv(signed_in.lines, importer_name=[evil] * n)
    r = upload(signed_in.client, signed_in.csrf, body)
    wl = signed_in.client.app.state.workbench.worklists.get(_worklist_id(r.url))
    entry_id = wl.lines.iloc[0]["entry_id"]
    rank = int(wl.entries.loc[wl.entries["entry_id"] == entry_id, "rank"].iloc[0])
    page = signed_in.client.get(f"/worklists/{wl.id}?page={(rank - 1) // 50 + 1}")
    assert evil not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_outcome_goes_to_the_feedback_store_and_the_audit_log(signed_in: SimpleNamespace) -> None:
    c = signed_in.client
    r = upload(c, signed_in.csrf, day_csv(signed_in.lines))
    wl = c.app.state.workbench.worklists.get(_worklist_id(r.url))
    entry_id, line_no = str(wl.entries["entry_id"].iloc[0]), int(wl.entries["top_line_no"].iloc[0])
    r = c.post(
        f"/worklists/{wl.id}/outcome",
        data={"csrf_token": signed_in.csrf, "entry_id": entry_id, "line_no": str(line_no),
              "outcome": "detained", "inspection_reason": "targeted", "note": "WRO match"},
    )  # fmt: skip
    assert r.status_code == 200 and "Outcome recorded" in r.text
    store = c.app.state.store
    rows = store.audit_rows()
    actions = {row["action"] for row in rows}
    assert {"workbench_upload", "workbench_score", "workbench_view", "feedback"} <= actions
    assert "workbench_outcome" in actions
    (fb,) = store.feedback_for(entry_id)
    assert fb["source"] == "workbench" and fb["line_status"] == "labelled"
    assert store.has_decision(entry_id, line_no, fb["decision_id"])  # it can be learned from
    got = load_feedback_lines(signed_in.settings, [*signed_in.lines.columns])
    assert got.unscored == 0 and got.invalid == 0
    assert any(
        e == entry_id and v == 1
        for e, v in zip(got.frame["entry_id"], got.frame["violation"], strict=True)
    )


def test_outcome_needs_a_valid_choice(signed_in: SimpleNamespace) -> None:
    c = signed_in.client
    r = upload(c, signed_in.csrf, day_csv(signed_in.lines))
    wl_id = _worklist_id(r.url)
    r = c.post(
        f"/worklists/{wl_id}/outcome",
        data={"csrf_token": signed_in.csrf, "entry_id": "x", "line_no": "1", "outcome": "maybe"},
    )
    assert r.status_code == 422 and "Pick one of: released, detained, excluded, seized" in r.text


def test_export_is_guarded_against_formula_injection(signed_in: SimpleNamespace) -> None:
    c = signed_in.client
    nasty = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"]
    raw = pd.DataFrame(lines_json(signed_in.lines))
    # Whole entries get the names: the export has one row per entry (its top line's importer).
    for name, entry_id in zip(nasty, raw["entry_id"].unique(), strict=False):
        raw.loc[raw["entry_id"] == entry_id, "importer_name"] = name
    r = upload(c, signed_in.csrf, raw.to_csv(index=False).encode())
    wl_id = _worklist_id(r.url)
    r = c.get(f"/worklists/{wl_id}/export.csv?capacity=5")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    names = {row["importer_name"] for row in rows}
    for value in nasty:
        assert value not in names
    assert any(n.startswith("'=HYPERLINK") for n in names)
    assert any(n.startswith("'@SUM") for n in names)
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert sum(row["within_capacity"] == "yes" for row in rows) == 5
    assert "workbench_export" in {row["action"] for row in c.app.state.store.audit_rows()}


def test_upload_without_a_required_column_says_which(signed_in: SimpleNamespace) -> None:
    body = pd.DataFrame(lines_json(signed_in.lines)).drop(columns=["hts_code"]).to_csv(index=False)
    r = upload(signed_in.client, signed_in.csrf, body.encode())
    assert r.status_code == 422
    assert "hts_code" in r.text and "could not be scored" in r.text
    assert "Traceback" not in r.text


def test_upload_of_only_bad_rows_shows_the_quarantine_report(signed_in: SimpleNamespace) -> None:
    body = (
        b"entry_id,line_no,entry_date,hts_code,country_of_origin\n"
        b"E1,1,not-a-date,6109.10.0012,CN\n"
        b"E2,0,2025-01-02,12,ZZ\n"
    )
    r = upload(signed_in.client, signed_in.csrf, body)
    assert r.status_code == 422
    assert "Quarantine report" in r.text
    assert "entry_date" in r.text and "hts_code" in r.text
    assert "not-a-date" in r.text


def test_upload_of_another_kind_of_file_is_refused_in_words(signed_in: SimpleNamespace) -> None:
    r = upload(signed_in.client, signed_in.csrf, b"%PDF-1.4", name="manifest.pdf")
    assert r.status_code == 422
    assert "not a CSV or Parquet file" in r.text


def test_partly_bad_upload_scores_the_good_rows_and_reports_the_rest(
    signed_in: SimpleNamespace,
) -> None:
    body = day_csv(signed_in.lines, entry_date=["31/12/2024"])
    r = upload(signed_in.client, signed_in.csrf, body)
    assert r.status_code == 200
    assert "problem(s) in the file" in r.text and "31/12/2024" in r.text


def test_demo_date_opens_a_worklist(
    make_client: Callable[..., Any],
    model_source: SimpleNamespace,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "demo.csv"
    path.write_bytes(day_csv(model_source.lines))
    monkeypatch.setenv("FLRISK_DEMO_DATA", str(path))
    client, keys, _ = make_client()
    csrf = sign_in(client, keys["admin"])
    start = client.get("/worklists")
    date = re.search(r'<option value="(\d{4}-\d\d-\d\d)"', start.text)
    assert date, start.text
    r = client.post("/worklists/demo", data={"csrf_token": csrf, "date": date.group(1)})
    assert r.status_code == 200 and f"demo data, {date.group(1)}" in r.text
    again = client.post("/worklists/demo", data={"csrf_token": csrf, "date": date.group(1)})
    assert again.url == r.url  # the same day is not scored twice


def test_worklists_belong_to_their_key(wb: SimpleNamespace) -> None:
    csrf = sign_in(wb.client, wb.keys["admin"])
    r = upload(wb.client, csrf, day_csv(wb.lines))
    wl_url = str(r.url)
    other = TestClient(wb.client.app)
    sign_in(other, wb.keys["scorer"])
    assert other.get(wl_url).status_code == 404


def test_per_line_audit_rows_are_written(signed_in: SimpleNamespace) -> None:
    c = signed_in.client
    r = upload(c, signed_in.csrf, day_csv(signed_in.lines))
    wl = c.app.state.workbench.worklists.get(_worklist_id(r.url))
    assert wl.audit is not None
    wl.audit.result(timeout=60)
    deadline = time.time() + 5
    rows = [
        x for x in c.app.state.store.audit_rows(wl.request_id) if x["action"] == "workbench_score"
    ]
    while len(rows) < len(wl.lines) and time.time() < deadline:
        time.sleep(0.1)
    assert len(rows) == len(wl.lines)
    assert all(x["input_json"] and x["model_version"] == wl.model.resolved.uri for x in rows)


def test_failed_signins_are_throttled_and_audited_in_summary(
    make_client: Callable[..., Any],
) -> None:
    client, keys, _ = make_client(auth_failure_burst=10, auth_failures_per_minute=6)
    page = client.get("/signin")
    codes = []
    for i in range(500):  # each answer is a new form with a new one-time token
        page = client.post(
            "/signin", data={"api_key": f"flr_{i}", "csrf_token": csrf_of(page.text)}
        )
        codes.append(page.status_code)
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    r = client.post("/signin", data={"api_key": keys["admin"], "csrf_token": csrf_of(page.text)})
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text  # locked out for now
    assert int(r.headers["Retry-After"]) >= 1
    store = client.app.state.store
    rows = [row for row in store.audit_rows() if row["action"] == "workbench_signin_failed"]
    assert len(rows) == 1  # not 500: the rest are counted for the next row
    client.__exit__(None, None, None)  # shutdown writes what is still counted
    rows = [row for row in store.audit_rows() if row["action"] == "workbench_signin_failed"]
    assert len(rows) <= 2
    assert sum(json.loads(row["input_json"])["failures"] for row in rows) == 501


def test_an_oversized_signin_form_is_not_parsed(wb: SimpleNamespace) -> None:
    page = wb.client.get("/signin")
    big = {"api_key": "x" * 10_000, "csrf_token": csrf_of(page.text)}
    r = wb.client.post("/signin", data=big)
    assert r.status_code == 413 and "flrisk_session" not in r.cookies


# ------------------------------------------------------------------ the API's upload limits


def test_the_workbench_refuses_the_same_files_in_words(signed_in: SimpleNamespace) -> None:
    client, csrf, settings = signed_in.client, signed_in.csrf, signed_in.settings
    r = upload(client, csrf, expanding_parquet(4_000_000), name="day.parquet")
    assert r.status_code == 413 and "Too large" in r.text and "1,000,000" in r.text
    r = upload(client, csrf, wide_csv(1_000_000))
    assert r.status_code == 413 and "more than 256 columns" in r.text
    r = upload(client, csrf, f"{HEADER}\n".encode())
    assert r.status_code == 422 and "The file holds no rows" in r.text
    r = upload(client, csrf, b"garbage", name="day.parquet")
    assert r.status_code == 422 and "Not a Parquet file" in r.text
    no_paths(settings, r.text)
    actions = {row["action"] for row in client.app.state.store.audit_rows()}
    assert "workbench_upload" not in actions


def test_export_guards_a_formula_entry_id(signed_in: SimpleNamespace) -> None:
    """Issue #16 row 9: ``=HYPERLINK(...)`` as an entry id was exported as is (dtype "str")."""
    c = signed_in.client
    raw = pd.DataFrame(lines_json(signed_in.lines))
    first = raw["entry_id"].iloc[0]
    raw.loc[raw["entry_id"] == first, "entry_id"] = '=HYPERLINK("http://x","open")'
    r = upload(c, signed_in.csrf, raw.to_csv(index=False).encode())
    assert r.status_code == 200, r.text
    r = c.get(f"/worklists/{_worklist_id(r.url)}/export.csv?capacity=5")
    ids = {row["entry_id"] for row in csv.DictReader(io.StringIO(r.text))}
    assert '\'=HYPERLINK("http://x","open")' in ids
    assert not any(i.startswith(("=", "+", "-", "@")) for i in ids)
