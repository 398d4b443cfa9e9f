"""Focused tests of the contract checks, quarantine report and duplicate keys (issue 22).

Each test names the rule it pins, so a mutant (or a real bug) in that rule fails here and
the failure points at its cause.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.batch import TEXT_DTYPE
from models.contract.duplicates import SeenKeys, _first_seen, check_duplicates
from models.contract.problems import REPORT_COLUMNS, Problems, empty_report
from models.contract.text import TextCells
from models.contract.validate import quarantine_frame, validate_lines


def test_a_first_occurrence_names_its_file_only_when_it_is_another_file():
    assert _first_seen(("a.csv", 7), "a.csv") == "row 7"
    assert _first_seen(("a.csv", 7), "b.csv") == "row 7 of a.csv"


# --- the bad-row report (models.contract.problems) --------------------------------------


def test_a_column_flagged_twice_keeps_its_first_reason_and_adds_only_new_rows():
    p = Problems()
    p.add("hts_code", np.array([1, 3]), ["first 1", "first 3"])
    p.add("hts_code", np.array([0, 3, 4]), ["second 0", "second 3", "second 4"])
    p.add("country_of_origin", np.array([3]), ["other column 3"])
    pos, reasons = p.by_column["hts_code"]
    assert sorted(zip(pos.tolist(), reasons, strict=True)) == [
        (0, "second 0"),
        (1, "first 1"),
        (3, "first 3"),  # already flagged in this column: kept once, first reason
        (4, "second 4"),
    ]
    assert p.by_column["country_of_origin"][1] == ["other column 3"]  # columns apart
    assert p.bad_positions().tolist() == [0, 1, 3, 4]


def test_adding_nothing_registers_no_column_and_a_single_row_is_kept():
    p = Problems()
    p.add("hts_code", np.array([], dtype=np.int64), [])
    assert p.by_column == {}
    p.add("hts_code", np.array([2]), ["only row 2"])
    assert p.by_column["hts_code"][0].tolist() == [2]
    p.add("hts_code", np.array([2]), ["again"])  # nothing new: the first reason stays
    assert p.by_column["hts_code"][1] == ["only row 2"]


def test_no_problems_give_no_positions_as_integers():
    positions = Problems().bad_positions()
    assert positions.tolist() == [] and positions.dtype == np.int64


def test_values_are_flagged_on_every_row_holding_them_with_their_own_reason():
    t = TextCells(["x", "ok", "y", "x", None])
    p = Problems()
    why = {"x": "bad x", "y": "bad y"}
    p.flag_values("hts_code", t, [why.get(v) if v else None for v in t.clean])
    pos, reasons = p.by_column["hts_code"]
    assert pos.tolist() == [0, 2, 3] and reasons == ["bad x", "bad y", "bad x"]
    p.flag_values("port_of_entry", t, [None] * len(t.clean))  # no reason: nothing flagged
    assert "port_of_entry" not in p.by_column


def test_flagged_rows_name_their_clean_value():
    t = TextCells([" a ", "b", " a "])
    p = Problems()
    p.flag_rows("violation", t, np.array([True, False, True]), "set: '{v}'")
    pos, reasons = p.by_column["violation"]
    assert pos.tolist() == [0, 2] and reasons == ["set: 'a'", "set: 'a'"]
    p.flag_rows("inspected", t, np.zeros(3, dtype=bool), "never: '{v}'")
    assert "inspected" not in p.by_column


def test_the_report_is_sorted_by_row_then_file_column_order_with_raw_values():
    """Rows ascending; within a row, the file's column order (not alphabetical)."""
    p = Problems()
    hts = TextCells([" 12 ", "6109", ""])
    country = TextCells(["zz", "VN", "VN"])
    p.texts.update({"hts_code": hts, "country_of_origin": country})
    p.add("hts_code", np.array([0, 2]), ["hts 0", "hts 2"])
    p.add("country_of_origin", np.array([0]), ["country 0"])
    report = p.report(["hts_code", "country_of_origin"], np.array([10, 11, 12]), "f.csv")
    assert list(report.columns) == ["row", "column", "value", "reason", "source"]
    assert report.to_dict("records") == [
        {"row": 10, "column": "hts_code", "value": " 12 ", "reason": "hts 0", "source": "f.csv"},
        {
            "row": 10,
            "column": "country_of_origin",
            "value": "zz",
            "reason": "country 0",
            "source": "f.csv",
        },
        {"row": 12, "column": "hts_code", "value": "", "reason": "hts 2", "source": "f.csv"},
    ]
    assert report["row"].dtype == np.int64
    for c in ("column", "value", "reason", "source"):
        assert report[c].dtype == TEXT_DTYPE, c


