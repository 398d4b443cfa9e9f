"""``flrisk score``: score entry-line files with a registered model, in bounded memory."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import typer
from tqdm import tqdm

from models.contract.reader import iter_entry_lines
from models.contract.validate import ReadResult
from models.reference.snapshot import ReferenceSnapshot, current_snapshot
from models.scoring.lookup import fetch_bundle, resolve
from models.scoring.scorer import Scorer
from models.scoring.tip_reasons import TipIndex
from models.settings import get_settings
from models.tips import load_tip_index
from pipelines.prefetch import prefetch
from pipelines.score_output import OUTPUT_COLUMNS, rank_file
from pipelines.score_parts import Part, auto_workers, plan_parts
from pipelines.score_pool import (
    Job,
    scored_in_workers,
    scored_table,
)
from pipelines.score_select import Selecting, hs_chapters, mark_selection
from pipelines.spark_score import score_spark


def _freeze_survivors() -> None:
    """Exempt what is alive now (the model, the signal memo) from the cyclic collector.

    Each chunk allocates millions of small objects; the collector's full passes would
    otherwise walk the ever larger memo and model again and again (about 8% of a run).
    Called between chunks, when no chunk's objects are alive; refcounting still frees
    frozen objects, and ``gc.unfreeze()`` at the end hands them back.
    """
    gc.freeze()


@contextmanager
def _system_allocator() -> Iterator[None]:
    """Arrow allocates from the C library's malloc for the run, then from its default again.

    Arrow's default pool (mimalloc) hands freed pages back to the kernel and takes them
    again chunk after chunk; the kernel's work for that was about a third of a run's CPU
    time on this path (docs/performance.md, "branch batch"). Allocation only: no value
    changes.
    """
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _quarantine(out: Path, path: Path) -> Path:
    """An input's quarantine file, beside the output: inputs may be read-only."""
    return out.with_name(f"{out.stem}.{Path(path).stem}.quarantine.csv")


def _chunks(
    data: list[Path], out: Path, mapping: Path | None, chunk_rows: int, allow_bad_rows: bool
) -> Iterator[ReadResult]:
    """Every input's chunks in turn, read and validated (bad rows quarantined per input)."""
    for path in data:
        yield from iter_entry_lines(
            path,
            mapping,
            chunk_rows=chunk_rows,
            allow_bad_rows=allow_bad_rows,
            quarantine_path=_quarantine(out, path),
        )


def _parts(
    data: list[Path], out: Path, mapping: Path | None, chunk_rows: int, allow_bad_rows: bool
) -> Iterator[ReadResult | Part]:
    """Every input's chunks in turn, for the workers.

    Parts the workers read themselves where the input can be cut (Parquet), else chunks
    read and validated here, read ahead.
    """
    for i, path in enumerate(data):
        parts = plan_parts(i, Path(path), chunk_rows, _quarantine(out, path))
        if parts is not None:
            yield from parts
        else:
            yield from prefetch(_chunks([path], out, mapping, chunk_rows, allow_bad_rows))


def _in_process(
    scorer: Scorer,
    chunks: Iterable[ReadResult],
    job: Job,
    reference: ReferenceSnapshot,
) -> Iterator[tuple[int, pa.Table]]:
    """Each chunk's line count and scores, scored in this process.

    The read-ahead thread also derives the next chunk's signals and features (the pre-model
    half of the work, :meth:`Scorer.prepare`) while this thread predicts and explains.
    """
    ahead = ((c, scorer.prepare(c.lines, reference, job.tips)) for c in chunks)
    for chunk, prepared in prefetch(ahead):
        n = len(chunk.lines)
        table = scored_table(scorer, chunk.lines, job, reference, prepared)
        del chunk, prepared
        yield n, table
        _freeze_survivors()


def _with_sectors(chunks: Iterator[ReadResult], sectors: list[np.ndarray]) -> Iterator[ReadResult]:
    """The chunks, each one's HS chapters appended to ``sectors`` as it goes by, in order."""
    for chunk in chunks:
        sectors.append(hs_chapters(chunk.lines["hts_code"]))
        yield chunk


