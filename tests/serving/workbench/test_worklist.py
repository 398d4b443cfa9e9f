"""The worklist's pure functions: rank, filter, sort, page, capacity, export."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from serving.workbench.worklist import (
    Filters,
    capacity,
    entries_table,
    export_csv,
    filter_entries,
    guard_cell,
    page_of,
    sort_entries,
)


def _lines() -> tuple[pd.DataFrame, pd.DataFrame]:
    lines = pd.DataFrame(
        {
            "entry_id": ["A", "A", "B", "C", "C", "D"],
            "line_no": [1, 2, 1, 1, 2, 1],
            "entry_date": pd.to_datetime(["2025-01-02"] * 6),
            "hts_code": ["6109.10.0012", "5201.00.1800", "8541.42.0010", "9403.60.8081",
                         "6109.10.0012", "2002.90.8010"],
            "country_of_origin": ["CN", "CN", "MY", "VN", "VN", "CN"],
            "importer_name": ["zeta", "zeta", "alpha", "=cmd", "=cmd", None],
            "manufacturer_name": ["M1", "M1", None, "M3", "M3", "M4"],
            "shipper_name": ["S1", "S1", "S2", None, None, None],
            "port_of_entry": ["2704", "2704", "1001", "2704", "2704", "1001"],
            "goods_description": ["T", "C", "S", "F", "T", "P"],
        }
    )  # fmt: skip
    scored = pd.DataFrame(
        {
            "entry_id": lines["entry_id"],
            "line_no": lines["line_no"],
            "risk_score": [0.10, 0.90, 0.50, 0.30, 0.60, 0.05],
            "risk_band": ["low", "high", "elevated", "elevated", "elevated", "low"],
        }
    )
    return lines, scored


def test_entries_are_ranked_by_their_riskiest_line() -> None:
    entries = entries_table(*_lines())
    assert list(entries["entry_id"]) == ["A", "C", "B", "D"]
    assert list(entries["rank"]) == [1, 2, 3, 4]
    a = entries.iloc[0]
    assert a["risk_score"] == 0.9 and a["top_line_no"] == 2 and a["n_lines"] == 2
    assert a["line_score_sum"] == pytest.approx(1.0)
    assert entries.set_index("entry_id").loc["B", "supplier"] == "S2"  # no manufacturer
    assert entries.set_index("entry_id").loc["A", "hs_chapter"] == "52"


def test_filters_sort_and_paging() -> None:
    entries = entries_table(*_lines())
    assert list(filter_entries(entries, Filters(port="2704"))["entry_id"]) == ["A", "C"]
    assert list(filter_entries(entries, Filters(country="cn", band="low"))["entry_id"]) == ["D"]
    assert filter_entries(entries, Filters(chapter="99")).empty
    assert list(sort_entries(entries)["entry_id"]) == ["A", "C", "B", "D"]
    assert list(sort_entries(entries, "risk", descending=False)["entry_id"]) == ["D", "B", "C", "A"]
    assert list(sort_entries(entries, "importer", descending=False)["entry_id"]) == [
        "D", "C", "B", "A"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown sort key"):
        sort_entries(entries, "nope")
    p = page_of(entries, 5, 25)
    assert p.number == 1 and p.pages == 1 and p.first == 1 and p.last == 4
    big = pd.concat([entries] * 30, ignore_index=True)
    p = page_of(big, 3, 50)
    assert (p.number, p.pages, p.first, p.last, len(p.rows)) == (3, 3, 101, 120, 20)
    assert page_of(big, 0, 7).size == 50  # unknown page sizes fall back to the default


def test_capacity_cutoff_and_expected_violations() -> None:
    entries = entries_table(*_lines())
    cap = capacity(entries, 2)
    assert cap.n == 2 and cap.cutoff == pytest.approx(0.6)
    assert cap.expected_entries == pytest.approx(0.9 + 0.6)
    assert cap.expected_lines == pytest.approx(0.1 + 0.9 + 0.3 + 0.6)
    assert cap.lines == 4
    assert capacity(entries, 0).cutoff is None
    assert capacity(entries, 100).n == 4


def test_guard_cell_and_export() -> None:
    for bad in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1"):
        assert guard_cell(bad) == "'" + bad
    assert guard_cell("ACME") == "ACME" and guard_cell(0.5) == 0.5
    text = export_csv(entries_table(*_lines()), within=2)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[1]["importer_name"] == "'=cmd"
    assert [r["within_capacity"] for r in rows] == ["yes", "yes", "no", "no"]
    assert rows[0]["risk_score"] == "0.9"


NASTY = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("dtype", ["str", "string", "object", "category"])
def test_export_guards_every_text_column_whatever_its_dtype(dtype: str) -> None:
    """Issue #16 row 9: pandas 3 calls its text dtype "str"; the guard missed such columns."""
    lines, scored = _lines()
    ids = dict(zip("ABCD", NASTY, strict=False))
    for frame in (lines, scored):
        frame["entry_id"] = frame["entry_id"].map(ids)
    lines["goods_description"] = NASTY
    entries = entries_table(lines, scored)
    text_cols = ["entry_id", "goods_description", "importer_name", "risk_band"]
    entries = entries.astype({c: dtype for c in text_cols})
    assert all(str(entries[c].dtype) == dtype for c in text_cols)
    entries["top_reason"] = pd.Series(["=1+1"] * len(entries), dtype=dtype)
    rows = list(csv.DictReader(io.StringIO(export_csv(entries, within=2))))
    assert {r["entry_id"] for r in rows} == {"'" + v for v in NASTY[:4]}
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (dtype, cell)
    assert {r["top_reason"] for r in rows} == {"'=1+1"}
    assert rows[0]["risk_score"] == "0.9" and rows[0]["rank"] == "1"  # numbers untouched
