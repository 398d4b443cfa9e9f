"""Re-screening against a reference change, without a model: exactly the lines naming the
new listing alert, once; a modification alerts only what it newly presumes; a partner
alert is evidence (kind ``partner``); enforcement actions go to the outbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from models.alerts.rescreen import catch_up, diff, in_force, rescreen
from models.audit_rows import AuditRows, ModelStamp
from models.reference import tables as reference
from models.reference.snapshot import ReferenceWatcher, snapshot_of
from models.reference.versions import list_versions, publish
from models.store import Alerts, AuditStore, Outbox

NEW = {
    "entity_id": "UFLPA-9002", "name": "Quokka Polysilicon Materials Co. Ltd",
    "aliases": "Xinjiang Quokka Polysilicon", "list": "UFLPA", "sector": "polysilicon",
    "region": "Xinjiang", "country": "CN", "effective_date": "2024-01-01",
    "citation": "99 FR 777", "source": "test",
}  # fmt: skip
NAMES = [
    "PLAIN SUPPLIER ONE LTD",
    "QUOKKA POLYSILICON MATERIALS CO LTD",  # variant spelling: alerts
    "QUOKKA TEXTILE TRADING CO LTD",  # near miss: no alert
    "Quokka Poly Silicon Material Company Limited",  # variant spelling: alerts
    "PLAIN SUPPLIER TWO LTD",
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "reference"
    shutil.copytree(reference.shipped_dir(), folder)
    return folder


@pytest.fixture
def store(tmp_path: Path) -> AuditStore:
    s = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    s.create()
    rows = []
    for i, name in enumerate(NAMES):
        line = {"entry_id": f"E-{i}", "line_no": 1, "entry_date": f"2024-0{i + 1}-15",
                "manufacturer_name": name if i != 3 else "SOMEONE ELSE",
                "shipper_name": name if i == 3 else "PLAIN SHIPPER"}  # fmt: skip
        res = {"entry_id": line["entry_id"], "line_no": 1, "risk_score": 0.1 * i,
               "risk_band": "low", "reasons": []}  # fmt: skip
        rows += AuditRows("r1", "k").scored("score", ModelStamp("m/1", "h"), [line], [res], 1.0)
    s.record(rows)
    return s


def _entities(root: Path, *rows: dict[str, str]) -> str:
    table = reference.read_table(reference.current_dir(root), "entities")
    table = pd.concat([table, pd.DataFrame(list(rows))], ignore_index=True).fillna("")
    return table[list(reference.SCHEMAS["entities"])].to_csv(index=False, lineterminator="\n")


def test_new_listing_alerts_exactly_the_two_lines_once(root: Path, store: AuditStore) -> None:
    old = ReferenceWatcher(root).current()
    publish({"entities.csv": _entities(root, NEW)}, root)
    new = ReferenceWatcher(root).current()
    assert new.version == list_versions(root)[-1] and old.version == "shipped"
    change = diff(old, new)
    assert list(change.added["entity_id"]) == ["UFLPA-9002"] and change.modified.empty
    result = rescreen(store, old, new, since="2000-01-01", webhook_urls=["http://hook"])
    got = sorted((a["entry_id"], a["party_role"], a["kind"]) for a in result.alerts)
    # E-1 entered in February 2024, after the listing: presumed; E-3 in April: presumed.
    assert got == [("E-1", "manufacturer", "presumed"), ("E-3", "shipper", "presumed")]
    assert result.actions == 1
    assert Outbox(store).counts()["pending"] == 3  # two alerts and the listing
    again = rescreen(store, old, new, since="2000-01-01", webhook_urls=["http://hook"])
    assert again.alerts == [] and len(Alerts(store).recent()) == 2
    assert Outbox(store).counts()["pending"] == 3
    actions = [r["action"] for r in store.audit_rows()]
    assert actions.count("alert") == 2
    # Lines scored before the look-back window are not re-screened.
    assert Alerts(store).distinct_names("2100-01-01") == []


def test_partner_authorities_receive_the_enforcement_action_only(
    root: Path, store: AuditStore
) -> None:
    from sqlalchemy import select

    from models.store.outbox import outbox

    old = ReferenceWatcher(root).current()
    publish({"entities.csv": _entities(root, NEW)}, root)
    new = ReferenceWatcher(root).current()
    result = rescreen(store, old, new, since="2000", webhook_urls=["http://screening"],
                      partner_urls=["http://partner"])  # fmt: skip
    assert len(result.alerts) == 2 and result.actions == 1
    with store.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.url, outbox.c.kind, outbox.c.body_json)).all()
    by_url: dict[str, list[str]] = {}
    for url, kind, _ in rows:
        by_url.setdefault(url, []).append(kind)
    assert sorted(by_url["http://screening"]) == ["enforcement_action", "line_alert", "line_alert"]
    assert by_url["http://partner"] == ["enforcement_action"]
    (sent,) = [json.loads(b) for u, _, b in rows if u == "http://partner"]
    assert sent["type"] == "enforcement_action" and sent["entity"] == NEW["name"]


def test_listing_dated_after_the_entry_alerts_as_matched_not_presumed(
    root: Path, store: AuditStore
) -> None:
    old = ReferenceWatcher(root).current()
    publish({"entities.csv": _entities(root, {**NEW, "effective_date": "2024-03-01"})}, root)
    new = ReferenceWatcher(root).current()
    kinds = {a["entry_id"]: a["kind"] for a in rescreen(store, old, new, since="2000").alerts}
    assert kinds == {"E-1": "matched", "E-3": "presumed"}


def test_modification_alerts_only_lines_it_newly_presumes(root: Path, store: AuditStore) -> None:
    publish({"entities.csv": _entities(root, {**NEW, "effective_date": "2024-03-01"})}, root)
    old = ReferenceWatcher(root).current()
    catch_up(store, old, root)  # a server's first pass: the baseline
    table = reference.read_table(old.folder, "entities")
    table.loc[table["entity_id"] == "UFLPA-9002", "effective_date"] = "2024-01-01"
    publish({"entities.csv": table.to_csv(index=False, lineterminator="\n")}, root)
    new = ReferenceWatcher(root).current()
    result = catch_up(store, new, root, since="2000")
    assert result is not None
    # E-1 (February) is newly presumed by the earlier date; E-3 was matched (and presumed) before.
    assert [(a["entry_id"], a["change"]) for a in result.alerts] == [("E-1", "modified")]


def test_partner_alert_is_evidence_not_a_presumption(root: Path, store: AuditStore) -> None:
    old = ReferenceWatcher(root).current()
    partners = pd.DataFrame([{
        "alert_id": "PARTNER-1", "name": "Plain Supplier Two Ltd", "aliases": "",
        "address": "", "country": "CN", "hs_scope": "", "basis": "EU regulation",
        "authority": "EU Commission", "effective_date": "2025-05-01", "citation": "EU 1",
        "approved_by": "admin", "approved_at": "2026-01-01",
    }])  # fmt: skip
    publish({"partner_alerts.csv": partners.to_csv(index=False)}, root)
    new = ReferenceWatcher(root).current()
    alerts = rescreen(store, old, new, since="2000").alerts
    assert [(a["entry_id"], a["kind"], a["list"]) for a in alerts] == [
        ("E-4", "partner", "PARTNER")
    ]
    assert alerts[0]["evidence"]["authority"] == "EU Commission"


def test_in_force_periods() -> None:
    row = {"effective_date": "2024-01-01", "end_date": "2025-01-01"}
    assert not in_force(row, "2023-12-31")
    assert in_force(row, "2024-01-01") and in_force(row, "2024-12-31")
    assert not in_force(row, "2025-01-01")
    assert not in_force(row, "")


def test_versions_are_published_atomically_and_read_whole(root: Path) -> None:
    watcher = ReferenceWatcher(root)
    first = watcher.current()
    seen: list[tuple[str, str]] = []
    watcher.on_change(lambda o, n: seen.append((o.version, n.version)))
    v2 = publish({"entities.csv": _entities(root, NEW)}, root)
    assert watcher.current() is not first
    assert watcher.current().version == v2 and seen == [("shipped", v2)]
    assert watcher.current() is watcher.current()  # one snapshot until the pointer moves
    # The first version is the tables in use before: a copy of the shipped ones.
    v1 = list_versions(root)[0]
    assert (root / "versions" / v1 / "entities.csv").read_bytes() == (
        reference.shipped_dir() / "entities.csv"
    ).read_bytes()
    snap = snapshot_of(v2, root)
    assert "UFLPA-9002" in set(snap.entities["entity_id"])
    assert snap.matcher.match(["QUOKKA POLYSILICON MATERIALS"])[0].entity_id == "UFLPA-9002"
    assert snap.versions["snapshot"] == v2
    assert json.loads((root / "versions" / v2 / "versions.json").read_text())
    assert not [p for p in (root / "versions").iterdir() if p.name.startswith(".")]


def test_the_index_moves_known_names_forward_in_one_statement(store: AuditStore) -> None:
    """A pass over lines naming known parties holds the store's write lock briefly."""
    from sqlalchemy import event, text

    alerts = Alerts(store)
    assert alerts.index(str.upper) == len(NAMES)
    # The same names, scored again later (and one older row, indexed late, moves nothing).
    rows = []
    for i, (name, ts) in enumerate([(n, "2099-01-01T00:00:00") for n in NAMES] * 40):
        line = {"entry_id": f"F-{i}", "line_no": 1, "manufacturer_name": name}
        res = {"entry_id": f"F-{i}", "line_no": 1, "risk_score": 0.5, "risk_band": "low",
               "reasons": []}  # fmt: skip
        rows += AuditRows("r2", "k", ts=ts).scored("score", ModelStamp("m/1", "h"), [line],
                                                  [res], 1.0)  # fmt: skip
    old = AuditRows("r3", "k", ts="2000-01-01T00:00:00").scored(
        "score", ModelStamp("m/1", "h"), [{"entry_id": "G", "line_no": 1,
                                          "manufacturer_name": NAMES[0]}],
        [{"entry_id": "G", "line_no": 1, "risk_score": 0.5, "risk_band": "low",
          "reasons": []}], 1.0,
    )  # fmt: skip
    store.record(rows)
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    assert alerts.index(str.upper) == len(rows)
    assert sum("UPDATE party_names" in s for s in statements) == 1
    store.record(old)
    assert alerts.index(str.upper) == 1
    with store.engine.connect() as conn:
        got = dict(conn.execute(text("SELECT name, last_ts FROM party_names")).all())
    assert {got[n] for n in NAMES} == {"2099-01-01T00:00:00"}


