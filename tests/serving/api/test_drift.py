"""The server's drift window: PSI gauges in /metrics, and one alert when a threshold is crossed."""

from __future__ import annotations

import json
import time

from servetools import auth, lines_json

from models.store import DriftAlerts


def _wait_for_check(client) -> None:
    monitor = client.app.state.drift
    deadline = time.monotonic() + 30
    while monitor._checking and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not monitor._checking


def test_metrics_hold_the_psi_of_the_lines_scored(api, model_source) -> None:
    before = api.client.get("/metrics").text
    assert "flrisk_drift_window_lines 0.0" in before
    assert "flrisk_drift_psi{" not in before
    body = {"lines": lines_json(model_source.lines)}
    r = api.client.post("/v1/score", json=body, headers=auth(api.keys["scorer"]))
    assert r.status_code == 200, r.text
    text = api.client.get("/metrics").text
    n = len(model_source.lines)
    assert f"flrisk_drift_window_lines {float(n)}" in text
    assert "flrisk_drift_threshold 0.2" in text
    for measure in ("score", "country_of_origin", "list_match", "unseen_category"):
        assert f'flrisk_drift_psi{{measure="{measure}"}}' in text
    # The gauges are the window's report, measure by measure.
    model, report = api.client.app.state.drift.report()
    assert report.lines == n and model.resolved.version == r.json()["model"]["version"]
    line = next(
        ln for ln in text.splitlines() if ln.startswith('flrisk_drift_psi{measure="score"}')
    )
    assert float(line.split()[-1]) == report.psi("score")


def test_a_threshold_crossed_is_recorded_once_with_its_audit_row(make_client, model_source):
    client, keys, _ = make_client(drift_threshold=1e-6, drift_min_lines=100)
    body = {"lines": lines_json(model_source.lines)}  # 200 lines; a check every 500
    store = client.app.state.store
    for _ in range(3):
        assert client.post("/v1/score", json=body, headers=auth(keys["scorer"])).status_code == 200
    _wait_for_check(client)
    alerts = DriftAlerts(store).latest()
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert.window_lines == 600 and alert.threshold == 1e-6
    assert alert.model_version == client.app.state.holder.current.resolved.uri
    assert alert.measures and all(m["psi"] > 1e-6 for m in alert.measures)
    rows = [r for r in store.audit_rows() if r["action"] == "drift_alert"]
    assert len(rows) == 1 and rows[0]["model_version"] == alert.model_version
    assert json.loads(rows[0]["input_json"])["measures"] == [dict(m) for m in alert.measures]
    assert store.verify().ok
    # Still past the threshold: the same episode, no second alert.
    for _ in range(3):
        client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
    _wait_for_check(client)
    assert len(DriftAlerts(store).latest()) == 1
    assert "flrisk_drift_moved_measures" in client.get("/metrics").text


def test_files_feed_the_window_too(make_client, model_source) -> None:
    client, keys, _ = make_client()
    csv = model_source.lines.head(50).to_csv(index=False).encode()
    r = client.post("/v1/score/file", files={"file": ("d.csv", csv)}, headers=auth(keys["batcher"]))
    assert r.status_code == 200, r.text
    assert "flrisk_drift_window_lines 50.0" in client.get("/metrics").text
