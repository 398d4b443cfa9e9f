"""Security properties not already shown by tests/serving (see docs/reliability.md):
nothing secret or personal in the logs, keys at rest, CORS, upload checks, page headers.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from reltools import add_keys, app_settings, auth, lines_json

pytestmark = pytest.mark.integration


@pytest.fixture
def app(tmp_path: Path, shared_registry: SimpleNamespace) -> SimpleNamespace:
    from serving.app import create_app

    settings = app_settings(tmp_path / "app", shared_registry, sync_file_lines=5,
                            max_upload_bytes=64 * 1024, shadow_alias=None)  # fmt: skip
    keys = add_keys(settings)
    with TestClient(create_app(settings)) as client:
        yield SimpleNamespace(client=client, keys=keys, settings=settings)


def test_no_keys_tokens_or_entry_data_in_logs(
    app: SimpleNamespace, lines: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    c, k = app.client, app.keys
    sent = lines_json(lines.head(8))
    secrets = {*k.values(), *(v[4:] for v in k.values())}
    entry_values = {
        str(line[f]) for line in sent for f in
        ("entry_id", "manufacturer_name", "manufacturer_address", "importer_name", "importer_id")
        if line.get(f) and len(str(line[f])) >= 6
    }  # fmt: skip
    scored = c.post("/v1/score", json={"lines": sent}, headers=auth(k["scorer"]))
    assert scored.status_code == 200
    bad = [{**sent[0], "hts_code": "SECRET-HTS"}]
    assert c.post("/v1/score", json={"lines": bad}, headers=auth(k["scorer"])).status_code == 422
    assert (
        c.post("/v1/score", json={"lines": sent}, headers=auth("flr_wrong_key_x")).status_code
        == 401
    )
    csv = pd.DataFrame(sent).to_csv(index=False).encode()
    r = c.post("/v1/score/file", files={"file": ("d.csv", csv)}, headers=auth(k["batcher"]))
    assert r.status_code == 202  # a background job: its logs are checked too
    for _ in range(400):
        if c.get(r.json()["location"], headers=auth(k["batcher"])).json()["status"] == "done":
            break
    first = scored.json()["results"][0]
    fb = {"entry_id": first["entry_id"], "line_no": first["line_no"], "inspected": True,
          "violation": 1, "decision_id": first["decision_id"],
          "note": "officer note SECRET-NOTE"}  # fmt: skip
    assert c.post("/v1/feedback", json=fb, headers=auth(k["officer"])).status_code == 201
    assert c.post("/v1/admin/reload", headers=auth(k["admin"])).status_code == 200
    text = "\n".join(
        f"{rec.name} {rec.levelname} {rec.getMessage()} {rec.exc_text or ''}"
        for rec in caplog.records
    )
    leaks = [s for s in (*secrets, *entry_values, "SECRET-HTS", "SECRET-NOTE") if s in text]
    assert leaks == [], text[:2000]


def test_keys_file_holds_no_plaintext_key(app: SimpleNamespace) -> None:
    stored = app.settings.keys_path().read_text()
    for key in app.keys.values():
        assert key not in stored and key[4:] not in stored
    assert all(set(k) == {"id", "salt", "sha256", "scopes", "created"}
               for k in json.loads(stored)["keys"])  # fmt: skip
    assert app.settings.keys_path().stat().st_mode & 0o077 == 0


def test_cors_closed_by_default(app: SimpleNamespace) -> None:
    origin = {"Origin": "https://evil.example"}
    for r in (
        app.client.get("/v1/model", headers={**origin, **auth(app.keys["scorer"])}),
        app.client.options(
            "/v1/score", headers={**origin, "Access-Control-Request-Method": "POST"}
        ),
    ):
        assert not any(h.lower().startswith("access-control-") for h in r.headers)


@pytest.mark.parametrize(
    ("name", "ctype", "body", "status"),
    [
        ("d.exe", "application/octet-stream", b"MZ\x90\x00", 415),
        ("d", "image/png", b"\x89PNG\r\n\x1a\n", 415),
        ("d.csv", "text/csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 422),  # binary named .csv
        ("d.parquet", "application/octet-stream", b"PAR1 not really parquet PAR1", 422),
        ("d.parquet", "application/octet-stream", b"", 422),
        ("d.csv", "text/csv", b"entry_id,entry_id\nE,E\n", 422),  # duplicated header
        ("d.csv", "text/csv", b"x" * (70 * 1024), 413),
    ],
)
def test_upload_type_and_size_checks(
    app: SimpleNamespace, name: str, ctype: str, body: bytes, status: int
) -> None:
    r = app.client.post("/v1/score/file", files={"file": (name, io.BytesIO(body), ctype)},
                        headers=auth(app.keys["batcher"]))  # fmt: skip
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert app.client.app.state.store.audit_rows() == []


def test_security_headers_on_workbench_pages(app: SimpleNamespace) -> None:
    pages = [p for p in ("/", "/signin") if app.client.get(p).status_code != 404]
    if not pages:
        pytest.skip("workbench not installed")
    for p in pages:
        r = app.client.get(p, follow_redirects=False)
        assert r.status_code < 500
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp


def test_csv_export_guards_formulas() -> None:
    worklist = pytest.importorskip("serving.workbench.worklist")
    guard = getattr(worklist, "guard_cell", None)
    if guard is None:
        pytest.skip("serving.workbench.worklist.guard_cell not present (workbench export owns it)")
    for bad in ('=HYPERLINK("http://x")', "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1", "＝1"):
        out = guard(bad)
        assert not str(out).startswith(("=", "+", "-", "@", "\t", "\r")), (bad, out)
