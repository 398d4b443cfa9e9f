"""Fit step 1: time windows, labels and the feature matrix of the training lines."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.contract.batch import Column, Lines
from models.features.cache import SignalCache
from models.features.matrix import FeatureState, build_features, fit_feature_state, model_frame
from models.features.signals import derive_signals, signal_frame
from models.features.tips import TipIndex
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
        lines: The same lines as the core's batch.
        signal_columns: Derived signals of every line, as the core gives them.
        signals: The same signals as a frame (for the baselines and reports).
        state: Feature state fitted on the train window.
        X: Features of every line under ``state``.
        tips: The tips training was given (the tip features count them), or None.
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
    lines: Lines = field(repr=False)
    signal_columns: dict[str, Column] = field(repr=False)
    signals: pd.DataFrame = field(repr=False)
    state: FeatureState = field(repr=False)
    X: pd.DataFrame = field(repr=False)
    tips: TipIndex | None = field(default=None, repr=False)

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


def features(
    lines: Lines,
    fit_rows: np.ndarray | None,
    cache: SignalCache,
    signals: dict[str, Column],
    tips: TipIndex | None = None,
) -> tuple[FeatureState, pd.DataFrame]:
    """Feature state fitted on ``fit_rows`` (every line when None), and every line's features.

    The one place training calls the core's ``fit_feature_state`` and ``build_features``;
    the features come back as the frame LightGBM's training API takes. With tips, the model
    gets the tip features, each line's counted with the tips' statuses as of its entry date
    (leak-free: :mod:`models.features.tips`).
    """
    fit_lines, fit_signals = lines, signals
    if fit_rows is not None:
        fit_lines = lines.take(fit_rows)
        fit_signals = {c: v[fit_rows] for c, v in signals.items()}
    # The signals are given, so fitting needs no memo; the tip features below do (their
    # parties are matched through it).
    state = fit_feature_state(fit_lines, signals=fit_signals, tips=bool(tips))
    X = build_features(
        lines, state, cache, signals=signals, tips=tips, status_as_of=lines["entry_date"]
    )
    return state, model_frame(X, state)


def prepare(
    frame: pd.DataFrame,
    passthrough: dict[str, str],
    split: SplitConfig,
    tips: TipIndex | None = None,
) -> Prepared:
    """Windows, labels, signals and features of lines already in time order.

    Party histories and value statistics are fitted on the train window only, so the
    validation and test windows see nothing of their own months. ``tips``: the tips that
    give the tip features (None or empty: the model has none).
    """
    w = time_windows(frame["entry_date"], split.test_months, split.valid_months)
    cache = SignalCache()
    lines = Lines.from_frame(frame, passthrough)
    signals = derive_signals(lines, cache)
    train = np.flatnonzero(w.train)
    state, X = features(lines, train, cache, signals, tips)
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
        lines=lines,
        signal_columns=signals,
        signals=signal_frame(signals),
        state=state,
        X=X,
        tips=tips,
    )
