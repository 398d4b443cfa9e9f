"""The importer self-check's core: findings per supplier, upstream paths, tiers, bad rows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from checktools import by_id, write_chain

from models.check.report import run_check
from models.check.suppliers import SupplierFileError, check_frame, read_suppliers

TODAY = date(2026, 12, 3)


@pytest.fixture(scope="module")
def chain_report(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = write_chain(tmp_path_factory.mktemp("chain") / "suppliers.csv")
    return run_check(read_suppliers(path), TODAY)


def _codes(findings: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [f["code"] for f in findings]


def test_listed_alias_at_tier_3_reaches_tier_1_with_the_path(chain_report) -> None:  # type: ignore[no-untyped-def]
    found = by_id(chain_report.results)
    listed = [f for f in found["T3"] if f["code"] == "entity_list"]
    assert len(listed) == 1
    ev = listed[0]["evidence"]
    assert ev["entity_id"] == "UFLPA-0003"
    assert ev["matched_alias"] == "Luopu Meixin Hair"
    assert ev["similarity"] >= 88
    assert ev["list"] == "UFLPA Entity List"
    assert ev["effective_date"] == "2022-06-21"
    assert ev["citation"].startswith("87 FR")
    up = [
        f for f in found["T1"] if f["code"] == "upstream" and f["evidence"]["supplier_id"] == "T3"
    ]
    assert len(up) == 1
    assert up[0]["evidence"]["path"] == ["T3", "T2", "T1"]
    assert up[0]["evidence"]["codes"] == ["entity_list", "xinjiang"]
    assert "T3 (Luopu Meixin Hair) -> T2 (Blue River Weaving Co) -> T1" in up[0]["text"]
    # The middle tier is told too, with its own, shorter path.
    mid = [f for f in found["T2"] if f["code"] == "upstream"]
    assert [f["evidence"]["path"] for f in mid] == [["T3", "T2"]]
    assert all(f["guidance"] for f in found["T1"] + found["T3"])


def test_xinjiang_address_is_found(chain_report) -> None:  # type: ignore[no-untyped-def]
    found = by_id(chain_report.results)
    assert _codes(found["X1"]) == ["xinjiang"]
    assert found["X1"][0]["evidence"]["place"] == "Kashgar"
    assert "Pub. L. 117-78" in found["X1"][0]["evidence"]["citation"]
    # T1 hears of both of its flagged suppliers, the nearer first.
    sources = [f["evidence"]["supplier_id"] for f in found["T1"] if f["code"] == "upstream"]
    assert sources == ["X1", "T3"]


def test_clean_supplier_has_no_findings(chain_report) -> None:  # type: ignore[no-untyped-def]
    assert by_id(chain_report.results)["CLEAN"] == []
    assert by_id(chain_report.results)["T2"] and _codes(by_id(chain_report.results)["T2"]) == [
        "upstream"
    ]


def test_bad_rows_are_reported_by_row_and_column_not_lost(chain_report) -> None:  # type: ignore[no-untyped-def]
    bad = chain_report.bad_rows
    assert set(bad["row"]) == {7}  # CSV line 7: the header is line 1
    assert list(bad["column"]) == ["name", "country", "hts_code", "tier", "supplies_to"]
    assert "BAD" not in by_id(chain_report.results)


def test_summary_per_tier(chain_report) -> None:  # type: ignore[no-untyped-def]
    tiers = {t["tier"]: t for t in chain_report.tiers}
    assert tiers["1"]["suppliers"] == 2 and tiers["1"]["with_findings"] == 1
    assert tiers["1"]["upstream"] == 1
    assert tiers["2"]["suppliers"] == 2 and tiers["2"]["xinjiang"] == 1
    assert tiers["3"]["entity_list"] == 1 and tiers["3"]["xinjiang"] == 1
    assert list(chain_report.to_frame().columns) == ["supplier_id", "name", "findings"]


def test_lists_are_judged_as_in_force_on_the_day(tmp_path: Path) -> None:
    path = write_chain(tmp_path / "suppliers.csv")
    before = by_id(run_check(read_suppliers(path), date(2022, 1, 1)).results)
    # UFLPA-0003 was listed on 2022-06-21: not yet a finding; the address still is.
    assert _codes(before["T3"]) == ["xinjiang"]


def test_parquet_gives_the_same_findings(tmp_path: Path, chain_report) -> None:  # type: ignore[no-untyped-def]
    path = write_chain(tmp_path / "suppliers.parquet")
    report = run_check(read_suppliers(path), TODAY)
    assert by_id(report.results) == by_id(chain_report.results)
    assert set(report.bad_rows["row"]) == {6}  # 1-based position in a Parquet file


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    base = {"address": "1 Main Street, Springfield", "country": "US"}
    return pd.DataFrame([{**base, **r} for r in rows])


def test_cycles_are_reported_not_followed() -> None:
    frame = _frame(
        [
            # Top Glove's Finding was modified away on 2021-09-09; Supermax's WRO holds.
            {"supplier_id": "A", "name": "Supermax Corporation Bhd", "country": "MY",
             "supplies_to": "B"},
            {"supplier_id": "B", "name": "Alpha Traders", "supplies_to": "A"},
            {"supplier_id": "C", "name": "Gamma Traders", "supplies_to": "C"},
            {"supplier_id": "D", "name": "Delta Retail", "supplies_to": ""},
            {"supplier_id": "E", "name": "Echo Parts", "supplies_to": "B|D"},
        ]
    )  # fmt: skip
    report = run_check(check_frame(frame), TODAY)
    assert report.cycles == [["A", "B"], ["C"]]
    found = by_id(report.results)
    wro = [f for f in found["A"] if f["code"] == "wro"]
    assert wro and wro[0]["evidence"]["goods_scope"] == "rubber gloves"
    assert wro[0]["evidence"]["list"] == "CBP Withhold Release Order"
    # B is A's customer; A is B's customer too, but never its own upstream.
    assert [f["evidence"]["path"] for f in found["B"] if f["code"] == "upstream"] == [["A", "B"]]
    assert not [f for f in found["A"] if f["code"] == "upstream"]
    tiers = {r["supplier_id"]: r["tier"] for r in report.results}
    assert tiers["D"] == "1" and tiers["E"] == "2" and tiers["A"] == "unknown"


def test_ilab_goods_by_hts_code_or_by_goods_words() -> None:
    frame = _frame(
        [
            {"supplier_id": "H", "name": "Yarn One", "country": "CN", "hts_code": "5201.00"},
            {"supplier_id": "G", "name": "Yarn Two", "country": "CN", "goods": "raw cotton"},
            {"supplier_id": "O", "name": "Yarn Three", "country": "US", "goods": "raw cotton"},
        ]
    )
    found = by_id(run_check(check_frame(frame), TODAY).results)
    assert _codes(found["H"]) == ["ilab_goods"] and _codes(found["G"]) == ["ilab_goods"]
    assert found["H"][0]["evidence"]["goods"] == ["Cotton"]
    assert any("ILAB List of Goods" in c for c in found["G"][0]["evidence"]["citation"])
    assert found["O"] == []  # cotton from the United States is not on the list


def test_repeated_id_and_missing_column() -> None:
    frame = _frame([{"supplier_id": "A", "name": "One"}, {"supplier_id": "A", "name": "Two"}])
    checked = check_frame(frame)
    assert checked.bad.to_dict("records") == [
        {"row": 2, "column": "supplier_id", "value": "A",
         "reason": "repeats the supplier_id of row 1"}
    ]  # fmt: skip
    with pytest.raises(SupplierFileError, match="address"):
        check_frame(pd.DataFrame({"supplier_id": ["A"], "name": ["x"], "country": ["CN"]}))


def test_a_listing_lifted_before_the_day_is_not_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    from models.check import evidence
    from models.reference.tables import load_entities

    table = load_entities().copy()
    table["end_date"] = ""
    table["hs_scope"] = ""
    table.loc[table["entity_id"] == "CBP-0012", ["end_date", "hs_scope"]] = ["2024-03-01", "4015"]
    monkeypatch.setattr(evidence, "load_entities", lambda: table)
    frame = _frame([{"supplier_id": "A", "name": "Top Glove Corporation Bhd", "country": "MY"}])
    before = by_id(run_check(check_frame(frame), date(2024, 1, 1)).results)["A"]
    assert [f["evidence"]["hs_scope"] for f in before if f["code"] == "wro"] == [["4015"]]
    after = by_id(run_check(check_frame(frame), date(2024, 6, 1)).results)["A"]
    assert [f for f in after if f["code"] == "wro"] == []
