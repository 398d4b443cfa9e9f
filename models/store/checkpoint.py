"""The audit log's SQLite write-ahead log moved into the database file off the request path.

SQLite in WAL mode copies the log into the database file (a checkpoint, with an fsync) in
the commit that finds the log past 1,000 pages: about every other 1,000-line audit write,
which then takes several times as long before its answer is sent. The audit write turns
that off for its own commit and counts its rows here instead; past ``CHECKPOINT_ROWS`` rows,
a thread checkpoints (``PASSIVE``: it never blocks a writer or a reader) while the next
request is served. Durability is unchanged: a commit is in the log either way, and the log
is what a crash recovers from. Other writers of the store (tips, cases, sessions) keep
SQLite's own checkpoint on commit.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)
# Audit rows written between checkpoints: 1,000 lines of ~2.5 KB, about SQLite's own
# threshold of 1,000 pages.
CHECKPOINT_ROWS = 1000
SQLITE_AUTOCHECKPOINT = 1000  # SQLite's default, restored on the writer's connection
NO_AUTOCHECKPOINT = "PRAGMA wal_autocheckpoint=0"
AUTOCHECKPOINT = f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT}"


class Checkpointer:
    """Checkpoints a SQLite store in a thread once enough audit rows were written.

    Args:
        connect: Gives a new driver connection to the store (``engine.raw_connection``).
    """

    def __init__(self, connect: Any) -> None:
        self._connect = connect
        self._lock = threading.Lock()
        self._rows = 0
        self._thread: threading.Thread | None = None

    def written(self, rows: int) -> None:
        """Count committed audit rows; start a checkpoint past ``CHECKPOINT_ROWS``."""
        with self._lock:
            self._rows += rows
            if self._rows < CHECKPOINT_ROWS or self.running():
                return
            self._rows = 0
            self._thread = threading.Thread(
                target=self.checkpoint, name="flrisk-audit-checkpoint", daemon=True
            )
            self._thread.start()

    def running(self) -> bool:
        """Whether a checkpoint thread is at work."""
        return self._thread is not None and self._thread.is_alive()

    def checkpoint(self) -> None:
        """Copy the log into the database file, as far as readers allow (``PASSIVE``)."""
        try:
            with contextlib.closing(self._connect()) as conn:
                conn.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception as exc:  # the log stays; the next checkpoint copies it
            log.warning("audit store checkpoint failed: %s", type(exc).__name__)

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running checkpoint (tests, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
