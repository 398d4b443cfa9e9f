import re

import numpy as np
import pandas as pd
import pytest

from models.contract.columns import ALL_COLUMNS
from models.contract.reader import (
    BadRowsError,
    ContractError,
    MissingColumnError,
    iter_entry_lines,
    read_entry_lines,
)
from models.contract.validate import quarantine_frame, validate_lines

# One case per kind of bad cell: (column, bad value, the reason reported, word for word).
BAD_CELLS = [
    ("entry_id", "", "missing required value"),
    ("line_no", "0", "not an integer >= 1: '0'"),
    ("line_no", "1.5", "not an integer >= 1: '1.5'"),
    ("entry_date", "2024-13-01", "unparseable date '2024-13-01'"),
    ("entry_date", "14/03/2024", "unparseable date '14/03/2024'"),
    ("entry_date", "", "missing required value"),
    ("hts_code", "61091", "not an HTS code of 6 to 10 digits: '61091'"),
    ("hts_code", "6109.10.00.12.3", "not an HTS code of 6 to 10 digits: '6109.10.00.12.3'"),
    ("hts_code", "61O9100012", "not an HTS code of 6 to 10 digits: '61O9100012'"),
    ("country_of_origin", "XX", "not an ISO 3166-1 alpha-2 code: 'XX'"),
    ("country_of_origin", "", "missing required value"),
    ("country_of_export", "CHN", "not an ISO 3166-1 alpha-2 code: 'CHN'"),
    ("port_of_lading", "XXSGN", "not a UN/LOCODE (country + 3 characters): 'XXSGN'"),
    ("port_of_lading", "VNSG", "not a UN/LOCODE (country + 3 characters): 'VNSG'"),
    ("port_of_entry", "270", "not a 4-digit CBP port code: '270'"),
    ("transport_mode", "ship", "not one of air/rail/truck/vessel: 'ship'"),
    ("quantity", "-1", "not a finite number >= 0: '-1'"),
    ("gross_weight_kg", "nan", "not a finite number >= 0: 'nan'"),
    ("declared_value_usd", "inf", "not a finite number >= 0: 'inf'"),
    ("declared_value_usd", "1,200", "not a finite number >= 0: '1,200'"),
    ("inspected", "maybe", "not a boolean (true/false/1/0/yes/no): 'maybe'"),
    ("inspected", "", "missing value (expected true/false)"),
    ("inspection_reason", "audit", "not one of random/targeted/tip: 'audit'"),
    ("violation", "2", "not 1, 0 or empty: '2'"),
]


@pytest.mark.parametrize(("column", "value", "reason"), BAD_CELLS)
def test_each_kind_of_bad_cell_is_reported_with_row_and_column(
    write_csv, lines, tmp_path, column, value, reason
):
    path = write_csv(lines(3, **{column: {1: value}}))
    result = read_entry_lines(path, allow_bad_rows=True)
    assert result.bad_rows[["row", "column"]].values.tolist() == [[3, column]]
    assert result.bad_rows["reason"].iloc[0] == reason
    assert result.bad_rows["value"].iloc[0] == value
    assert result.bad_rows["source"].iloc[0] == "lines.csv"
    assert len(result.frame) == 2 and result.n_read == 3
    assert result.frame["line_no"].tolist() == [1, 3]


def test_good_values_are_normalised(write_csv, lines):
    rows = lines(
        2,
        hts_code={1: "8541 40 6020"},
        country_of_origin={1: "na"},
        port_of_lading={1: "cn sha"},
        transport_mode={1: "AIR"},
        inspected={1: "No"},
        inspection_reason={1: ""},
        violation={1: ""},
        quantity={1: ""},
    )
    frame = read_entry_lines(write_csv(rows)).frame
    assert frame["hts_code"].tolist() == ["6109100012", "8541406020"]
    assert frame["country_of_origin"].tolist() == ["VN", "NA"]  # Namibia survives
    assert frame["port_of_lading"].tolist() == ["VNSGN", "CNSHA"]
    assert frame["transport_mode"].tolist() == ["vessel", "air"]
    assert frame["inspected"].tolist() == [True, False]
    assert frame["violation"].iloc[0] == 0.0 and np.isnan(frame["violation"].iloc[1])
    assert np.isnan(frame["quantity"].iloc[1])


