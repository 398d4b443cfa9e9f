"""Population stability index (PSI) over bins fitted in training: the drift measure.

A model stores, per measure (each model feature, the score, the share of lines matching a
listed entity, the share of lines with a category the model never saw), the bins of its
training distribution and the share of reference lines in each. Serving and ``flrisk drift``
put lines into the same bins and compare shares:

    PSI = sum over bins of (actual - expected) * ln(actual / expected)

with both shares floored at :data:`PSI_FLOOR` (an empty bin would make it infinite). Rule
of thumb (Siddiqi, *Credit Risk Scorecards*): under 0.1 stable, 0.1-0.25 moving, over 0.25
shifted; ``flrisk drift`` flags 0.2 by default.

Bins, chosen so that a window of a few thousand lines gives a PSI near zero when nothing
moved (the noise of PSI grows with the number of bins over the number of lines):

- numeric: right-closed bins between the reference's deciles (``(a, b]``; equal deciles
  merge, so a 0/1 flag gets two bins), plus one bin for missing values;
- categorical: the model's categories holding at least 1% of reference lines (at most 20),
  one bin for its other categories, one for values it does not know or that are missing;
- shares: two bins, yes and no.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from typing import Any

import numpy as np

from models.contract.batch import is_small

PSI_FLOOR = 1e-4
DECILES = np.linspace(0.1, 0.9, 9)
MIN_CATEGORY_SHARE = 0.01
MAX_CATEGORY_BINS = 20
REFERENCE_FORMAT = 1
NUMERIC, CATEGORICAL, SHARE = "numeric", "categorical", "share"
MISSING, OTHER, UNKNOWN = "(missing)", "(other known)", "(unknown or missing)"


def psi(expected: Sequence[float] | np.ndarray, actual: Sequence[float] | np.ndarray) -> float:
    """PSI of ``actual`` shares against ``expected`` shares (same bins; each sums to 1).

    Raises:
        ValueError: The two have different numbers of bins.
    """
    e = np.maximum(np.asarray(expected, dtype=float), PSI_FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), PSI_FLOOR)
    if e.shape != a.shape:
        raise ValueError(f"{len(e)} expected bins but {len(a)} actual")
    return float(np.sum((a - e) * np.log(a / e)))


def shares(counts: np.ndarray) -> np.ndarray:
    """Counts as shares of their total (all zero when there are none)."""
    total = counts.sum()
    return counts / total if total else np.zeros(len(counts))


@dataclass(frozen=True)
class Measure:
    """One measure's bins and the reference share in each.

    Attributes:
        name: Feature name, ``score``, ``list_match`` or ``unseen_category``.
        kind: ``numeric``, ``categorical`` or ``share``.
        shares: Reference share of each bin, the bins in :meth:`labels` order.
        edges: Numeric: the bins' right-closed cut points.
        code_bins: Categorical: the bin of each of the model's category codes.
        labels_: Categorical: the kept categories' names.
    """

    name: str
    kind: str
    shares: tuple[float, ...]
    edges: tuple[float, ...] = ()
    code_bins: tuple[int, ...] = ()
    labels_: tuple[str, ...] = ()

    @property
    def n_bins(self) -> int:
        """How many bins the measure has."""
        return len(self.shares)

    def labels(self) -> list[str]:
        """A readable name per bin (``(0.5, 1.2]``, ``CN``, ``(missing)``, ``yes``)."""
        if self.kind == SHARE:
            return ["yes", "no"]
        if self.kind == CATEGORICAL:
            return [*self.labels_, OTHER, UNKNOWN]
        bounds = [-math.inf, *self.edges, math.inf]
        return [f"({_num(lo)}, {_num(hi)}]" for lo, hi in pairwise(bounds)] + [MISSING]

    @cached_property
    def _lookup(self) -> np.ndarray:
        """Numeric: the edges with ``inf`` appended; categorical: the bin of each code."""
        if self.kind == CATEGORICAL:
            # Code -1 (unknown or missing) reads the last element: the unknown bin.
            return np.array([*self.code_bins, len(self.labels_) + 1], dtype=np.int16)
        return np.array([*self.edges, math.inf], dtype=np.float64)

    def bins(self, values: np.ndarray) -> np.ndarray:
        """The bin of each value.

        Numeric measures take floats (NaN: missing), categorical ones the codes of the
        feature state the reference was fitted with (-1: unknown or missing), shares
        booleans.
        """
        if self.kind == SHARE:
            return np.where(np.asarray(values, dtype=bool), 0, 1)
        if self.kind == CATEGORICAL:
            return self._lookup[values]  # type: ignore[no-any-return]
        # One pass: a value above the last edge goes to the bin before ``inf``, and NaN,
        # which sorts after ``inf``, to the missing bin after it.
        return np.searchsorted(self._lookup, values, side="left")

    def bins_of(self, values: list[Any]) -> list[int]:
        """:meth:`bins` of a few Python values (floats, codes or booleans), as a list."""
        if self.kind == SHARE:
            return [0 if v else 1 for v in values]
        if self.kind == CATEGORICAL:
            lookup = self._bin_list
            return [lookup[v] for v in values]  # code -1 reads the last: the unknown bin
        cuts = self._bin_list
        # NaN goes after ``inf``, as np.searchsorted sorts it: the missing bin.
        return [len(cuts) if v != v else bisect_left(cuts, v) for v in values]

    @cached_property
    def _bin_list(self) -> list[Any]:
        """:attr:`_lookup` as Python values, for :meth:`bins_of`."""
        return self._lookup.tolist()  # type: ignore[no-any-return]

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the bundle's ``drift.json``."""
        out: dict[str, Any] = {"kind": self.kind, "shares": list(self.shares)}
        if self.kind == NUMERIC:
            out["edges"] = list(self.edges)
        if self.kind == CATEGORICAL:
            out["code_bins"] = list(self.code_bins)
            out["labels"] = list(self.labels_)
        return out

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> Measure:
        """Inverse of :meth:`to_json`."""
        return cls(
            name=name,
            kind=str(data["kind"]),
            shares=tuple(float(s) for s in data["shares"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            code_bins=tuple(int(c) for c in data.get("code_bins", ())),
            labels_=tuple(str(c) for c in data.get("labels", ())),
        )


def _num(x: float) -> str:
    return "-inf" if x == -math.inf else "inf" if x == math.inf else f"{x:.4g}"


def fit_numeric(name: str, values: np.ndarray) -> Measure:
    """Decile bins of a numeric column, with a missing bin."""
    x = np.asarray(values, dtype=float)
    present = x[~np.isnan(x)]
    edges = (
        tuple(float(e) for e in np.unique(np.quantile(present, DECILES))) if len(present) else ()
    )
    counts = np.bincount(Measure(name, NUMERIC, (), edges=edges).bins(x), minlength=len(edges) + 2)
    return Measure(name, NUMERIC, tuple(shares(counts).tolist()), edges=edges)


def fit_categorical(name: str, codes: np.ndarray, categories: Sequence[str]) -> Measure:
    """Bins of a categorical feature's codes: its common categories, the rest, unknown."""
    c = np.asarray(codes, dtype=np.int64)
    n = max(len(c), 1)
    counts = np.bincount(c[c >= 0], minlength=len(categories))[: len(categories)]
    common = [i for i in np.argsort(-counts, kind="stable") if counts[i] / n >= MIN_CATEGORY_SHARE]
    kept = sorted(common[:MAX_CATEGORY_BINS])
    position = {code: j for j, code in enumerate(kept)}
    code_bins = tuple(position.get(i, len(kept)) for i in range(len(categories)))
    labels = tuple(categories[i] for i in kept)
    binned = Measure(name, CATEGORICAL, (), code_bins=code_bins, labels_=labels).bins(c)
    got = np.bincount(binned, minlength=len(kept) + 2)
    return Measure(
        name, CATEGORICAL, tuple(shares(got).tolist()), code_bins=code_bins, labels_=labels
    )


def fit_share(name: str, flags: np.ndarray) -> Measure:
    """Two bins, yes and no, of a per-line flag."""
    f = np.asarray(flags, dtype=bool)
    yes = float(f.mean()) if len(f) else 0.0
    return Measure(name, SHARE, (yes, 1.0 - yes))


@dataclass(frozen=True)
class DriftReference:
    """Every measure's reference bins, fitted on the training lines named by ``window``.

    Attributes:
        measures: The measures, features first, then ``score``, ``list_match``,
            ``unseen_category``.
        lines: How many lines the reference was fitted on.
        window: First and last entry month of those lines.
    """

    measures: tuple[Measure, ...]
    lines: int
    window: tuple[str, str] = ("", "")

    def names(self) -> list[str]:
        """The measures' names, in order."""
        return [m.name for m in self.measures]

    def bins(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Per line, the bin of each measure: an ``(n, measures)`` int16 matrix.

        Args:
            columns: Each measure's values by name (see :meth:`Measure.bins`).
        """
        first = columns[self.measures[0].name] if self.measures else np.zeros(0)
        if is_small(len(first)) and self.measures:
            # A request of a few lines: a NumPy call per measure (73 of them) costs more than
            # the same bins found in Python (Measure.bins_of, the same bins value by value).
            per = [m.bins_of(np.asarray(columns[m.name]).tolist()) for m in self.measures]
            return np.array(per, dtype=np.int16).T.reshape(len(first), len(self.measures))
        out = np.empty((len(first), len(self.measures)), dtype=np.int16)
        for j, m in enumerate(self.measures):
            out[:, j] = m.bins(columns[m.name])
        return out

    def counts(self, bins: np.ndarray) -> list[np.ndarray]:
        """Lines per bin of each measure, from a matrix given by :meth:`bins`."""
        return [
            np.bincount(bins[:, j], minlength=m.n_bins)[: m.n_bins]
            for j, m in enumerate(self.measures)
        ]

    def to_json(self) -> dict[str, Any]:
        """Plain dict for the bundle's ``drift.json``."""
        return {
            "format": REFERENCE_FORMAT,
            "lines": self.lines,
            "window": list(self.window),
            "psi_floor": PSI_FLOOR,
            "measures": {m.name: m.to_json() for m in self.measures},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DriftReference:
        """Inverse of :meth:`to_json`; refuses another format."""
        if data.get("format") != REFERENCE_FORMAT:
            raise ValueError(f"drift reference format {data.get('format')} != {REFERENCE_FORMAT}")
        window = tuple(str(w) for w in data.get("window", ("", "")))
        return cls(
            measures=tuple(Measure.from_json(k, v) for k, v in data["measures"].items()),
            lines=int(data["lines"]),
            window=(window[0], window[1]) if len(window) == 2 else ("", ""),
        )
