"""The SQLite file an audit store opened, and whether the file at its path is still that one.

A file removed (unlinked) or replaced (another file moved over the path) while a server runs
leaves its open connections writing into a file nobody will read: after a restart, what was
answered has no audit row. :class:`OpenedFile` compares the device and inode at the path
with those of the file opened, so the store can refuse to write (503) instead.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import make_url

log = logging.getLogger(__name__)


def sqlite_file(url: str) -> Path | None:
    """The database file of an SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    db = parsed.database
    if parsed.get_backend_name() != "sqlite" or not db or db == ":memory:":
        return None
    return None if db.startswith("file:") else Path(db)


def _identity(path: Path) -> tuple[int, int] | None:
    """Device and inode of the file at ``path``; None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class OpenedFile:
    """The identity of the file a store opened, checked against its path (a ``stat``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._opened: tuple[int, int] | None = None
        self._problem: str | None = None

    def opened(self) -> None:
        """Remember the file now at the path as the one opened (once: later calls keep it)."""
        if self._opened is None:
            self._opened = _identity(self.path)

    def problem(self) -> str | None:
        """Why the file at the path is not the one opened (removed, replaced), or None.

        A change is logged once, not at every call.
        """
        if self._opened is None:
            return None
        now = _identity(self.path)
        problem = None
        if now != self._opened:
            what = "removed" if now is None else "replaced"
            problem = f"the audit database file was {what} while serving"
        if problem != self._problem:
            self._problem = problem
            if problem:
                log.error("%s: audit writes refused until the file is restored and the server "
                          "restarted", problem)  # fmt: skip
        return problem
