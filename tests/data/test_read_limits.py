"""What a file may hold (models.contract.limits): refused before its rows are read.

Issue #16 rows 1 and 2: a 357 KB Parquet file held 4,000,000 rows and a 7.9 MB CSV 1,000,000
columns; each was read whole (minutes, gigabytes). The reader now checks the Parquet metadata
and the CSV header first, and the text a Parquet file expands to before expanding it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import models.contract.reader as reader
from models.contract.limits import csv_header_width, text_bytes
from models.contract.reader import (
    ContractError,
    FileTooLargeError,
    MissingColumnError,
    ReadLimits,
    iter_entry_lines,
    read_entry_lines,
)

REQUIRED = {
    "entry_id": "E-1", "line_no": "1", "entry_date": "2024-03-14", "hts_code": "6109100012",
    "country_of_origin": "VN",
}  # fmt: skip


def repeated_parquet(path: Path, rows: int, **cells: str) -> Path:
    """``rows`` copies of one line, every column one dictionary value: tiny on disk."""
    zeros = pa.array(np.zeros(rows, dtype=np.int32))
    line = {**REQUIRED, **cells}
    table = pa.table(
        {k: pa.DictionaryArray.from_arrays(zeros, pa.array([v])) for k, v in line.items()}
    )
    pq.write_table(table, path, compression="zstd", row_group_size=1 << 20)
    return path


@pytest.fixture
def no_rows_read(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Fails the test if any chunk reaches validation; the list counts the chunks."""
    calls: list[int] = []

    def validate_chunk(*_a: object, **_k: object) -> None:
        calls.append(1)
        raise AssertionError("a row was read: the limit was not checked first")

    monkeypatch.setattr(reader, "validate_chunk", validate_chunk)
    return calls


def test_four_million_rows_in_a_small_parquet_are_refused_from_its_metadata(
    tmp_path: Path, no_rows_read: list[int]
) -> None:
    path = repeated_parquet(tmp_path / "expands.parquet", 4_000_000)
    assert path.stat().st_size < 400_000
    with pytest.raises(FileTooLargeError) as exc:
        read_entry_lines(path, allow_bad_rows=True, limits=ReadLimits(max_rows=1_000_000))
    assert (exc.value.what, exc.value.limit, exc.value.found) == ("rows", 1_000_000, 4_000_000)
    assert "4,000,000 rows" in str(exc.value) and "1,000,000" in str(exc.value)


def test_parquet_columns_row_groups_and_cells_are_checked_from_metadata(
    tmp_path: Path, no_rows_read: list[int]
) -> None:
    wide = tmp_path / "wide.parquet"
    pq.write_table(pa.table({f"c{i}": [1] for i in range(300)}), wide)
    with pytest.raises(FileTooLargeError, match="300 columns"):
        read_entry_lines(wide, limits=ReadLimits(max_columns=256))
    groups = tmp_path / "groups.parquet"
    pq.write_table(pa.table({k: [v] * 50 for k, v in REQUIRED.items()}), groups, row_group_size=1)
    with pytest.raises(FileTooLargeError, match="50 row groups"):
        read_entry_lines(groups, limits=ReadLimits(max_row_groups=10))
    # 50 rows x 5 columns: a CSV of them takes at least 250 bytes (a separator per cell).
    with pytest.raises(FileTooLargeError, match="bytes of text"):
        read_entry_lines(groups, limits=ReadLimits(max_text_bytes=249))


def test_parquet_text_is_measured_before_it_is_expanded(
    tmp_path: Path, no_rows_read: list[int]
) -> None:
    # 20,000 rows of a 10 KB description: 60 KB on disk, 200 MB once expanded.
    path = repeated_parquet(tmp_path / "long.parquet", 20_000, goods_description="x" * 10_000)
    assert path.stat().st_size < 100_000
    with pytest.raises(FileTooLargeError, match="bytes of text") as exc:
        list(iter_entry_lines(path, chunk_rows=1000, limits=ReadLimits(max_text_bytes=50 << 20)))
    assert exc.value.limit == 50 << 20


