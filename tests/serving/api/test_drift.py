"""The server's drift window: PSI gauges in /metrics, and one trade alert per drift episode."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from servetools import auth, lines_json

from models.alerts.messages import SIGNATURE_HEADER, verify
from models.store import Outbox

SECRET = "drift-webhook-secret"


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


def _score(client, keys, body, times: int) -> None:
    for _ in range(times):
        r = client.post("/v1/score", json=body, headers=auth(keys["scorer"]))
        assert r.status_code == 200, r.text
    _wait_for_check(client)


def _drift_alerts(client, keys) -> list[dict]:
    r = client.get("/v1/alerts", params={"kind": "drift"}, headers=auth(keys["admin"]))
    assert r.status_code == 200, r.text
    return r.json()["alerts"]


class _Receiver:
    """A webhook receiver on a local port: keeps each batch whose signature verifies."""

    def __init__(self) -> None:
        self.batches: list[list[dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if verify(SECRET, body, self.headers.get(SIGNATURE_HEADER, "")):
                    receiver.batches.append(json.loads(body)["alerts"])
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def types(self) -> list[str]:
        return [item["type"] for batch in self.batches for item in batch]


@pytest.fixture
def receivers():
    got = (_Receiver(), _Receiver())
    yield got
    for r in got:
        r.server.shutdown()


def test_a_crossing_is_one_trade_alert_per_episode(make_client, model_source, receivers):
    screening, partner = receivers
    client, keys, _ = make_client(
        drift_threshold=1e-6, drift_min_lines=100, webhook_secret=SECRET,
        webhook_urls=[screening.url], partner_webhook_urls=[partner.url],
    )  # fmt: skip
    body = {"lines": lines_json(model_source.lines)}  # 200 lines; a check every 500
    store = client.app.state.store
    _score(client, keys, body, 3)
    (alert,) = _drift_alerts(client, keys)
    assert alert["type"] == "drift_alert" and alert["episode"] == 1
    assert alert["model_version"] == client.app.state.holder.current.resolved.uri
    assert alert["threshold"] == 1e-6 and alert["window"]["lines"] == 600
    assert alert["measures"] and all(m["psi"] > 1e-6 for m in alert["measures"])
    assert alert["window"]["first_scored"] <= alert["window"]["last_scored"]
    # Listed with the trade alerts, filterable by kind, audited.
    everything = client.get("/v1/alerts", headers=auth(keys["admin"])).json()["alerts"]
    assert [a["id"] for a in everything] == [alert["id"]]
    rows = [r for r in store.audit_rows() if r["action"] == "drift_alert"]
    assert len(rows) == 1 and json.loads(rows[0]["input_json"])["id"] == alert["id"]
    assert store.verify().ok
    # Delivered, signed, to the screening system's webhook; never to the partner authority's.
    deadline = time.monotonic() + 30
    while not screening.batches and time.monotonic() < deadline:
        time.sleep(0.1)
    assert screening.batches == [[alert]]
    assert Outbox(store).counts() == {"pending": 0, "delivered": 1, "dead": 0}
    assert partner.batches == []
    # Still past the threshold: the same episode, no second alert.
    _score(client, keys, body, 3)
    assert len(_drift_alerts(client, keys)) == 1
    assert 'flrisk_alerts_total{kind="drift"} 1.0' in client.get("/metrics").text
    # Back under the threshold: the episode closes (audited) ...
    client.app.state.drift.threshold = 1e6
    _score(client, keys, body, 3)
    assert [r["action"] for r in store.audit_rows()].count("drift_clear") == 1
    # ... and a new crossing is a new episode and a new alert.
    client.app.state.drift.threshold = 1e-6
    _score(client, keys, body, 3)
    alerts = _drift_alerts(client, keys)
    assert [a["episode"] for a in alerts] == [2, 1]
    assert alerts[0]["idempotency_key"] != alerts[1]["idempotency_key"]
    deadline = time.monotonic() + 30
    while len(screening.batches) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert screening.types() == ["drift_alert", "drift_alert"] and partner.batches == []


def test_a_restart_during_a_drift_raises_no_second_alert(make_client, model_source) -> None:
    client, keys, settings = make_client(drift_threshold=1e-6, drift_min_lines=100)
    body = {"lines": lines_json(model_source.lines)}
    _score(client, keys, body, 3)
    assert len(_drift_alerts(client, keys)) == 1
    # A new server on the same store starts an empty window, sees the drift again: the
    # episode is in the store, so no second alert (it was in memory before).
    again, _, _ = make_client(settings=settings)
    _score(again, keys, body, 3)
    assert again.app.state.drift.report()[1].moved()
    assert len(_drift_alerts(again, keys)) == 1


def test_files_feed_the_window_too(make_client, model_source) -> None:
    client, keys, _ = make_client()
    csv = model_source.lines.head(50).to_csv(index=False).encode()
    r = client.post("/v1/score/file", files={"file": ("d.csv", csv)}, headers=auth(keys["batcher"]))
    assert r.status_code == 200, r.text
    assert "flrisk_drift_window_lines 50.0" in client.get("/metrics").text


def test_a_few_lines_join_the_drift_window_on_the_event_loop(api, model_source, monkeypatch):
    """A one-line request's bins are added by the loop, not handed to a pool thread.

    The pool's hand-off (waking a worker, switching the GIL) costs more than a line's bins.
    """
    from serving.drift import DriftMonitor

    seen: list[str] = []
    observe = DriftMonitor.observe

    def spy(self, model, bins):
        seen.append(threading.current_thread().name)
        observe(self, model, bins)

    monkeypatch.setattr(DriftMonitor, "observe", spy)
    body = {"lines": lines_json(model_source.lines[:1])}
    r = api.client.post("/v1/score", json=body, headers=auth(api.keys["scorer"]))
    assert r.status_code == 200, r.text
    assert len(seen) == 1 and "worker" not in seen[0].lower(), seen
    assert "flrisk_drift_window_lines 1.0" in api.client.get("/metrics").text
