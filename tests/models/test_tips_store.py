"""Tips in the store: duplicates found on filing, triage rules, the evidence read fresh."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.settings import Settings
from models.store import AuditStore
from models.tips import TipBook, TipError, file_tip, load_tip_index, tips_naming, triage_tip

TIP = {"parties": [{"role": "manufacturer", "name": "Hotan Jade Silk Co Ltd"}],
       "goods": [{"hs": "5007.20", "description": "silk fabric"}], "country": "CN",
       "allegation": "x", "source_type": "public", "received_date": "2025-03-02"}  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> AuditStore:
    s = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    s.create()
    return s


def _file(store: AuditStore, **kw: object) -> dict:
    return file_tip(store, {**TIP, **kw}, key_id="k", request_id="r")


def test_duplicates_need_the_same_party_and_overlapping_goods_or_country(store: AuditStore) -> None:
    first = _file(store)
    # Same heading (5007) though another subheading and no country: a duplicate.
    assert _file(store, country=None, goods=[{"hs": "500790"}])["duplicate_of"] == first["id"]
    # Same description, other country.
    same_desc = _file(store, country="VN", goods=[{"description": "SILK FABRIC"}])
    assert same_desc["duplicate_of"] == first["id"]
    # Same party, nothing else in common: a new lead.
    assert _file(store, country="VN", goods=[{"hs": "6109"}])["duplicate_of"] is None
    # Another party: a new lead.
    other = [{"role": "manufacturer", "name": "Hotan Jade Carpets"}]
    assert _file(store, parties=other)["duplicate_of"] is None
    # A dismissed tip is no original: the next one is a new lead.
    triage_tip(store, first["id"], "dismissed", "hoax", key_id="k", request_id="r")
    assert _file(store)["duplicate_of"] is None
    assert len(tips_naming(store, name="HOTAN JADE SILK LIMITED")) == 5


def test_triage_rules(store: AuditStore) -> None:
    tip = _file(store)
    with pytest.raises(TipError, match="say why"):
        triage_tip(store, tip["id"], "corroborated", "", key_id="k", request_id="r")
    done = triage_tip(store, tip["id"], "corroborated", "seen", key_id="lee", request_id="r")
    assert (done["status"], done["triaged_by"], done["triage_note"]) == (
        "corroborated",
        "lee",
        "seen",
    )
    assert done["corroborated_at"]
    with pytest.raises(TipError, match="cannot become new"):
        triage_tip(store, tip["id"], "new", "again", key_id="k", request_id="r")
    with pytest.raises(TipError, match="not one of"):
        _file(store, source_type="rumour")
    with pytest.raises(TipError, match="name or an ID"):
        _file(store, parties=[{"role": "shipper"}])
    actions = [r["action"] for r in store.audit_rows()]
    assert actions == ["tip_file", "tip_triage"]


def test_the_evidence_is_read_again_when_a_tip_changes(store: AuditStore, tmp_path: Path) -> None:
    book = TipBook(store)
    assert not book.index()
    tip = _file(store)
    assert [f.tip_id for fs in book.index().by_name.values() for f in fs] == [tip["id"]]
    assert book.index().live
    # Another process (another store object on the same file) dismisses it.
    other = AuditStore(store.url)
    triage_tip(other, tip["id"], "dismissed", "hoax", key_id="k", request_id="r")
    # Still indexed (training counts it for lines entered before its dismissal), no evidence.
    assert not book.index().live
    # Batch scoring reads the store once, and none at all when there is no store.
    settings = Settings(data_dir=tmp_path, audit_url=store.url)
    assert not load_tip_index(settings).live
    _file(store, country="VN", goods=[])
    assert load_tip_index(settings)
    assert not load_tip_index(Settings(data_dir=tmp_path / "none"))


def test_queries_a_party_profile_uses(store: AuditStore, tmp_path: Path) -> None:
    from models.cases import cases_of_entries

    _file(store)
    _file(store, country="VN", goods=[], parties=[{"role": "importer", "name": "Hotan Jade Silk"}])
    _file(store, country="US", goods=[], parties=[{"role": "importer", "party_id": "IMP-9"}])
    assert len(tips_naming(store, kind="manufacturer", name="HOTAN JADE SILK CO")) == 1
    assert len(tips_naming(store, kind="shipper", name="HOTAN JADE SILK CO")) == 1
    assert len(tips_naming(store, kind="importer", name="HOTAN JADE SILK CO")) == 1
    assert len(tips_naming(store, name="HOTAN JADE SILK CO")) == 2
    assert [t["country"] for t in tips_naming(store, kind="importer", party_id="IMP-9")] == ["US"]
    assert cases_of_entries(store, []) == [] and cases_of_entries(store, ["E-1"]) == []