def test_text_is_counted_as_a_csv_of_the_cells_would_hold_it() -> None:
    plain = pa.array(["ab", "ü", None, "ab"])
    assert text_bytes(plain) == 2 + 2 + 0 + 2 + 4  # UTF-8 bytes + one separator per cell
    assert text_bytes(plain.dictionary_encode()) == text_bytes(plain)
    assert text_bytes(pa.array([12, 3], pa.int64())) == 3 + 2
    assert text_bytes(pa.chunked_array([plain, plain])) == 2 * text_bytes(plain)


def test_nested_parquet_columns_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({**{k: [v] for k, v in REQUIRED.items()}, "tags": [["a", "b"]]}), path)
    with pytest.raises(ContractError, match="'tags' is of a nested type"):
        read_entry_lines(path, limits=ReadLimits())


def test_a_parquet_file_within_the_limits_reads_as_before(tmp_path: Path) -> None:
    rows = [dict(REQUIRED, line_no=str(i + 1)) for i in range(3000)]
    path = tmp_path / "ok.parquet"
    pd.DataFrame(rows).to_parquet(path)
    limits = ReadLimits(max_rows=3000, max_columns=5, max_row_groups=1, max_text_bytes=10**6)
    whole = read_entry_lines(path)
    parts = list(iter_entry_lines(path, chunk_rows=10_000, chunk_cells=5_000, limits=limits))
    assert [p.n_read for p in parts] == [1024, 1024, 952]  # 5,000 cells / 5 columns, >= 1,024
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(frame, whole.frame)


def test_an_empty_parquet_file_still_names_a_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({k: pa.array([], pa.string()) for k in REQUIRED}), path)
    parts = list(iter_entry_lines(path, limits=ReadLimits()))
    assert [p.n_read for p in parts] == [0]
    pq.write_table(pa.table({"entry_id": pa.array([], pa.string())}), path)
    with pytest.raises(MissingColumnError, match="line_no"):
        read_entry_lines(path, allow_bad_rows=True)


def test_csv_header_width_is_counted_in_blocks_outside_quotes(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_text('a,"b,c","d\ne",f\r\n1,2,3,4\n')
    assert csv_header_width(path, None) == 4
    path.write_text('a,"say ""x,y""",b\n')
    assert csv_header_width(path, None) == 3
    path.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n")
    assert 257 <= csv_header_width(path, 256) < 20_000  # stopped within the first block


def test_a_million_column_csv_is_refused_before_pandas_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "wide.csv"
    extra = "".join(f",x{i}" for i in range(1_000_000 - len(REQUIRED)))
    path.write_text(",".join(REQUIRED) + extra + "\n" + ",".join(REQUIRED.values()) + "\n")

    def read_csv(*_a: object, **_k: object) -> None:
        raise AssertionError("pandas was asked to read it")

    monkeypatch.setattr(pd, "read_csv", read_csv)
    with pytest.raises(FileTooLargeError) as exc:
        read_entry_lines(path, allow_bad_rows=True, limits=ReadLimits(max_columns=256))
    assert (exc.value.what, exc.value.limit) == ("columns", 256)
    assert "more than 256 columns" in str(exc.value)


def test_csv_rows_are_counted_while_reading_in_chunks(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    rows = [dict(REQUIRED, line_no=str(i + 1)) for i in range(2500)]
    text = pd.DataFrame(rows).to_csv(index=False)
    path.write_text(text + "\n" * 100)  # blank lines are not rows
    limits = ReadLimits(max_rows=2500)
    assert sum(p.n_read for p in iter_entry_lines(path, chunk_rows=1000, limits=limits)) == 2500
    with pytest.raises(FileTooLargeError, match="the limit is 2,499"):
        list(iter_entry_lines(path, chunk_rows=1000, limits=ReadLimits(max_rows=2499)))
    with pytest.raises(FileTooLargeError, match="bytes of text"):
        read_entry_lines(path, limits=ReadLimits(max_text_bytes=len(text)))


def test_duplicate_column_names_are_quoted_short(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    long = "n" * 10_000
    path.write_text(",".join([*REQUIRED, long, long, "\x01", "\x01"]) + "\n")
    with pytest.raises(ContractError) as exc:
        read_entry_lines(path)
    assert len(str(exc.value)) < 300 and "\x01" not in str(exc.value)