def test_dtypes_and_absent_optional_columns_are_added(write_csv, lines):
    required = ["entry_id", "line_no", "entry_date", "hts_code", "country_of_origin"]
    rows = [{k: r[k] for k in required} for r in lines(2)]
    result = read_entry_lines(write_csv(rows))
    frame = result.frame
    assert list(frame.columns) == list(ALL_COLUMNS)
    assert frame["line_no"].dtype == "int64"
    assert frame["entry_date"].dtype == "datetime64[ns]"
    assert frame["entry_date"].iloc[0] == pd.Timestamp("2024-03-14")
    assert frame["entry_id"].dtype == "str" and frame["importer_name"].dtype == "str"
    assert frame["importer_name"].isna().all()
    for col in ("quantity", "gross_weight_kg", "declared_value_usd", "violation"):
        assert frame[col].dtype == "float64" and frame[col].isna().all()
    assert frame["inspected"].dtype == bool and not frame["inspected"].any()
    assert result.quarantine_path is None and result.bad_rows.empty
    assert list(result.bad_rows.columns) == ["row", "column", "value", "reason", "source"]


def test_several_problems_in_one_row_each_reported_once(write_csv, lines):
    rows = lines(2, entry_date={0: "bad"}, hts_code={0: "x"}, violation={0: "7"})
    # violation '7' is both invalid and set on a line not inspected: still one problem.
    rows[0]["inspected"] = "false"
    rows[0]["inspection_reason"] = ""
    result = read_entry_lines(write_csv(rows), allow_bad_rows=True)
    got = result.bad_rows[["row", "column"]].values.tolist()
    assert got == [[2, "entry_date"], [2, "hts_code"], [2, "violation"]]


def test_label_rules(write_csv, lines):
    rows = lines(
        4,
        inspected={0: "false", 1: "false", 2: "false", 3: "1"},
        violation={0: "1", 1: "", 2: "", 3: "1.0"},
        inspection_reason={0: "", 1: "tip", 2: "", 3: "TIP"},
    )
    result = read_entry_lines(write_csv(rows), allow_bad_rows=True)
    assert result.bad_rows[["row", "column"]].values.tolist() == [
        [2, "violation"],
        [3, "inspection_reason"],
    ]
    assert result.bad_rows["reason"].tolist() == [
        "set on a line not inspected: '1'",
        "set on a line not inspected: 'tip'",
    ]
    assert result.frame["violation"].tolist()[1] == 1.0
    assert result.frame["inspection_reason"].tolist() == [np.nan, "tip"]


def test_require_labels_refuses_files_without_labels(write_csv, lines):
    unlabelled = ("violation", "inspection_reason")
    rows = [{k: v for k, v in r.items() if k not in unlabelled} for r in lines(2)]
    with pytest.raises(MissingColumnError, match="'violation'"):
        read_entry_lines(write_csv(rows), require_labels=True)
    rows = [{k: v for k, v in r.items() if k != "inspection_reason"} for r in lines(2)]
    assert len(read_entry_lines(write_csv(rows), require_labels=True).frame) == 2


def test_duplicates_later_ones_are_bad(write_csv, lines):
    rows = lines(4, line_no={2: "1", 3: "01"})
    result = read_entry_lines(write_csv(rows), allow_bad_rows=True)
    assert result.bad_rows[["row", "column"]].values.tolist() == [[4, "line_no"], [5, "line_no"]]
    assert result.bad_rows["reason"].tolist() == [
        "duplicate (entry_id, line_no); first seen at row 2",
        "duplicate (entry_id, line_no); first seen at row 2",
    ]
    assert result.frame["line_no"].tolist() == [1, 2]


