"""Model lifecycle: no model at start, hot reload under load, refused corrupt model, shadow."""

from __future__ import annotations

import threading

from bundletools import tamper_leaf
from servetools import auth, lines_json, make_settings, register

from models.scoring.lookup import client as mlflow_client
from models.store import ShadowScores
from serving.service import validate_request


def test_no_model_start_is_not_ready_and_503_json(make_client, tmp_path, model_source) -> None:
    settings = make_settings(tmp_path / "empty")
    client, keys, _ = make_client(settings)
    r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["status"] == "not ready" and r.json()["model"] is None
    assert client.get("/healthz").status_code == 200
    body = {"lines": lines_json(model_source.lines.head(2))}
    r = client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/json"
    assert r.json()["detail"].startswith("no model available")
    assert client.get("/v1/model", headers=auth(keys["scorer"])).status_code == 503
    r = client.post(
        "/v1/score/file", files={"file": ("d.csv", b"entry_id\n")}, headers=auth(keys["batcher"])
    )
    assert r.status_code == 503
    # Registering a champion later and reloading makes the app ready without a restart.
    assert client.post("/v1/admin/reload", headers=auth(keys["admin"])).status_code == 503
    reg = register(model_source.bundle, settings)
    r = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
    assert r.status_code == 200 and r.json()["changed"] is True
    assert r.json()["previous"] is None and r.json()["current"]["version"] == reg.version
    assert client.get("/readyz").status_code == 200
    assert client.post("/v1/score", json=body, headers=auth(keys["scorer"])).status_code == 200


