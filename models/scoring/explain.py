"""Explanations: SHAP contributions grouped into plain-language reasons with evidence.

LightGBM's ``pred_contrib=True`` gives exact TreeSHAP values in log-odds; we sum them over
the features that stand for one piece of evidence (e.g. all entity-list similarities) and
split the groups by direction: those that raise the line's risk, largest first, and those
that lower it, most lowering first. Each group becomes a sentence an officer can check
(:mod:`models.scoring.sentences`), with the evidence behind it and its signed share of the
line's total contribution; a group whose contribution rests on no evidence in the line (an
undeclared field, a party never inspected, a check that found nothing raising the risk) is
left out rather than written as a reason.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from models.contract.batch import is_small
from models.scoring.legal_basis import GROUPS_OF_BASIS, LATER_READS, basis_reason, listed_later
from models.scoring.sentences import (
    READS,
    SENTENCES,
    Row,
    Said,
    Sentence,
    _s,
    field_reads,
    field_sentence,
)

__all__ = [
    "LOWERS",
    "NOTE",
    "PRESUMES",
    "RAISES",
    "TIP_GROUP",
    "Row",
    "feature_groups",
    "group_contributions",
    "group_totals",
    "reasons_for",
]

# A reason raises or lowers the risk (the model's), states a presumption (the law's), or is
# a note that moves nothing (a party listed after the line's entry date).
RAISES, LOWERS, PRESUMES, NOTE = "raises", "lowers", "presumes", "note"

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("listed_entity", ("mfr_list_sim", "shp_list_sim")),
    ("xinjiang_address", ("mfr_xj", "mfr_xj_postal", "shp_xj", "shp_xj_postal", "names_xj")),
    ("goods_description", ("desc_xj", "desc_risk_terms")),
    ("risk_goods", ("rg_", "hs_chapter", "hs_heading")),
    (
        "route",
        (
            "origin_ne_export",
            "lading_",
            "origin_is_hub",
            "route_cn_via_hub",
            "mfr_addr_",
            "shp_addr_",
            "mid_",
            "country_of_export",
            "transport_mode",
        ),
    ),
    ("origin", ("country_of_origin",)),
    (
        "unit_value",
        ("log_unit_value", "log_value_per_kg", "log_kg_per_unit", "log_value", "log_weight"),
    ),
    ("importer_history", ("hist_imp_",)),
    ("manufacturer_history", ("hist_mfr_",)),
    ("shipper_history", ("hist_shp_",)),
    ("goods_history", ("hist_hs6_", "hist_origin_heading_")),
    ("shipper_role", ("shipper_ne_mfr", "shipper_trader", "shipper_ctry_ne_mfr")),
    ("missing_data", ("n_missing",)),
    ("entry_shape", ("lines_in_entry",)),
    ("tip", ("tip_",)),
)
# Groups said elsewhere, not by ``reasons_for``: the tip counts' contribution is carried by
# the line's ``tip`` reasons, one per tip (``models/scoring/tip_reasons.py``).
TIP_GROUP = "tip"
SAID_ELSEWHERE = frozenset({TIP_GROUP})


HIST_SUFFIXES = (
    "_viol_rate",
    "_risky_share",
    "_months_known",
    "_lines",
    "_inspected",
    "_violations",
)


def feature_groups(feature_names: list[str]) -> dict[str, str]:
    """Reason group of every feature; pass-through columns form one group each."""
    out: dict[str, str] = {}
    for f in feature_names:
        for group, prefixes in GROUPS:
            if any(
                f == p or (p.endswith("_") and f.startswith(p)) or f.startswith(p + "_")
                for p in prefixes
            ):
                out[f] = group
                break
        else:
            if f.startswith("hist_"):
                base = f[len("hist_") :]
                for suffix in HIST_SUFFIXES:
                    base = base.removesuffix(suffix)
                out[f] = f"history:{base}"
            else:
                out[f] = f"field:{f}"
    return out


def group_contributions(contrib: np.ndarray, feature_names: list[str]) -> pd.DataFrame:
    """Sum per-feature SHAP values (without the bias column) into reason groups."""
    labels, values = _group_sums(contrib, feature_names)
    return pd.DataFrame(values, columns=labels)  # labels as the groupby's: pandas' text dtype


def group_totals(contrib: np.ndarray, feature_names: list[str]) -> np.ndarray:
    """Per line, the sum of absolute group contributions: what ``reasons_for``'s shares divide.

    Args:
        contrib: ``pred_contrib`` rows (lines x features+1), log-odds.
        feature_names: Model feature names, in column order.
    """
    return np.abs(_group_sums(contrib, feature_names)[1]).sum(axis=1)  # type: ignore[no-any-return]


@lru_cache(maxsize=8)
def _group_layout(feature_names: tuple[str, ...]) -> tuple[list[str], list[np.ndarray]]:
    """Sorted group labels and, per summation step, the (group, feature) index pairs."""
    groups = feature_groups(list(feature_names))
    labels = sorted(set(groups.values()))
    members = [[j for j, f in enumerate(feature_names) if groups[f] == g] for g in labels]
    steps = []
    for t in range(max((len(m) for m in members), default=0)):
        steps.append(np.array([(k, m[t]) for k, m in enumerate(members) if len(m) > t]))
    return labels, steps


def _group_sums(contrib: np.ndarray, feature_names: list[str]) -> tuple[list[str], np.ndarray]:
    """Per-group sums, bit-identical to ``DataFrame.T.groupby(groups).sum()``.

    pandas sums groups with Kahan compensation in feature order; the same steps are run here
    for all groups at once (a groupby's fixed cost per call is many times these steps').
    """
    labels, steps = _group_layout(tuple(feature_names))
    n = contrib.shape[0]
    if is_small(n):
        # A few lines: the same steps on Python floats (IEEE doubles, so bit-identical) cost
        # less than one NumPy call per step.
        return labels, np.array([_row_sums(row, len(labels), steps) for row in contrib.tolist()])
    total = np.zeros((n, len(labels)))
    comp = np.zeros((n, len(labels)))
    for step in steps:
        g, j = step[:, 0], step[:, 1]
        y = contrib[:, j] - comp[:, g]
        t = total[:, g] + y
        comp[:, g] = (t - total[:, g]) - y
        total[:, g] = t
    return labels, total


def _row_sums(row: list[float], n_groups: int, steps: list[np.ndarray]) -> list[float]:
    """:func:`_group_sums` of one line, Kahan-compensated in the same order."""
    total = [0.0] * n_groups
    comp = [0.0] * n_groups
    for step in steps:
        for g, j in step.tolist():
            y = row[j] - comp[g]
            t = total[g] + y
            comp[g] = (t - total[g]) - y
            total[g] = t
    return total


# NumPy dtypes whose ``tolist()`` values are what indexing gives, as Python scalars (a
# datetime64 would give integers).
_AS_LIST = frozenset("biufcOUS")


class _ColumnView:
    """Rows of evidence columns as cheap ``.get`` views (see :class:`Row`)."""

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self._src = columns  # may compute columns on first use: not copied
        # Columns already asked for, in a plain dict: a row's get is then one lookup.
        self.cols: dict[str, Any] = {}

    def column(self, key: str) -> Any:
        col = self._src.get(key)
        # Python values: a list index and arithmetic on Python floats cost a fraction of
        # NumPy scalars', and every sentence reads several values per reason.
        if isinstance(col, np.ndarray) and col.dtype.kind in _AS_LIST:
            col = col.tolist()
        self.cols[key] = col
        return col

    def row(self, i: int) -> _RowView:
        return _RowView(self, i)


class _RowView:
    __slots__ = ("_cols", "_i", "_view")

    def __init__(self, view: _ColumnView, i: int) -> None:
        self._view, self._cols, self._i = view, view.cols, i

    def get(self, key: str, default: Any = None) -> Any:
        try:
            col = self._cols[key]
        except KeyError:
            col = self._view.column(key)
        return default if col is None else col[self._i]


def _unsaid(line: Row, up: bool) -> Said | None:
    return None


def _maker(code: str) -> tuple[Sentence, tuple[str, ...]]:
    """The sentence maker of a reason group and the columns it reads."""
    if code in SAID_ELSEWHERE:
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


def _values_at(col: Any, at: np.ndarray) -> list[Any]:
    """A column's values at ``at``, as a line's row gives them (Python values where exact)."""
    taken = np.asarray(col)[at]
    return taken.tolist() if taken.dtype.kind in _AS_LIST else list(taken)


class _Wording:
    """Sentences of one batch, each worded once per group, direction and distinct values."""

    def __init__(self, labels: list[str], context: Mapping[str, Any], view: _ColumnView) -> None:
        self._context, self._view = context, view
        self._labels = labels
        # Made on first use: a line asks for a few groups' sentences only.
        self._makers: list[tuple[Sentence, tuple[str, ...]] | None] = [None] * len(labels)
        self._memo: list[dict[tuple[Any, ...], Said | None]] = [{} for _ in labels]
        self._present: list[list[str] | None] = [None] * len(labels)

    def _maker(self, g: int) -> tuple[Sentence, tuple[str, ...]]:
        made = self._makers[g]
        if made is None:
            made = self._makers[g] = _maker(self._labels[g])
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
        columns = [_values_at(self._context[c], lines) for c in self._reads(g)]
        word = self._word
        return [word(g, key) for key in zip(up.tolist(), *columns, strict=True)]

    def said_one(self, g: int, i: int, up: bool) -> Said | None:
        """Group ``g``'s sentence on line ``i`` (its columns read whole, once per batch)."""
        cols, view = self._view.cols, self._view
        values = [(cols[c] if c in cols else view.column(c))[i] for c in self._reads(g)]
        return self._word(g, (up, *values))


