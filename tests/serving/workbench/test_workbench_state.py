"""The workbench's state in the store: a restart and a second worker see the same worklists
and sessions; the worklist's search, outcome column and names beside codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_workbench import _worklist_id, csrf_of, day_csv, sign_in, upload


@pytest.fixture
def two(make_client: Callable[..., Any], model_source: SimpleNamespace) -> SimpleNamespace:
    """Two apps on one store (two workers of one server), an officer signed in on the first."""
    a, keys, settings = make_client()
    b, _keys, _settings = make_client(settings=settings)
    csrf = sign_in(a, keys["admin"])
    b.cookies.update(a.cookies)  # the same browser, sent to the other worker
    return SimpleNamespace(a=a, b=b, keys=keys, settings=settings, csrf=csrf,
                           lines=model_source.lines)  # fmt: skip


def _entries_on_page(html: str) -> list[str]:
    return re.findall(r'class="entry-link" href="[^"]+">([^<]+)</a>', html)


def test_a_second_worker_sees_the_session_and_the_worklist(two: SimpleNamespace) -> None:
    r = upload(two.a, two.csrf, day_csv(two.lines))
    assert r.status_code == 200
    wl_id = _worklist_id(r.url)
    other = two.b.get(f"/worklists/{wl_id}")
    assert other.status_code == 200, other.text  # was a redirect to sign-in, then a 404
    assert _entries_on_page(other.text) == _entries_on_page(r.text)
    first = _entries_on_page(other.text)[0]
    entry = two.b.get(f"/worklists/{wl_id}/entries/{first}")
    assert entry.status_code == 200 and '<svg class="waterfall"' in entry.text
    # Signing out on one worker ends the session on the other.
    two.a.post("/signout", data={"csrf_token": two.csrf})
    assert two.b.get("/worklists", follow_redirects=False).headers["location"] == "/signin"


def test_a_second_worker_shows_the_files_problems(two: SimpleNamespace) -> None:
    body = day_csv(two.lines, entry_date=["31/12/2024"], country_of_origin=["CN", "XX"])
    r = upload(two.a, two.csrf, body)
    assert "problem(s) in the file" in r.text
    two.a.app.state.workbench.worklists.get(_worklist_id(r.url)).audit.result(120)  # stored
    other = two.b.get(str(r.url))
    assert other.status_code == 200
    assert "31/12/2024" in other.text and "problem(s) in the file" in other.text


def test_a_restart_keeps_worklists_and_sessions(
    make_client: Callable[..., Any], two: SimpleNamespace
) -> None:
    r = upload(two.a, two.csrf, day_csv(two.lines))
    wl_id = _worklist_id(r.url)
    wl = two.a.app.state.workbench.worklists.get(wl_id)
    wl.audit.result(60)
    cookies = dict(two.a.cookies)
    two.a.__exit__(None, None, None)
    two.b.__exit__(None, None, None)  # the whole server stops
    restarted, _keys, _s = make_client(settings=two.settings)
    restarted.cookies.update(cookies)
    page = restarted.get(f"/worklists/{wl_id}")
    assert page.status_code == 200, page.text
    assert _entries_on_page(page.text) == _entries_on_page(r.text)
    got = restarted.app.state.workbench.worklists.get(wl_id)
    assert got.entries["entry_id"].tolist() == wl.entries["entry_id"].tolist()
    assert got.entries["risk_score"].tolist() == pytest.approx(wl.entries["risk_score"].tolist())
    assert got.n_read == wl.n_read and got.source == wl.source
    assert got.entries["presumption"].tolist() == wl.entries["presumption"].tolist()
    # An outcome recorded after the restart finds the audited decision.
    entry_id, line_no = (
        str(got.entries["entry_id"].iloc[0]),
        int(got.entries["top_line_no"].iloc[0]),
    )
    saved = restarted.post(
        f"/worklists/{wl_id}/outcome",
        data={"csrf_token": csrf_of(page.text), "entry_id": entry_id, "line_no": str(line_no),
              "outcome": "detained", "inspection_reason": "targeted"},
    )  # fmt: skip
    assert saved.status_code == 200 and "Outcome recorded" in saved.text


def test_session_ids_are_not_stored_in_clear(two: SimpleNamespace) -> None:
    from sqlalchemy import text

    sid = two.a.cookies["flrisk_session"]
    with two.a.app.state.store.engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT sid_hash FROM workbench_sessions"))]
    assert stored and sid not in stored


def test_search_outcome_column_and_names(two: SimpleNamespace) -> None:
    c = two.a
    r = upload(c, two.csrf, day_csv(two.lines))
    wl = c.app.state.workbench.worklists.get(_worklist_id(r.url))
    wl.audit.result(60)
    target = wl.entries.iloc[3]
    # Search by entry id, by part of the importer's name (any case), by supplier.
    found = c.get(f"/worklists/{wl.id}?q={target['entry_id']}")
    assert _entries_on_page(found.text) == [target["entry_id"]]
    part = str(target["importer_name"]).lower()
    by_importer = _entries_on_page(c.get(f"/worklists/{wl.id}?q={part}&size=200").text)
    assert target["entry_id"] in by_importer
    expected = wl.entries[
        wl.entries["importer_name"].str.lower().str.contains(part, regex=False)
        | wl.entries["supplier"].str.lower().str.contains(part, regex=False)
        | wl.entries["entry_id"].str.lower().str.contains(part, regex=False)
        | wl.entries["importer_id"].str.lower().str.contains(part, regex=False)
        | wl.entries["manufacturer_name"].str.lower().str.contains(part, regex=False)
        | wl.entries["shipper_name"].str.lower().str.contains(part, regex=False)
    ]
    assert sorted(by_importer) == sorted(expected["entry_id"].head(200))
    none = c.get(f"/worklists/{wl.id}?q=no-such-party-anywhere")
    assert "No entries match these filters." in none.text
    # The outcome column: "not examined", then what the officer recorded.
    row = re.search(rf"{re.escape(target['entry_id'])}</a></td>.*?</tr>", found.text, re.S)
    assert row and "not examined" in row.group(0)
    line_no = str(target["top_line_no"])
    c.post(f"/worklists/{wl.id}/outcome",
           data={"csrf_token": two.csrf, "entry_id": target["entry_id"], "line_no": line_no,
                 "outcome": "excluded", "inspection_reason": "targeted"})  # fmt: skip
    after = c.get(f"/worklists/{wl.id}?q={target['entry_id']}")
    row = re.search(rf"{re.escape(target['entry_id'])}</a></td>.*?</tr>", after.text, re.S)
    assert row and 'class="status status-excluded">excluded' in row.group(0)
    # Names beside codes: the origin country, the HS chapter, the port (when known).
    assert "China" in c.get(f"/worklists/{wl.id}?country=CN").text
    port = str(target["port_of_entry"])
    from models.reference.names import port_name

    if port_name(port):
        assert port_name(port) in after.text
    # The entry's parties link to their profiles.
    assert "/parties/importer/" in after.text


def test_party_profile_page_from_a_worklist_link(two: SimpleNamespace) -> None:
    from urllib.parse import unquote

    c = two.a
    r = upload(c, two.csrf, day_csv(two.lines))
    link = re.search(r'class="party-link" href="(/parties/importer/[^"]+)"', r.text)
    assert link, "the worklist links importers to their profiles"
    c.app.state.workbench.worklists.get(_worklist_id(r.url)).audit.result(60)  # lines audited
    page = c.get(link.group(1))
    assert page.status_code == 200, page.text
    key = unquote(link.group(1).rsplit("/", 1)[-1])
    assert key in page.text and 'id="party-cluster"' in page.text
    assert 'id="party-months"' in page.text and '<svg class="months"' in page.text
    export = c.get(link.group(1) + "/summary.csv")
    assert export.status_code == 200 and "TOTAL" in export.text
    actions = [row["action"] for row in c.app.state.store.audit_rows()]
    assert "party_view" in actions and "party_export" in actions
    # A key without the 'parties' scope gets the readable 403 page.
    scorer = TestClient(c.app)
    sign_in(scorer, two.keys["scorer"])
    refused = scorer.get(link.group(1))
    assert refused.status_code == 403 and "lacks the &#39;parties&#39; scope" in refused.text


class _StoreNotYetWritten:
    """A store whose worklist rows are still on the writer thread: nothing found yet."""

    def find_worklist(self, key_id: str, source: str, model_uri: str) -> str | None:
        return None


def test_a_day_scored_a_moment_ago_is_found_before_its_row_is_written() -> None:
    from serving.workbench.state import WorklistStore

    def model(uri: str) -> SimpleNamespace:
        return SimpleNamespace(resolved=SimpleNamespace(uri=uri))

    lists = WorklistStore(_StoreNotYetWritten(), lambda uri, h: model(uri))  # type: ignore[arg-type]
    day = SimpleNamespace(id="a" * 32, key_id="k1", source="demo data, 2025-03-04",
                          model=model("models:/flrisk/1"))  # fmt: skip
    lists.cache(day)  # type: ignore[arg-type]
    assert lists.find("k1", "demo data, 2025-03-04", "models:/flrisk/1") is day
    assert lists.find("k2", "demo data, 2025-03-04", "models:/flrisk/1") is None  # another key's
    assert lists.find("k1", "demo data, 2025-03-05", "models:/flrisk/1") is None
    assert lists.find("k1", "demo data, 2025-03-04", "models:/flrisk/2") is None  # another model


def test_simultaneous_asks_for_the_same_day_score_it_once() -> None:
    """A double click on a demo day: the second waits for the first one's list."""
    import threading
    import time

    from serving.workbench.state import WorklistStore

    def model(uri: str) -> SimpleNamespace:
        return SimpleNamespace(resolved=SimpleNamespace(uri=uri))

    lists = WorklistStore(_StoreNotYetWritten(), lambda uri, h: model(uri))  # type: ignore[arg-type]
    built: list[SimpleNamespace] = []
    start = threading.Barrier(4)

    def build(key: str) -> SimpleNamespace:
        time.sleep(0.05)  # scoring takes a while: the other asks arrive meanwhile
        wl = SimpleNamespace(id=f"{len(built):032d}", key_id=key, source="demo data, 2025-03-04",
                             model=model("models:/flrisk/1"))  # fmt: skip
        built.append(wl)
        lists.cache(wl)  # type: ignore[arg-type]
        return wl

    got: list[object] = []

    def ask(key: str) -> None:
        start.wait()
        got.append(lists.find_or_build(key, "demo data, 2025-03-04", "models:/flrisk/1",
                                       lambda: build(key)))  # type: ignore[arg-type,return-value]  # fmt: skip

    threads = [threading.Thread(target=ask, args=(k,)) for k in ("k1", "k1", "k1", "k2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wl.key_id for wl in built) == ["k1", "k2"]  # one list per key, not per ask
    assert len({id(wl) for wl in got}) == 2 and len(got) == 4
    assert not lists._building  # no gate is kept once everyone is served