def score_files(
    scorer: Scorer,
    data: list[Path],
    out: Path,
    mapping: Path | None,
    reasons: int,
    explain_share: float,
    allow_bad_rows: bool,
    chunk_rows: int = 250_000,
    tips: TipIndex | None = None,
    sectors: list[np.ndarray] | None = None,
    workers: int | None = None,
) -> int:
    """Score files chunk by chunk and stream the results to ``out`` (.csv or .parquet).

    The next chunk is read and validated in a thread while the current ones are scored;
    with ``workers``, worker processes score the chunks, each chunk by one, written in the
    input's order. About two chunks per scoring process are in memory at a time
    (``chunk_rows`` bounds the peak).

    Args:
        scorer: The loaded model.
        data: Input files (CSV or Parquet), scored in order.
        out: Output file; written as ``out.part`` and renamed when complete.
        mapping: Column mapping (TOML) for other layouts, or None.
        reasons: Reasons per explained line (0 for none).
        explain_share: Share of each chunk's lines, riskiest first, that get reasons.
        allow_bad_rows: Quarantine bad rows and go on, instead of stopping at the first chunk
            that has any.
        chunk_rows: Lines per chunk.
        tips: Tips that are evidence (each line a tip names gets a ``tip`` reason).
        sectors: If given, receives each chunk's HS chapters (for a stratified selection).
        workers: Worker processes (0: score in this process, with the read-ahead thread
            preparing the next chunk); None: :func:`~pipelines.score_parts.auto_workers`,
            two for Parquet inputs of a million lines or more, whose chunks the workers read
            themselves (on the 10M bench each worker's CPU was half the one process's, for
            the same peak memory; docs/performance.md), else 0. A model not loaded from a
            bundle folder is scored in this process.

    Returns:
        Lines scored.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    writer: pq.ParquetWriter | None = None
    n = 0
    # One reference snapshot for the whole run: its lines are matched against one version.
    reference = current_snapshot()
    job = Job(reasons, explain_share, tips)
    if workers is None:
        workers = auto_workers(data)
    if scorer.bundle.folder is None:
        workers = 0
    _freeze_survivors()
    with _system_allocator():
        try:
            if workers > 0:
                tables = scored_in_workers(
                    scorer, _parts(data, out, mapping, chunk_rows, allow_bad_rows), job,
                    reference, workers, mapping=mapping, chunk_rows=chunk_rows,
                    allow_bad_rows=allow_bad_rows, sectors=sectors,
                )  # fmt: skip
            else:
                chunks = _chunks(data, out, mapping, chunk_rows, allow_bad_rows)
                if sectors is not None:
                    chunks = _with_sectors(chunks, sectors)
                tables = _in_process(scorer, chunks, job, reference)
            with tqdm(unit=" lines", desc="scoring", disable=None) as bar:
                for lines, table in tables:
                    if out.suffix == ".parquet":
                        writer = writer or pq.ParquetWriter(tmp, table.schema)
                        writer.write_table(table)
                    else:
                        table.to_pandas().to_csv(
                            tmp, mode="a" if n else "w", header=not n, index=False
                        )
                    n += lines
                    bar.update(lines)
                    del table
        finally:
            gc.unfreeze()
        if writer is not None:
            writer.close()
    if n == 0:
        pd.DataFrame(columns=OUTPUT_COLUMNS).to_csv(tmp, index=False)
    tmp.replace(out)  # atomic: a crashed run never leaves a half-written output under its name
    return n


def score_command(
    model_uri: str,
    data: list[Path],
    out: Path,
    mapping: Path | None,
    reasons: int,
    engine: str,
    master: str,
    allow_bad_rows: bool,
    explain_share: float = 1.0,
    rank: bool = False,
    selection: Selecting | None = None,
    workers: int | None = None,
) -> None:
    """``flrisk score``: resolve the model, score with the chosen engine, report throughput.

    With ``selection``, the scores file then gets its ``selection`` column
    (:mod:`pipelines.score_select`) and what was selected is printed. ``workers``: scoring
    processes of the pandas engine (0: this process; None: by the inputs' size).
    """
    settings = get_settings()
    resolved = resolve(model_uri, settings)
    bundle = fetch_bundle(resolved, settings)
    t0 = time.perf_counter()
    if engine == "spark":
        n = score_spark(
            bundle, resolved.uri, data, out, mapping, reasons, master,
            explain_share=explain_share, tips=load_tip_index(settings),
        )  # fmt: skip
    elif engine == "pandas":
        sectors: list[np.ndarray] | None = [] if selection and selection.stratify else None
        n = score_files(
            Scorer(bundle, version=resolved.uri),
            data,
            out,
            mapping,
            reasons,
            explain_share,
            allow_bad_rows,
            tips=load_tip_index(settings),
            sectors=sectors,
            workers=workers,
        )
    else:
        raise typer.BadParameter(f"engine must be pandas or spark, not {engine!r}")
    if rank and out.is_file():
        rank_file(out)
    dt = time.perf_counter() - t0
    typer.echo(
        f"scored {n} lines with {resolved.uri} in {dt:.1f}s "
        f"({n / max(dt, 1e-9):,.0f} lines/s) -> {out}"
    )
    if selection is not None:
        strata = np.concatenate(sectors) if sectors else None
        typer.echo(mark_selection(out, selection.n, selection.explore, selection.seed, strata))
