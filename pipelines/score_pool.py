"""Score a file's chunks in worker processes: both cores, without one GIL between them.

``flrisk score`` on a large file is bound by Python (signals, reasons) holding the GIL, so
threads keep one core busy. Here each worker process loads the model once (started by
*spawn*: a process is never forked after a model is loaded) and scores whole chunks; the
parent reads and validates the next chunks, hands them out, and writes the results in the
input's order. A chunk's scores are the same in any process: every statistic is fitted with
the model, and the chunking (hence the riskiest share each chunk explains) is the parent's.
"""

from __future__ import annotations

import gc
import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from models.contract.batch import Lines
from models.contract.validate import ReadResult
from models.errors import UserError
from models.reference.snapshot import ReferenceSnapshot, load_snapshot
from models.scoring.bundle import ModelIntegrityError, load_bundle
from models.scoring.prepared import Prepared
from models.scoring.scorer import Scorer
from models.scoring.tip_reasons import TipIndex
from pipelines.score_output import scores_table


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
    _WORKER.update(scorer=Scorer(bundle, version=spec.version), reference=reference, job=spec.job)


def _score(lines: Lines) -> pa.Table:
    """Score one chunk in a worker."""
    scorer, reference, job = _WORKER["scorer"], _WORKER["reference"], _WORKER["job"]
    assert isinstance(scorer, Scorer) and isinstance(reference, ReferenceSnapshot)
    assert isinstance(job, Job)
    table = scored_table(scorer, lines, job, reference)
    del lines
    # The memo and the model outlive every chunk: keep the collector's full passes off them
    # (as ``flrisk score`` does in one process).
    gc.freeze()
    return table


def scored_in_workers(
    scorer: Scorer,
    chunks: Iterable[ReadResult],
    job: Job,
    reference: ReferenceSnapshot,
    workers: int,
) -> Iterator[tuple[int, pa.Table]]:
    """Each chunk's line count and scores, in order, scored by ``workers`` processes.

    Each chunk goes to whichever worker is free. At most one chunk per worker is out at a
    time, plus the one being read: memory stays bounded by the chunk size whatever the
    file's.

    Raises:
        WorkerError: A worker died or could not start (its own error is on stderr).
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
    )
    context = multiprocessing.get_context("spawn")  # never fork a process holding a model
    pending: deque[tuple[int, Future[pa.Table]]] = deque()
    try:
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_start, initargs=(spec,)
        ) as pool:
            try:
                for chunk in chunks:
                    pending.append((len(chunk.lines), pool.submit(_score, chunk.lines)))
                    del chunk
                    if len(pending) >= workers:
                        n, done = pending.popleft()
                        yield n, done.result()
                while pending:
                    n, done = pending.popleft()
                    yield n, done.result()
            finally:
                for _, future in pending:
                    future.cancel()
    except BrokenProcessPool as exc:
        raise WorkerError(
            "a scoring worker process ended before its chunk was scored (out of memory, "
            "killed, or the model could not be loaded: see its error above)",
            hint="score in this process with --workers 0, or with smaller chunks",
        ) from exc