def test_rows_sort_before_columns_in_the_report():
    p = Problems()
    t = TextCells(["a", "b"])
    p.texts.update({"hts_code": t, "port_of_entry": t})
    p.add("port_of_entry", np.array([0]), ["port 0"])
    p.add("hts_code", np.array([1]), ["hts 1"])
    report = p.report(["hts_code", "port_of_entry"], np.array([5, 6]), "f.csv")
    assert report["row"].tolist() == [5, 6]
    assert report["column"].tolist() == ["port_of_entry", "hts_code"]


def test_an_empty_report_has_the_reports_columns_and_an_integer_row():
    report = empty_report()
    assert list(report.columns) == list(REPORT_COLUMNS) and len(report) == 0
    assert report["row"].dtype == np.int64
    report.loc[0] = [1, "c", "v", "r", "s"]  # a copy: the cached template stays empty
    assert len(empty_report()) == 0


# --- duplicate keys (models.contract.duplicates) -----------------------------------------


def _u64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def test_a_fingerprint_is_found_only_when_both_hashes_match_wherever_it_sorts():
    """Hand-made fingerprints: the smallest, the largest, beyond both ends, half matches."""
    seen = SeenKeys()
    seen.add(_u64(20, 10, 30), _u64(2, 1, 3), np.array([102, 101, 103]), "a.csv")
    got = seen.find(_u64(10, 30, 5, 40, 20, 20), _u64(1, 3, 1, 3, 2, 9))
    assert got.dtype == np.intp
    hits = [seen.where(int(f)) if f >= 0 else None for f in got.tolist()]
    assert hits == [
        ("a.csv", 101),  # the smallest seen
        ("a.csv", 103),  # the largest seen
        None,  # below every seen key
        None,  # above every seen key
        ("a.csv", 102),
        None,  # same first hash, another second hash: another key
    ]


def test_nothing_seen_or_nothing_asked_gives_integer_misses():
    empty = SeenKeys()
    misses = empty.find(_u64(1, 2), _u64(1, 2))
    assert misses.tolist() == [-1, -1] and misses.dtype == np.intp
    empty.add(_u64(1), _u64(1), np.array([2]), "a.csv")
    assert empty.find(_u64(), _u64()).tolist() == []


def _entry_ids(*ids: str | None) -> TextCells:
    return TextCells(list(ids))


def test_a_key_repeated_in_a_batch_is_flagged_from_its_second_row_naming_the_first():
    p = Problems()
    ids = _entry_ids("E-1", "E-1", "E-2", "E-1", None, "E-2")
    line_no = np.array([1.0, 1.0, 1.0, 1.0, 1.0, np.nan])
    check_duplicates(ids, line_no, np.array([2, 3, 4, 5, 6, 7]), p, "a.csv", None)
    pos, reasons = p.by_column["line_no"]
    # A missing entry_id or line_no is no key: its own rule reports it, not this one.
    assert pos.tolist() == [1, 3]
    assert reasons == ["duplicate (entry_id, line_no); first seen at row 2"] * 2


def test_keys_are_remembered_once_across_chunks_and_files():
    seen = SeenKeys()
    p1 = Problems()
    ids = _entry_ids("E-1", "E-1", "E-2")
    check_duplicates(ids, np.array([1.0, 1.0, 1.0]), np.array([2, 3, 4]), p1, "a.csv", seen)
    assert len(seen) == 2  # E-1 once, although read twice
    assert p1.by_column["line_no"][1] == ["duplicate (entry_id, line_no); first seen at row 2"]
    p2 = Problems()
    ids = _entry_ids("E-3", "E-1", "E-2", "E-3")
    check_duplicates(ids, np.array([1.0] * 4), np.array([2, 3, 4, 5]), p2, "b.csv", seen)
    pos, reasons = p2.by_column["line_no"]
    assert pos.tolist() == [1, 2, 3]
    assert reasons == [
        "duplicate (entry_id, line_no); first seen at row 2 of a.csv",
        "duplicate (entry_id, line_no); first seen at row 4 of a.csv",
        "duplicate (entry_id, line_no); first seen at row 2",
    ]
    assert len(seen) == 3


def test_a_single_key_seen_before_is_a_duplicate_in_a_later_chunk_of_the_same_file():
    seen = SeenKeys()
    check_duplicates(_entry_ids("E-1"), np.array([7.0]), np.array([2]), Problems(), "a.csv", seen)
    p = Problems()
    check_duplicates(_entry_ids("E-1"), np.array([7.0]), np.array([90]), p, "a.csv", seen)
    assert p.by_column["line_no"][1] == ["duplicate (entry_id, line_no); first seen at row 2"]
    assert len(seen) == 1