def test_a_row_whose_input_is_not_a_line_object_does_not_stop_the_index(tmp_path: Path) -> None:
    """Indexed as a line without parties; the lines after it are indexed as usual."""
    from sqlalchemy import text

    s = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    s.create()
    rows = []
    for i, odd in enumerate(["[1, 2]", "{not json", None, '"a text"']):
        line = {"entry_id": f"E-{i}", "line_no": 1, "manufacturer_name": "ODD LTD"}
        res = {"entry_id": f"E-{i}", "line_no": 1, "risk_score": 0.5, "risk_band": "low",
               "reasons": []}  # fmt: skip
        (row,) = AuditRows("r1", "k").scored("score", ModelStamp("m/1", "h"), [line], [res], 1.0)
        rows.append({**row, "input_json": odd})
    # A fine line, and one whose non-finite pass-through value the canonical text writes as
    # json's NaN (which orjson refuses): both keep their parties.
    for entry, name, extra in (("E-8", "NAN LTD", float("nan")), ("E-9", "FINE LTD", 1.0)):
        line = {"entry_id": entry, "line_no": 1, "manufacturer_name": name, "pt": extra}
        res = {"entry_id": entry, "line_no": 1, "risk_score": 0.5, "risk_band": "low",
               "reasons": []}  # fmt: skip
        rows += AuditRows("r1", "k").scored("score", ModelStamp("m/1", "h"), [line], [res], 1.0)
    assert "NaN" in rows[-2]["input_json"]
    s.record(rows)
    assert Alerts(s).index(str.upper) == 6
    with s.engine.connect() as conn:
        got = conn.execute(text("SELECT entry_id, manufacturer_name FROM line_parties")).all()
        names = conn.execute(text("SELECT name FROM party_names")).scalars().all()
    assert sorted(map(tuple, got)) == [(f"E-{i}", None) for i in range(4)] + [
        ("E-8", "NAN LTD"),
        ("E-9", "FINE LTD"),
    ]
    assert sorted(names) == ["FINE LTD", "NAN LTD"]
    s.dispose()
