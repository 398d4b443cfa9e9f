"""A batch's pre-model half: signals, model features and tip matches (:func:`prepare`).

``flrisk score`` prepares the next chunk in its read-ahead thread while the current one is
predicted and explained (:meth:`models.scoring.scorer.Scorer.score` takes the result), so
this half lives apart from the scorer: it touches only the signal memo, never a buffer the
scorer reuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from models.contract.batch import Column, Lines
from models.features.cache import SignalCache
from models.features.distinct import one_batch
from models.features.matrix import FeatureState, build_features
from models.features.signals import derive_signals
from models.features.tips import PartyHits, TipIndex, party_hits


@dataclass(frozen=True)
class Prepared:
    """A batch's signals and model features (:func:`prepare`), ready to score.

    Attributes:
        lines: The batch they were derived from.
        cache: The signal memo (of one reference snapshot) they were derived with.
        signals: :func:`~models.features.signals.derive_signals` of the lines.
        evidence: The features' own evidence columns (e.g. the typical unit value).
        features: The model's feature columns (:func:`build_features`).
        tips: The tips the features counted (None: none given).
        tip_hits: The one matching of ``tips`` to the lines
            (:func:`~models.features.tips.party_hits`) when the features needed it, so the
            ``tip`` reasons reuse it; None when it was not made.
    """

    lines: Lines
    cache: SignalCache
    signals: Mapping[str, Column]
    evidence: dict[str, np.ndarray]
    features: dict[str, np.ndarray]
    tips: TipIndex | None = None
    tip_hits: PartyHits | None = None

    def hits_for(self, tips: TipIndex) -> PartyHits | None:
        """The matching of ``tips`` made here, if it was made for these very tips."""
        return self.tip_hits if tips is self.tips else None


def prepare(
    lines: Lines,
    state: FeatureState,
    cache: SignalCache,
    tips: TipIndex | None = None,
    tip_status_as_of: Column | None = None,
) -> Prepared:
    """The signals and model features of ``lines``, with the memo ``cache``.

    Args:
        lines: The batch.
        state: The model's fitted feature state.
        cache: The signal memo of the reference snapshot to match against.
        tips: The tips (for a model with tip features, and the ``tip`` reasons).
        tip_status_as_of: Per line, the day the tips' statuses are taken on the eve of.
    """
    # One batch: signals and features share each column's factorisation, and take the
    # one validation made of a text column.
    with one_batch(lines):
        signals = derive_signals(lines, cache)
        evidence: dict[str, np.ndarray] = {}
        # Matched once here when the features count tips; the reasons then reuse the matching.
        hits = party_hits(lines, tips, cache) if state.tips and tips and len(lines) else None
        X = build_features(
            lines, state, cache, signals=signals, evidence=evidence, tips=tips,
            status_as_of=tip_status_as_of, tip_hits=hits,
        )  # fmt: skip
    return Prepared(lines, cache, signals, evidence, X, tips, hits)
