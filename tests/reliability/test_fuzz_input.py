"""Input fuzzing: the contract reader and the API's JSON models never crash.

Files are written from random bytes, wrong encodings, BOMs, huge fields, NaN/inf, duplicated
header names and zero/negative numbers. The reader either refuses the file with a
``ContractError`` (a subclass: the message names the problem) or returns the good rows and a
report naming every bad row, with nothing lost: good rows + reported rows = rows read.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from models.contract.columns import COLUMNS, ContractError
from models.contract.reader import ReadResult, read_entry_lines
from models.feedback import OUTCOMES
from serving.api.entry_line import EntryLineIn
from serving.api.schemas import ScoreRequest
from serving.feedback import FeedbackIn
from serving.service import validate_request

FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip
GOOD = {
    "entry_id": "SMZ-0004417-3", "line_no": "1", "entry_date": "2024-03-14",
    "hts_code": "6109.10.0012", "country_of_origin": "VN", "country_of_export": "VN",
    "port_of_lading": "VNSGN", "port_of_entry": "2704", "transport_mode": "vessel",
    "manufacturer_name": "SAIGON GARMENT CO", "quantity": "1200", "gross_weight_kg": "2652.6",
    "declared_value_usd": "23326.63",
}  # fmt: skip
NAMES = [c.name for c in COLUMNS if not c.label]
NASTY = [
    "", " ", "nan", "NaN", "inf", "-inf", "1e309", "-1", "0", "-0.0", "1,200", "NA", "null",
    "=cmd|' /C calc'!A0", "\x00", "\u202e", "😀", "ü", "\r", '"', "'", "2024-02-30",
    "9999-99-99", "0001-01-01", "61O9100012", "x" * 70_000,
]  # fmt: skip
CASES = {"files": 0, "json": 0}
CELL = st.one_of(st.sampled_from(NASTY), st.text(max_size=30))


def _read(path: Path, tmp: Path) -> ReadResult | None:
    """Read ``path``: a result, or None when refused with a ContractError (never a crash)."""
    CASES["files"] += 1
    try:
        return read_entry_lines(path, allow_bad_rows=True, quarantine_path=tmp / "q.csv")
    except ContractError as exc:
        assert str(exc)
        return None


def _assert_accounted(result: ReadResult, n_rows: int) -> None:
    """Every row is a good row or a reported bad row, and every report names row and column."""
    bad = result.bad_rows
    assert result.n_read == n_rows
    assert len(result.frame) + bad["row"].nunique() == n_rows
    if len(bad):
        assert bad["row"].between(2, n_rows + 1).all()  # CSV line numbers: header is line 1
        assert bad["column"].astype(bool).all() and bad["reason"].astype(bool).all()
        q = pd.read_csv(result.quarantine_path, dtype=str, keep_default_na=False)
        assert sorted(q["_row"].astype(int)) == sorted(bad["row"].unique())


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".csv", ".parquet"]))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"f{suffix}"
    path.write_bytes(data)
    _read(path, tmp_path)


@FUZZ
@given(
    rows=st.lists(
        st.dictionaries(st.sampled_from(NAMES), CELL, max_size=5),
        min_size=1, max_size=8,
    ),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "utf-16", "cp1252"]),
    lineterminator=st.sampled_from(["\n", "\r\n"]),
)  # fmt: skip
def test_mutated_csv_reports_every_bad_row(
    tmp_path: Path, rows: list[dict[str, str]], encoding: str, lineterminator: str
) -> None:
    records = [{**GOOD, "line_no": str(i + 1), **change} for i, change in enumerate(rows)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=NAMES, lineterminator=lineterminator)
    writer.writeheader()
    writer.writerows(records)
    path = tmp_path / "lines.csv"
    try:
        path.write_bytes(buf.getvalue().encode(encoding))
    except UnicodeEncodeError:
        return  # the text cannot exist in that encoding
    result = _read(path, tmp_path)
    if result is None:
        return
    # Blank-looking rows (all cells empty after a mutation) are not rows; \r inside cells
    # and NUL bytes can merge lines. Count what the CSV parser sees, then check the books.
    n_rows = len(pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False,
                             na_filter=False).replace("", pd.NA).dropna(how="all"))  # fmt: skip
    _assert_accounted(result, n_rows)


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "1e400", "-1", "-0.5"])
@pytest.mark.parametrize("column", ["quantity", "gross_weight_kg", "declared_value_usd"])
def test_non_finite_and_negative_numbers_are_bad_rows(
    tmp_path: Path, column: str, value: str
) -> None:
    path = tmp_path / "x.csv"
    pd.DataFrame([GOOD, {**GOOD, "line_no": "2", column: value}]).to_csv(path, index=False)
    result = _read(path, tmp_path)
    assert result is not None and len(result.frame) == 1
    assert result.bad_rows[["row", "column"]].values.tolist() == [[3, column]]


@pytest.mark.parametrize("column", ["quantity", "gross_weight_kg", "declared_value_usd"])
def test_zero_is_a_valid_number(tmp_path: Path, column: str) -> None:
    path = tmp_path / "z.csv"
    pd.DataFrame([{**GOOD, column: "0"}]).to_csv(path, index=False)
    result = _read(path, tmp_path)
    assert result is not None and len(result.frame) == 1 and result.frame[column][0] == 0.0


@pytest.mark.parametrize(
    ("prefix", "encoding", "ok"),
    [(b"\xef\xbb\xbf", "utf-8", True), (b"", "utf-16", False), (b"", "latin-1", False)],
)
def test_boms_and_wrong_encodings(tmp_path: Path, prefix: bytes, encoding: str, ok: bool) -> None:
    text = pd.DataFrame([{**GOOD, "manufacturer_name": "MÜLLER GMBH"}]).to_csv(index=False)
    path = tmp_path / "e.csv"
    path.write_bytes(prefix + text.encode(encoding))
    result = _read(path, tmp_path)
    assert (result is not None) is ok
    if ok:
        assert result is not None and result.frame["manufacturer_name"][0] == "MÜLLER GMBH"


def test_wrong_encoding_message_names_utf8(tmp_path: Path) -> None:
    path = tmp_path / "l1.csv"
    path.write_bytes(
        pd.DataFrame([{**GOOD, "importer_name": "ÉTÉ"}]).to_csv(index=False).encode("latin-1")
    )
    with pytest.raises(ContractError, match="UTF-8"):
        read_entry_lines(path, allow_bad_rows=True, quarantine_path=tmp_path / "q.csv")


def test_duplicated_header_names_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    header = ",".join([*GOOD, "hts_code"])
    row = ",".join([*GOOD.values(), "9999999999"])
    path.write_text(f"{header}\n{row}\n")
    with pytest.raises(ContractError, match="hts_code"):
        read_entry_lines(path, allow_bad_rows=True, quarantine_path=tmp_path / "q.csv")


def test_huge_field_is_read_or_refused_not_crashed(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    pd.DataFrame([{**GOOD, "goods_description": "X" * 5_000_000}]).to_csv(path, index=False)
    result = _read(path, tmp_path)
    assert result is not None and len(result.frame) == 1


def test_quarantine_write_failure_is_a_clear_contract_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    pd.DataFrame([{**GOOD, "hts_code": "12AB"}]).to_csv(path, index=False)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(ContractError, match="cannot write the quarantine file"):
        read_entry_lines(path, allow_bad_rows=True, quarantine_path=blocker / "q.csv")


# --- the API's JSON models --------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)  # fmt: skip
LINE = st.fixed_dictionaries(
    {}, optional={name: st.one_of(JSON, st.sampled_from(NASTY)) for name in NAMES}
).map(lambda d: {**{k: v for k, v in GOOD.items() if k not in d or k == "entry_id"}, **d})


@FUZZ
@given(body=st.one_of(JSON, st.fixed_dictionaries({"lines": st.lists(LINE, max_size=4)},
                                                  optional={"reasons": JSON})))  # fmt: skip
def test_score_request_model_never_crashes(body: Any) -> None:
    CASES["json"] += 1
    try:
        req = ScoreRequest.model_validate(body)
    except ValidationError:
        return
    inputs = [line.model_dump(exclude_none=True) for line in req.lines]
    try:
        frame = validate_request(inputs, {}).frame
    except RequestValidationError as exc:
        for err in exc.errors():
            loc = err["loc"]
            assert (
                loc[:2] == ("body", "lines") and isinstance(loc[2], int) and isinstance(loc[3], str)
            )
        return
    assert len(frame) == len(inputs)
    for col in ("quantity", "gross_weight_kg", "declared_value_usd"):
        assert all(math.isfinite(x) and x >= 0 for x in frame[col].dropna())


@FUZZ
@given(line=LINE)
def test_entry_line_model_never_crashes(line: dict[str, Any]) -> None:
    CASES["json"] += 1
    try:
        EntryLineIn.model_validate(line)
    except ValidationError as exc:
        assert all(err["loc"] for err in exc.errors())  # names the field


FEEDBACK = st.fixed_dictionaries(
    {
        "entry_id": JSON,
        "line_no": JSON,
        "inspected": JSON,
        "decision_id": st.one_of(st.just("ab" * 32), JSON),
    },
    optional={k: JSON for k in ("violation", "inspection_reason", "note", "outcome")},
)


@FUZZ
@given(body=st.one_of(JSON, FEEDBACK))
def test_feedback_model_never_crashes(body: Any) -> None:
    CASES["json"] += 1
    try:
        fb = FeedbackIn.model_validate(body)
    except ValidationError:
        return
    assert fb.inspected or (fb.violation is None and fb.inspection_reason is None)
    assert fb.outcome is None or fb.violation == OUTCOMES[fb.outcome]


def test_zz_report_case_counts() -> None:
    print(f"\ninput fuzzing: {CASES}")
