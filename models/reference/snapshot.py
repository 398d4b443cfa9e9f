"""One immutable reference version in memory, and the watcher that swaps it as a whole.

A scorer's look-ups (the entity matcher, the Xinjiang places, the risk goods, approved
partner alerts) all come from one :class:`ReferenceSnapshot`: a request takes the snapshot
once and keeps it, so it never mixes two versions. :class:`ReferenceWatcher` notices a new
version by a ``stat`` of the ``CURRENT`` pointer (a few microseconds, so a server checks on
every request and answers with a new version in the very next response after an update)
and loads it beside the old one before swapping the reference.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from models.reference.entities import EntityMatcher
from models.reference.geography import PlaceIndex
from models.reference.hs import rules_by_prefix
from models.reference.tables import (
    POINTER,
    TABLES,
    current_dir,
    read_table,
    reference_root,
    shipped_dir,
    spellings_of,
    versions_of,
)

PARTNER_FILE = "partner_alerts.csv"
# An approved partner alert: evidence in scoring, never a presumption (docs/alerts.md).
PARTNER_COLUMNS = (
    "alert_id",
    "name",
    "aliases",
    "address",
    "country",
    "hs_scope",
    "basis",
    "authority",
    "effective_date",
    "citation",
    "approved_by",
    "approved_at",
)


@dataclass(frozen=True, eq=False)
class ReferenceSnapshot:
    """The tables of one reference version, read once, never mutated.

    Attributes:
        version: The version's name (``0002-20261203T140210``; ``shipped`` before updates).
        folder: Where its files are.
        versions: Per table its declared version and content hash, and ``snapshot``.
        entities, places, risk_goods: The tables (every cell as text).
        partner_alerts: Approved partner alerts (``PARTNER_COLUMNS``; empty when none).
    """

    version: str
    folder: Path
    versions: dict[str, str]
    entities: pd.DataFrame
    places: pd.DataFrame
    risk_goods: pd.DataFrame
    partner_alerts: pd.DataFrame = field(repr=False)

    @cached_property
    def spellings(self) -> dict[str, str]:
        """One-word place spellings -> canonical, for name normalisation."""
        return spellings_of(self.places)

    @cached_property
    def matcher(self) -> EntityMatcher:
        """The entity matcher of this version's entity table."""
        return EntityMatcher(self.entities, spellings=self.spellings)

    @cached_property
    def place_index(self) -> PlaceIndex:
        """The Xinjiang place index of this version's place table."""
        return PlaceIndex(self.places)

    @cached_property
    def risk_rules(self) -> dict[str, list[Any]]:
        """This version's risk-goods rules, by HS prefix."""
        return rules_by_prefix(self.risk_goods)

    @cached_property
    def partner_matcher(self) -> EntityMatcher | None:
        """A matcher of the approved partner alerts' names (None when there are none)."""
        if self.partner_alerts.empty:
            return None
        table = self.partner_alerts.rename(columns={"alert_id": "entity_id"}).assign(list="PARTNER")
        return EntityMatcher(table, spellings=self.spellings)


def load_snapshot(folder: Path, version: str) -> ReferenceSnapshot:
    """Read the version in ``folder``."""
    versions = versions_of(folder)
    versions["snapshot"] = version
    partner = folder / PARTNER_FILE
    partners = (
        pd.read_csv(partner, dtype=str, keep_default_na=False)
        if partner.is_file()
        else pd.DataFrame(columns=list(PARTNER_COLUMNS), dtype=str)
    )
    tables = {name: read_table(folder, name) for name in TABLES}
    return ReferenceSnapshot(
        version=version,
        folder=folder,
        versions=versions,
        entities=tables["entities"],
        places=tables["xinjiang_places"],
        risk_goods=tables["risk_goods"],
        partner_alerts=partners,
    )


def _pointer_state(root: Path) -> tuple[int, int, int] | None:
    try:
        st = (root / POINTER).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


Listener = Callable[[ReferenceSnapshot, ReferenceSnapshot], None]


class ReferenceWatcher:
    """The current reference snapshot of one root, re-read when its pointer moves."""

    def __init__(self, root: Path | None = None) -> None:
        """Watch ``root`` (default :func:`models.reference.tables.reference_root`)."""
        self.root = reference_root() if root is None else root
        self._state: tuple[int, int, int] | None = None
        self._snapshot: ReferenceSnapshot | None = None
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []

    def on_change(self, listener: Listener) -> None:
        """Call ``listener(old, new)`` after each swap (in the thread that noticed it)."""
        self._listeners.append(listener)

    def current(self) -> ReferenceSnapshot:
        """The current snapshot; loads the new version first when the pointer moved."""
        state = _pointer_state(self.root)
        snap = self._snapshot
        if snap is not None and state == self._state:
            return snap
        with self._lock:  # one reader loads a new version; the others wait for it
            if self._snapshot is not None and _pointer_state(self.root) == self._state:
                return self._snapshot
            state = _pointer_state(self.root)
            folder = current_dir(self.root)
            version = folder.name if folder.parent.name == "versions" else "shipped"
            new = load_snapshot(folder, version)
            old, self._snapshot, self._state = self._snapshot, new, state
        if old is not None and old.version != new.version:
            for listener in self._listeners:
                listener(old, new)
        return new


_GLOBAL: dict[Path, ReferenceWatcher] = {}


def current_snapshot() -> ReferenceSnapshot:
    """The current snapshot of this process's reference root (the environment's)."""
    root = reference_root()
    watcher = _GLOBAL.get(root)
    if watcher is None:
        watcher = _GLOBAL.setdefault(root, ReferenceWatcher(root))
    return watcher.current()


def snapshot_of(version: str, root: Path | None = None) -> ReferenceSnapshot:
    """A published version by name (``shipped`` for the shipped tables)."""
    root = reference_root() if root is None else root
    folder = shipped_dir() if version == "shipped" else root / "versions" / version
    return load_snapshot(folder, version)