def test_duplicates_across_files(write_csv, lines):
    a = write_csv(lines(2), "a.csv")
    b = write_csv(lines(3), "b.csv")
    result = read_entry_lines([a, b], allow_bad_rows=True)
    assert result.bad_rows[["source", "row"]].values.tolist() == [["b.csv", 2], ["b.csv", 3]]
    assert result.bad_rows["reason"].tolist() == [
        "duplicate (entry_id, line_no); first seen at row 2 of a.csv",
        "duplicate (entry_id, line_no); first seen at row 3 of a.csv",
    ]
    assert result.n_read == 5 and len(result.frame) == 3


def test_missing_required_column_is_refused_with_its_name(write_csv, lines):
    rows = [{k: v for k, v in r.items() if k != "hts_code"} for r in lines(2)]
    with pytest.raises(MissingColumnError, match="missing required column 'hts_code'"):
        read_entry_lines(write_csv(rows))


def test_bad_rows_error_names_row_and_column_after_quarantining(write_csv, lines, tmp_path):
    path = write_csv(lines(3, entry_date={2: "2024-13-01"}))
    with pytest.raises(BadRowsError) as info:
        read_entry_lines(path)
    assert "row 4, column 'entry_date': unparseable date '2024-13-01'" in str(info.value)
    assert "1 problem(s) in 1 bad row(s)" in str(info.value)
    assert len(info.value.bad_rows) == 1
    assert (tmp_path / "lines.quarantine.csv").exists()  # written before raising


def test_quarantine_holds_exactly_the_bad_rows_with_original_values(write_csv, lines, tmp_path):
    rows = lines(5, hts_code={1: "12"}, entry_date={3: "soon"}, country_of_origin={3: "xx"})
    path = write_csv(rows)
    qpath = tmp_path / "out" / "q.csv"
    result = read_entry_lines(path, allow_bad_rows=True, quarantine_path=qpath)
    assert result.quarantine_path == qpath
    q = pd.read_csv(qpath, dtype=str, keep_default_na=False)
    original = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert q["_row"].tolist() == ["3", "5"]
    pd.testing.assert_frame_equal(q[original.columns], original.iloc[[1, 3]].reset_index(drop=True))
    assert q["_column"].tolist() == ["hts_code", "entry_date; country_of_origin"]
    assert q["_reason"].iloc[1].count("; ") == 1 and "xx" in q["_reason"].iloc[1]
    assert len(result.frame) == 3


def test_default_quarantine_path_is_beside_the_input(write_csv, lines, tmp_path):
    path = write_csv(lines(2, hts_code={0: "1"}), "in.csv")
    result = read_entry_lines(path, allow_bad_rows=True)
    assert result.quarantine_path == tmp_path / "in.quarantine.csv"


def test_quarantine_write_failure_is_a_contract_error(write_csv, lines, tmp_path):
    path = write_csv(lines(2, hts_code={0: "1"}))
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")  # a file where a directory is needed fails even for root
    with pytest.raises(ContractError, match="cannot write the quarantine"):
        read_entry_lines(path, allow_bad_rows=True, quarantine_path=blocker / "q.csv")


def test_bom_csv_and_blank_lines(tmp_path, write_csv, lines):
    path = write_csv(lines(2), bom=True)
    text = path.read_text(encoding="utf-8")
    head, first, second = text.splitlines()
    path.write_text(f"{head}\n{first}\n\n{second.replace('2024-03-14', 'x')}\n\n", "utf-8")
    result = read_entry_lines(path, allow_bad_rows=True)
    assert result.frame["entry_id"].tolist() == ["SMZ-0004417-3"]
    assert result.bad_rows["row"].tolist() == [4]  # the editor's line, blank line counted
    assert result.n_read == 2


def test_parquet(tmp_path, lines):
    df = pd.DataFrame(lines(3, entry_date={2: "2024-02-30"}))
    df["line_no"] = df["line_no"].astype(int)
    df["quantity"] = df["quantity"].astype(float)
    df["entry_date"] = df["entry_date"].where(df.index < 2)
    df.loc[0, "entry_date"] = None
    df["entry_date"] = pd.to_datetime(df["entry_date"])
    df.loc[0, "entry_date"] = pd.Timestamp("2024-01-05")
    path = tmp_path / "lines.parquet"
    df.to_parquet(path)
    result = read_entry_lines(path, allow_bad_rows=True)
    assert result.frame["line_no"].tolist() == [1, 2]
    assert result.frame["entry_date"].tolist() == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-03-14"),
    ]
    assert result.bad_rows[["row", "column"]].values.tolist() == [[3, "entry_date"]]  # null date


