"""Fit step 1: time windows, labels and the feature matrix of the training lines."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.features.matrix import FeatureState, build_features, fit_feature_state
from models.features.signals import SignalCache, derive_signals
from pipelines.config import SplitConfig
from pipelines.split import Windows, time_windows


@dataclass(frozen=True)
class Prepared:
    """The sorted training lines with what every later step reads.

    Attributes:
        frame: Labelled lines in time order.
        windows: Train, validation and test windows.
        train: Row numbers of the train window (likewise ``valid`` and ``test``).
        inspected: Whether each line was inspected.
        violation: 1/0 outcome per line (NaN where not inspected).
        random: Whether each line was a random compliance inspection.
        signals: Derived signals of every line.
        state: Feature state fitted on the train window.
        X: Features of every line under ``state``.
    """

    frame: pd.DataFrame = field(repr=False)
    windows: Windows = field(repr=False)
    train: np.ndarray = field(repr=False)
    valid: np.ndarray = field(repr=False)
    test: np.ndarray = field(repr=False)
    inspected: np.ndarray = field(repr=False)
    violation: np.ndarray = field(repr=False)
    random: np.ndarray = field(repr=False)
    cache: SignalCache = field(repr=False)
    signals: pd.DataFrame = field(repr=False)
    state: FeatureState = field(repr=False)
    X: pd.DataFrame = field(repr=False)

    @property
    def all_inspected(self) -> bool:
        """Every line inspected: labels are not selection-biased."""
        return bool(self.inspected.all())

    def counts(self) -> dict[str, int]:
        """Lines, inspected lines, random inspections and violations (for the model card)."""
        return {
            "lines": len(self.frame),
            "inspected": int(self.inspected.sum()),
            "random": int(self.random.sum()),
            "violations": int((self.violation == 1).sum()),
        }


def derive_all_signals(frame: pd.DataFrame, cache: SignalCache) -> pd.DataFrame:
    """Signals of every line (the one call into the core's signal derivation)."""
    return derive_signals(frame, cache)


def features(
    frame: pd.DataFrame,
    fit_rows: np.ndarray | None,
    passthrough: dict[str, str],
    cache: SignalCache,
    signals: pd.DataFrame,
) -> tuple[FeatureState, pd.DataFrame]:
    """Feature state fitted on ``fit_rows`` (every line when None), and every line's features.

    The one place training calls the core's ``fit_feature_state`` and ``build_features``.
    """
    if fit_rows is None:
        state = fit_feature_state(frame, passthrough, cache, signals=signals)
    else:
        state = fit_feature_state(
            frame.iloc[fit_rows], passthrough, cache, signals=signals.iloc[fit_rows]
        )
    return state, build_features(frame, state, signals=signals)


def prepare(frame: pd.DataFrame, passthrough: dict[str, str], split: SplitConfig) -> Prepared:
    """Windows, labels, signals and features of lines already in time order.

    Party histories and value statistics are fitted on the train window only, so the
    validation and test windows see nothing of their own months.
    """
    w = time_windows(frame["entry_date"], split.test_months, split.valid_months)
    cache = SignalCache()
    signals = derive_all_signals(frame, cache)
    train = np.flatnonzero(w.train)
    state, X = features(frame, train, passthrough, cache, signals)
    inspected = frame["inspected"].fillna(False).to_numpy(dtype=bool)
    return Prepared(
        frame=frame,
        windows=w,
        train=train,
        valid=np.flatnonzero(w.valid),
        test=np.flatnonzero(w.test),
        inspected=inspected,
        violation=frame["violation"].to_numpy(dtype=float),
        random=inspected & (frame["inspection_reason"].astype(object) == "random").to_numpy(),
        cache=cache,
        signals=signals,
        state=state,
        X=X,
    )
