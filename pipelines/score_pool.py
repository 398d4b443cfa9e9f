"""Score a file's chunks in worker processes: both cores, without one GIL between them.

``flrisk score`` on a large file is bound by Python (validation, signals, reasons) holding
the GIL, so threads keep one core busy. Here each worker process loads the model once
(started by *spawn*: a process is never forked after a model is loaded), then reads,
validates and scores whole chunks of a Parquet input itself (:mod:`pipelines.score_parts`);
the parent only plans the chunks, keeps what spans them (the duplicate-key check of the
whole file, the quarantine file) and writes the results in the input's order. Inputs a
worker cannot cut (CSV) are read and validated by the parent and shipped chunk by chunk.

A chunk's scores are the same in any process: every statistic is fitted with the model,
and the chunks are the one-process path's, row for row (hence the riskiest share each chunk
explains). The duplicate-key rule is the reader's: each worker sends back the fingerprints
of its chunk's keys, the parent looks them up among the earlier chunks' in input order and,
in the rare chunk that repeats an earlier key, has it validated and scored again with those
earlier keys known, exactly as the one-process reader would have.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import secrets
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from models.contract.batch import Lines
from models.contract.columns import BadRowsError, ContractError
from models.contract.duplicates import SeenKeys
from models.contract.mapping import ColumnMapping, load_mapping
from models.contract.reader import iter_entry_lines, write_quarantine
from models.contract.validate import ReadResult, validate_chunk
from models.errors import UserError
from models.reference.snapshot import ReferenceSnapshot, load_snapshot
from models.scoring.bundle import ModelIntegrityError, load_bundle
from models.scoring.prepared import Prepared
from models.scoring.scorer import Scorer
from models.scoring.tip_reasons import TipIndex
from pipelines.score_output import scores_table
from pipelines.score_parts import Part, read_part
from pipelines.score_select import hs_chapters


class WorkerError(UserError, RuntimeError):
    """A scoring worker process died (out of memory, killed) or could not load the model."""


@dataclass(frozen=True)
class Job:
    """What every chunk is scored with: the same in the parent and in each worker.

    Attributes:
        reasons: Reasons per explained line (0 for none).
        explain_share: Share of each chunk's lines, riskiest first, that get reasons.
        tips: Tips that are evidence, or None.
    """

    reasons: int
    explain_share: float
    tips: TipIndex | None


def scored_table(
    scorer: Scorer,
    lines: Lines,
    job: Job,
    reference: ReferenceSnapshot,
    prepared: Prepared | None = None,
) -> pa.Table:
    """One chunk's rows of the scores file (``OUTPUT_COLUMNS``), reasons as JSON text."""
    scores = scorer.score(
        lines,
        reasons=job.reasons,
        explain_share=job.explain_share,
        as_json=True,
        tips=job.tips,
        reference=reference,
        prepared=prepared,
    )
    return scores_table(scores)


@dataclass(frozen=True)
class _Spec:
    """What a worker needs to load the parent's very model and reference version."""

    bundle: Path
    bundle_hash: str
    version: str
    reference: Path
    reference_version: str
    reference_versions: dict[str, str]
    job: Job
    mapping: Path | None = None
    allow_bad_rows: bool = False
    sectors: bool = False


@dataclass(frozen=True)
class _Done:
    """A part read, validated and (unless its bad rows stop the run) scored in a worker.

    Attributes:
        lines: Good lines (the scores file's rows).
        table: Their rows of the scores file; None when bad rows stop the run.
        h1: First fingerprint of each key first seen in this part (the check's new keys).
        h2: Their second fingerprint.
        rows: Their row numbers.
        quarantine: The part's quarantined rows, or None.
        bad_rows: The report of its bad rows.
        sectors: The HS chapter of each good line, when the run stratifies a selection.
    """

    lines: int
    table: pa.Table | None
    h1: np.ndarray
    h2: np.ndarray
    rows: np.ndarray
    quarantine: pd.DataFrame | None
    bad_rows: pd.DataFrame
    sectors: np.ndarray | None


class _PartKeys(SeenKeys):
    """The keys a part's check must know, and what the check then adds.

    Known: the keys of earlier parts that this part repeats. Added: the part's keys seen
    first in it, which the parent records for the whole file.
    """

    def __init__(self, earlier: tuple[np.ndarray, np.ndarray, np.ndarray] | None, source: str):
        super().__init__()
        if earlier is not None:
            super().add(*earlier, source)
        self.added: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def add(self, h1: np.ndarray, h2: np.ndarray, rows: np.ndarray, source: str) -> None:
        """Record the new keys (the part's check adds them once, at its end)."""
        self.added = (h1, h2, rows.astype(np.int64))


# The worker process's own scorer (set once by ``_start``; a process serves one run).
_WORKER: dict[str, object] = {}