def test_hot_reload_under_load_drops_nothing(
    make_client, tmp_path, model_source, tiny_bundle
) -> None:
    # Four clients as fast as they can for as long as the reload takes (a child process loads
    # the new model first: seconds): over any per-key rate limit, which is not under test.
    settings = make_settings(tmp_path / "hot", rate_limit_per_minute=1e9, rate_limit_burst=10**9)
    v1 = register(model_source.bundle, settings)
    client, keys, _ = make_client(settings)
    body = {"lines": lines_json(model_source.lines.head(5)), "reasons": 1}
    h = auth(keys["scorer"])
    stop = threading.Event()
    seen: list[tuple[int, str, str]] = []
    lock = threading.Lock()

    def hammer() -> None:
        while not stop.is_set():
            r = client.post("/v1/score", json=body, headers=h)
            js = r.json() if r.status_code == 200 else {}
            with lock:
                seen.append((r.status_code, js.get("model", {}).get("version", ""),
                             js.get("model", {}).get("bundle_hash", "")))  # fmt: skip

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        while len(seen) < 10:
            threading.Event().wait(0.01)
        v2 = register(tiny_bundle, settings)
        r = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
        assert r.status_code == 200, r.text
        assert r.json()["changed"] is True
        assert (r.json()["previous"]["version"], r.json()["current"]["version"]) == (
            v1.version,
            v2.version,
        )
        n_at_swap = len(seen)
        while len(seen) < n_at_swap + 10:
            threading.Event().wait(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert all(code == 200 for code, _, _ in seen), {c for c, _, _ in seen}
    versions = [v for _, v, _ in seen]
    assert set(versions) == {v1.version, v2.version}
    # Version and hash always travel together: no response mixes the old and the new model.
    pairs = {(v, hsh) for _, v, hsh in seen}
    assert len(pairs) == 2
    assert versions[-1] == v2.version
    # A second reload with no alias change is a no-op.
    r = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
    assert r.status_code == 200 and r.json()["changed"] is False
    assert client.post("/v1/admin/reload", headers=h).status_code == 403
    assert client.post("/v1/admin/reload").status_code == 401
    metrics = client.get("/metrics").text
    assert 'flrisk_model_reloads_total{outcome="changed"} 1.0' in metrics
    assert f'version="{v2.version}"' in metrics and f'version="{v1.version}"' not in metrics


def test_corrupted_model_is_refused_and_old_keeps_serving(
    make_client, tmp_path, model_source, tiny_bundle
) -> None:
    settings = make_settings(tmp_path / "corrupt")
    v1 = register(model_source.bundle, settings)
    client, keys, _ = make_client(settings)
    v2 = register(tiny_bundle, settings, alias=None)
    model_file = v2.bundle_dir / "model.lgb"
    model_file.write_text(model_file.read_text().replace("num_leaves=", "num_leaves=9", 1))
    mlflow_client(settings).set_registered_model_alias(settings.model_name, "champion", v2.version)
    r = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
    assert r.status_code == 409
    assert "hash" in r.json()["detail"] and f"models:/flrisk/{v1.version}" in r.json()["detail"]
    assert client.get("/readyz").status_code == 200
    body = {"lines": lines_json(model_source.lines.head(2))}
    r = client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
    assert r.status_code == 200 and r.json()["model"]["version"] == v1.version
    assert 'flrisk_model_reloads_total{outcome="refused"} 1.0' in client.get("/metrics").text
    # A corrupt champion at start: the app starts, refuses it, and is not ready.
    client2, _, _ = make_client(settings)
    assert client2.get("/readyz").status_code == 503
    assert "refused" in client2.get("/readyz").json()["model_error"]


def test_tampered_bundle_with_rehashed_manifest_is_refused_naming_the_hashes(
    make_client, tmp_path, model_source, tiny_bundle
) -> None:
    """A model file changed in the artifact store and its manifest re-hashed to match: the
    bundle no longer has the hash recorded in the registry at training."""
    settings = make_settings(tmp_path / "tampered")
    v1 = register(model_source.bundle, settings)
    client, keys, _ = make_client(settings)
    v2 = register(tiny_bundle, settings, alias=None)
    registered = tiny_bundle.bundle_hash
    loaded = tamper_leaf(v2.bundle_dir)  # still a valid model, and it matches its manifest
    mlflow_client(settings).set_registered_model_alias(settings.model_name, "champion", v2.version)
    r = client.post("/v1/admin/reload", headers=auth(keys["admin"]))
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert f"models:/flrisk/{v2.version}: the bundle in the artifact store is not" in detail
    assert f"bundle hash {loaded} != {registered} recorded in the registry" in detail
    assert detail.endswith(f"still serving models:/flrisk/{v1.version}")
    body = {"lines": lines_json(model_source.lines.head(2))}
    r = client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
    assert r.status_code == 200 and r.json()["model"]["version"] == v1.version
    # At start: not ready, saying why.
    client2, _, _ = make_client(settings)
    r = client2.get("/readyz")
    assert r.status_code == 503 and f"bundle hash {loaded} != {registered}" in r.json()["detail"]
    assert client2.get("/healthz").status_code == 200
    # A good model still loads, after a refusal and on a server started without a model.
    v3 = register(tiny_bundle, settings)
    for c in (client, client2):
        r = c.post("/v1/admin/reload", headers=auth(keys["admin"]))
        assert r.status_code == 200 and r.json()["current"]["version"] == v3.version, r.text
        assert c.get("/readyz").status_code == 200


def test_shadow_model_is_scored_but_never_returned(
    make_client, tmp_path, model_source, tiny_bundle
) -> None:
    settings = make_settings(tmp_path / "shadow", shadow_alias="challenger")
    v1 = register(model_source.bundle, settings)
    v2 = register(tiny_bundle, settings, alias="challenger")
    client, keys, _ = make_client(settings)
    body = {"lines": lines_json(model_source.lines.head(4))}
    r = client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
    assert r.status_code == 200
    assert r.json()["model"]["version"] == v1.version
    assert v2.version not in {r.json()["model"]["version"]}
    assert "flrisk_shadow_scored_lines_total{band=" in client.get("/metrics").text
    m = client.get("/v1/model", headers=auth(keys["scorer"])).json()
    assert m["version"] == v1.version and m["shadow"]["version"] == v2.version
    store = client.app.state.store
    scored = [row for row in store.audit_rows() if row["action"] == "score"]
    assert {row["model_version"] for row in scored} == {f"models:/flrisk/{v1.version}"}
    # The challenger's scores are kept beside the champion's, line by line.
    kept = ShadowScores(store).with_outcomes()
    results = r.json()["results"]
    assert [(k["entry_id"], k["line_no"]) for k in kept] == [
        (x["entry_id"], x["line_no"]) for x in results
    ]
    assert {k["request_id"] for k in kept} == {r.json()["request_id"]}
    assert [k["champion_score"] for k in kept] == [x["risk_score"] for x in results]
    assert {(k["champion_version"], k["challenger_version"]) for k in kept} == {
        (f"models:/flrisk/{v1.version}", f"models:/flrisk/{v2.version}")
    }
    challenger = client.app.state.holder.shadow.scorer
    read = validate_request(body["lines"], challenger.bundle.state.passthrough)
    assert [k["challenger_score"] for k in kept] == challenger.score(
        read.lines, reasons=0
    ).risk_score.tolist()
    event = [row for row in store.audit_rows() if row["action"] == "shadow_score"]
    assert len(event) == 1 and event[0]["model_version"] is None


def test_explicit_model_uri(make_client, registry, tmp_path) -> None:
    from fastapi.testclient import TestClient

    from serving.app import create_app

    settings = make_settings(tmp_path / "uri").model_copy(
        update={"mlflow_tracking_uri": registry.settings.tracking_uri()}
    )
    with TestClient(create_app(settings, model_uri=f"models:/flrisk/{registry.version}")) as c:
        r = c.get("/readyz").json()
        assert r["model"]["version"] == registry.version and r["model"]["alias"] is None
