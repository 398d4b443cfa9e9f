"""Scoring: features -> LightGBM margin -> calibrated probability -> band -> reasons.

Used unchanged by ``flrisk score``, the API and the Spark engine, so a line gets the same
score whichever path it takes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.features.matrix import feature_columns, features_frame
from models.features.signals import SIGNAL_INPUTS, SignalCache, frame_columns, signal_columns
from models.scoring.bundle import Calibration, ModelBundle
from models.scoring.explain import reasons_for

BANDS = ("high", "elevated", "low")
NO_REASONS = "[]"
# Columns the signals and features read (one read each per call).
FRAME_INPUTS: tuple[str, ...] = tuple(
    dict.fromkeys((*SIGNAL_INPUTS, "country_of_export", "transport_mode", "entry_date"))
)
# Batches up to this size predict on one thread (see ``Scorer._threads``).
SMALL_BATCH = 64
# Batches from this size on build their model matrix in a reused buffer (``Scorer._buffer``).
BIG_BATCH = 100_000


def model_matrix(X: pd.DataFrame, pandas_categorical: list[list[str]] | None) -> np.ndarray | None:
    """The float matrix LightGBM would build from ``X``, built directly (no frame copy).

    Categoricals become their codes (missing: NaN), exactly as LightGBM converts a frame,
    provided their categories are the ones the booster was trained with; otherwise None and
    the caller lets LightGBM convert (and remap) the frame itself.
    """
    cats = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    if [list(X[c].cat.categories) for c in cats] != list(pandas_categorical or []):
        return None
    data = np.empty((len(X), X.shape[1]), dtype=np.float64, order="F")
    for j, c in enumerate(X.columns):
        col = X[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes = col.cat.codes.to_numpy()
            data[:, j] = np.where(codes < 0, np.nan, codes)
        else:
            data[:, j] = col.to_numpy(dtype=np.float64)
    return data


def calibrate(margin: np.ndarray, cal: Calibration) -> np.ndarray:
    """Platt-scaled probability from the raw log-odds margin."""
    z = np.clip(cal.a * margin + cal.b, -50.0, 50.0)
    return 1.0 / (1.0 + np.exp(-z))


def risk_band(scores: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """``high`` / ``elevated`` / ``low`` by the thresholds stored with the model."""
    return np.where(
        scores >= thresholds["high"],
        "high",
        np.where(scores >= thresholds["elevated"], "elevated", "low"),
    )


class _Evidence(Mapping[str, np.ndarray]):
    """Columns of the explained lines, each taken from its source on first read."""

    def __init__(self, sources: dict[str, tuple[Any, np.ndarray | None]], idx: np.ndarray):
        self._sources, self._idx, self._done = sources, idx, dict[str, np.ndarray]()

    def __getitem__(self, key: str) -> np.ndarray:
        got = self._done.get(key)
        if got is None:
            col, labels = self._sources[key]
            if labels is not None:
                got = labels[col[self._idx]]
            elif isinstance(col, pd.Series):
                got = col.iloc[self._idx].to_numpy()
            else:
                # Take first, then convert (an Arrow column converts only the taken lines).
                got = np.asarray(col[self._idx])
            self._done[key] = got
        return got

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


@dataclass
class Scorer:
    """A loaded model bundle ready to score contract-shaped lines.

    Attributes:
        bundle: The verified model bundle.
        version: Registered model version (``name/version``) reported with each score.
        cache: Memo of distinct-value checks, reused across calls.
    """

    bundle: ModelBundle
    version: str = "unregistered"
    cache: SignalCache = field(default_factory=SignalCache)
    _codes_match: bool | None = field(default=None, init=False, repr=False)
    _labels: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)

    def margins(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of the booster."""
        if len(X) == 0:
            return np.zeros(0)
        data = model_matrix(X, self.bundle.booster.pandas_categorical)
        return np.asarray(
            self.bundle.booster.predict(
                X if data is None else data, raw_score=True, num_threads=self._threads(len(X))
            )
        )

    def _threads(self, n: int) -> int:
        # Starting a thread team costs more than a small batch's whole prediction.
        return 1 if n <= SMALL_BATCH else self.bundle.num_threads

    def _buffer(self, n: int, k: int) -> np.ndarray:
        """An uninitialised (n, k) Fortran-ordered float matrix.

        Batches of ``BIG_BATCH`` lines or more reuse one buffer per thread: a fresh matrix of
        that size stalls for a fraction of a second now and then while the kernel gathers
        huge pages for it (measured: 25 ms usually, up to 340 ms), more than the
        prediction itself. The matrix never leaves :meth:`score_columns`.
        """
        if n < BIG_BATCH:
            return np.empty((n, k), dtype=np.float64, order="F")
        flat: np.ndarray | None = getattr(self._local, "flat", None)
        if flat is None or flat.size < n * k:
            flat = np.empty(n * k, dtype=np.float64)
            self._local.flat = flat
        return flat[: n * k].reshape((n, k), order="F")

    def _matrix(self, X: dict[str, np.ndarray], n: int) -> np.ndarray | pd.DataFrame:
        """LightGBM input from feature columns.

        The float matrix LightGBM would build (categories as codes, missing as NaN), or, if
        the booster's categories differ from the state's, the frame for LightGBM to convert.
        """
        state = self.bundle.state
        if self._codes_match is None:
            cats = [state.categories[c] for c in X if c in state.categories]
            self._codes_match = cats == list(self.bundle.booster.pandas_categorical or [])
        if not self._codes_match:
            return features_frame(X, state, pd.RangeIndex(n))
        data = self._buffer(n, len(X))
        for j, (c, col) in enumerate(X.items()):
            if c in state.categories:
                data[:, j] = np.where(col < 0, np.nan, col)  # LightGBM: missing category
            else:
                data[:, j] = col
        return data

    def score(
        self,
        frame: pd.DataFrame,
        reasons: int = 3,
        explain_share: float = 1.0,
        as_json: bool = False,
        arrays: Mapping[str, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Score lines and explain the riskiest.

        Args:
            frame: Contract-shaped lines (as returned by the reader).
            reasons: Reasons per explained line (0 for none).
            explain_share: Share of lines, riskiest first, that get reasons (1.0: all).
            as_json: Give ``reasons`` as JSON text (what files store), not lists.
            arrays: ``ReadResult.arrays`` of ``frame``, if the reader gave them.

        Returns:
            ``entry_id, line_no, risk_score, risk_band, reasons, model_version`` per line, in
            the input order (see :meth:`score_columns`).
        """
        cols = self.score_columns(frame, reasons, explain_share, as_json, arrays)
        entry_id = frame["entry_id"]
        # One frame built at once (adding columns one by one costs ~0.1 ms each), from arrays
        # of the dtypes pandas would infer (inference costs as much again for one line).
        return pd.DataFrame(
            {
                "entry_id": entry_id.array if entry_id.dtype == "str" else entry_id.to_numpy(),
                "line_no": frame["line_no"].to_numpy(),
                "risk_score": cols["risk_score"],
                "risk_band": pd.array(cols["risk_band"], dtype="str"),
                "reasons": pd.Series(cols["reasons"], dtype=object),  # never inferred as text
                "model_version": pd.array(np.full(len(frame), self.version, object), dtype="str"),
            },
            copy=False,
        )

    def score_columns(
        self,
        frame: pd.DataFrame | None,
        reasons: int = 3,
        explain_share: float = 1.0,
        as_json: bool = False,
        arrays: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """:meth:`score` as arrays, without the output frame (the API answers from these).

        Args:
            frame: Contract-shaped lines (as returned by the reader); may be None when
                ``arrays`` are given.
            reasons: Reasons per explained line (0 for none).
            explain_share: Share of lines, riskiest first, that get reasons (1.0: all).
                SHAP costs ~100x a prediction, so large batches explain only what is shown.
            as_json: Give ``reasons`` as JSON text (what files store), not lists; unexplained
                lines share one ``"[]"`` string instead of millions of empty lists.
            arrays: ``ReadResult.arrays`` (every column of the lines as a NumPy array, given
                for a few lines only): scored from these, ``frame`` is not read at all.

        Returns:
            ``risk_score`` (float), ``risk_band`` (text) and ``reasons`` (object: a list per
            line, empty if unexplained, or JSON text) per line, in the input order.
        """
        state = self.bundle.state
        # Plain columns end to end: the same feature code as training, without building
        # frames whose fixed cost dominates small batches.
        if arrays is not None:  # what frame_columns would read, and every other column
            columns: Mapping[str, Any] = arrays
            frame = None
            n_lines = len(arrays["entry_id"])
        elif frame is not None:
            columns = frame_columns(frame, FRAME_INPUTS)  # each column read once
            n_lines = len(frame)  # columns are read as arrays: the index plays no part
        else:
            raise ValueError("score_columns needs the lines as a frame or as arrays")
        signals = signal_columns(frame, self.cache, columns)
        X = feature_columns(frame, state, signals=signals, columns=columns)
        data = self._matrix(X, n_lines)
        threads = self._threads(n_lines)
        margin = (
            np.asarray(self.bundle.booster.predict(data, raw_score=True, num_threads=threads))
            if n_lines
            else np.zeros(0)
        )
        p = calibrate(margin, self.bundle.calibration)
        explained = np.full(n_lines, NO_REASONS if as_json else None, dtype=object)
        if reasons > 0 and n_lines:
            n = n_lines if explain_share >= 1 else int(np.ceil(explain_share * n_lines))
            idx = np.sort(np.argsort(-p, kind="stable")[:n])
            sub = data.iloc[idx] if isinstance(data, pd.DataFrame) else data[idx]
            contrib = self.bundle.booster.predict(
                sub, pred_contrib=True, num_threads=self._threads(len(idx))
            )
            evidence = dict(columns)
            if frame is not None:
                evidence.update({c: frame[c] for c in state.passthrough if c not in columns})
            context = self._context(
                evidence,
                X,
                signals,
                idx,
            )
            for i, items in zip(
                idx, reasons_for(np.asarray(contrib), list(X), context, reasons), strict=True
            ):
                explained[i] = json.dumps(items, ensure_ascii=False) if as_json else items
        if not as_json:
            empty = np.flatnonzero(pd.isna(explained))
            if len(empty):
                explained[empty] = pd.Series(
                    [[] for _ in range(len(empty))], dtype=object
                ).to_numpy()
        return {
            "risk_score": p,
            "risk_band": risk_band(p, self.bundle.thresholds),
            "reasons": explained,
        }

    def _context(
        self,
        columns: Mapping[str, Any],
        X: dict[str, np.ndarray],
        signals: dict[str, Any],
        idx: np.ndarray,
    ) -> _Evidence:
        """Evidence columns of the explained lines.

        Values as a row of the frame of features, signals and raw fields would give them
        (features first, then signals, then the ``_raw`` fields); each column is taken
        only when a reason reads it.
        """
        state = self.bundle.state
        sources: dict[str, tuple[Any, np.ndarray | None]] = {}
        for c, col in X.items():
            labels = None
            if c in state.categories:
                # A category's value, or NaN when unseen/missing (what the Categorical gives).
                labels = self._labels.get(c)
                if labels is None:
                    labels = np.array([*state.categories[c], np.nan], dtype=object)
                    self._labels[c] = labels
            sources[c] = (col, labels)
        for c, values in signals.items():
            sources.setdefault(c, (values, None))
        for c in ("country_of_origin", "country_of_export", *state.passthrough):
            sources.setdefault(c + "_raw", (columns[c], None))
        return _Evidence(sources, idx)
