"""``flrisk score``: score entry-line files with a registered model, in bounded memory."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterable, Iterator
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
from models.scoring.prepared import Prepared
from models.scoring.scorer import Scorer
from models.scoring.tip_reasons import TipIndex
from models.settings import get_settings
from models.tips import load_tip_index
from pipelines.prefetch import prefetch
from pipelines.score_output import OUTPUT_COLUMNS, rank_file, scores_frame
from pipelines.score_select import Selecting, hs_chapters, mark_selection
from pipelines.spark_score import score_spark


def _serialise(scored: pd.DataFrame) -> pd.DataFrame:
    out = scored[OUTPUT_COLUMNS].copy()
    if len(out) and not isinstance(out["reasons"].iloc[0], str):
        out["reasons"] = [json.dumps(r, ensure_ascii=False) for r in out["reasons"]]
    return out


def _freeze_survivors() -> None:
    """Exempt what is alive now (the model, the signal memo) from the cyclic collector.

    Each chunk allocates millions of small objects; the collector's full passes would
    otherwise walk the ever larger memo and model again and again (about 8% of a run).
    Called between chunks, when no chunk's objects are alive; refcounting still frees
    frozen objects, and ``gc.unfreeze()`` at the end hands them back.
    """
    gc.freeze()


def _prepared(
    scorer: Scorer,
    chunks: Iterable[ReadResult],
    reference: ReferenceSnapshot,
    tips: TipIndex | None,
) -> Iterator[tuple[ReadResult, Prepared]]:
    """Each chunk with its signals and features (:meth:`Scorer.prepare`)."""
    for chunk in chunks:
        yield chunk, scorer.prepare(chunk.lines, reference, tips)


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
) -> int:
    """Score files chunk by chunk and stream the results to ``out`` (.csv or .parquet).

    The next chunk is read and validated in a thread while the current one is scored, so
    about two chunks are in memory at a time (``chunk_rows`` bounds the peak).

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

    Returns:
        Lines scored.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    writer: pq.ParquetWriter | None = None
    n = 0
    # One reference snapshot for the whole run: its lines are matched against one version.
    reference = current_snapshot()
    _freeze_survivors()
    try:
        with tqdm(unit=" lines", desc="scoring", disable=None) as bar:
            for path in data:
                # One quarantine file per input, beside the output: inputs may be read-only.
                quarantine = out.with_name(f"{out.stem}.{Path(path).stem}.quarantine.csv")
                chunks = iter_entry_lines(
                    path,
                    mapping,
                    chunk_rows=chunk_rows,
                    allow_bad_rows=allow_bad_rows,
                    quarantine_path=quarantine,
                )
                # The read-ahead thread also derives the next chunk's signals and features
                # (the pre-model half of the work) while this thread predicts and explains.
                for chunk, prepared in prefetch(_prepared(scorer, chunks, reference, tips)):
                    if sectors is not None:
                        sectors.append(hs_chapters(chunk.lines["hts_code"]))
                    scored = _serialise(
                        scores_frame(
                            scorer.score(
                                chunk.lines,
                                reasons=reasons,
                                explain_share=explain_share,
                                as_json=True,
                                tips=tips,
                                reference=reference,
                                prepared=prepared,
                            )
                        )
                    )
                    if out.suffix == ".parquet":
                        table = pa.Table.from_pandas(scored, preserve_index=False)
                        writer = writer or pq.ParquetWriter(tmp, table.schema)
                        writer.write_table(table)
                    else:
                        scored.to_csv(tmp, mode="a" if n else "w", header=not n, index=False)
                    n += len(scored)
                    bar.update(len(scored))
                    del scored, chunk, prepared
                    _freeze_survivors()
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
) -> None:
    """``flrisk score``: resolve the model, score with the chosen engine, report throughput.

    With ``selection``, the scores file then gets its ``selection`` column
    (:mod:`pipelines.score_select`) and what was selected is printed.
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
