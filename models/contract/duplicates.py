"""Duplicate (entry_id, line_no) keys, within a batch and across the chunks and files of a read."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

from models.contract.problems import Problems
from models.contract.text import TextCells

# splitmix64's constants: a bijection of 64-bit integers whose output bits each depend on
# every input bit, so that line numbers 1, 2, 3 spread over all 64 bits of a fingerprint.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
# Different offsets for the two hashes, so that they mix the line number differently too.
_OFFSET1, _OFFSET2 = np.uint64(1), np.uint64(2)
# SeenKeys' bitmap (a Bloom filter of two bits per key): at least 32 bits per key seen, so
# that about one unseen key in 250 has both its bits set and is searched for; from 64 Kibit
# up to 2 Gibit (256 MiB, reached past 67M keys, whose fingerprints take 1.9 GB).
_MIN_BITS, _MAX_BITS, _BITS_PER_KEY = 16, 31, 32
_BYTE, _LOW3, _ONE = np.uint64(3), np.uint64(7), np.uint8(1)


def _first_seen(where: tuple[str, int], source: str) -> str:
    return f"row {where[1]}" if where[0] == source else f"row {where[1]} of {where[0]}"


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser of each value (uint64, wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        z = x + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _MIX1
        z = (z ^ (z >> np.uint64(27))) * _MIX2
        return z ^ (z >> np.uint64(31))


def _string_hashes(texts: Sequence[str], prefix: str) -> np.ndarray:
    keyed = map(prefix.__add__, texts)  # "" + t is t itself: no copy for the first hash
    return np.fromiter(map(hash, keyed), dtype=np.int64, count=len(texts)).view(np.uint64)


class SeenKeys:
    """First occurrence (file, row) of every (entry_id, line_no) key read so far.

    Tens of millions of keys would take gigabytes as a dict of strings and make every
    membership test slower; this keeps two independent 64-bit hashes per key (a 128-bit
    fingerprint: a false duplicate is astronomically unlikely) in NumPy arrays, about 28
    bytes per key, plus a bitmap of 32 to 64 bits per key. Each chunk's new keys are kept
    as one run sorted by the first hash, never copied again (inserting every chunk into one
    sorted array copied all the keys seen so far per chunk: quadratic in a file's chunks).
    A look-up tests the bitmap first (a Bloom filter: two bits per key, at positions drawn
    from its two hashes); only the keys whose two bits are both set (every repeated key,
    and a few hundredths of the others) are searched for in the runs.
    """

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._ends: list[int] = []  # keys in the runs up to each one's end
        self._sources: list[str] = []
        self._n = 0
        self._shift = np.uint64(64 - _MIN_BITS)  # position in the bitmap: h1's top bits
        self._bits = np.zeros(2**_MIN_BITS // 8, dtype=np.uint8)

    def __len__(self) -> int:
        return self._n

    @staticmethod
    def fingerprint(
        ids: Sequence[str], codes: np.ndarray, line_no: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Two independent 64-bit hashes of each key ``(ids[codes[i]], line_no[i])``.

        Valid within this process only. Each distinct entry id is hashed once, by Python's
        string hash (SipHash, salted per process) of the id and of the id with a separator
        prepended (two independent hashes); each key's hash is then the id's hash mixed with
        its line number by splitmix64 in NumPy. Keys of one id never collide (the mixing is
        a bijection of the line number); keys of two ids collide with probability 2**-128.

        Args:
            ids: Distinct entry ids.
            codes: Per key, the position of its entry id in ``ids``.
            line_no: Per key, its line number (integers).
        """
        lines = np.asarray(line_no).astype(np.int64).view(np.uint64)
        h1 = _string_hashes(ids, "")[codes] ^ _mix(lines + _OFFSET1)
        h2 = _string_hashes(ids, "\x1e")[codes] ^ _mix(lines + _OFFSET2)
        return _mix(h1), _mix(h2)

    def _slots(self, h1: np.ndarray, h2: np.ndarray) -> tuple[np.ndarray, ...]:
        """Each key's two bit positions (bytes and bits): the top bits of each hash."""
        a, b = h1 >> self._shift, h2 >> self._shift
        return a >> _BYTE, (a & _LOW3).astype(np.uint8), b >> _BYTE, (b & _LOW3).astype(np.uint8)

    def _maybe(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Whether both of each key's bits are set: False means never seen."""
        byte1, bit1, byte2, bit2 = self._slots(h1, h2)
        both = (self._bits[byte1] >> bit1) & (self._bits[byte2] >> bit2)
        return (both & _ONE).astype(bool)

    def _mark(self, h1: np.ndarray, h2: np.ndarray) -> None:
        byte1, bit1, byte2, bit2 = self._slots(h1, h2)
        for byte, mask in ((byte1, _ONE << bit1), (byte2, _ONE << bit2)):
            # Keys sharing a byte: one assignment keeps one of their bits, so the bits not
            # set go again, until every one is (``np.bitwise_or.at`` is several times slower).
            while len(byte):
                self._bits[byte] |= mask
                lost = (self._bits[byte] & mask) == 0
                byte, mask = byte[lost], mask[lost]

    def find(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Position of each fingerprint among the seen keys, -1 when not seen.

        A position is valid for :meth:`where` until the next :meth:`add`.
        """
        found = np.full(len(h1), -1, dtype=np.intp)
        if not self._n or not len(h1):
            return found
        cand = np.flatnonzero(self._maybe(h1, h2))
        cand = cand[np.argsort(h1[cand])]  # sorted queries: each search narrows the next
        q1, q2 = h1[cand], h2[cand]
        for (run_h1, run_h2, _row, _src), start in zip(self._runs, self._starts(), strict=True):
            pos = np.minimum(np.searchsorted(run_h1, q1), len(run_h1) - 1)
            hit = (run_h1[pos] == q1) & (run_h2[pos] == q2)
            found[cand[hit]] = pos[hit] + start  # a key is in one run at most
        return found

    def _starts(self) -> list[int]:
        """Each run's first position among the seen keys."""
        return [0, *self._ends[:-1]]

    def where(self, pos: int) -> tuple[str, int]:
        """(source, row) of the key at ``pos`` (a position :meth:`find` gave)."""
        if not 0 <= pos < self._n:
            raise IndexError("no seen key at that position")
        run = bisect_right(self._ends, pos)  # a file repeated asks this once per line
        _h1, _h2, row, src = self._runs[run]
        at = pos - (self._ends[run - 1] if run else 0)
        return self._sources[int(src[at])], int(row[at])

    def add(self, h1: np.ndarray, h2: np.ndarray, rows: np.ndarray, source: str) -> None:
        """Remember new keys (not seen before, each once) first seen at ``rows`` of ``source``."""
        if source not in self._sources:
            self._sources.append(source)
        if not len(h1):
            return
        order = np.argsort(h1)  # new keys are distinct: any sort gives one order
        src = np.full(len(h1), self._sources.index(source), dtype=np.int32)
        self._runs.append((h1[order], h2[order], rows.astype(np.int64)[order], src))
        self._n += len(h1)
        self._ends.append(self._n)
        before = bits = 64 - int(self._shift)
        while self._n * _BITS_PER_KEY > 2**bits and bits < _MAX_BITS:
            bits += 1
        if bits == before:
            self._mark(h1, h2)
            return
        # A bitmap twice as large (or more) for as many keys: drawn again from every run.
        self._shift = np.uint64(64 - bits)
        self._bits = np.zeros(2**bits // 8, dtype=np.uint8)
        for run in self._runs:
            self._mark(run[0], run[1])


def _distinct_ids(entry_id: TextCells) -> tuple[list[str], np.ndarray]:
    """The distinct entry ids once stripped, and each row's code into them (-1: missing).

    Distinct raw ids that are one id once stripped ("E-1 " and "E-1") share a code; when
    stripping changed no id (the usual case), the raw codes are already those.
    """
    clean = entry_id.clean
    if clean[:-1] == entry_id.raw[:-1]:  # the last of both is the missing cell's None
        codes = entry_id.codes.astype(np.int64)
        codes[codes == len(clean) - 1] = -1
        return clean[:-1], codes  # type: ignore[return-value]  # no None before the last
    distinct: dict[str, int] = {}
    per_value = [-1 if v is None else distinct.setdefault(v, len(distinct)) for v in clean]
    return list(distinct), np.array(per_value, dtype=np.int64)[entry_id.codes]


def check_duplicates(
    entry_id: TextCells,
    line_no: np.ndarray,
    rows: np.ndarray,
    p: Problems,
    source: str,
    seen: SeenKeys | None,
) -> None:
    """Flag later occurrences of an (entry_id, line_no) key, within and across chunks/files."""
    ids, id_code = _distinct_ids(entry_id)
    valid = (id_code >= 0) & ~np.isnan(line_no)
    vpos = np.flatnonzero(valid)
    codes, numbers = id_code[vpos], line_no[vpos].astype(np.int64)
    # One integer per key, exact: line numbers are below 10**9 (the contract's integers).
    key = codes * (int(numbers.max(initial=0)) + 1) + numbers
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    first_v = first[inverse.reshape(-1)]
    later = np.zeros(len(valid), dtype=bool)
    later[vpos] = first_v != np.arange(len(vpos))
    first_row = np.zeros(len(valid), dtype=np.int64)
    first_row[vpos] = rows[vpos][first_v]
    found = np.full(len(valid), -1, dtype=np.intp)
    if seen is not None:
        h1, h2 = SeenKeys.fingerprint(ids, codes, numbers)
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
