"""Server-side state of the workbench: its sessions, scored worklists, the demo data.

Sessions and worklists are rows of the store (:class:`models.store.WorkbenchStore`): they
survive a restart, and every worker of a server sees the same ones. A worklist's lines,
scores and the reasons computed at upload travel as one Parquet blob; the worker that
scored it, and any worker that opened it since, keep it in memory as a cache (with the
model that scored it and the reasons computed as pages are viewed).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from models.contract.columns import ContractError
from models.contract.reader import read_entry_lines
from models.store import AuditStore, WorkbenchStore
from serving.drift import DriftMonitor
from serving.model_holder import LoadedModel
from serving.workbench.sessions import SessionStore
from serving.workbench.worklist import entries_table

CACHED_WORKLISTS = 12  # worklists a process keeps in memory; the store keeps them all
KEEP_WORKLISTS_S = 30 * 86400  # a worklist is removed from the store after 30 days
PENDING, DONE = "pending", "done"
# A worklist asked of a worker that did not score it may still be on its way to the store.
STORE_WAIT_S, STORE_POLL_S = 15.0, 0.2
# Columns a worklist's blob adds to its lines: the scores (and reasons computed at upload).
_SCORE_COLUMNS = ("risk_score", "risk_band", "model_version", "presumption")
_PREFIX = "__wl_"


@dataclass
class Worklist:
    """A scored day of lines: the ranking, and reasons computed as pages are viewed."""

    id: str
    key_id: str
    source: str
    model: LoadedModel
    lines: pd.DataFrame
    scored: pd.DataFrame
    entries: pd.DataFrame
    n_read: int
    bad_rows: pd.DataFrame
    request_id: str
    bad_rows_total: int = 0  # problems in the whole file (``bad_rows`` holds the first ones)
    created: float = field(default_factory=time.time)
    reasons: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    top_lines: dict[str, int] = field(default_factory=dict)
    audit: Future[int] | None = None  # the per-line audit, in the process that scored it
    shown: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def entry_lines(self, entry_id: str) -> pd.DataFrame:
        """The contract lines of one entry (all of them: features depend on the entry)."""
        return self.lines[self.scored["entry_id"].astype(str).to_numpy() == entry_id]


def pack(wl: Worklist) -> dict[str, Any]:
    """A worklist as a store row: its description and its lines, scores and reasons."""
    frame = wl.lines.reset_index(drop=True).copy()
    for c in _SCORE_COLUMNS:  # a presumption is "" where none applies
        frame[_PREFIX + c] = wl.scored[c].to_numpy() if c in wl.scored else ""
    frame[_PREFIX + "reasons"] = [
        json.dumps(wl.reasons[(str(e), int(n))]) if (str(e), int(n)) in wl.reasons else None
        for e, n in zip(wl.scored["entry_id"], wl.scored["line_no"], strict=True)
    ]
    return {
        "id": wl.id, "key_id": wl.key_id, "source": wl.source,
        "model_uri": wl.model.resolved.uri, "bundle_hash": wl.model.bundle_hash,
        "request_id": wl.request_id, "n_read": wl.n_read, "bad_rows_total": wl.bad_rows_total,
        "created": wl.created, "audit_state": PENDING, "lines": _parquet(frame),
        # As text: a report's values are whatever the file held (mixed types Parquet refuses).
        "bad_rows": _parquet(wl.bad_rows.fillna("").astype(str)) if len(wl.bad_rows.columns)
        else None,
    }  # fmt: skip


def _parquet(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def unpack(row: dict[str, Any], model: LoadedModel) -> Worklist:
    """The worklist of a store row, scored by ``model`` (the one that scored it)."""
    frame = pd.read_parquet(io.BytesIO(row["lines"]))
    extra = [c for c in frame.columns if str(c).startswith(_PREFIX)]
    lines = frame.drop(columns=extra)
    scored = pd.DataFrame(
        {"entry_id": lines["entry_id"].astype(str).to_numpy(),
         "line_no": lines["line_no"].astype(int).to_numpy(),
         **{c: frame[_PREFIX + c].to_numpy() if _PREFIX + c in frame else ""
            for c in _SCORE_COLUMNS}}
    )  # fmt: skip
    bad = pd.read_parquet(io.BytesIO(row["bad_rows"])) if row["bad_rows"] else pd.DataFrame()
    entries = entries_table(lines, scored)
    wl = Worklist(
        id=str(row["id"]), key_id=str(row["key_id"]), source=str(row["source"]), model=model,
        lines=lines, scored=scored, entries=entries, n_read=int(row["n_read"]), bad_rows=bad,
        request_id=str(row["request_id"]), bad_rows_total=int(row["bad_rows_total"]),
        created=float(row["created"]),
    )  # fmt: skip
    wl.top_lines = dict(zip(entries["entry_id"], entries["top_line_no"].astype(int), strict=True))
    for e, n, r in zip(
        scored["entry_id"], scored["line_no"], frame[_PREFIX + "reasons"], strict=True
    ):
        if isinstance(r, str):  # unexplained lines read back as missing (NaN in pandas 3)
            wl.reasons[(str(e), int(n))] = json.loads(r)
    wl.shown.set()  # its first page was shown where it was scored
    return wl


class WorklistStore:
    """Worklists in the store, by random id; the most recent in memory as a cache."""

    def __init__(self, db: WorkbenchStore, model_for: Callable[[str, str], LoadedModel]) -> None:
        """Keep worklists in ``db``; ``model_for(uri, bundle_hash)`` gives a model back."""
        self._db = db
        self._model_for = model_for
        self._items: OrderedDict[str, Worklist] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str, str], threading.Lock] = {}

    @staticmethod
    def new_id() -> str:
        """An unguessable worklist id."""
        return uuid.uuid4().hex

    def put(self, wl: Worklist) -> None:
        """Store a new worklist (and drop those past their lifetime); keep it in memory."""
        self.cache(wl)
        self.store(wl)

    def store(self, wl: Worklist) -> None:
        """Write a worklist to the store (a 50,000-line day: a Parquet blob of ~1.3 MB).

        The workbench runs this on its writer thread while the first page is drawn: the
        process that scored the worklist has it in memory, and another worker that is asked
        for it first waits for the row (:meth:`get`).
        """
        self._db.put_worklist(pack(wl))
        self._db.prune_worklists(time.time() - KEEP_WORKLISTS_S)

    def cache(self, wl: Worklist) -> None:
        """Keep a worklist in this process's memory (the most recent ``CACHED_WORKLISTS``)."""
        with self._lock:
            self._items[wl.id] = wl
            self._items.move_to_end(wl.id)
            while len(self._items) > CACHED_WORKLISTS:
                self._items.popitem(last=False)

    def get(self, wl_id: str) -> Worklist | None:
        """A worklist by id, or None; read from the store when this process has not got it.

        Raises:
            ModelUnavailableError: The model that scored it can no longer be loaded.
        """
        with self._lock:
            wl = self._items.get(wl_id)
            if wl is not None:
                self._items.move_to_end(wl_id)
                return wl
        if len(wl_id) != 32:  # not one of ours: no query
            return None
        row = self._db.worklist(wl_id)
        deadline = time.monotonic() + STORE_WAIT_S
        while row is None and time.monotonic() < deadline:  # still being written elsewhere?
            time.sleep(STORE_POLL_S)
            row = self._db.worklist(wl_id)
        if row is None:
            return None
        wl = unpack(row, self._model_for(str(row["model_uri"]), str(row["bundle_hash"])))
        self.cache(wl)
        return wl

    def find(self, key_id: str, source: str, model_uri: str) -> Worklist | None:
        """A worklist of ``key_id`` already scored from ``source`` by that model.

        This process's own worklists are looked at first: the store row of one scored a
        moment ago may still be on the writer thread, and scoring the day again would give
        the officer a second list of the same lines.
        """
        with self._lock:
            for wl in reversed(self._items.values()):
                if (wl.key_id, wl.source, wl.model.resolved.uri) == (key_id, source, model_uri):
                    return wl
        wl_id = self._db.find_worklist(key_id, source, model_uri)
        return None if wl_id is None else self.get(wl_id)

    def find_or_build(
        self, key_id: str, source: str, model_uri: str, build: Callable[[], Worklist]
    ) -> Worklist:
        """:meth:`find`, or ``build()`` when nothing is found: once for simultaneous callers.

        Two clicks on the same demo day (a double click, two tabs) both found nothing and both
        scored it, giving the officer two lists of the same lines. Callers asking for the same
        key, source and model in this process now wait for the first one's list.
        """
        what = (key_id, source, model_uri)
        with self._lock:
            gate = self._building.setdefault(what, threading.Lock())
        try:
            with gate:
                found = self.find(key_id, source, model_uri)
                return found if found is not None else build()
        finally:
            with self._lock:
                if not gate.locked():  # the last caller out removes the gate
                    self._building.pop(what, None)

    def recent(self, key_id: str | None) -> list[dict[str, Any]]:
        """Descriptions of the newest worklists of a key (every key's for None)."""
        return self._db.worklists_of(key_id)

    def audit_state(self, wl: Worklist) -> str:
        """``pending``, ``done`` or ``failed: why``: how the per-line audit stands."""
        if wl.audit is not None:
            if not wl.audit.done():
                return PENDING
            exc = wl.audit.exception()
            return DONE if exc is None else f"failed: {exc}"
        meta = self._db.worklist_meta(wl.id)
        return PENDING if meta is None else str(meta["audit_state"])

    def audit_finished(self, wl: Worklist, state: str) -> None:
        """Record in the store how the per-line audit of ``wl`` ended."""
        self._db.set_audit_state(wl.id, state)

    def audit_error(self, wl: Worklist) -> str | None:
        """Why the per-line audit failed, if it did (None while running or when done)."""
        state = self.audit_state(wl)
        return state.removeprefix("failed: ") if state.startswith("failed") else None