def _start(spec: _Spec) -> None:
    """Load the model and the reference version once per worker, checked against the parent's."""
    # The worker lives for the run: Arrow on the C library's malloc, as the parent's run
    # (``pipelines.score._system_allocator``: Arrow's default pool kept returning pages).
    pa.set_memory_pool(pa.system_memory_pool())
    bundle = load_bundle(spec.bundle, num_threads=1)  # one LightGBM thread per process
    if bundle.bundle_hash != spec.bundle_hash:
        raise ModelIntegrityError(f"the bundle changed on disk since it was loaded: {spec.bundle}")
    reference = load_snapshot(spec.reference, spec.reference_version)
    if reference.versions != spec.reference_versions:
        raise UserError(f"reference version {spec.reference_version} changed on disk")
    mapping = load_mapping(spec.mapping) if spec.mapping is not None else None
    _WORKER.update(
        scorer=Scorer(bundle, version=spec.version), reference=reference, spec=spec,
        mapping=mapping,
    )  # fmt: skip


def _worker() -> tuple[Scorer, ReferenceSnapshot, _Spec]:
    scorer, reference, spec = _WORKER["scorer"], _WORKER["reference"], _WORKER["spec"]
    assert isinstance(scorer, Scorer) and isinstance(reference, ReferenceSnapshot)
    assert isinstance(spec, _Spec)
    return scorer, reference, spec


def _score(lines: Lines) -> pa.Table:
    """Score one chunk the parent read, in a worker."""
    scorer, reference, spec = _worker()
    table = scored_table(scorer, lines, spec.job, reference)
    del lines
    # The memo and the model outlive every chunk: keep the collector's full passes off them
    # (as ``flrisk score`` does in one process).
    gc.freeze()
    return table


def _read_score(
    part: Part, earlier: tuple[np.ndarray, np.ndarray, np.ndarray] | None
) -> _Done | None:
    """Read, validate and score one part in a worker; None if the part is refused.

    ``earlier``: fingerprints and first rows of the part's keys that earlier parts hold. A
    refused part (a missing column, a broken file) returns None, and the parent's reader
    raises the error in the reader's words.
    """
    scorer, reference, spec = _worker()
    mapping = _WORKER["mapping"]
    assert mapping is None or isinstance(mapping, ColumnMapping)
    keys = _PartKeys(earlier, part.path.name)
    try:
        original, rows = read_part(part)
        result, quarantine = validate_chunk(
            original, rows, mapping, require_labels=False, source=part.path.name, seen=keys
        )
    except (UserError, pa.ArrowException, OSError, ValueError):
        return None
    del original
    lines = result.lines
    table = None
    if quarantine is None or spec.allow_bad_rows:
        table = scored_table(scorer, lines, spec.job, reference)
    h1, h2, new_rows = keys.added or (np.empty(0, np.uint64),) * 2 + (np.empty(0, np.int64),)
    sectors = hs_chapters(lines["hts_code"]) if spec.sectors else None
    done = _Done(len(lines), table, h1, h2, new_rows, quarantine, result.bad_rows, sectors)
    del lines, result
    gc.freeze()
    return done


@contextmanager
def _shared_hash_seed() -> Iterator[None]:
    """Workers started meanwhile share one string-hash seed, drawn for this run.

    The duplicate-key fingerprints (:class:`SeenKeys`) hash entry ids with Python's salted
    string hash; the parent compares fingerprints from different workers, so they must all
    hash alike. The seed is random per run, as Python's own is per process.
    """
    before = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = str(1 + secrets.randbelow(2**32 - 1))
    try:
        yield
    finally:
        if before is None:
            del os.environ["PYTHONHASHSEED"]
        else:
            os.environ["PYTHONHASHSEED"] = before


class _Inputs:
    """What spans a worker-read input's parts in the parent: its seen keys and quarantine.

    One record per input, as the one-process reader keeps per file (``iter_entry_lines``).
    """

    def __init__(self, mapping: Path | None, chunk_rows: int, allow_bad_rows: bool) -> None:
        self.mapping, self.chunk_rows, self.allow_bad_rows = mapping, chunk_rows, allow_bad_rows
        self.seen: dict[int, SeenKeys] = {}
        self.quarantined: set[int] = set()

    def refused(self, part: Part) -> ContractError:
        """The reader's own error for a part a worker refused: the input read here."""
        for _ in iter_entry_lines(
            part.path, self.mapping, chunk_rows=self.chunk_rows,
            allow_bad_rows=self.allow_bad_rows, quarantine_path=part.quarantine,
        ):  # fmt: skip
            pass
        return ContractError(f"{part.path}: cannot read rows {part.start + 1}-{part.stop}")

    def earlier(self, part: Part, done: _Done) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The part's new keys that an earlier part of its input holds (their first rows)."""
        seen = self.seen.setdefault(part.input, SeenKeys())
        found = seen.find(done.h1, done.h2)
        hit = found >= 0
        if not hit.any():
            return None
        first = np.array([seen.where(f)[1] for f in found[hit].tolist()], dtype=np.int64)
        return done.h1[hit], done.h2[hit], first

    def accept(self, part: Part, done: _Done) -> None:
        """Record the part's new keys and quarantine its bad rows, in input order.

        Raises:
            BadRowsError: The part has bad rows and they are not allowed (after quarantining).
        """
        self.seen.setdefault(part.input, SeenKeys()).add(
            done.h1, done.h2, done.rows, part.path.name
        )
        if done.quarantine is not None:
            append = part.input in self.quarantined
            write_quarantine(done.quarantine, part.quarantine, append=append)
            self.quarantined.add(part.input)
            if not self.allow_bad_rows:
                raise BadRowsError(done.bad_rows, part.quarantine)


