"""The upload helper shared by the API's file scoring and the workbench's upload."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from starlette.datastructures import UploadFile

from models.contract.columns import ContractError
from models.contract.limits import ReadLimits
from models.settings import Settings
from serving.uploads import (
    UploadRefusedError,
    read_copy,
    read_upload,
    report_rows,
    upload_copy,
    upload_suffix,
)


def test_suffix_by_name_then_by_type() -> None:
    assert upload_suffix("Day.CSV") == ".csv" and upload_suffix("day.txt") == ".csv"
    assert upload_suffix("day.pq", "text/csv") == ".parquet"  # the name wins
    assert upload_suffix("day", "text/csv; charset=utf-8") == ".csv"
    assert upload_suffix(None, "application/vnd.apache.parquet") == ".parquet"
    assert upload_suffix("day.json", "application/json") is None
    assert upload_suffix("day.json") is None


def test_copy_is_private_hashed_and_removed(tmp_path: Path) -> None:
    body = b"entry_id,line_no\n" + b"x" * (3 << 20)  # several copy blocks
    upload = UploadFile(io.BytesIO(body), filename="day.csv")
    with upload_copy(upload, tmp_path / "data", ".csv", "t-") as copy:
        assert copy.path.read_bytes() == body and copy.path.suffix == ".csv"
        assert copy.sha256 == hashlib.sha256(body).hexdigest() and copy.size == len(body)
        assert copy.quarantine.parent == copy.path.parent
        folder = copy.path.parent
    assert not folder.exists()


def test_read_copy_reads_good_rows_and_refuses_a_file_without_columns(tmp_path: Path) -> None:
    good = (
        b"entry_id,line_no,entry_date,hts_code,country_of_origin\n"
        b"E-1,1,2024-03-14,6109100012,CN\nE-1,2,2024-03-14,61,CN\n"
    )
    with upload_copy(UploadFile(io.BytesIO(good), filename="d.csv"), tmp_path, ".csv", "t-") as c:
        read = read_copy(c, ReadLimits())
    assert read.n_read == 2 and len(read.frame) == 1 and read.bad_rows_total == 1
    assert list(read.bad_rows["column"]) == ["hts_code"]
    bad = UploadFile(io.BytesIO(b"a,b\n1,2\n"), filename="d.csv")
    with upload_copy(bad, tmp_path, ".csv", "t-") as c, pytest.raises(ContractError):
        read_copy(c, ReadLimits())


# --- The one upload path of the API and the workbench: every bad file a 4xx, in words -------

HEADER = "entry_id,line_no,entry_date,hts_code,country_of_origin"


def settings_for(tmp_path: Path, **limits: int) -> Settings:
    return Settings(data_dir=tmp_path / "data", **limits)


def refused(body: bytes, name: str, settings: Settings) -> UploadRefusedError:
    with pytest.raises(UploadRefusedError) as exc:
        read_upload(UploadFile(io.BytesIO(body), filename=name), settings)
    # Whatever the refusal: JSON-encodable, and no server path in it.
    text = json.dumps(exc.value.body(), ensure_ascii=False)
    assert str(settings.data_dir) not in text and "/tmp" not in text
    text.encode("utf-8")
    return exc.value


def parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def test_zero_good_rows_is_a_422_with_the_bad_row_report(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    only_header = refused(f"{HEADER}\n".encode(), "d.csv", s)
    assert only_header.status == 422 and "no rows" in only_header.message
    assert only_header.body() == {
        "detail": only_header.message, "n_read": 0, "bad_rows": [], "bad_rows_total": 0,
    }  # fmt: skip
    all_bad = refused(
        f"{HEADER}\nE1,1,not-a-date,6109100012,CN\nE2,0,2025-01-02,12,XX\n".encode(), "d.csv", s
    )
    assert all_bad.status == 422 and "None of the 2 rows" in all_bad.message
    body = all_bad.body()
    assert body["n_read"] == 2 and body["bad_rows_total"] == 4
    assert [(r["row"], r["column"]) for r in body["bad_rows"]] == [
        (2, "entry_date"), (3, "line_no"), (3, "hts_code"), (3, "country_of_origin"),
    ]  # fmt: skip
    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in HEADER.split(",")})
    empty_parquet = refused(parquet(empty), "d.parquet", s)
    assert empty_parquet.status == 422 and empty_parquet.body()["n_read"] == 0


def test_the_report_keeps_the_first_rows_and_counts_them_all(tmp_path: Path) -> None:
    rows = [f"E{i},1,2024-03-14,12,CN" for i in range(1500)] + ["G,1,2024-03-14,6109100012,CN"]
    body = "\n".join([HEADER, *rows]).encode()
    read = read_upload(UploadFile(io.BytesIO(body), filename="d.csv"), settings_for(tmp_path))
    assert read.n_read == 1501 and len(read.lines) == 1
    assert read.bad_rows_total == 1500 and len(read.bad_rows) == 1000


def test_report_values_are_bounded_and_printable(tmp_path: Path) -> None:
    huge = "x" * 100_000
    body = f"{HEADER}\nE1,1,{huge},6109100012,CN\nE2,1,\x01\x1b[31m,6109100012,CN\n".encode()
    report = refused(body, "d.csv", settings_for(tmp_path)).report
    assert [r["column"] for r in report] == ["entry_date", "entry_date"]
    assert all(len(r["value"]) <= 80 and len(r["reason"]) <= 200 for r in report)
    assert report[1]["value"] == "\\x01\\x1b[31m" and report[1]["value"].isprintable()


@pytest.mark.parametrize(
    ("name", "body", "words"),
    [
        ("d.parquet", b"PAR1 not really PAR1", "Parquet"),
        ("d.parquet", b"garbage", "not a Parquet file"),
        ("d.csv", b"a,b\n\xff\xfe,2\n", "UTF-8"),
        ("d.csv", b"entry_id,entry_id\n1,2\n", "duplicate column"),
        ("d.csv", b"entry_id,line_no\nE,1\n", "missing required column"),
        ("d.csv", b'a,"b\n1,2\n', "CSV"),
    ],
)
def test_unreadable_files_are_422s_without_server_paths(
    tmp_path: Path, name: str, body: bytes, words: str
) -> None:
    exc = refused(body, name, settings_for(tmp_path))
    assert exc.status == 422 and words in exc.message
    assert "lines." not in exc.message  # the private copy's name is not the user's file


def test_limits_come_from_the_settings_and_are_413s_naming_them(tmp_path: Path) -> None:
    rows = "\n".join(f"E{i},1,2024-03-14,6109100012,CN" for i in range(30))
    s = settings_for(tmp_path, max_upload_rows=20)
    exc = refused(f"{HEADER}\n{rows}\n".encode(), "d.csv", s)
    assert exc.status == 413 and "limit is 20" in exc.message and "Split the file" in exc.message
    wide = ",".join([HEADER, *(f"x{i}" for i in range(100))])
    exc = refused(f"{wide}\n".encode(), "d.csv", settings_for(tmp_path, max_upload_columns=50))
    assert exc.status == 413 and "more than 50 columns" in exc.message
    frame = pd.DataFrame({c: ["1"] * 30 for c in HEADER.split(",")})
    exc = refused(parquet(frame), "d.pq", settings_for(tmp_path, max_upload_rows=20))
    assert exc.status == 413 and "30 rows" in exc.message


def test_wrong_kind_and_empty_files(tmp_path: Path) -> None:
    s = settings_for(tmp_path)
    assert refused(b"%PDF-1.4", "manifest.pdf", s).status == 415
    assert refused(b"", "d.csv", s).status == 422
    # The API goes by the declared type too; the workbench by the name alone.
    upload = UploadFile(io.BytesIO(f"{HEADER}\n".encode()), filename="day", headers=_ctype())
    with pytest.raises(UploadRefusedError) as exc:
        read_upload(upload, s, by_type=False)
    assert exc.value.status == 415


def _ctype() -> Any:
    from starlette.datastructures import Headers

    return Headers({"content-type": "text/csv"})


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    data=st.one_of(
        st.binary(max_size=2048),
        st.text(max_size=400).map(lambda t: f"{HEADER}\n{t}".encode("utf-8", "surrogatepass")),
    ),
    name=st.sampled_from(["d.csv", "d.parquet", "d.txt", "d.pq"]),
)
def test_any_bytes_are_read_or_refused_with_a_4xx(tmp_path: Path, data: bytes, name: str) -> None:
    s = settings_for(tmp_path, max_upload_rows=50, max_upload_columns=20)
    try:
        read = read_upload(UploadFile(io.BytesIO(data), filename=name), s)
    except UploadRefusedError as exc:
        assert exc.status in (413, 415, 422), exc.message
        text = json.dumps(exc.body(), ensure_ascii=False)
        text.encode("utf-8")  # no lone surrogate: the answer can be sent
        assert str(s.data_dir) not in text and str(tmp_path) not in text
        return
    assert len(read.lines) > 0 and read.n_read >= len(read.lines)
    assert json.dumps(report_rows(read.bad_rows), ensure_ascii=False).encode("utf-8")
