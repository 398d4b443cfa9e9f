"""Reference versions on disk: each update a new folder, published by an atomic pointer swap.

Layout under the reference root (:func:`models.reference.tables.reference_root`)::

    <root>/versions/0001-20261203T131500/   entities.csv, xinjiang_places.csv, ...
    <root>/versions/0002-20261203T140210/
    <root>/CURRENT                          "0002-20261203T140210"

A new version is written whole into a temporary folder beside the others, renamed into
place, and only then named by ``CURRENT`` (written to a temporary file and moved over it
with ``os.replace``, atomic on one file system). A reader follows the pointer once and reads
one folder that never changes afterwards, so it sees the old version or the new one, never
a mix. The first version is a copy of the tables in use before the first update (the
shipped ones, or tables kept flat in the root).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from models.reference.tables import POINTER, current_dir, reference_root

_VERSION = re.compile(r"^(\d{4})-\d{8}T\d{6}$")
# Files a version holds besides its tables (a partner alert table appears once approved).
EXTRA_FILES = ("versions.json", "partner_alerts.csv")


def versions_dir(root: Path) -> Path:
    """The folder that holds one sub-folder per version."""
    return root / "versions"


def list_versions(root: Path | None = None) -> list[str]:
    """Published versions under ``root``, oldest first."""
    folder = versions_dir(reference_root() if root is None else root)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if _VERSION.match(p.name))


def current_version(root: Path | None = None) -> str:
    """The version ``CURRENT`` names, or ``"shipped"`` before the first update."""
    root = reference_root() if root is None else root
    try:
        return (root / POINTER).read_text().strip() or "shipped"
    except OSError:
        return "shipped"


def publish(files: Mapping[str, str], root: Path | None = None) -> str:
    """Publish a new version: the current version's files with ``files`` replaced.

    Args:
        files: File name (``entities.csv``, ``versions.json`` ...) -> its new text.
        root: Reference root (default :func:`models.reference.tables.reference_root`).

    Returns:
        The name of the new version, now current.
    """
    root = reference_root() if root is None else root
    base = current_dir(root)
    folder = versions_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    if not list_versions(root):
        # The tables in use so far become the first version: a later diff has a baseline.
        _place(folder, _stage(folder, base, {}), 1)
        base = versions_dir(root) / list_versions(root)[-1]
    staged = _stage(folder, base, files)
    name = _place(folder, staged, len(list_versions(root)) + 1)
    _write_pointer(root, name)
    return name


def _stage(folder: Path, base: Path, files: Mapping[str, str]) -> Path:
    """A temporary folder holding ``base``'s files with ``files`` written over them."""
    staged = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
    try:
        for src in base.iterdir():
            if src.suffix in (".csv", ".json") and src.name not in files:
                shutil.copyfile(src, staged / src.name)
        for name, text in files.items():
            with open(staged / name, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return staged


def _place(folder: Path, staged: Path, number: int) -> str:
    """Rename ``staged`` to the next free version name (a concurrent update takes another)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for n in range(number, number + 1000):
        name = f"{n:04d}-{stamp}"
        try:
            staged.rename(folder / name)  # fails when a concurrent update took the name
        except OSError:
            if not staged.exists():
                raise
            if any(p.startswith(f"{n:04d}-") for p in list_versions(folder.parent)):
                continue
            raise
        return name
    raise RuntimeError("no free reference version name")  # pragma: no cover


def _write_pointer(root: Path, name: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{POINTER}.", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(name + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, root / POINTER)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
