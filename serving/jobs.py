"""Background scoring of large uploads, persisted under ``data_dir/jobs``, resumable.

A job is ``<id>.json`` (status and metadata), ``<id>.parts/`` (one checkpoint per scored
chunk while it runs) and, when done, ``<id>.parquet`` (the scored lines). Every file is
written atomically (temp file then rename).

**Exactly once.** The job id is derived from the uploaded file's SHA-256, the key, the model's
bundle hash and the scoring options, so uploading the same file again names the same job. The
lines are scored in chunks; each chunk is audited in one transaction, then checkpointed. A
job that stopped (server killed, audit store down) is resumed by uploading the same file
again: checkpointed chunks are kept, lines already audited under the job's request id are
taken back from the audit log instead of being scored again, and only the rest is scored.
So the output has every line once and the audit log has one decision per line, however often
the job was interrupted. A finished job is not scored again.

One worker thread: scoring is CPU-bound and LightGBM already uses ``num_threads``; jobs queue
rather than compete with interactive requests for every core.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from models.contract.batch import Lines
from models.json_text import reasons_text
from models.store import AuditStore, AuditUnavailableError, now_iso
from models.tips import TipBook
from serving.drift import DriftMonitor
from serving.errors import log_failure
from serving.instruments import Instruments
from serving.model_holder import LoadedModel
from serving.selection import Asked, entry_sectors, keep, mark
from serving.service import audit, frame_inputs, rank_entries, score_lines, unknown_fields

log = logging.getLogger(__name__)
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
CHUNK_LINES = 2000
ACTIVE = ("queued", "running")


def job_id_for(
    file_sha256: str,
    key_id: str,
    bundle_hash: str,
    reasons: int,
    explain_share: float,
    asked: Asked | None = None,
) -> str:
    """The id of the job scoring this file for this key with this model and options."""
    parts: list[Any] = [file_sha256, key_id, bundle_hash, int(reasons), float(explain_share)]
    if asked is not None and asked.select:  # ids of jobs without a selection are unchanged
        parts.append(asked.key())
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _serialise(lines: list[dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame(
        lines,
        columns=[
            "entry_id",
            "line_no",
            "decision_id",
            "risk_score",
            "risk_band",
            "reasons",
            "unknown_fields",
        ],
    )
    out["reasons"] = [reasons_text(v) for v in out["reasons"]]  # as in flrisk score's files
    out["unknown_fields"] = [json.dumps(v, ensure_ascii=False) for v in out["unknown_fields"]]
    return out


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


class JobManager:
    """Runs, resumes and reports scoring jobs."""

    def __init__(
        self, folder: Path, chunk_lines: int = CHUNK_LINES, tips: TipBook | None = None
    ) -> None:
        self.folder = folder
        self.chunk_lines = chunk_lines
        self.tips = tips  # the tips that are evidence, read again for every chunk
        self._executor: ThreadPoolExecutor | None = None
        self._active: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def new_id() -> str:
        """A fresh random job id (jobs from uploads use :func:`job_id_for`)."""
        return uuid.uuid4().hex

    def _path(self, job_id: str, suffix: str) -> Path:
        if not JOB_ID.match(job_id):  # ids become file names: refuse anything else
            raise KeyError(job_id)
        return self.folder / f"{job_id}{suffix}"

    def _write_meta(self, job_id: str, meta: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(job_id, ".json")
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta))
        tmp.replace(path)

    def _read_meta(self, job_id: str) -> dict[str, Any] | None:
        path = self._path(job_id, ".json")
        if not path.is_file():
            return None
        meta: dict[str, Any] = json.loads(path.read_text())
        return meta

    def submit(
        self,
        *,
        job_id: str,
        key_id: str,
        model: LoadedModel,
        store: AuditStore,
        instruments: Instruments,
        frame: pd.DataFrame,
        reasons: int,
        explain_share: float,
        header: dict[str, Any],
        drift: DriftMonitor | None = None,
        asked: Asked | None = None,
    ) -> dict[str, Any]:
        """Queue a scored-file job, or report it if it is done or running already.

        A job with this id that stopped before finishing is resumed (see the module doc).
        ``header`` (n_read, bad rows) is kept for the result; ``drift`` is given the lines
        the job scores.
        ``header`` (n_read, bad rows) is kept for the result. With ``asked.select``, the
        finished job's entries are marked with their ``selection`` (``serving/selection.py``).
        """
        with self._lock:
            old = self._read_meta(job_id)
            if old is not None and (old["status"] == "done" or job_id in self._active):
                return old
            meta = {
                "job_id": job_id,
                "key_id": key_id,
                "status": "queued",
                "created": old["created"] if old else now_iso(),
                "finished": None,
                "n_lines": len(frame),
                "error": None,
                "model": model.info(),
                "resumed": bool(old),
                "asked": vars(asked) if asked is not None else None,
                **header,
            }
            self._write_meta(job_id, meta)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flrisk-job")
            self._active.add(job_id)
            self._executor.submit(
                self._run, meta, model, store, instruments, frame, reasons, explain_share, drift
            )
        return meta

    def _chunk_lines(
        self,
        chunk: pd.DataFrame,
        done: dict[tuple[str, int], dict[str, Any]],
        job: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """Scored lines of one chunk: audited ones from the audit log, the rest scored now."""
        keys = list(zip(chunk["entry_id"].astype(str), chunk["line_no"].astype(int), strict=True))
        audited = [k in done for k in keys]
        todo = chunk[[not a for a in audited]].reset_index(drop=True)
        fresh: list[dict[str, Any]] = []
        if len(todo):
            passthrough = job["model"].scorer.bundle.state.passthrough
            scored = score_lines(
                model=job["model"], lines=Lines.from_frame(todo, passthrough),
                inputs=frame_inputs(todo),
                reasons=job["reasons"], request_id=job["job_id"], key_id=job["key_id"],
                action="score_file", explain_share=job["explain_share"],
                tips=self.tips.index() if self.tips is not None else None,
                reference=job["reference"],
            )  # fmt: skip
            # raises before any score is kept
            audit(job["store"], job["instruments"], scored, drift=job["drift"])
            fresh = scored.results
        if not any(audited):
            return fresh
        passthrough = job["model"].scorer.bundle.state.passthrough
        done_lines = Lines.from_frame(chunk[audited].reset_index(drop=True), passthrough)
        unknown = iter(unknown_fields(done_lines, passthrough))
        it = iter(fresh)
        out = []
        for key, was in zip(keys, audited, strict=True):
            out.append({**done[key], "unknown_fields": next(unknown)} if was else next(it))
        return out

    def _run(
        self,
        meta: dict[str, Any],
        model: LoadedModel,
        store: AuditStore,
        instruments: Instruments,
        frame: pd.DataFrame,
        reasons: int,
        explain_share: float,
        drift: DriftMonitor | None = None,
    ) -> None:
        job_id = meta["job_id"]
        job = {"job_id": job_id, "key_id": meta["key_id"], "model": model, "store": store,
               "instruments": instruments, "reasons": reasons,
               "explain_share": explain_share, "drift": drift}  # fmt: skip
        parts = self._path(job_id, ".parts")
        try:
            # One reference snapshot for every chunk: a job never mixes two versions.
            source = model.scorer.reference_source
            job["reference"] = source() if source is not None else None
            if job["reference"] is not None:
                meta = {**meta, "model": model.info(job["reference"].versions)}
            self._write_meta(job_id, {**meta, "status": "running"})
            parts.mkdir(parents=True, exist_ok=True)
            n_chunks = max(1, -(-len(frame) // self.chunk_lines))
            done: dict[tuple[str, int], dict[str, Any]] | None = None
            for i in range(n_chunks):
                part = parts / f"{i:06d}.parquet"
                if part.is_file():
                    continue
                if done is None:  # lines a killed run audited but did not checkpoint
                    done = {(r["entry_id"], r["line_no"]): r for r in store.job_lines(job_id)}
                chunk = frame.iloc[i * self.chunk_lines : (i + 1) * self.chunk_lines]
                _write_parquet(_serialise(self._chunk_lines(chunk, done, job)), part)
            out = pd.concat(
                [pd.read_parquet(parts / f"{i:06d}.parquet") for i in range(n_chunks)],
                ignore_index=True,
            )
            chosen = self._select(meta, out, frame, store)
            _write_parquet(out, self._path(job_id, ".parquet"))
            done_meta = {**meta, "status": "done", "finished": now_iso(), "selection": chosen}
            self._write_meta(job_id, done_meta)
            shutil.rmtree(parts, ignore_errors=True)
        except Exception as exc:
            # Neither the log nor the answer carries the message: it may quote a line's values.
            log_failure(log, f"job {job_id}", exc)
            error = (
                "audit store unavailable: lines not audited were not scored; "
                "upload the same file again to resume"
                if isinstance(exc, AuditUnavailableError)
                else f"internal error ({type(exc).__name__}; the server log says where)"
            )
            self._write_meta(
                job_id, {**meta, "status": "failed", "finished": now_iso(), "error": error}
            )
        finally:
            with self._lock:
                self._active.discard(job_id)

    @staticmethod
    def _select(
        meta: dict[str, Any], out: pd.DataFrame, frame: pd.DataFrame, store: AuditStore
    ) -> dict[str, Any] | None:
        """Mark the job's selection on ``out`` (a ``selection`` column) and keep its picks."""
        asked = Asked(**meta["asked"]) if meta.get("asked") else Asked()
        if not asked.select:
            return None
        cols = ["entry_id", "line_no", "decision_id", "risk_score", "risk_band"]
        lines = [{str(k): v for k, v in r.items()} for r in out[cols].to_dict("records")]
        entries = rank_entries(lines)
        sectors = entry_sectors(frame) if asked.stratify else None
        chosen = mark(entries, asked, meta["job_id"], sectors)
        keep(store, entries, chosen, meta["job_id"], meta["key_id"])
        by_entry = {str(e["entry_id"]): e.get("selection") or "" for e in entries}
        out["selection"] = out["entry_id"].astype(str).map(by_entry).fillna("")
        return chosen

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's metadata, or None if unknown.

        Jobs left queued or running by a previous process are reported as ``interrupted``.
        """
        try:
            meta = self._read_meta(job_id)
        except KeyError:
            return None
        if meta is None:
            return None
        with self._lock:
            active = job_id in self._active
        if meta["status"] in ACTIVE and not active:
            meta["status"] = "interrupted"
            meta["error"] = (
                "the server stopped before the job finished; upload the same file again to "
                "resume it (lines already scored are kept, none is scored twice)"
            )
        return meta

    def result(self, job_id: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Ranked entries ``offset:offset+limit`` of a finished job, and the entry count."""
        df = pd.read_parquet(self._path(job_id, ".parquet"))
        lines = [
            {
                **{str(k): v for k, v in r.items()},
                "reasons": json.loads(r["reasons"]),
                "unknown_fields": json.loads(r["unknown_fields"]),
                # Jobs finished before decision ids existed have none.
                "decision_id": r["decision_id"] if isinstance(r.get("decision_id"), str) else None,
            }
            for r in df.to_dict("records")
        ]
        kinds = {str(ln["entry_id"]): ln.pop("selection", "") for ln in lines}
        entries = rank_entries(lines)
        for e in entries:
            e["selection"] = kinds.get(str(e["entry_id"])) or None
        return entries[offset : offset + limit], len(entries)

    def shutdown(self) -> None:
        """Stop taking jobs; running ones finish in their thread (not waited for)."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=False)
                self._executor = None
