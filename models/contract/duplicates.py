"""Duplicate (entry_id, line_no) keys, within a batch and across the chunks and files of a read."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.contract.problems import Problems
from models.contract.text import TextCells


def _first_seen(where: tuple[str, int], source: str) -> str:
    return f"row {where[1]}" if where[0] == source else f"row {where[1]} of {where[0]}"


class SeenKeys:
    """First occurrence (file, row) of every (entry_id, line_no) key read so far.

    Tens of millions of keys would take gigabytes as a dict of strings and make every
    membership test slower; this keeps two independent 64-bit hashes per key (a 128-bit
    fingerprint: a false duplicate is astronomically unlikely) in sorted NumPy arrays,
    about 28 bytes per key.
    """

    def __init__(self) -> None:
        self._h1 = np.empty(0, dtype=np.uint64)
        self._h2 = np.empty(0, dtype=np.uint64)
        self._row = np.empty(0, dtype=np.int64)
        self._src = np.empty(0, dtype=np.int32)
        self._sources: list[str] = []

    def __len__(self) -> int:
        return len(self._h1)

    @staticmethod
    def fingerprint(keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Two independent 64-bit hashes of each key (valid within this process only).

        Python's string hash (SipHash, salted per process) is the fastest hash at hand; the
        second hash is of a different string, so the two are independent.
        """
        n = len(keys)
        h1 = np.fromiter(map(hash, keys), dtype=np.int64, count=n)
        h2 = np.fromiter((hash(k + "\x1e") for k in keys), dtype=np.int64, count=n)
        return h1.view(np.uint64), h2.view(np.uint64)

    def find(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Position of each fingerprint among the seen keys, -1 when not seen."""
        if not len(self._h1) or not len(h1):
            return np.full(len(h1), -1, dtype=np.intp)
        pos = np.minimum(np.searchsorted(self._h1, h1), len(self._h1) - 1)
        hit = (self._h1[pos] == h1) & (self._h2[pos] == h2)
        return np.where(hit, pos, -1)

    def where(self, pos: int) -> tuple[str, int]:
        """(source, row) of the key at ``pos``."""
        return self._sources[int(self._src[pos])], int(self._row[pos])

    def add(self, h1: np.ndarray, h2: np.ndarray, rows: np.ndarray, source: str) -> None:
        """Remember new keys (not seen before, each once) first seen at ``rows`` of ``source``."""
        if source not in self._sources:
            self._sources.append(source)
        src = np.full(len(h1), self._sources.index(source), dtype=np.int32)
        h1 = np.concatenate([self._h1, h1])
        # Stable sort of a sorted run plus a new one is a merge (Timsort), not a full sort.
        order = np.argsort(h1, kind="stable")
        self._h1 = h1[order]
        self._h2 = np.concatenate([self._h2, h2])[order]
        self._row = np.concatenate([self._row, rows.astype(np.int64)])[order]
        self._src = np.concatenate([self._src, src])[order]


def check_duplicates(
    entry_id: TextCells,
    line_no: np.ndarray,
    rows: np.ndarray,
    p: Problems,
    source: str,
    seen: SeenKeys | None,
) -> None:
    """Flag later occurrences of an (entry_id, line_no) key, within and across chunks/files."""
    valid = entry_id.present()[entry_id.codes] & ~np.isnan(line_no)
    vpos = np.flatnonzero(valid)
    ids = entry_id.clean
    keys = [
        f"{ids[c]}\x1f{int(x)}"
        for c, x in zip(entry_id.codes[vpos].tolist(), line_no[vpos].tolist(), strict=True)
    ]
    kcodes, _ = pd.factorize(np.array(keys, dtype=object))
    _, first = np.unique(kcodes, return_index=True)
    later_v = np.ones(len(vpos), dtype=bool)
    later_v[first] = False
    later = np.zeros(len(valid), dtype=bool)
    later[vpos] = later_v
    first_row = np.zeros(len(valid), dtype=np.int64)
    first_row[vpos] = rows[vpos][first[kcodes]] if len(vpos) else []
    h1, h2 = SeenKeys.fingerprint(keys)
    found = np.full(len(valid), -1, dtype=np.intp)
    if seen is not None:
        found[vpos] = seen.find(h1, h2)
    dup = later | (found >= 0)
    if dup.any():
        pos = np.flatnonzero(dup)
        why = "duplicate (entry_id, line_no); first seen at {v}"
        reasons = [
            why.format(
                v=_first_seen(seen.where(f), source) if seen is not None and f >= 0 else f"row {r}"
            )
            for f, r in zip(found[pos].tolist(), first_row[pos].tolist(), strict=True)
        ]
        p.add("line_no", pos, reasons)
    if seen is not None:
        new = (valid & ~dup)[vpos]
        seen.add(h1[new], h2[new], rows[vpos][new], source)
