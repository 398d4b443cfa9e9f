"""Feedback, /v1/model, health, metrics, security headers, CORS, OpenAPI, keys."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from servetools import auth, lines_json

from models.feedback import load_feedback_lines
from serving.auth import KeyStore, create_key


def test_feedback_stored_and_read_by_training(api: SimpleNamespace, model_source) -> None:
    lines = lines_json(model_source.lines.head(3))
    r = api.client.post("/v1/score", json={"lines": lines}, headers=auth(api.keys["scorer"]))
    assert r.status_code == 200
    first, second = r.json()["results"][:2]
    fb = {"entry_id": first["entry_id"], "line_no": first["line_no"],
          "decision_id": first["decision_id"], "inspected": True,
          "inspection_reason": "targeted", "violation": 1, "outcome": "detained",
          "note": "WRO"}  # fmt: skip
    r = api.client.post("/v1/feedback", json=fb, headers=auth(api.keys["officer"]))
    assert r.status_code == 201, r.text
    assert r.json()["line_status"] == "labelled"
    assert r.json()["label_feedback_id"] == r.json()["feedback_id"]
    # The same key's later word on the same line is a correction: it wins.
    fb2 = {**fb, "violation": 0, "outcome": "released"}
    r = api.client.post("/v1/feedback", json=fb2, headers=auth(api.keys["officer"]))
    assert r.status_code == 201 and r.json()["label_feedback_id"] == r.json()["feedback_id"]
    fb3 = {"entry_id": second["entry_id"], "line_no": second["line_no"],
           "decision_id": second["decision_id"], "inspected": False}  # fmt: skip
    assert (
        api.client.post("/v1/feedback", json=fb3, headers=auth(api.keys["officer"])).status_code
        == 201
    )

    columns = [*model_source.lines.columns]
    got = load_feedback_lines(api.settings, columns)
    assert list(got.frame.columns) == columns
    assert len(got.frame) == 2 and not got.under_review and got.unscored == 0
    row = got.frame.set_index(["entry_id", "line_no"]).loc[(first["entry_id"], first["line_no"])]
    assert bool(row["inspected"]) is True and row["violation"] == 0.0
    assert row["inspection_reason"] == "targeted"
    assert row["country_of_origin"] == model_source.lines.iloc[0]["country_of_origin"]
    rows = api.client.app.state.store.audit_rows()
    assert sum(r["action"] == "feedback" for r in rows) == 3


def test_feedback_validation_and_scope(api: SimpleNamespace) -> None:
    d = "0" * 64
    bad = {"entry_id": "E", "line_no": 1, "decision_id": d, "inspected": False, "violation": 1}
    r = api.client.post("/v1/feedback", json=bad, headers=auth(api.keys["officer"]))
    assert r.status_code == 422 and "not inspected" in r.text
    ok = {"entry_id": "E", "line_no": 1, "decision_id": d, "inspected": True, "violation": 1}
    assert (
        api.client.post("/v1/feedback", json=ok, headers=auth(api.keys["scorer"])).status_code
        == 403
    )
    assert api.client.post("/v1/feedback", json=ok).status_code == 401
    assert api.client.post("/v1/feedback", json={**ok, "violation": 2},
                           headers=auth(api.keys["officer"])).status_code == 422  # fmt: skip


def test_load_feedback_without_store_is_empty(tmp_path) -> None:
    from servetools import make_settings

    got = load_feedback_lines(make_settings(tmp_path / "none"), ["entry_id", "line_no"]).frame
    assert got.empty and list(got.columns) == ["entry_id", "line_no"]


def test_model_endpoint(api: SimpleNamespace, registry) -> None:
    r = api.client.get("/v1/model", headers=auth(api.keys["scorer"]))
    assert r.status_code == 200
    m = r.json()
    assert m["version"] == registry.version and m["alias"] == "champion"
    assert m["uri"] == f"models:/flrisk/{registry.version}"
    assert set(m["thresholds"]) == {"high", "elevated"}
    assert m["features"] and m["metrics"]["pr_auc"] == 0.5
    assert m["reference_versions"]
    assert api.client.get("/v1/model").status_code == 401


def test_health_ready_metrics(api: SimpleNamespace, registry) -> None:
    c = api.client
    assert c.get("/healthz").json() == {"status": "ok"}
    r = c.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    c.post("/v1/score", json={"lines": [{"entry_id": "E", "line_no": 1, "entry_date": "2024-01-02",
                                        "hts_code": "610910", "country_of_origin": "CN"}]},
           headers=auth(api.keys["scorer"]))  # fmt: skip
    c.post("/v1/score", json={"lines": []}, headers=auth(api.keys["scorer"]))
    text = c.get("/metrics").text
    assert c.get("/metrics").headers["content-type"].startswith("text/plain")
    assert 'flrisk_http_requests_total{method="POST",route="/v1/score",status="200"} 1.0' in text
    assert 'flrisk_http_requests_total{method="POST",route="/v1/score",status="422"} 1.0' in text
    assert "flrisk_http_request_duration_seconds_bucket" in text
    assert "flrisk_scored_lines_total{band=" in text
    assert f'version="{registry.version}"' in text and "flrisk_model_info{" in text
    # Raw paths never become labels (bounded cardinality).
    c.get("/v1/jobs/" + "a" * 32)
    assert "aaaa" not in c.get("/metrics").text


def test_security_headers_on_every_response_and_cors_closed(api: SimpleNamespace) -> None:
    c = api.client
    for r in (c.get("/healthz"), c.get("/nope"), c.post("/v1/score", json={}),
              c.get("/metrics"), c.get("/openapi.json")):  # fmt: skip
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    r = c.options("/v1/score", headers={"Origin": "https://evil.example",
                                        "Access-Control-Request-Method": "POST"})  # fmt: skip
    assert "access-control-allow-origin" not in r.headers
    r = c.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers


def test_cors_only_for_listed_origins(make_client) -> None:
    client, _, _ = make_client(cors_origins=["https://screening.example"])
    ok = client.get("/healthz", headers={"Origin": "https://screening.example"})
    assert ok.headers["access-control-allow-origin"] == "https://screening.example"
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_openapi_documents_every_status(api: SimpleNamespace) -> None:
    spec = api.client.get("/openapi.json").json()
    paths = spec["paths"]
    expect = {
        ("/v1/score", "post"): {"200", "401", "403", "413", "422", "429", "503"},
        ("/v1/score/file", "post"): {"200", "202", "401", "403", "413", "415", "422", "429", "503"},
        ("/v1/jobs/{job_id}", "get"): {"200", "401", "403", "404", "422", "429"},
        ("/v1/feedback", "post"): {"201", "401", "403", "413", "422", "429", "503"},
        ("/v1/model", "get"): {"200", "401", "403", "429", "503"},
        ("/v1/admin/reload", "post"): {"200", "401", "403", "409", "429", "503"},
        ("/readyz", "get"): {"200", "503"},
        ("/healthz", "get"): {"200"},
        ("/metrics", "get"): {"200"},
    }
    for (path, method), codes in expect.items():
        assert codes <= set(paths[path][method]["responses"]), (path, method)
    assert "multipart/form-data" in paths["/v1/score/file"]["post"]["requestBody"]["content"]
    # Every keyed route documents the two ways to send a key, /v1/score (which checks its key
    # itself, not through a dependency) as the others.
    keyed = [("/v1/score", "post"), ("/v1/score/file", "post"), ("/v1/model", "get")]
    for path, method in keyed:
        security = paths[path][method]["security"]
        assert security == [{"HTTPBearer": []}, {"APIKeyHeader": []}], path


def test_keys_are_hashed_and_scoped(tmp_path) -> None:
    path = tmp_path / "keys.json"
    key = create_key(path, "alice", ["score", "batch"])
    assert key.startswith("flr_") and len(key) > 40
    stored = path.read_text()
    assert key not in stored and key[4:] not in stored
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    ks = KeyStore(path)
    who = ks.verify(key)
    assert who is not None and who.key_id == "alice" and who.scopes == {"score", "batch"}
    assert ks.verify(key + "x") is None and ks.verify("") is None
    with pytest.raises(ValueError, match="scope"):
        create_key(path, "bob", ["root"])
    with pytest.raises(ValueError, match="exists"):
        create_key(path, "alice", ["score"])
    # Keys added while serving are picked up without a restart.
    bob = create_key(path, "bob", ["feedback"])
    assert ks.verify(bob).key_id == "bob"  # type: ignore[union-attr]
    assert json.loads(stored)["keys"][0]["scopes"] == ["batch", "score"]


def test_bootstrap_key_printed_once(make_client, tmp_path, capsys) -> None:
    from servetools import make_settings

    s = make_settings(tmp_path / "boot", bootstrap_key=True)
    client, _, _ = make_client(s, with_keys=False)
    out = capsys.readouterr().out
    key = next(w for w in out.split() if w.startswith("flr_"))
    # This app's registry is empty: 503 (no model), but the key itself is accepted.
    assert client.get("/v1/model", headers=auth(key)).status_code == 503
    assert client.get("/v1/model", headers=auth("flr_other")).status_code == 401
    make_client(s, with_keys=False)
    assert "flr_" not in capsys.readouterr().out


def test_a_key_revoked_with_the_cli_is_refused_by_a_running_server(make_client, monkeypatch):
    """``flrisk keys revoke`` on the keys file of a running app: 401 from the next request."""
    from typer.testing import CliRunner

    from models.settings import get_settings
    from pipelines.cli import app

    client, keys, settings = make_client()
    monkeypatch.setenv("FLRISK_API_KEYS_FILE", str(settings.keys_path()))
    get_settings.cache_clear()
    try:
        made = CliRunner().invoke(app, ["keys", "create", "screening-9", "--scope", "score"])
        key = made.stdout.strip()
        assert client.get("/v1/model", headers=auth(key)).status_code == 200
        assert CliRunner().invoke(app, ["keys", "revoke", "screening-9"]).exit_code == 0
        assert client.get("/v1/model", headers=auth(key)).status_code == 401
        assert client.get("/v1/model", headers=auth(keys["scorer"])).status_code == 200
    finally:
        get_settings.cache_clear()
