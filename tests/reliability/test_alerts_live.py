"""Trade alerts end to end (issue #18): lines scored by a running server, then an entity
added that matches two of them under a variant spelling: exactly those two lines alert,
once, in the store, the API and a webhook receiver started here (signature verified); a
receiver that fails 3 times gets each alert once per idempotency key; a server killed
during delivery loses nothing; a partner alert, approved, re-screens and alerts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pandas as pd
import pytest
from reltools import add_keys, app_settings, auth, lines_json, server_process
from test_reference_live import flrisk

from models.alerts.messages import SIGNATURE_HEADER, verify
from models.alerts.partner import approve as partner_approve
from models.keys import create_key
from models.store import Alerts, AuditStore, Outbox

# Two server starts and flrisk subprocesses each: past the suite's 600 s on a loaded machine.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1500)]
SECRET = "s3cret-for-tests"
NEW_ENTITY = (
    "entity_id,name,aliases,list,sector,region,country,effective_date,citation,source\n"
    "UFLPA-9002,Quokka Polysilicon Materials Co. Ltd,Xinjiang Quokka Polysilicon,UFLPA,"
    "polysilicon,Xinjiang,CN,2020-01-01,99 FR 777 (2020-01-01),test publication\n"
)
# Two variant spellings of the new entity, and a near miss that must not match.
VARIANTS = ("QUOKKA POLYSILICON MATERIALS CO LTD", "Quokka Poly-Silicon Material Company Limited")
NEAR_MISS = "QUOKKA TEXTILE TRADING CO LTD"


class Receiver:
    """A webhook receiver: records each delivery, fails the first ``fail`` ones, can hang."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.calls: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        self.hold = threading.Event()
        self.hold.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signed = verify(SECRET, body, self.headers.get(SIGNATURE_HEADER, ""))
                receiver.calls.append({"signed": signed})
                receiver.hold.wait(120)
                ok = signed and len(receiver.calls) > receiver.fail
                if ok:
                    receiver.accepted.extend(json.loads(body)["alerts"])
                self.send_response(200 if ok else 503)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys(self, kind: str = "line_alert") -> list[str]:
        return [a["idempotency_key"] for a in self.accepted if a["type"] == kind]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=3)
    yield r
    r.hold.set()
    r.server.shutdown()


def _lines(lines: pd.DataFrame) -> list[dict[str, Any]]:
    body = lines_json(lines.head(8))
    for i, line in enumerate(body):
        line["entry_id"] = f"ALERT-{i}"
        line["manufacturer_name"] = f"PLAIN SUPPLIER NUMBER {i} LTD"
    body[2]["manufacturer_name"] = VARIANTS[0]
    body[5]["shipper_name"] = VARIANTS[1]
    body[6]["manufacturer_name"] = NEAR_MISS
    return body


