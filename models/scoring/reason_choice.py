"""Which groups become a batch's reasons, and their sentences worded once per batch.

A line's reasons in a direction are its groups of that sign, largest contribution first,
whose sentence rests on evidence in the line (:mod:`models.scoring.sentences`). The groups
are chosen over the batch's matrix of group contributions at once, and each group's
sentence is a function of its direction and the values of the columns it reads
(``sentences.READS``): it is worded once per distinct set of them in the batch and reused
(a copy of its evidence per line), rather than once per line and reason.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from models.contract.batch import is_small
from models.scoring.sentences import (
    READS,
    SENTENCES,
    Row,
    Said,
    Sentence,
    field_reads,
    field_sentence,
)

__all__ = ["ColumnView", "Wording", "chosen", "collector_paused", "round4"]


# NumPy dtypes whose ``tolist()`` values are what indexing gives, as Python scalars (a
# datetime64 would give integers).
_AS_LIST = frozenset("biufcOUS")


class ColumnView:
    """Rows of evidence columns as cheap ``.get`` views (see :class:`Row`)."""

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self._src = columns  # may compute columns on first use: not copied
        # Columns already asked for, in a plain dict: a row's get is then one lookup.
        self.cols: dict[str, Any] = {}

    def column(self, key: str) -> Any:
        """Column ``key`` (None when the batch has none), read once and kept."""
        col = self._src.get(key)
        # Python values: a list index and arithmetic on Python floats cost a fraction of
        # NumPy scalars', and every sentence reads several values per reason.
        if isinstance(col, np.ndarray) and col.dtype.kind in _AS_LIST:
            col = col.tolist()
        self.cols[key] = col
        return col

    def row(self, i: int) -> RowView:
        """Line ``i``'s row."""
        return RowView(self, i)


class RowView:
    __slots__ = ("_cols", "_i", "_view")

    def __init__(self, view: ColumnView, i: int) -> None:
        self._view, self._cols, self._i = view, view.cols, i

    def get(self, key: str, default: Any = None) -> Any:
        try:
            col = self._cols[key]
        except KeyError:
            col = self._view.column(key)
        return default if col is None else col[self._i]


def _unsaid(line: Row, up: bool) -> Said | None:
    return None


def _maker(code: str, unsaid: frozenset[str]) -> tuple[Sentence, tuple[str, ...]]:
    """The sentence maker of a reason group and the columns it reads."""
    if code in unsaid:
        return _unsaid, ()
    maker = SENTENCES.get(code)
    if maker is not None:
        return maker, READS[code]
    return (lambda line, up: field_sentence(code, line, up)), field_reads(code)


def _key_row(values: dict[str, Any], reads: tuple[str, ...]) -> Row:
    """The row a sentence is worded from: one distinct set of its group's values.

    A plain dict (``get`` as a line's row has it); a test swaps in one that refuses a
    column not in ``reads``, since a sentence reading such a column would be reused for
    lines that differ in it.
    """
    return values