def test_no_valid_key_flags_nothing_and_remembers_nothing():
    seen = SeenKeys()
    p = Problems()
    check_duplicates(
        _entry_ids(None, "E-1"), np.array([1.0, np.nan]), np.array([2, 3]), p, "a", seen
    )
    assert p.by_column == {} and len(seen) == 0


# --- validation and quarantine (models.contract.validate) --------------------------------


def test_a_float_column_reaching_2_53_is_not_rewritten_as_integers(lines):
    """2**53 may be 2**53 + 1 rounded: such a column keeps its float text, whole or not."""
    raw = pd.DataFrame(lines(2))
    raw["entry_id"] = [7.0, 2.0**53]
    assert validate_lines(raw).frame["entry_id"].tolist() == ["7.0", "9007199254740992.0"]
    raw["entry_id"] = [7.0, 2.0**53 - 1]  # the largest whole float that is surely exact
    assert validate_lines(raw).frame["entry_id"].tolist() == ["7", "9007199254740991"]


def test_quarantine_puts_each_rows_problems_in_report_order_whatever_the_reports_order():
    """A report not sorted by row (hundreds of ties): each row's problems keep their order."""
    n = 300
    original = pd.DataFrame({"entry_id": [f"E-{i}" for i in range(n)]})
    rows = np.arange(2, n + 2)
    # The report lists every row's "b" problem, then every row's "a" problem, rows shuffled.
    shuffled = np.random.default_rng(7).permutation(rows)
    bad_rows = pd.DataFrame(
        {
            "row": np.concatenate([shuffled, shuffled[::-1]]),
            "column": ["b"] * n + ["a"] * n,
            "reason": ["first"] * n + ["second"] * n,
        }
    )
    q = quarantine_frame(original, bad_rows, rows)
    assert q["_row"].tolist() == rows.tolist()
    assert q["entry_id"].tolist() == original["entry_id"].tolist()
    assert set(q["_column"]) == {"b; a"}
    assert set(q["_reason"]) == {"b: first; a: second"}
    assert q["_row"].dtype == np.int64
    assert q["_column"].dtype == q["_reason"].dtype == TEXT_DTYPE  # the batch's text form


def test_labels_without_an_inspected_column_are_set_on_lines_not_inspected(lines):
    """No ``inspected`` column: no line was inspected, so a violation or reason is refused."""
    raw = pd.DataFrame(lines(2)).drop(columns=["inspected"])
    result = validate_lines(raw)
    assert result.bad_rows[["row", "column", "reason"]].values.tolist() == [
        [1, "inspection_reason", "set on a line not inspected: 'random'"],
        [1, "violation", "set on a line not inspected: '0'"],
        [2, "inspection_reason", "set on a line not inspected: 'random'"],
        [2, "violation", "set on a line not inspected: '0'"],
    ]


def test_ids_that_are_one_id_once_stripped_are_one_key_and_a_blank_id_is_no_key():
    """Stripping merges "E-1 " into "E-1" (the duplicate names the first row); "" is missing."""
    p = Problems()
    ids = _entry_ids("E-1", " E-1 ", "", "E-2", "E-1")
    line_no = np.array([1.0, 1.0, 1.0, 1.0, 2.0])
    check_duplicates(ids, line_no, np.array([2, 3, 4, 5, 6]), p, "a.csv", None)
    pos, reasons = p.by_column["line_no"]
    assert pos.tolist() == [1] and reasons == ["duplicate (entry_id, line_no); first seen at row 2"]


def test_unstripped_ids_keep_their_codes_and_a_missing_one_is_no_key_across_chunks():
    """No id changed by stripping (the raw codes are used): keys still meet across chunks."""
    seen = SeenKeys()
    check_duplicates(_entry_ids("E-2", None, "E-1"), np.array([3.0, 3.0, 3.0]),
                     np.array([2, 3, 4]), Problems(), "a.csv", seen)  # fmt: skip
    assert len(seen) == 2
    p = Problems()
    check_duplicates(_entry_ids(None, "E-1", "E-2", "E-3"), np.array([3.0] * 4),
                     np.array([5, 6, 7, 8]), p, "a.csv", seen)  # fmt: skip
    pos, reasons = p.by_column["line_no"]
    assert pos.tolist() == [1, 2]
    assert reasons == [
        "duplicate (entry_id, line_no); first seen at row 4",
        "duplicate (entry_id, line_no); first seen at row 2",
    ]
    assert len(seen) == 3