_UNSEEN: Any = object()
_Chosen = tuple[np.ndarray, np.ndarray, np.ndarray, list[Said]]


def _chosen(values: np.ndarray, allowed: np.ndarray, k: int, wording: _Wording) -> _Chosen:
    """Up to k reasons each way per line: the groups in order whose sentence is said.

    Each line's candidates in a direction are its allowed groups of that sign, largest
    contribution first (ties in label order); their sentences are asked in that order until
    k are said.

    Returns:
        Per reason, ordered by line, then direction, then rank: its line, direction (0
        raises, 1 lowers), group and sentence.
    """
    if is_small(len(values)):
        return _chosen_by_line(values, allowed, k, wording)
    return _chosen_in_rounds(values, allowed, k, wording)


def _chosen_by_line(values: np.ndarray, allowed: np.ndarray, k: int, wording: _Wording) -> _Chosen:
    """:func:`_chosen` line by line: for a few lines, less than the rounds' array calls."""
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


def _chosen_in_rounds(
    values: np.ndarray, allowed: np.ndarray, k: int, wording: _Wording
) -> _Chosen:
    """:func:`_chosen` over all lines at once, in rounds.

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
        orders.append(np.argsort(np.where(ok, -sign * values, np.inf), axis=1, kind="stable"))
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
        by_group = np.argsort(group, kind="stable")
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


def reasons_for(
    contrib: np.ndarray,
    feature_names: list[str],
    context: Mapping[str, np.ndarray],
    k: int,
    presumption: np.ndarray | None = None,
) -> list[list[dict[str, Any]]]:
    """Per line, its presumption's legal basis, up to k reasons each way, and a note.

    Args:
        contrib: ``pred_contrib`` output (lines x features+1), log-odds.
        feature_names: Model feature names, in column order.
        context: Column name -> array with one value per line of ``contrib``: feature
            values, signals and the lines' own fields (``<name>_raw``).
        k: Reasons per direction and line.
        presumption: Per line, its presumption (``"uflpa_entity;xinjiang"``, ``""``), or
            None for no line presumed.

    Returns:
        Per line, a list of ``{"code", "direction", "text", "evidence", "contribution",
        "share"}``: first, on a presumed line, one ``presumption`` reason per basis
        (``direction`` ``"presumes"``, :mod:`models.scoring.legal_basis`), carrying the
        contribution of the groups it rests on, which are not repeated; then the groups with
        a positive contribution (``"raises"``), largest first, then those with a negative
        one (``"lowers"``), most lowering first, only groups whose sentence rests on
        evidence in the line; last, a ``listed_later`` ``"note"`` when a party was listed
        after the line's entry date. ``share`` is the signed fraction of the sum of absolute
        group contributions.
    """
    rows = len(contrib)
    if k <= 0 or rows == 0:
        return [[] for _ in range(rows)]
    with _collector_paused():
        return _reasons(contrib, feature_names, context, k, presumption)


def _reasons(
    contrib: np.ndarray,
    feature_names: list[str],
    context: Mapping[str, np.ndarray],
    k: int,
    presumption: np.ndarray | None,
) -> list[list[dict[str, Any]]]:
    """:func:`reasons_for` of a batch of at least one line, for at least one reason."""
    rows = len(contrib)
    labels, values = _group_sums(contrib, feature_names)
    index = {g: j for j, g in enumerate(labels)}
    total = np.abs(values).sum(axis=1)
    out: list[list[dict[str, Any]]] = [[] for _ in range(rows)]
    columns = _ColumnView(context)
    allowed = np.ones(values.shape, dtype=bool)
    allowed[:, [index[g] for g in SAID_ELSEWHERE if g in index]] = False
    bases = [""] * rows if presumption is None else [str(b) for b in presumption.tolist()]
    for i in (i for i, b in enumerate(bases) if b):
        row = values[i].tolist()
        folded = _presumed(bases[i], columns.row(i), row, float(total[i]), index, out[i])
        allowed[i, [index[g] for g in folded if g in index]] = False
    line, direction, group, said = _chosen(values, allowed, k, _Wording(labels, context, columns))
    c = values[line, group]
    tot = total[line]
    share = np.divide(c, tot, out=np.zeros_like(c), where=tot > 0)
    codes = [labels[g] for g in group.tolist()]
    for i, d, code, (text, ev), ci, si in zip(
        line.tolist(), direction.tolist(), codes, said, round4(c), round4(share), strict=True
    ):
        out[i].append(
            {
                "code": code,
                "direction": LOWERS if d else RAISES,
                "text": text,
                "evidence": dict(ev),  # a copy per line: the sentence is shared
                "contribution": ci,
                "share": si,
            }
        )
    for i in _later_candidates(columns):
        if "uflpa_entity" not in bases[i] and "wro" not in bases[i]:
            note = listed_later(columns.row(i))
            if note is not None:
                out[i].append(_item("listed_later", NOTE, note, 0.0, 0.0))
    return out


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
    near = ~(np.abs(y) < _ROUND_EXACT_BELOW) | (np.abs(np.abs(y - np.trunc(y)) - 0.5) < 1e-6)
    if near.any():
        values = x.tolist()
        for j in np.flatnonzero(near).tolist():
            fast[j] = round(values[j], 4)
    return fast  # type: ignore[no-any-return]


@contextmanager
def _collector_paused() -> Iterator[None]:
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


def _later_candidates(columns: _ColumnView) -> list[int]:
    """Lines with a party listed after the entry date (what ``listed_later`` reads)."""
    hits: set[int] = set()
    for c in LATER_READS:
        values = columns.column(c)
        if values is not None:
            hits.update(i for i, v in enumerate(values) if _s(v))
    return sorted(hits)


def _item(code: str, direction: str, said: Said, c: float, tot: float) -> dict[str, Any]:
    return {
        "code": code,
        "direction": direction,
        "text": said[0],
        "evidence": said[1],
        "contribution": round(c, 4),
        "share": round(c / tot, 4) if tot > 0 else 0.0,
    }


def _presumed(
    bases: str, line: Row, row: list[float], tot: float, index: dict[str, int], items: list
) -> set[str]:
    """Append a presumed line's legal-basis reasons; return the groups they fold in."""
    folded: set[str] = set()
    for basis in bases.split(";"):
        said = basis_reason(basis, line)
        if said is None:
            continue
        groups = [g for g in GROUPS_OF_BASIS[basis] if g not in folded]
        c = sum(row[index[g]] for g in groups if g in index)
        folded.update(GROUPS_OF_BASIS[basis])
        items.append(_item("presumption", PRESUMES, said, c, tot))
    return folded
