"""How the shadow challenger compares with the champion on the lines both scored.

Figures per pair of versions (the champion and the challenger of the time), from the rows of
:class:`models.store.ShadowScores`:

- ``band_agreement``: share of lines both put in the same risk band;
- ``spearman``: rank correlation of the two scores (Pearson's r of their ranks, ties
  averaged);
- ``top_overlap``: of the ``k`` riskiest lines by the champion (``k`` = ``top_share`` of the
  lines, rounded up), the share that are among the challenger's ``k`` riskiest too;
- ``precision``: per model, of its ``k`` riskiest lines that have an outcome (an officer's or
  a system's feedback in force), the share found in violation; None without such lines.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_TOP_SHARE = 0.05


@dataclass(frozen=True)
class Precision:
    """One model's precision on its riskiest lines with an outcome.

    Attributes:
        judged: Of its ``k`` riskiest lines, those with an outcome.
        violations: Of those, the ones found in violation.
    """

    judged: int
    violations: int

    @property
    def value(self) -> float | None:
        """``violations / judged``, or None when nothing was judged."""
        return self.violations / self.judged if self.judged else None


@dataclass(frozen=True)
class ShadowFigures:
    """The comparison of one champion and challenger pair.

    Attributes:
        champion: The champion's version.
        challenger: The challenger's version.
        lines: Lines both scored.
        first, last: Time stamps of the first and last of them.
        band_agreement: Share of lines in the same band.
        spearman: Rank correlation of the scores (None under two distinct scores).
        k: Lines in each model's riskiest set.
        top_overlap: Share of the champion's ``k`` riskiest in the challenger's.
        with_outcome: Lines with an outcome in force.
        champion_precision, challenger_precision: Each model's precision (see module).
    """

    champion: str
    challenger: str
    lines: int
    first: str
    last: str
    band_agreement: float
    spearman: float | None
    k: int
    top_overlap: float
    with_outcome: int
    champion_precision: Precision
    challenger_precision: Precision

    def as_dict(self) -> dict[str, Any]:
        """Plain values (JSON, templates)."""
        return {
            "champion": self.champion, "challenger": self.challenger, "lines": self.lines,
            "first": self.first, "last": self.last, "band_agreement": self.band_agreement,
            "spearman": self.spearman, "k": self.k, "top_overlap": self.top_overlap,
            "with_outcome": self.with_outcome,
            "champion_precision": self.champion_precision.value,
            "champion_judged": self.champion_precision.judged,
            "challenger_precision": self.challenger_precision.value,
            "challenger_judged": self.challenger_precision.judged,
        }  # fmt: skip


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation (average ranks for ties); None when it is undefined."""
    if len(a) < 2:
        return None
    ra = pd.Series(a).rank().to_numpy()
    rb = pd.Series(b).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest scores (ties: the earlier line first)."""
    return np.argsort(-scores, kind="stable")[:k]


def _precision(top: np.ndarray, violation: np.ndarray) -> Precision:
    outcome = violation[top]
    known = ~np.isnan(outcome)
    return Precision(int(known.sum()), int((outcome[known] == 1).sum()))


def pair_figures(rows: list[Mapping[str, Any]], top_share: float) -> ShadowFigures:
    """The figures of one pair's rows (see :meth:`ShadowScores.with_outcomes`)."""
    champ = np.array([r["champion_score"] for r in rows], dtype=float)
    chall = np.array([r["challenger_score"] for r in rows], dtype=float)
    violation = np.array(
        [np.nan if r["violation"] is None else float(r["violation"]) for r in rows], dtype=float
    )
    same_band = [r["champion_band"] == r["challenger_band"] for r in rows]
    k = max(1, math.ceil(top_share * len(rows)))
    top_c, top_s = _top(champ, k), _top(chall, k)
    return ShadowFigures(
        champion=str(rows[0]["champion_version"]),
        challenger=str(rows[0]["challenger_version"]),
        lines=len(rows),
        first=str(rows[0]["ts"]),
        last=str(rows[-1]["ts"]),
        band_agreement=float(np.mean(same_band)),
        spearman=spearman(champ, chall),
        k=k,
        top_overlap=len(set(top_c.tolist()) & set(top_s.tolist())) / k,
        with_outcome=int((~np.isnan(violation)).sum()),
        champion_precision=_precision(top_c, violation),
        challenger_precision=_precision(top_s, violation),
    )


def shadow_figures(
    rows: Iterable[Mapping[str, Any]], top_share: float = DEFAULT_TOP_SHARE
) -> list[ShadowFigures]:
    """The figures of every champion and challenger pair, most recent pair last.

    Args:
        rows: Shadow rows with outcomes, oldest first.
        top_share: Share of lines in each model's riskiest set (``k``).
    """
    pairs: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in rows:
        pairs.setdefault((r["champion_version"], r["challenger_version"]), []).append(r)
    return [pair_figures(v, top_share) for v in pairs.values()]