def test_chunked_reading_matches_whole_reading(write_csv, lines, tmp_path):
    rows = lines(23, hts_code={4: "1"}, entry_date={17: "x"}, line_no={20: "3"})
    path = write_csv(rows)
    whole = read_entry_lines(path, allow_bad_rows=True, quarantine_path=tmp_path / "w.csv")
    parts = list(
        iter_entry_lines(
            path, chunk_rows=5, allow_bad_rows=True, quarantine_path=tmp_path / "c.csv"
        )
    )
    assert len(parts) == 5
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    bad = pd.concat([p.bad_rows for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(frame, whole.frame)
    pd.testing.assert_frame_equal(bad, whole.bad_rows)
    assert bad["row"].tolist() == [6, 19, 22]  # the duplicate spans chunks
    assert sum(p.n_read for p in parts) == 23
    assert (tmp_path / "c.csv").read_text() == (tmp_path / "w.csv").read_text()


def test_chunked_parquet_row_numbers(tmp_path, lines):
    path = tmp_path / "lines.parquet"
    pd.DataFrame(lines(7, hts_code={5: "1"})).to_parquet(path)
    parts = list(iter_entry_lines(path, chunk_rows=3, allow_bad_rows=True))
    assert [p.n_read for p in parts] == [3, 3, 1]
    assert pd.concat([p.bad_rows for p in parts])["row"].tolist() == [6]  # 1-based position


def test_chunked_reading_raises_without_allow_bad_rows(write_csv, lines):
    path = write_csv(lines(6, hts_code={4: "1"}))
    it = iter_entry_lines(path, chunk_rows=3)
    assert len(next(it).frame) == 3
    with pytest.raises(BadRowsError, match="row 6, column 'hts_code'"):
        next(it)


def test_validate_lines_is_pure_and_uses_positions(tmp_path, lines):
    raw = pd.DataFrame(lines(3, violation={2: "x"}))
    raw["line_no"] = [1, 2, 3]  # non-text cells (JSON) are read as text first
    result = validate_lines(raw, source="<api>")
    assert result.bad_rows[["row", "column", "source"]].values.tolist() == [
        [3, "violation", "<api>"]
    ]
    assert result.quarantine_path is None and not list(tmp_path.iterdir())
    assert validate_lines(raw, row_offset=10).bad_rows["row"].tolist() == [12]


def test_validate_lines_json_like_values():
    raw = pd.DataFrame(
        [
            {"entry_id": "E1", "line_no": 1, "entry_date": "2024-03-14", "hts_code": "610910",
             "country_of_origin": "VN", "quantity": 2.5, "inspected": True, "violation": 1},
            {"entry_id": "E1", "line_no": None, "entry_date": "2024-03-14", "hts_code": "610910",
             "country_of_origin": "VN", "quantity": None, "inspected": False, "violation": None},
            {"entry_id": "E1", "line_no": 3, "entry_date": "2024-03-14", "hts_code": "610910",
             "country_of_origin": "VN", "quantity": 3, "inspected": False, "violation": None},
        ]
    )  # fmt: skip
    result = validate_lines(raw)
    assert result.bad_rows[["row", "column"]].values.tolist() == [[2, "line_no"]]
    assert result.frame["line_no"].tolist() == [1, 3]  # 3.0 after the null is still line 3
    assert result.frame["violation"].tolist()[0] == 1.0
    assert result.frame["inspected"].tolist() == [True, False]


@pytest.mark.parametrize("n", [1, 3, 200])
def test_columns_of_texts_validate_like_a_frame_of_them(lines, n):
    rows = lines(
        n,
        hts_code={0: " 6109.10 "},
        country_of_origin={0: "vn", n - 1: "XX"},
        # Non-ASCII case maps go through Arrow, ASCII ones through Python: both must agree.
        country_of_export={0: "ﬀ"},
        port_of_lading={n - 1: "vnsgn"},
        transport_mode={0: " VESSEL "},
        shipper_name={0: "\u3000ACME\x1c", n - 1: "  "},
        quantity={n - 1: "-3"},
        line_no={n - 1: "1"},  # a duplicate of line 1 when n > 1
        inspected={n - 1: "maybe"},
    )
    for r in rows:
        r.pop("inspection_reason", None)
    columns = {c: [r.get(c) for r in rows] for c in rows[0]}
    columns["x_rate"] = ["1.5", None, "high"][:n] + ["2"] * max(0, n - 3)
    kinds = {"x_rate": "numeric"}
    frame = validate_lines(pd.DataFrame(columns, dtype="object"), passthrough=kinds, source="s")
    records = validate_lines(columns, passthrough=kinds, source="s")
    assert len(records.bad_rows) > 0
    pd.testing.assert_frame_equal(records.frame, frame.frame)
    pd.testing.assert_frame_equal(records.bad_rows, frame.bad_rows)


def test_ragged_columns_are_refused():
    with pytest.raises(ValueError, match="different lengths"):
        validate_lines({"entry_id": ["E1"], "line_no": ["1", "2"]})


def test_passthrough_columns(lines):
    raw = pd.DataFrame(lines(3))
    raw["x_office"] = ["a", "", "c"]
    raw["x_rate"] = ["1.5", "", "high"]
    kinds = {"x_office": "categorical", "x_rate": "numeric"}
    result = validate_lines(raw, passthrough=kinds)
    assert result.passthrough == kinds
    assert result.bad_rows[["row", "column"]].values.tolist() == [[3, "x_rate"]]
    assert result.frame["x_rate"].dtype == "float64" and result.frame["x_office"].dtype == "str"
    assert result.frame["x_office"].isna().tolist() == [False, True]


def test_unknown_extra_columns_are_dropped(lines):
    raw = pd.DataFrame(lines(1))
    raw["note"] = "hello"
    assert "note" not in validate_lines(raw).frame.columns


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "lines.xlsx"
    path.write_text("x")
    with pytest.raises(ContractError, match="unsupported file type"):
        read_entry_lines(path)


def test_validate_lines_one_line_equals_the_same_line_in_a_large_frame(lines):
    bad = {
        "entry_date": {5: "2024-02-30", 7: " 2024-03-14T00:00 "},
        "hts_code": {7: "61O9", 11: " 6109 10 00 12 "},
        "country_of_origin": {7: "", 13: " vn "},
        "port_of_lading": {7: "vn sgn", 17: "XXSGN"},
        "transport_mode": {7: "ship", 19: " Air "},
        "quantity": {7: "-1", 23: "1e3", 29: "inf"},
        "inspected": {7: "maybe", 31: "No"},
        "inspection_reason": {31: "random", 37: "tip"},
        "violation": {31: "1", 41: "1.0"},
        "entry_id": {43: "  "},  # a bad key elsewhere must not change other rows' results
        "line_no": {45: "1"},  # a duplicate (left out below: alone it is not one)
    }
    raw = pd.DataFrame(lines(2000, **bad))
    raw["x_rate"] = ["1.5", "", "high", "2"] * 500
    kinds = {"x_rate": "numeric"}
    whole = validate_lines(raw, passthrough=kinds)
    assert len(whole.bad_rows.query("row == 8")) == 5  # several bad cells on one line
    dup = whole.bad_rows.query("row == 46")["reason"].tolist()
    assert dup == ["duplicate (entry_id, line_no); first seen at row 1"]
    for i in [0, 2, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 1999]:
        one = validate_lines(
            raw.iloc[[i]].reset_index(drop=True), passthrough=kinds, row_offset=i + 1
        )
        expected = whole.bad_rows[whole.bad_rows["row"] == i + 1].reset_index(drop=True)
        pd.testing.assert_frame_equal(one.bad_rows, expected, check_exact=True)
        frame = whole.frame[whole.frame["line_no"] == i + 1].reset_index(drop=True)
        pd.testing.assert_frame_equal(one.frame, frame, check_exact=True)


def test_duplicate_message_names_an_integer_row(lines):
    raw = pd.DataFrame(lines(4, line_no={1: "1"}, entry_id={3: ""}))
    result = validate_lines(raw)
    assert result.bad_rows["reason"].tolist() == [
        "duplicate (entry_id, line_no); first seen at row 1",
        "missing required value",
    ]


DATES = [
    "2024-03-14", "2024-02-29", "2023-02-29", "2024-13-01", "2024-00-10", "0000-01-01",
    "0001-01-01", "1677-09-21", "1677-09-22", "2262-04-11", "2262-04-12", "9999-12-31",
    "2024-03-14T00:00", "2024-03-14 00:00:00.000", "2024-03-14T12:00", "2024-3-14", "soon",
]  # fmt: skip
# Digits other than 0-9 (pandas took some of these): refused, as in every other date.
NON_ASCII_DATES = ["2024-03-1\u0664", "\u0662024-03-14", "2024-03-1\uff14"]


@pytest.mark.parametrize("text", DATES + NON_ASCII_DATES)
def test_dates_parse_as_pandas_does_within_the_datetime64_range(text, lines):
    frame = pd.DataFrame(lines(1, entry_date={0: text}))
    got = validate_lines(frame)
    # The reference: pandas' strict format on the date part, then datetime64[ns]'s range.
    full = re.fullmatch(r"\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0+)?)?)?", text)
    ref = pd.to_datetime(text[:10] if full else None, format="%Y-%m-%d", errors="coerce")
    in_range = not pd.isna(ref) and pd.Timestamp("1677-09-22") <= ref <= pd.Timestamp("2262-04-11")
    if text in NON_ASCII_DATES:
        in_range = False
    if in_range:
        assert got.frame["entry_date"].tolist() == [ref]
    else:
        assert got.frame.empty
        assert got.bad_rows["reason"].tolist() == [f"unparseable date '{text}'"]


def test_python_trim_and_case_maps_equal_arrows_kernels():
    """A small batch trims and changes case in Python; a large one with Arrow's kernels."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from models.contract.text import TextCells

    points = [chr(i) for i in range(0x110000) if not 0xD800 <= i <= 0xDFFF]
    for texts in (["x" + c for c in points], [c + "x" for c in points]):
        assert [t.strip() for t in texts] == pc.utf8_trim_whitespace(pa.array(texts)).to_pylist()
    values = ["vn", "Vnsgn", " vessel ", "ﬀ", "straße", "İx", None]
    for chosen in (values[:3], values):  # all ASCII (Python), mixed (Arrow)
        t = TextCells(chosen)
        arrow = pa.array(t.clean, type=pa.large_string())
        assert t.mapped("utf8_upper") == pc.utf8_upper(arrow).to_pylist()
        assert t.mapped("utf8_lower") == pc.utf8_lower(arrow).to_pylist()


def test_lines_without_labels_validate_unless_labels_are_required(lines):
    """Scoring requests carry no outcomes; training refuses lines without them."""
    raw = pd.DataFrame(lines(2)).drop(columns=["inspected", "inspection_reason", "violation"])
    result = validate_lines(raw)
    assert result.bad_rows.empty and result.frame["line_no"].tolist() == [1, 2]
    assert result.frame["violation"].isna().all()
    with pytest.raises(MissingColumnError, match="'inspected', 'violation'"):
        validate_lines(raw, require_labels=True)


def test_the_default_source_names_the_lines_in_the_report(lines):
    result = validate_lines(pd.DataFrame(lines(2, hts_code={1: "1"})))
    assert result.bad_rows["source"].tolist() == ["<lines>"]


def test_an_empty_request_names_the_missing_columns():
    with pytest.raises(MissingColumnError, match="'entry_id', 'line_no'"):
        validate_lines({})


def test_whole_floats_of_a_frame_without_text_columns_are_read_as_integers(lines):
    """JSON nulls make an int column float; cells of any dtype are read as text first."""
    raw = pd.DataFrame(lines(3)).astype(object)
    raw["line_no"] = [1.0, np.nan, 1000.0]
    result = validate_lines(raw)
    assert result.frame["line_no"].tolist() == [1, 1000]
    assert result.bad_rows[["row", "column"]].values.tolist() == [[2, "line_no"]]


def test_an_integer_a_float_cannot_hold_is_refused_not_changed(lines):
    """Past 2**53 a float is not the number sent: 2**53 + 1 arrives as 2**53."""
    raw = pd.DataFrame(lines(3))
    raw["line_no"] = pd.array([1, None, 2**53 + 1], dtype=object).astype("float64")
    assert raw["line_no"].iloc[2] == 2**53  # what the JSON parse left of it
    result = validate_lines(raw)
    assert 3 in result.bad_rows.query("column == 'line_no'")["row"].tolist()
    assert 2**53 not in result.frame["line_no"].tolist()


def test_quarantine_joins_each_rows_problems_in_column_order(lines):
    """Many bad rows with several problems each: every row gets its own, in report order."""
    n = 40
    bad = {i: "1" for i in range(n)}
    raw = pd.DataFrame(lines(n, hts_code=bad, country_of_origin={i: "XX" for i in range(n)},
                             quantity={i: "-1" for i in range(0, n, 2)}))  # fmt: skip
    result = validate_lines(raw)
    rows = np.arange(1, n + 1)
    q = quarantine_frame(raw, result.bad_rows, rows)
    assert q["_row"].tolist() == list(range(1, n + 1))
    for i, r in q.iterrows():
        cols = ["hts_code", "country_of_origin"] + (["quantity"] if i % 2 == 0 else [])
        assert r["_column"] == "; ".join(cols)
        own = result.bad_rows[result.bad_rows["row"] == r["_row"]]
        assert own["column"].tolist() == cols
        said = zip(cols, own["reason"], strict=True)
        assert r["_reason"] == "; ".join(f"{c}: {w}" for c, w in said)
    pd.testing.assert_frame_equal(q[raw.columns], raw)


def test_seen_keys_tell_fingerprints_apart_to_the_last_bit():
    """Two keys whose hashes differ in the lowest bit only are different keys."""
    from models.contract.duplicates import SeenKeys

    top = 2**63 + 2  # past 2**53: a float would round the last bits away
    seen = SeenKeys()
    seen.add(np.array([top], np.uint64), np.array([top], np.uint64), np.array([7]), "a.csv")
    h1 = np.array([top, top + 1, top], np.uint64)
    h2 = np.array([top, top, top + 1], np.uint64)
    assert seen.find(h1, h2).tolist() == [0, -1, -1]
    assert seen.where(0) == ("a.csv", 7)


def test_seen_keys_find_every_earlier_key_across_many_chunks_and_growing_bitmaps():
    """Keys from chunks far apart, past several growths of the bitmap, against a dict."""
    from models.contract.duplicates import SeenKeys

    rng = np.random.default_rng(5)
    seen, truth = SeenKeys(), {}
    for chunk in range(12):
        h1 = rng.integers(0, 2**64, 3_000, dtype=np.uint64)
        h2 = rng.integers(0, 2**64, 3_000, dtype=np.uint64)
        if truth:  # a few keys of earlier chunks again, and near misses of them
            old = list(truth)
            pick = rng.choice(len(old), 20, replace=False)
            h1[:20] = [old[i][0] for i in pick]
            h2[:20] = [old[i][1] for i in pick]
            h1[20:30] = h1[:10]  # the same first hash, another second hash: not seen
        found = seen.find(h1, h2)
        for i, (a, b) in enumerate(zip(h1.tolist(), h2.tolist(), strict=True)):
            expected = truth.get((a, b))
            assert (seen.where(int(found[i])) if found[i] >= 0 else None) == expected
        new = found < 0
        rows = np.arange(len(h1)) + 1_000 * chunk
        seen.add(h1[new], h2[new], rows[new], f"file{chunk % 3}.csv")
        added = zip(h1[new].tolist(), h2[new].tolist(), rows[new].tolist(), strict=True)
        truth.update({(a, b): (f"file{chunk % 3}.csv", r) for a, b, r in added})
        assert len(seen) == len(truth)
    assert seen._bits.size * 8 >= 32 * len(seen)  # the bitmap grew with the keys


def test_a_rows_problems_are_reported_in_the_files_column_order(lines):
    """A duplicate key is found after the cell checks, and still reported in its column's place."""
    raw = pd.DataFrame(lines(2, line_no={1: "1"}, hts_code={1: "1"}, entry_date={1: "soon"}))
    raw["x_rate"] = ["1", "high"]
    result = validate_lines(raw, passthrough={"x_rate": "numeric"})
    assert result.bad_rows[["row", "column"]].values.tolist() == [
        [2, "line_no"], [2, "entry_date"], [2, "hts_code"], [2, "x_rate"]
    ]  # fmt: skip
    assert result.bad_rows["reason"].iloc[0].startswith("duplicate (entry_id, line_no)")


def test_a_mapped_chunk_is_validated_and_quarantined_in_its_own_layout():
    from models.contract.duplicates import SeenKeys
    from models.contract.mapping import ColumnMapping
    from models.contract.validate import validate_chunk

    mapping = ColumnMapping.model_validate(
        {
            "name": "broker",
            "columns": {"entry_id": "No", "line_no": {"constant": 1}, "entry_date": "Filed",
                        "hts_code": "HS", "country_of_origin": "Origin"},
            "labels": {"inspected": {"constant": True}, "violation": "Seized"},
            "passthrough": {"numeric": ["Duty"]},
        }
    )  # fmt: skip
    original = pd.DataFrame(
        {"No": ["A", "B"], "Filed": ["2024-03-14", "soon"], "HS": ["610910", "610910"],
         "Origin": ["VN", "VN"], "Seized": ["1", "0"], "Duty": ["2.5", "3"]},
        dtype="str",
    )  # fmt: skip
    rows = np.array([2, 3])
    result, q = validate_chunk(
        original, rows, mapping, require_labels=True, source="f.csv", seen=SeenKeys()
    )
    assert result.frame["entry_id"].tolist() == ["A"]
    assert result.frame["violation"].tolist() == [1.0]
    assert result.passthrough == {"x_duty": "numeric"}
    assert result.frame["x_duty"].tolist() == [2.5]
    assert q is not None and list(q.columns) == [*original.columns, "_row", "_column", "_reason"]
    assert q[["No", "Filed"]].values.tolist() == [["B", "soon"]]
    assert q["_row"].tolist() == [3] and q["_column"].tolist() == ["entry_date"]
    # Labels are required of the file's own columns, named as the file names them.
    with pytest.raises(MissingColumnError, match="source column 'Seized'"):
        validate_chunk(
            original.drop(columns="Seized"), rows, mapping, require_labels=True,
            source="f.csv", seen=SeenKeys(),
        )  # fmt: skip


def test_zero_and_fractions_are_valid_amounts(lines):
    rows = lines(2, quantity={0: "0"}, gross_weight_kg={0: "0.5"}, declared_value_usd={1: "0"})
    result = validate_lines(pd.DataFrame(rows))
    assert result.bad_rows.empty
    assert result.frame["quantity"].tolist()[0] == 0.0
    assert result.frame["declared_value_usd"].tolist()[1] == 0.0


def test_a_columns_second_rule_adds_to_its_first_rules_rows(lines):
    """violation: one row breaks the value rule, another the not-inspected rule; both kept."""
    rows = lines(3, violation={0: "7", 1: "1"}, inspected={1: "false"}, inspection_reason={1: ""})
    rows[0]["inspected"] = "false"  # '7' is bad twice: reported once, for its value
    rows[0]["inspection_reason"] = ""
    result = validate_lines(pd.DataFrame(rows))
    assert result.bad_rows[["row", "column", "reason"]].values.tolist() == [
        [1, "violation", "not 1, 0 or empty: '7'"],
        [2, "violation", "set on a line not inspected: '1'"],
    ]
