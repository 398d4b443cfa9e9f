"""Scoring: features -> LightGBM margin -> calibrated probability -> band -> reasons.

Used unchanged by ``flrisk score``, the API and the Spark engine, so a line gets the same
score whichever path it takes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.artifact import Calibration, ModelBundle
from models.explain import reasons_for
from models.features import build_features
from models.signals import SignalCache, derive_signals

BANDS = ("high", "elevated", "low")
NO_REASONS = "[]"


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

    def margins(self, X: pd.DataFrame) -> np.ndarray:
        """Raw log-odds of the booster."""
        if len(X) == 0:
            return np.zeros(0)
        data = model_matrix(X, self.bundle.booster.pandas_categorical)
        return np.asarray(
            self.bundle.booster.predict(
                X if data is None else data, raw_score=True, num_threads=self.bundle.num_threads
            )
        )

    def score(
        self,
        frame: pd.DataFrame,
        reasons: int = 3,
        explain_share: float = 1.0,
        as_json: bool = False,
    ) -> pd.DataFrame:
        """Score lines and explain the riskiest.

        Args:
            frame: Contract-shaped lines (as returned by the reader).
            reasons: Reasons per explained line (0 for none).
            explain_share: Share of lines, riskiest first, that get reasons (1.0: all).
                SHAP costs ~100x a prediction, so large batches explain only what is shown.
            as_json: Give ``reasons`` as JSON text (what files store), not lists; unexplained
                lines share one ``"[]"`` string instead of millions of empty lists.

        Returns:
            ``entry_id, line_no, risk_score, risk_band, reasons, model_version`` per line, in
            the input order; ``reasons`` is a list (empty for unexplained lines).
        """
        frame = frame.reset_index(drop=True)
        signals = derive_signals(frame, self.cache)
        X = build_features(frame, self.bundle.state, signals=signals)
        p = calibrate(self.margins(X), self.bundle.calibration)
        out = pd.DataFrame(
            {
                "entry_id": frame["entry_id"].to_numpy(),
                "line_no": frame["line_no"].to_numpy(),
                "risk_score": p,
                "risk_band": risk_band(p, self.bundle.thresholds),
            }
        )
        explained = np.full(len(frame), NO_REASONS if as_json else None, dtype=object)
        if reasons > 0 and len(frame):
            n = len(frame) if explain_share >= 1 else int(np.ceil(explain_share * len(frame)))
            idx = np.sort(np.argsort(-p, kind="stable")[:n])
            contrib = self.bundle.booster.predict(
                X.iloc[idx], pred_contrib=True, num_threads=self.bundle.num_threads
            )
            context = pd.concat(
                [
                    X.iloc[idx].reset_index(drop=True),
                    signals.iloc[idx].reset_index(drop=True),
                    frame.iloc[idx][["country_of_origin", "country_of_export"]]
                    .add_suffix("_raw")
                    .reset_index(drop=True),
                    frame.iloc[idx][list(self.bundle.state.passthrough)]
                    .add_suffix("_raw")
                    .reset_index(drop=True),
                ],
                axis=1,
            )
            context = context.loc[:, ~context.columns.duplicated()]
            for i, items in zip(
                idx,
                reasons_for(np.asarray(contrib), list(X.columns), context, reasons),
                strict=True,
            ):
                explained[i] = json.dumps(items, ensure_ascii=False) if as_json else items
        if not as_json:
            empty = np.flatnonzero(pd.isna(explained))
            explained[empty] = pd.Series([[] for _ in range(len(empty))], dtype=object).to_numpy()
        out["reasons"] = pd.Series(explained, dtype=object)
        out["model_version"] = self.version
        return out