class Wording:
    """Sentences of one batch, each worded once per group, direction and distinct values."""

    def __init__(
        self,
        labels: list[str],
        context: Mapping[str, Any],
        view: ColumnView,
        unsaid: frozenset[str] = frozenset(),
    ) -> None:
        self._context, self._view, self._unsaid = context, view, unsaid
        self._labels = labels
        # Made on first use: a line asks for a few groups' sentences only.
        self._makers: list[tuple[Sentence, tuple[str, ...]] | None] = [None] * len(labels)
        self._memo: list[dict[tuple[Any, ...], Said | None]] = [{} for _ in labels]
        self._present: list[list[str] | None] = [None] * len(labels)

    def _maker(self, g: int) -> tuple[Sentence, tuple[str, ...]]:
        made = self._makers[g]
        if made is None:
            made = self._makers[g] = _maker(self._labels[g], self._unsaid)
        return made

    def _reads(self, g: int) -> list[str]:
        present = self._present[g]
        if present is None:
            reads = self._maker(g)[1]
            present = self._present[g] = [c for c in reads if self._context.get(c) is not None]
        return present

    def _word(self, g: int, key: tuple[Any, ...]) -> Said | None:
        """The sentence of ``key``: the direction, then the group's columns' values."""
        memo = self._memo[g]
        try:
            said = memo.get(key, _UNSEEN)
        except TypeError:  # a value that cannot be a key: worded for this line alone
            said = _UNSEEN
            memo = {}
        if said is _UNSEEN:
            maker, reads = self._maker(g)
            row = _key_row(dict(zip(self._reads(g), key[1:], strict=True)), reads)
            said = memo[key] = maker(row, key[0])
        return said

    def said(self, g: int, lines: np.ndarray, up: np.ndarray) -> list[Said | None]:
        """Group ``g``'s sentence on each of ``lines`` in its direction (``up``: raises)."""
        taken = [np.asarray(self._context[c])[lines] for c in self._reads(g)]
        # -0.0 is 0.0 as a key but may be worded apart (a rounded -0.0 stays -0.0): the
        # lines holding one are worded alone.
        alone = np.zeros(len(lines), dtype=bool)
        for t in taken:
            if t.dtype.kind == "f":
                alone |= (t == 0) & np.signbit(t)
        columns = [t.tolist() if t.dtype.kind in _AS_LIST else list(t) for t in taken]
        keys = zip(up.tolist(), *columns, strict=True)
        word = self._word
        if not alone.any():
            return [word(g, key) for key in keys]
        return [
            self._word_alone(g, key) if one else word(g, key)
            for key, one in zip(keys, alone.tolist(), strict=True)
        ]

    def _word_alone(self, g: int, key: tuple[Any, ...]) -> Said | None:
        maker, reads = self._maker(g)
        return maker(_key_row(dict(zip(self._reads(g), key[1:], strict=True)), reads), key[0])

    def said_one(self, g: int, i: int, up: bool) -> Said | None:
        """Group ``g``'s sentence on line ``i``, worded from the line's row.

        For a few lines: a sentence rarely repeats among them, and the row reads only the
        columns the sentence asks for, where a key would need every column it may read.
        """
        return self._maker(g)[0](self._view.row(i), up)


_UNSEEN: Any = object()
_Chosen = tuple[np.ndarray, np.ndarray, np.ndarray, list[Said]]


def chosen(values: np.ndarray, allowed: np.ndarray, k: int, wording: Wording) -> _Chosen:
    """Up to k reasons each way per line: the groups in order whose sentence is said.

    Each line's candidates in a direction are its allowed groups of that sign, largest
    contribution first (ties in label order); their sentences are asked in that order until
    k are said.

    Returns:
        Per reason, ordered by line, then direction, then rank: its line, direction (0
        raises, 1 lowers), group and sentence.
    """
    if is_small(len(values)):
        return _by_line(values, allowed, k, wording)
    return _in_rounds(values, allowed, k, wording)


def _by_line(values: np.ndarray, allowed: np.ndarray, k: int, wording: Wording) -> _Chosen:
    """:func:`chosen` line by line: for a few lines, less than the rounds' array calls."""
    lines: list[int] = []
    dirs: list[int] = []
    groups: list[int] = []
    said: list[Said] = []
    for i, (row, ok) in enumerate(zip(values.tolist(), allowed.tolist(), strict=True)):
        for d, sign in ((0, 1.0), (1, -1.0)):
            # sorted() is stable: equal contributions keep their label order.
            order = sorted(
                (j for j, c in enumerate(row) if ok[j] and sign * c > 0),
                key=lambda j: -sign * row[j],
            )
            found = 0
            for j in order:
                if found == k:
                    break
                s = wording.said_one(j, i, d == 0)
                if s is not None:
                    found += 1
                    lines.append(i)
                    dirs.append(d)
                    groups.append(j)
                    said.append(s)
    as_array = np.array
    return as_array(lines, dtype=np.int64), as_array(dirs), as_array(groups, dtype=np.int64), said