@dataclass
class DemoData:
    """Entry lines preloaded from ``FLRISK_DEMO_DATA``: officers pick a date from them."""

    path: Path
    lines: pd.DataFrame | None = None
    error: str | None = None
    dates: list[tuple[str, int]] = field(default_factory=list)

    def load(self) -> None:
        """Read the file once with the contract reader (bad rows skipped, reported)."""
        try:
            quarantine = Path(self.path).with_suffix(".workbench-quarantine.csv")
            result = read_entry_lines(
                self.path, allow_bad_rows=True, quarantine_path=_writable(quarantine)
            )
        except (ContractError, OSError) as exc:
            self.error = f"demo data {self.path.name} could not be read: {exc}"
            return
        self.lines = result.frame
        days = pd.to_datetime(result.frame["entry_date"]).dt.strftime("%Y-%m-%d")
        counts = days.value_counts().sort_index()
        self.dates = [(str(d), int(n)) for d, n in counts.items()]

    def day(self, date: str) -> pd.DataFrame:
        """The lines of one entry date."""
        if self.lines is None:
            return pd.DataFrame()
        days = pd.to_datetime(self.lines["entry_date"]).dt.strftime("%Y-%m-%d")
        return self.lines[days.to_numpy() == date].reset_index(drop=True)


def _writable(path: Path) -> Path:
    # The demo file may sit in a read-only place; quarantine into the temp folder instead.
    if os.access(path.parent, os.W_OK):
        return path
    return Path(tempfile.gettempdir()) / path.name


@dataclass
class WorkbenchState:
    """Everything the workbench keeps for one app (sessions and worklists in the store)."""

    sessions: SessionStore
    worklists: WorklistStore
    demo: DemoData | None = None
    demo_lock: threading.Lock = field(default_factory=threading.Lock)
    # One writer thread: per-line audit rows are written after the first page is shown.
    auditor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="wb-audit")
    )
    # The app's drift window, given the lines of each scored day once they are audited.
    drift: DriftMonitor | None = None

    def demo_data(self, path: Path | None) -> DemoData | None:
        """The demo data at ``path`` (``FLRISK_DEMO_DATA``), read on first use; None if unset."""
        if not path:
            return None
        with self.demo_lock:
            if self.demo is None:
                self.demo = DemoData(Path(path))
                self.demo.load()
        return self.demo

    @classmethod
    def in_store(
        cls,
        store: AuditStore,
        model_for: Callable[[str, str], LoadedModel],
        drift: DriftMonitor | None = None,
    ) -> WorkbenchState:
        """The workbench's state kept in ``store``; ``model_for`` loads a worklist's model."""
        db = WorkbenchStore(store)
        return cls(sessions=SessionStore(db), worklists=WorklistStore(db, model_for), drift=drift)
