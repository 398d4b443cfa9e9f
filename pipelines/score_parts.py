"""Parts of an input file that a scoring worker reads and validates itself.

A part is one of the chunks the one-process path reads (:func:`iter_entry_lines`), named by
its rows instead of held in memory: the same rows, the same row numbers, the same text. The
parent plans the parts from the file's metadata and never reads their rows; each worker
reads its part, so neither the reading nor the validation runs under the parent's GIL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.contract.reader import parquet_text


@dataclass(frozen=True)
class Part:
    """Rows ``start`` to ``stop`` (0-based, end excluded) of a Parquet file: one chunk.

    Attributes:
        input: The input's position among the run's inputs (each has its own key check).
        path: The input file.
        start: Position of the chunk's first row.
        stop: Position after its last row.
        quarantine: The input's quarantine file (beside the output).
    """

    input: int
    path: Path
    start: int
    stop: int
    quarantine: Path


def plan_parts(input: int, path: Path, chunk_rows: int, quarantine: Path) -> list[Part] | None:
    """The file's chunks as parts, or None when the parent must read it itself.

    Only a readable Parquet file with rows and distinct column names is split: any other
    input (a CSV, whose records may span lines; an empty or broken file, whose error the
    parent's reader words) is read by the parent as before. Parquet's batches run across row
    groups, so the one-process path's chunk ``k`` is rows ``k * chunk_rows`` onwards.
    """
    if path.suffix.lower() not in (".parquet", ".pq") or chunk_rows < 1:
        return None
    try:
        meta = pq.read_metadata(path)
        names = meta.schema.to_arrow_schema().names
    except (pa.ArrowException, OSError):
        return None
    if meta.num_rows == 0 or len(set(names)) != len(names):
        return None
    n = meta.num_rows
    return [
        Part(input, path, a, min(a + chunk_rows, n), quarantine) for a in range(0, n, chunk_rows)
    ]


def _rows(pf: pq.ParquetFile, start: int, stop: int) -> Iterator[pa.RecordBatch]:
    """The record batches of rows ``start`` to ``stop``, decoding only their row groups."""
    meta = pf.metadata
    first = 0
    groups: list[int] = []
    offset = 0
    for g in range(meta.num_row_groups):
        rows = meta.row_group(g).num_rows
        if first + rows > start and first < stop:
            if not groups:
                offset = start - first
            groups.append(g)
        first += rows
    at = -offset
    for batch in pf.iter_batches(batch_size=stop - start, row_groups=groups):
        a, b = max(0, -at), min(batch.num_rows, stop - start - at)
        if b > a:
            yield batch.slice(a, b - a)
        at += batch.num_rows
        if at >= stop - start:
            break


def read_part(part: Part) -> tuple[pd.DataFrame, np.ndarray]:
    """The part's rows as text and their row numbers (1-based positions), as the reader's."""
    with pq.ParquetFile(part.path) as pf:
        batches = list(_rows(pf, part.start, part.stop))
        table = pa.Table.from_batches(batches, schema=pf.schema_arrow)
    if table.num_rows != part.stop - part.start:
        raise ValueError(f"{part.path}: rows {part.start}-{part.stop} not found")
    frame = parquet_text(table.combine_chunks())
    return frame, np.arange(part.start + 1, part.stop + 1, dtype=np.int64)


# Parquet rows from which ``flrisk score`` uses worker processes unless told: two workers
# reading their own parts halve the critical path of a 10M-line run (docs/performance.md,
# 2026-12-04 morning), after the cost of starting them (about 5 s of CPU each).
AUTO_POOL_LINES = 1_000_000
MAX_AUTO_WORKERS = 2


def auto_workers(data: list[Path], cores: int | None = None) -> int:
    """Worker processes for these inputs when none are asked for: 0 to score here.

    Two (at most one per core) when the inputs the workers can read themselves (Parquet)
    hold ``AUTO_POOL_LINES`` rows or more; else 0. A CSV is read by the parent, which then
    stays the run's bottleneck (measured: a few per cent for 60% more memory), so its lines
    do not count.
    """
    cores = (os.cpu_count() or 1) if cores is None else cores
    if cores < 2:
        return 0
    rows = 0
    for path in data:
        if path.suffix.lower() not in (".parquet", ".pq"):
            continue
        try:
            rows += pq.read_metadata(path).num_rows
        except (pa.ArrowException, OSError):  # the reader words it when it gets there
            continue
    return min(MAX_AUTO_WORKERS, cores) if rows >= AUTO_POOL_LINES else 0