def scored_in_workers(
    scorer: Scorer,
    chunks: Iterable[ReadResult | Part],
    job: Job,
    reference: ReferenceSnapshot,
    workers: int,
    *,
    mapping: Path | None = None,
    chunk_rows: int = 250_000,
    allow_bad_rows: bool = False,
    sectors: list[np.ndarray] | None = None,
) -> Iterator[tuple[int, pa.Table]]:
    """Each chunk's line count and scores, in order, scored by ``workers`` processes.

    A :class:`Part` is read, validated and scored by whichever worker is free; the parent
    checks its keys against the earlier parts' of its input, quarantines its bad rows, and
    yields it in order. A chunk the parent read (:class:`ReadResult`) is only scored there.
    At most one chunk per worker is out at a time, plus one: memory stays bounded by the
    chunk size whatever the file's.

    Args:
        scorer: The parent's model (the workers load the same bundle).
        chunks: The inputs' chunks in order: parts, or chunks read here.
        job: What every chunk is scored with.
        reference: The run's reference snapshot.
        workers: Worker processes.
        mapping: The column mapping the parts are read with.
        chunk_rows: Lines per chunk (to word a refused part's error).
        allow_bad_rows: Quarantine the parts' bad rows and go on.
        sectors: If given, receives each chunk's HS chapters, in order.

    Raises:
        WorkerError: A worker died or could not start (its own error is on stderr).
        BadRowsError: A part has bad rows and ``allow_bad_rows`` is False.
    """
    folder = scorer.bundle.folder
    if folder is None:
        raise ValueError("the model was not loaded from a bundle folder")
    spec = _Spec(
        folder,
        scorer.bundle.bundle_hash,
        scorer.version,
        reference.folder,
        reference.version,
        dict(reference.versions),
        job,
        mapping,
        allow_bad_rows,
        sectors is not None,
    )
    inputs = _Inputs(mapping, chunk_rows, allow_bad_rows)
    context = multiprocessing.get_context("spawn")  # never fork a process holding a model
    Pending = tuple[Part | int, Future, np.ndarray | None]
    pending: deque[Pending] = deque()

    def finish(item: Pending) -> tuple[int, pa.Table]:
        what, future, chapters = item
        if not isinstance(what, Part):
            if sectors is not None and chapters is not None:
                sectors.append(chapters)
            return what, future.result()
        done = future.result()
        if done is None:
            raise inputs.refused(what)
        earlier = inputs.earlier(what, done)
        if earlier is not None:  # a key of an earlier part again: checked as the reader does
            done = pool.submit(_read_score, what, earlier).result()
            if done is None:
                raise inputs.refused(what)
        inputs.accept(what, done)
        if sectors is not None and done.sectors is not None:
            sectors.append(done.sectors)
        assert done.table is not None  # scored unless its bad rows stopped the run
        return done.lines, done.table

    try:
        with (
            _shared_hash_seed(),
            ProcessPoolExecutor(
                workers, mp_context=context, initializer=_start, initargs=(spec,)
            ) as pool,
        ):
            try:
                for chunk in chunks:
                    if isinstance(chunk, Part):
                        pending.append((chunk, pool.submit(_read_score, chunk, None), None))
                        ahead = workers + 1  # a part is small: every worker's next one queued
                    else:
                        hts = chunk.lines["hts_code"]
                        chapters = hs_chapters(hts) if sectors is not None else None
                        n = len(chunk.lines)
                        pending.append((n, pool.submit(_score, chunk.lines), chapters))
                        ahead = workers
                    del chunk
                    if len(pending) >= ahead:
                        yield finish(pending.popleft())
                while pending:
                    yield finish(pending.popleft())
            finally:
                for _, future, _ in pending:
                    future.cancel()
    except BrokenProcessPool as exc:
        raise WorkerError(
            "a scoring worker process ended before its chunk was scored (out of memory, "
            "killed, or the model could not be loaded: see its error above)",
            hint="score in this process with --workers 0, or with smaller chunks",
        ) from exc