def _in_rounds(values: np.ndarray, allowed: np.ndarray, k: int, wording: Wording) -> _Chosen:
    """:func:`chosen` over all lines at once, in rounds.

    A round asks each unfinished line for as many more sentences as it lacks, grouped by
    reason group, so exactly the sentences a line-by-line walk would ask are asked.
    """
    n = len(values)
    found_line, found_dir, found_rank, found_group = [], [], [], []
    said_all: list[Said] = []
    orders, counts = [], []
    for sign in (1.0, -1.0):
        ok = allowed & (sign * values > 0)
        # Stable: groups with equal contributions keep their (alphabetical) label order;
        # the groups not allowed sort last.
        orders.append(np.argsort(np.where(ok, -sign * values, np.inf), kind="stable"))
        counts.append(ok.sum(axis=1))
    found = [np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)]
    asked = [np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)]
    steps = np.arange(k)
    while True:
        lines_, dirs, ranks = [], [], []
        for d in (0, 1):
            more = np.minimum(k - found[d], counts[d] - asked[d])
            todo = np.flatnonzero(more > 0)
            if not len(todo):
                continue
            take = steps[None, :] < more[todo, None]
            rank = (asked[d][todo, None] + steps[None, :])[take]
            lines_.append(np.repeat(todo, more[todo]))
            ranks.append(rank)
            dirs.append(np.full(len(rank), d))
            asked[d][todo] += more[todo]
        if not lines_:
            break
        line = np.concatenate(lines_)
        rank = np.concatenate(ranks)
        direction = np.concatenate(dirs)
        group = np.where(direction == 0, orders[0][line, rank], orders[1][line, rank])
        # Any order within a group: each sentence goes back to its own place.
        by_group = np.argsort(group)
        bounds = np.flatnonzero(np.diff(group[by_group])) + 1
        said: list[Said | None] = [None] * len(line)
        for part in np.split(by_group, bounds):
            got = wording.said(int(group[part[0]]), line[part], direction[part] == 0)
            for at, s in zip(part.tolist(), got, strict=True):
                said[at] = s
        kept = np.array([s is not None for s in said], dtype=bool)
        for d in (0, 1):
            np.add.at(found[d], line[kept & (direction == d)], 1)
        found_line.append(line[kept])
        found_dir.append(direction[kept])
        found_rank.append(rank[kept])
        found_group.append(group[kept])
        said_all.extend(s for s in said if s is not None)
    if not found_line:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, []
    line, direction, rank, group = (
        np.concatenate(found_line),
        np.concatenate(found_dir),
        np.concatenate(found_rank),
        np.concatenate(found_group),
    )
    order = np.lexsort((rank, direction, line))
    return line[order], direction[order], group[order], [said_all[j] for j in order]


# Beyond this |x| * 10**4 the product's rounding error could reach the margin below.
_ROUND_EXACT_BELOW = 1e9


def round4(x: np.ndarray) -> list[float]:
    """``[round(v, 4) for v in x]``, to the bit, mostly in array operations.

    Python's ``round`` is correctly rounded: the double nearest the decimal that rounds the
    exact value to 4 places (halves to even). ``rint(x * 1e4) / 1e4`` gives the same double
    whenever ``x * 1e4`` is not within rounding error of a half (the integer is then the
    right one, and the division is correctly rounded); values near a half, large or not
    finite take Python's ``round`` itself.
    """
    if is_small(len(x)):
        return [round(v, 4) for v in x.tolist()]
    y = x * 1e4
    fast = (np.rint(y) / 1e4).tolist()
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, taken by Python's round below
        near = ~(np.abs(y) < _ROUND_EXACT_BELOW) | (np.abs(np.abs(y - np.trunc(y)) - 0.5) < 1e-6)
    if near.any():
        values = x.tolist()
        for j in np.flatnonzero(near).tolist():
            fast[j] = round(values[j], 4)
    return fast  # type: ignore[no-any-return]


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off while a batch's reasons are built.

    The reasons are plain dicts and lists, never cycles: the collector's passes over the
    whole heap, set off by their number, would find nothing to free. It is turned back on
    only by the call that turned it off (another thread may be inside the same block).
    """
    was_on = gc.isenabled()
    if was_on:
        gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
