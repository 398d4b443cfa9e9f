"""The Model page's monitoring cards: drift of the lines scored, and the shadow challenger."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from servetools import lines_json

from models.audit_rows import AuditRows
from models.store import ShadowScores, now_iso

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sign_in(client: TestClient, key: str) -> str:
    page = client.get("/signin")
    token = CSRF.search(page.text).group(1)
    r = client.post("/signin", data={"api_key": key, "csrf_token": token})
    assert r.status_code == 200, r.text
    return CSRF.search(r.text).group(1)


def _upload(client: TestClient, csrf: str, frame: pd.DataFrame) -> Any:
    body = pd.DataFrame(lines_json(frame)).to_csv(index=False).encode()
    return client.post(
        "/worklists/upload", data={"csrf_token": csrf}, files={"file": ("d.csv", body, "text/csv")}
    )


def _card(html: str, heading: str) -> str:
    return html.split(heading, 1)[1].split("</section>", 1)[0]


def test_the_model_page_shows_the_drift_of_a_scored_day(make_client, model_source) -> None:
    client, keys, _ = make_client()
    csrf = _sign_in(client, keys["admin"])
    before = _card(client.get("/model").text, "Drift of recent lines")
    assert "No line scored by this model since the server started" in before
    r = _upload(client, csrf, model_source.lines)
    assert r.status_code == 200, r.text
    wl = client.app.state.workbench.worklists.get(str(r.url).rstrip("/").rsplit("/", 1)[-1])
    wl.audit.result(timeout=60)  # the day's lines join the window once audited
    card = _card(client.get("/model").text, "Drift of recent lines")
    n = len(model_source.lines)
    assert f"Over the last <strong>{n}</strong> lines scored" in card
    assert '<table id="drift">' in card and "Score PSI" in card
    assert "too few to raise an alert" in card  # 200 lines < the 1,000 an alert needs
    _, report = client.app.state.drift.report()
    worst = report.measures[0]
    assert f'<th scope="row">{worst.name}</th><td class="num">{worst.psi:.3f}</td>' in card
    # The presumption rate, in training and now, with its PSI; /metrics has the same.
    before, now = report.rate("presumption")
    assert (
        f"Presumption rate {100 * before:.1f}% in training, {100 * now:.1f}% now "
        f"(PSI {report.psi('presumption'):.3f})" in card
    )
    metrics = client.get("/metrics").text
    assert f'flrisk_drift_presumption_rate{{of="window"}} {now}' in metrics
    assert 'flrisk_drift_psi{measure="presumption_xinjiang"}' in metrics


def test_a_drift_alert_shows_on_the_model_and_alerts_pages(make_client, model_source) -> None:
    client, keys, _ = make_client(drift_threshold=1e-6, drift_min_lines=100)
    csrf = _sign_in(client, keys["admin"])
    r = _upload(client, csrf, model_source.lines)
    wl = client.app.state.workbench.worklists.get(str(r.url).rstrip("/").rsplit("/", 1)[-1])
    wl.audit.result(timeout=60)
    alert = client.app.state.drift.check()  # 200 lines: below the 500 of a routine check
    assert alert is not None and client.app.state.drift.check() is None  # one per episode
    card = _card(client.get("/model").text, "Drift of recent lines")
    assert f'<a href="/alerts/{alert["id"]}">' in card and "episode 1" in card
    page = client.get("/alerts", params={"kind": "drift"}).text
    assert f'id="alert-{alert["id"]}"' in page and 'aria-label="1 new"' in page
    assert alert["model_version"] in page
    detail = client.get(f"/alerts/{alert['id']}").text
    assert "Drift of model" in detail and alert["measures"][0]["measure"] in detail
    assert client.get("/alerts", params={"kind": "presumed"}).text.count('id="alert-') == 0


def test_the_model_page_compares_the_shadow_challenger(make_client) -> None:
    client, keys, _ = make_client()
    _sign_in(client, keys["admin"])
    assert "No shadow scores in the last 30 days" in client.get("/model").text
    rows = [
        {"ts": now_iso(), "request_id": "r", "entry_id": "E", "line_no": i,
         "champion_version": "models:/flrisk/1", "champion_score": s, "champion_band": "low",
         "challenger_version": "models:/flrisk/2", "challenger_score": s,
         "challenger_band": "low" if i < 4 else "high"}
        for i, s in enumerate([0.1, 0.2, 0.3, 0.4], start=1)
    ]  # fmt: skip
    ShadowScores(client.app.state.store).record(rows, AuditRows("r", "-").event("shadow_score"))
    card = _card(client.get("/model").text, "Shadow challenger")
    assert "<code>models:/flrisk/2</code> beside <code>models:/flrisk/1</code> on 4 lines" in card
    assert "75.0%" in card  # same band on 3 of 4 lines
    assert "1.000" in card  # same ranking
    assert "no outcome yet" in card