def _wait(predicate: Any, timeout: float = 600.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = predicate()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("timed out")


def _env(receiver: Receiver) -> dict[str, str]:
    return {
        "FLRISK_WEBHOOK_URLS": json.dumps([receiver.url]),
        "FLRISK_WEBHOOK_SECRET": SECRET,
        "FLRISK_WEBHOOK_BACKOFF_S": "0.2",
        "FLRISK_WEBHOOK_MAX_TRIES": "8",
    }


def test_new_entity_alerts_exactly_the_two_lines_once_everywhere(
    tmp_path: Path, shared_registry: SimpleNamespace, lines: pd.DataFrame, receiver: Receiver
) -> None:
    settings = app_settings(tmp_path / "app", shared_registry)
    keys = add_keys(settings)
    source = tmp_path / "entities.csv"
    source.write_text(NEW_ENTITY)
    body = {"lines": _lines(lines), "reasons": 0}
    with (
        server_process(settings, env=_env(receiver)) as srv,
        httpx.Client(base_url=srv.url, timeout=60, headers=auth(keys["admin"])) as client,
    ):
        assert client.post("/v1/score", json=body).status_code == 200
        done = flrisk(settings, "reference", "update", "--entities", str(source))
        assert done.returncode == 0, done.stderr
        client.post("/v1/score", json={"lines": body["lines"][:1], "reasons": 0})  # noticed
        got = _wait(lambda: client.get("/v1/alerts").json()["alerts"])
        time.sleep(3)  # further passes of the server's loop add nothing
        alerts = client.get("/v1/alerts", params={"status": "new"}).json()["alerts"]
        assert sorted((a["entry_id"], a["party_role"]) for a in alerts) == [
            ("ALERT-2", "manufacturer"),
            ("ALERT-5", "shipper"),
        ]
        assert len(got) == 2
        for a in alerts:
            assert a["entity_id"] == "UFLPA-9002"
            assert a["kind"] == "presumed"  # in force since 2020, before the entry dates
            assert a["list"] == "UFLPA" and a["effective_date"] == "2020-01-01"
            assert 88 <= a["similarity"] <= 100
            assert a["reference_version"] == done.stdout.strip().rsplit(" ", 1)[-1]
            assert a["score_then"] is not None and a["score_now"] is not None
            assert a["evidence"]["declared"] in VARIANTS
        # `flrisk rescreen` on the same change adds nothing (idempotent).
        again = flrisk(settings, "rescreen")
        assert again.returncode == 0, again.stderr
        assert len(client.get("/v1/alerts").json()["alerts"]) == 2
        # The receiver failed 3 times, then got each alert, signed, once per key.
        _wait(lambda: len(set(receiver.keys())) == 2)
        assert len(receiver.calls) >= 4 and all(c["signed"] for c in receiver.calls)
        assert sorted(receiver.keys()) == sorted(a["idempotency_key"] for a in alerts)
        assert receiver.keys("enforcement_action")  # the listing itself, published
        metrics = client.get("/metrics").text
        assert 'flrisk_webhook_deliveries_total{outcome="failed"}' in metrics
        # Acknowledge one.
        first = alerts[0]["id"]
        acked = client.post(f"/v1/alerts/{first}/ack").json()
        assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "admin"
        assert len(client.get("/v1/alerts", params={"status": "new"}).json()["alerts"]) == 1

        # A partner alert, received, approved with the CLI: re-screen and a partner alert.
        partner_key = create_key(settings.keys_path(), "partner-eu", ["partner"])
        inbound = {
            "entity": "Wombat Cotton Ginning Works", "aliases": ["Wombat Ginning"],
            "country": "CN", "goods_scope_hs": ["5201"], "basis": "EU forced labour regulation",
            "authority": "EU Commission", "effective_date": "2025-05-01", "citation": "EU 2025/1",
        }  # fmt: skip
        r = client.post("/v1/alerts/inbound", json=inbound, headers=auth(partner_key))
        assert r.status_code == 202, r.text
        change = r.json()["id"]
        # Only a key with the partner scope may send one; the alerts scope is not enough.
        watcher = create_key(settings.keys_path(), "alerts-only", ["alerts"])
        assert (
            client.post("/v1/alerts/inbound", json=inbound, headers=auth(watcher)).status_code
            == 403
        )
        assert client.get("/v1/alerts", headers=auth(keys["scorer"])).status_code == 403
        approved = flrisk(settings, "reference", "approve", str(change))
        assert approved.returncode == 0, approved.stderr
        # Lines already scored name it? None did: score one that does, then approve another.
        line = {**body["lines"][0], "entry_id": "ALERT-P", "manufacturer_name": "WOMBAT GINNING"}
        scored = client.post("/v1/score", json={"lines": [line], "reasons": 3}).json()
        reasons = scored["results"][0]["reasons"]
        assert reasons[0]["code"] == "partner_alert", reasons
        assert "partner alert from EU Commission, 2025-05-01" in reasons[0]["text"]
        assert scored["results"][0].get("presumption", "") == ""  # evidence, not a presumption
        second = client.post(
            "/v1/alerts/inbound", headers=auth(partner_key),
            json={**inbound, "entity": "Wombat Ginning Works",
                  "effective_date": "2025-06-01", "citation": "EU 2025/2"},
        ).json()["id"]  # fmt: skip
        # The second approval in-process, as the workbench's Approve button does.
        partner_approve(AuditStore(settings.audit_store_url()), second, "admin",
                        settings.reference_root())  # fmt: skip
        partner = _wait(
            lambda: [a for a in client.get("/v1/alerts").json()["alerts"] if a["kind"] == "partner"]
        )
        assert [a["entry_id"] for a in partner] == ["ALERT-P"]
        assert partner[0]["evidence"]["authority"] == "EU Commission"
    stored = Alerts(AuditStore(settings.audit_store_url())).recent()
    assert len(stored) == 3
    actions = [r["action"] for r in AuditStore(settings.audit_store_url()).audit_rows()]
    assert actions.count("alert") == 3 and "alert_ack" in actions
    assert "partner_alert" in actions and "reference_approve" in actions


def test_server_killed_during_delivery_loses_nothing(
    tmp_path: Path, shared_registry: SimpleNamespace, lines: pd.DataFrame
) -> None:
    receiver = Receiver(fail=0)
    receiver.hold.clear()  # the receiver holds the first delivery until the server is killed
    settings = app_settings(tmp_path / "app", shared_registry)
    keys = add_keys(settings)
    source = tmp_path / "entities.csv"
    source.write_text(NEW_ENTITY)
    body = {"lines": _lines(lines), "reasons": 0}
    store = AuditStore(settings.audit_store_url())
    try:
        with server_process(settings, env=_env(receiver)) as srv:
            h = auth(keys["admin"])
            assert httpx.post(f"{srv.url}/v1/score", json=body, headers=h, timeout=60).is_success
            assert (
                flrisk(settings, "reference", "update", "--entities", str(source)).returncode == 0
            )
            _wait(lambda: receiver.calls)  # a delivery is in flight, unanswered
            srv.kill()
        assert receiver.accepted == []
        assert Outbox(store).counts()["pending"] == 3  # two line alerts, one listing
        receiver.hold.set()
        with server_process(settings, env=_env(receiver)):
            _wait(lambda: len(set(receiver.keys())) == 2)
            _wait(lambda: Outbox(store).counts()["pending"] == 0)
        assert len(Alerts(store).recent()) == 2
        assert Outbox(store).counts() == {"pending": 0, "delivered": 3, "dead": 0}
    finally:
        receiver.hold.set()
        receiver.server.shutdown()
