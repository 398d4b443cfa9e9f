"""Lists in time: which listing of a matched firm was in force on a line's entry date.

A firm can be listed more than once (Hoshine is on the UFLPA Entity List since 2022-06-21
and under a WRO since 2021-06-24), and each listing has the dates it was in force: from its
``effective_date`` until its ``end_date`` (a removal, a revocation, or a modification that
ends it; empty while in force). A line is judged against the listings in force on its entry
date. A line entered before the firm's first listing carries "listed later" as a note, never
a presumption, and training features never learn a listing before it happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

_FOREVER = np.datetime64("9999-12-31", "D")
# A listing without an effective date (an export that lacks it) counts as always in force:
# missing a presumption costs more than an early one, and such rows are rare.
_ALWAYS = np.datetime64("0001-01-01", "D")
_LIST_RANK = {"UFLPA": 0, "FINDING": 1, "WRO": 2}


def _day(value: str, default: np.datetime64) -> np.datetime64:
    return np.datetime64(value, "D") if value else default


@dataclass(frozen=True)
class InForce:
    """Per line: the listing in force on its date, and when a later listing began.

    ``row`` is the row of the entity table in force (-1: none); ``lists`` every list of the
    firm in force then (``"UFLPA;WRO"``, ``""``: none); ``later`` the first effective date
    after the line's date of a listing of the same firm (``NaT``: none, or one in force).
    """

    row: np.ndarray
    lists: np.ndarray
    later: np.ndarray


class Listings:
    """The listings of the entity table with their periods, grouped by firm."""

    def __init__(self, t: pd.DataFrame, normalize: Callable[[str], str]) -> None:
        """Index the periods of the entity table ``t`` and its firms.

        Args:
            t: The entity table (``load_entities``' columns; without ``effective_date`` or
                ``end_date``, a listing is in force at every date).
            normalize: The matcher's name normalisation: listings sharing a normalised
                name or alias are one firm.
        """
        self.ids = [str(v) for v in t["entity_id"]]
        self.names = [str(v) for v in t["name"]]
        self.lists = [str(v) for v in t["list"]]
        self.citations = [str(v) for v in t["citation"]]
        self.row_of = {eid: i for i, eid in enumerate(self.ids)}
        blank = pd.Series([""] * len(t), index=t.index)
        starts, ends = (t[c] if c in t.columns else blank for c in ("effective_date", "end_date"))
        self.start = np.array([_day(str(v), _ALWAYS) for v in starts], dtype="datetime64[D]")
        self.end = np.array([_day(str(v), _FOREVER) for v in ends], dtype="datetime64[D]")
        # A WRO or Finding covers named goods (HS prefixes, "|"-separated; empty: all goods);
        # a UFLPA listing covers every good of the entity.
        scopes = t["hs_scope"] if "hs_scope" in t.columns else blank
        self.scope = [
            tuple(p for p in str(v).replace(".", "").split("|") if p) if lst != "UFLPA" else ()
            for v, lst in zip(scopes, self.lists, strict=True)
        ]
        by_spelling: dict[str, set[int]] = {}
        for i, row in enumerate(t.itertuples(index=False)):
            for spelling in [str(row.name), *str(row.aliases).split("|")]:
                key = normalize(spelling)
                if key:
                    by_spelling.setdefault(key, set()).add(i)
        firm: dict[int, set[int]] = {i: {i} for i in range(len(t))}
        for rows in by_spelling.values():
            for i in rows:
                firm[i] |= rows
        # An affiliate row (``parent_entity_id``) stands for a subsidiary or subordinate
        # entity that its parent's listing covers ("... and subsidiaries"): a name matched
        # to it is judged by the parent's listings and dates, never by a period of its own.
        parents = t["parent_entity_id"] if "parent_entity_id" in t.columns else blank
        sources = t["parent_source"] if "parent_source" in t.columns else blank
        self.affiliate: dict[int, str] = {}
        for i, (parent, source) in enumerate(zip(parents, sources, strict=True)):
            p = self.row_of.get(str(parent)) if str(parent) else None
            if p is not None and p != i:
                firm[i] = set(firm[p]) - {i}
                self.affiliate[i] = f"affiliate of {self.names[p]} ({source or 'source not given'})"
        # A firm's listings in the order their evidence is shown: the UFLPA Entity List
        # (a presumption for all goods) before a Finding, before a WRO; earliest first.
        rank = [_LIST_RANK.get(v, len(_LIST_RANK)) for v in self.lists]
        self.firm = {
            i: sorted(rows, key=lambda r: (rank[r], self.start[r], r)) for i, rows in firm.items()
        }

    def affiliation(self, entity_ids: np.ndarray) -> np.ndarray:
        """Per line, ``"affiliate of <parent> (<source>)"`` when its match is an affiliate."""
        out = np.full(len(entity_ids), "", dtype=object)
        if self.affiliate:
            for k, eid in enumerate(entity_ids):
                row = self.row_of.get(str(eid)) if not pd.isna(eid) else None
                if row is not None and row in self.affiliate:
                    out[k] = self.affiliate[row]
        return out

    def listing(self, row: int, alias: str) -> tuple[str, str, str, str, str, str]:
        """Evidence of listing ``row`` matched under ``alias``.

        Returns:
            Its id, name, the alias matched, its list, citation and effective date.
        """
        since = "" if self.start[row] == _ALWAYS else str(self.start[row])
        return self.ids[row], self.names[row], alias, self.lists[row], self.citations[row], since

    def in_force(
        self,
        entity_ids: np.ndarray,
        dates: np.ndarray | pd.api.extensions.ExtensionArray,
        hts: np.ndarray | pd.api.extensions.ExtensionArray | None = None,
    ) -> InForce:
        """Which listing of each line's matched firm was in force on the line's date.

        Args:
            entity_ids: Matched entity id per line (``None``/``pd.NA`` when no match).
            dates: Entry date per line (``datetime64``).
            hts: HTS code per line: a WRO or Finding counts in ``lists`` only for goods in
                its scope (None: every listing counts).

        Returns:
            The listing in force per line and, where none was, the first later listing.
        """
        n = len(entity_ids)
        row = np.full(n, -1, dtype=np.int64)
        lists = np.full(n, "", dtype=object)
        later = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        day = np.asarray(dates).astype("datetime64[D]")
        ids = np.asarray(entity_ids, dtype=object)
        matched = np.flatnonzero(pd.notna(ids))
        # Few lines match a listed firm: group those in a dict (a pandas groupby's fixed cost
        # per call dominated a request of a few lines).
        groups: dict[str, list[int]] = {}
        for k, eid in zip(matched.tolist(), ids[matched].tolist(), strict=True):
            groups.setdefault(str(eid), []).append(k)
        for eid, positions in groups.items():
            lines = np.asarray(positions, dtype=np.intp)
            d = day[lines]
            undecided = np.ones(len(lines), dtype=bool)
            for r in self.firm[self.row_of[eid]]:
                in_force = (self.start[r] <= d) & (d < self.end[r])
                live = undecided & in_force
                row[lines[live]] = r
                undecided &= ~live
                applies = in_force & self._covers(r, hts, lines)
                named = lines[applies & (lists[lines] != "")]
                lists[named] = lists[named] + ";"
                lists[lines[applies]] = lists[lines[applies]] + self.lists[r]
                soonest = later[lines]
                future = (self.start[r] > d) & (np.isnat(soonest) | (self.start[r] < soonest))
                later[lines[future]] = self.start[r]
            later[lines[~undecided]] = np.datetime64("NaT")
        return InForce(row, lists, later)

    def _covers(self, r: int, hts: Any, lines: np.ndarray) -> np.ndarray:
        """Whether listing ``r``'s goods scope covers each of ``lines``' HTS codes."""
        if not self.scope[r] or hts is None:
            return np.ones(len(lines), dtype=bool)
        codes = [str(h).replace(".", "") if isinstance(h, str) else "" for h in hts[lines]]
        return np.array([c.startswith(self.scope[r]) for c in codes], dtype=bool)
