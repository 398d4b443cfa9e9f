"""The upload helper shared by the API's file scoring and the workbench's upload."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from starlette.datastructures import UploadFile

from models.contract.columns import ContractError
from serving.uploads import read_copy, upload_copy, upload_suffix


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
        read = read_copy(c)
    assert (
        read.n_read == 2 and len(read.frame) == 1 and list(read.bad_rows["column"]) == ["hts_code"]
    )
    bad = UploadFile(io.BytesIO(b"a,b\n1,2\n"), filename="d.csv")
    with upload_copy(bad, tmp_path, ".csv", "t-") as c, pytest.raises(ContractError):
        read_copy(c)
