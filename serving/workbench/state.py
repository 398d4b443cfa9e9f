"""Server-side state of the workbench: its sessions, scored worklists, the demo data.

All of it lives in memory of the single serving process (``flrisk serve`` runs one worker):
a restart signs officers out and forgets uploads, which they can simply upload again.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from models.contract.columns import ContractError
from models.contract.reader import read_entry_lines
from serving.drift import DriftMonitor
from serving.model_holder import LoadedModel
from serving.workbench.sessions import SessionStore

MAX_WORKLISTS = 12  # each holds a day's lines; older ones are dropped first


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
    audit: Future[int] | None = None
    shown: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def entry_lines(self, entry_id: str) -> pd.DataFrame:
        """The contract lines of one entry (all of them: features depend on the entry)."""
        return self.lines[self.scored["entry_id"].astype(str).to_numpy() == entry_id]

    def audit_error(self) -> str | None:
        """Why the per-line audit failed, if it did (None while running or when done)."""
        if self.audit is None or not self.audit.done():
            return None
        exc = self.audit.exception()
        return None if exc is None else str(exc)


class WorklistStore:
    """The most recent worklists, by random id."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, Worklist] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def new_id() -> str:
        """An unguessable worklist id."""
        return uuid.uuid4().hex

    def put(self, wl: Worklist) -> None:
        """Keep a worklist, dropping the oldest beyond ``MAX_WORKLISTS``."""
        with self._lock:
            self._items[wl.id] = wl
            while len(self._items) > MAX_WORKLISTS:
                self._items.popitem(last=False)

    def get(self, wl_id: str) -> Worklist | None:
        """A worklist by id, or None."""
        with self._lock:
            wl = self._items.get(wl_id)
            if wl is not None:
                self._items.move_to_end(wl_id)
            return wl

    def find(self, source: str, model_version: str) -> Worklist | None:
        """A worklist already scored from ``source`` by that model (demo dates are reused)."""
        with self._lock:
            for wl in reversed(self._items.values()):
                if wl.source == source and wl.model.resolved.uri == model_version:
                    return wl
        return None


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
    """Everything the workbench keeps for one app."""

    sessions: SessionStore = field(default_factory=SessionStore)
    worklists: WorklistStore = field(default_factory=WorklistStore)
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
