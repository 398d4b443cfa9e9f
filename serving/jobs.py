"""Background scoring of large uploads, persisted under ``data_dir/jobs``.

A job is ``<id>.json`` (status and metadata) plus, when done, ``<id>.parquet`` (the scored
lines). Both are written atomically (temp file then rename), so a restarted server reports
finished jobs and marks the ones it was running as interrupted. One worker thread: scoring
is CPU-bound and LightGBM already uses ``num_threads``; jobs queue rather than compete with
interactive requests for every core.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

from models.store import AuditStore, AuditUnavailableError, now_iso
from serving.metrics import Metrics
from serving.model_holder import LoadedModel
from serving.service import frame_inputs, rank_entries, score_and_audit

log = logging.getLogger(__name__)
JOB_ID = re.compile(r"^[0-9a-f]{32}$")


class JobManager:
    """Runs and reports scoring jobs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._executor: ThreadPoolExecutor | None = None
        self._active: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def new_id() -> str:
        """A fresh job id (also used as the request id of its audit rows)."""
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

    def submit(
        self,
        *,
        job_id: str,
        key_id: str,
        model: LoadedModel,
        store: AuditStore,
        metrics: Metrics,
        frame: pd.DataFrame,
        reasons: int,
        explain_share: float,
        header: dict[str, Any],
    ) -> dict[str, Any]:
        """Queue a scored-file job; ``header`` (n_read, bad rows) is kept for the result."""
        meta = {
            "job_id": job_id,
            "key_id": key_id,
            "status": "queued",
            "created": now_iso(),
            "finished": None,
            "n_lines": len(frame),
            "error": None,
            "model": model.info(),
            **header,
        }
        self._write_meta(job_id, meta)
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flrisk-job")
            self._active.add(job_id)
            self._executor.submit(
                self._run, meta, model, store, metrics, frame, reasons, explain_share
            )
        return meta

    def _run(
        self,
        meta: dict[str, Any],
        model: LoadedModel,
        store: AuditStore,
        metrics: Metrics,
        frame: pd.DataFrame,
        reasons: int,
        explain_share: float,
    ) -> None:
        job_id = meta["job_id"]
        try:
            self._write_meta(job_id, {**meta, "status": "running"})
            lines = score_and_audit(
                model=model, store=store, metrics=metrics, frame=frame,
                inputs=frame_inputs(frame), reasons=reasons, request_id=job_id,
                key_id=meta["key_id"], action="score_file", explain_share=explain_share,
            )  # fmt: skip
            out = pd.DataFrame(lines)
            for col in ("reasons", "unknown_fields"):
                out[col] = [json.dumps(v, ensure_ascii=False) for v in out[col]]
            path = self._path(job_id, ".parquet")
            tmp = path.with_suffix(".parquet.tmp")
            out.to_parquet(tmp, index=False)
            tmp.replace(path)
            self._write_meta(job_id, {**meta, "status": "done", "finished": now_iso()})
        except Exception as exc:
            log.exception("job %s failed", job_id)
            error = (
                "audit store unavailable: nothing was scored"
                if isinstance(exc, AuditUnavailableError)
                else f"{type(exc).__name__}: {exc}"
            )
            self._write_meta(
                job_id, {**meta, "status": "failed", "finished": now_iso(), "error": error}
            )
        finally:
            with self._lock:
                self._active.discard(job_id)

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's metadata, or None if unknown.

        Jobs left queued or running by a previous process are reported as ``interrupted``.
        """
        try:
            path = self._path(job_id, ".json")
        except KeyError:
            return None
        if not path.is_file():
            return None
        meta: dict[str, Any] = json.loads(path.read_text())
        with self._lock:
            active = job_id in self._active
        if meta["status"] in ("queued", "running") and not active:
            meta["status"] = "interrupted"
            meta["error"] = "the server restarted before the job finished; upload the file again"
        return meta

    def result(self, job_id: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Ranked entries ``offset:offset+limit`` of a finished job, and the entry count."""
        df = pd.read_parquet(self._path(job_id, ".parquet"))
        lines = [
            {
                **{str(k): v for k, v in r.items()},
                "reasons": json.loads(r["reasons"]),
                "unknown_fields": json.loads(r["unknown_fields"]),
            }
            for r in df.to_dict("records")
        ]
        entries = rank_entries(lines)
        return entries[offset : offset + limit], len(entries)

    def shutdown(self) -> None:
        """Stop taking jobs; running ones finish in their thread (not waited for)."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=False)
                self._executor = None
