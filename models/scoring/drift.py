"""Drift: the reference fitted in training, the same measures of new lines, and their PSI.

Training fits a :class:`~models.scoring.psi.DriftReference` on its most recent lines
(:func:`fit_reference`), stored in the bundle as ``drift.json``. The scorer bins the lines
it scores with it (``Scorer.score(observe=True)``); ``flrisk drift`` and the server add the
bins up and compare them with the reference (:func:`drift_report`).

The measures: every model feature (categorical features by their codes, so a value the
model does not know counts as unknown), the calibrated score, ``list_match`` (the line's
manufacturer or shipper matches a listed entity), ``unseen_category`` (the line has a
value, in some categorical feature, that the model never saw in training), and the
presumption rate: ``presumption`` (the line is presumed, on any basis, by the rules in force
on its entry date: :mod:`models.scoring.presumption`) and one share per basis
(``presumption_uflpa_entity``, ``presumption_xinjiang``, ``presumption_wro``). A rate is
compared like the other shares: the PSI of its two bins (presumed, not presumed) against the
threshold, so a rate of 2% that becomes 20% scores about 0.45 and one that becomes 3% about
0.004 (docs/monitoring.md).

Left out: how long each party has been known (``hist_*_months_known``). A line scored
``n`` months after training finds every known party ``n`` months older, so that measure moves
with the calendar whatever the world does. Also the tip counts (``tip_*``): they follow the
tips the scorer is given (training's file, the store's), not the traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from models.contract.batch import Column, Lines
from models.features.distinct import factorize
from models.features.matrix import FeatureState
from models.scoring.presumption import BASES
from models.scoring.psi import (
    DriftReference,
    Measure,
    fit_categorical,
    fit_numeric,
    fit_share,
    psi,
    shares,
)

SCORE, LIST_MATCH, UNSEEN = "score", "list_match", "unseen_category"
PRESUMPTION = "presumption"
# One share per legal basis of the presumption, named after it.
PRESUMPTION_BASES = {f"{PRESUMPTION}_{b}": b for b in BASES}
DEFAULT_THRESHOLD = 0.2
CALENDAR_SUFFIX = "_months_known"
TIP_PREFIX = "tip_"


def judged(feature: str) -> bool:
    """Whether a model feature is a drift measure (see the module doc for those left out)."""
    return not feature.endswith(CALENDAR_SUFFIX) and not feature.startswith(TIP_PREFIX)


def _present(raw: Column) -> np.ndarray:
    """Whether each value is given (not missing, not empty), judged once per distinct value."""
    codes, uniques = factorize(raw)
    given = np.array([str(u) != "" for u in uniques] + [False], dtype=bool)
    return given[codes]  # type: ignore[no-any-return]


def drift_columns(
    lines: Lines,
    signals: Mapping[str, Column],
    X: Mapping[str, np.ndarray],
    state: FeatureState,
    scores: np.ndarray,
    presumption: np.ndarray,
) -> dict[str, np.ndarray]:
    """Each measure's values for a batch of scored lines.

    Args:
        lines: The lines.
        signals: Their signals (``derive_signals``).
        X: Their features (``build_features``: categorical features as codes, -1 unknown).
        state: The feature state ``X`` was built with.
        scores: Their calibrated scores.
        presumption: Why each line is presumed, ``""`` when it is not
            (:func:`~models.scoring.presumption.presumptions` on each line's entry date).
    """
    out: dict[str, np.ndarray] = {c: np.asarray(v) for c, v in X.items()}
    out[SCORE] = np.asarray(scores, dtype=float)
    match = np.zeros(len(lines), dtype=bool)
    for col in ("ev_mfr_entity_id", "ev_shp_entity_id"):
        if col in signals:
            match |= np.asarray(pd.notna(signals[col]), dtype=bool)
    out[LIST_MATCH] = match
    unseen = np.zeros(len(lines), dtype=bool)
    for col in state.categorical_features:
        missing = np.asarray(X[col]) < 0
        # Only a line the model has no category for can show an unseen value: whether its raw
        # value is given is asked only then (most lines of a request have none).
        if missing.any():
            raw = lines[col] if col in lines else signals[col]
            unseen |= missing & _present(raw)
    out[UNSEEN] = unseen
    out.update(presumption_columns(presumption))
    return out


def presumption_columns(presumption: np.ndarray) -> dict[str, np.ndarray]:
    """Per line: presumed at all, and presumed on each basis (judged once per distinct value)."""
    codes, uniques = factorize(np.asarray(presumption, dtype=object))
    labels = [str(u).split(";") if str(u) else [] for u in uniques] + [[]]  # last: missing
    out = {PRESUMPTION: np.array([bool(b) for b in labels], dtype=bool)[codes]}
    for name, basis in PRESUMPTION_BASES.items():
        out[name] = np.array([basis in b for b in labels], dtype=bool)[codes]
    return out


def fit_reference(
    columns: Mapping[str, np.ndarray], state: FeatureState, window: tuple[str, str]
) -> DriftReference:
    """The reference bins of every measure, from :func:`drift_columns` of training lines."""
    measures: list[Measure] = []
    for name in filter(judged, state.feature_names):
        if name in state.categories:
            measures.append(fit_categorical(name, columns[name], state.categories[name]))
        else:
            measures.append(fit_numeric(name, columns[name]))
    measures.append(fit_numeric(SCORE, columns[SCORE]))
    measures.append(fit_share(LIST_MATCH, columns[LIST_MATCH]))
    measures.append(fit_share(UNSEEN, columns[UNSEEN]))
    for name in (PRESUMPTION, *PRESUMPTION_BASES):
        measures.append(fit_share(name, columns[name]))
    return DriftReference(tuple(measures), lines=len(columns[SCORE]), window=window)


@dataclass(frozen=True)
class MeasureDrift:
    """How far one measure moved from its reference.

    Attributes:
        name: The measure.
        psi: Its population stability index.
        moved: The bin whose share moved most.
        reference_share: That bin's share in the reference.
        share: That bin's share now.
    """

    name: str
    psi: float
    moved: str
    reference_share: float
    share: float

    def describe(self) -> str:
        """``country_of_origin: PSI 1.234 (VN 2.0% -> 41.0%)``."""
        return (
            f"{self.name}: PSI {self.psi:.3f} ({self.moved} "
            f"{self.reference_share:.1%} -> {self.share:.1%})"
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain values (JSON, templates)."""
        return {
            "measure": self.name,
            "psi": round(self.psi, 6),
            "moved": self.moved,
            "reference_share": round(self.reference_share, 6),
            "share": round(self.share, 6),
        }


@dataclass(frozen=True)
class DriftReport:
    """Every measure's drift over a set of lines, worst first.

    Attributes:
        measures: One entry per measure, highest PSI first.
        lines: How many lines were compared with the reference.
        reference_lines: How many lines the reference was fitted on.
        threshold: The PSI above which a measure counts as moved.
    """

    measures: tuple[MeasureDrift, ...]
    lines: int
    reference_lines: int
    threshold: float

    def moved(self) -> list[MeasureDrift]:
        """The measures whose PSI exceeds the threshold."""
        return [m for m in self.measures if m.psi > self.threshold]

    def rate(self, name: str) -> tuple[float, float] | None:
        """A share measure's rate (its ``yes`` bin) in the reference and now; None without it."""
        for m in self.measures:
            if m.name == name:
                if m.moved == "no":  # the two bins moved alike; either may be named
                    return 1.0 - m.reference_share, 1.0 - m.share
                return m.reference_share, m.share
        return None

    def psi(self, name: str) -> float:
        """The PSI of one measure.

        Raises:
            KeyError: No measure has that name.
        """
        for m in self.measures:
            if m.name == name:
                return m.psi
        raise KeyError(name)


def drift_report(
    reference: DriftReference, counts: list[np.ndarray], threshold: float = DEFAULT_THRESHOLD
) -> DriftReport:
    """PSI of each measure's counts against the reference (see :meth:`DriftReference.counts`)."""
    out = []
    lines = int(counts[0].sum()) if counts else 0
    for m, c in zip(reference.measures, counts, strict=True):
        now, ref = shares(c), np.asarray(m.shares)
        j = int(np.argmax(np.abs(now - ref)))
        out.append(MeasureDrift(m.name, psi(ref, now), m.labels()[j], float(ref[j]), float(now[j])))
    out.sort(key=lambda d: (-d.psi, d.name))
    return DriftReport(tuple(out), lines, reference.lines, threshold)
