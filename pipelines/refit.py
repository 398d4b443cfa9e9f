"""Fit steps 5 and 6: refit the chosen recipe on every month, then set the risk bands."""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.features.matrix import FeatureState
from models.scoring.bundle import Calibration
from pipelines.config import BandsConfig, LightGBMConfig
from pipelines.learn import calibrated_scores, fit_booster
from pipelines.prepare import Prepared, features
from pipelines.strategy import Sampler


@dataclass(frozen=True)
class FinalModel:
    """The booster and feature state that are registered, and every line's features."""

    state: FeatureState = field(repr=False)
    booster: lgb.Booster = field(repr=False)
    X: pd.DataFrame = field(repr=False)


def refit_rounds(best_iteration: int) -> int:
    """Rounds of the refit: more data supports a few more than early stopping found."""
    return max(10, int(best_iteration * 1.15) + 1)


def refit_on_all(
    prep: Prepared,
    sample: Sampler,
    strategy: str,
    booster_cfg: LightGBMConfig,
    best_iteration: int,
    num_threads: int,
) -> FinalModel:
    """The chosen recipe fitted on every month, so officers score with the freshest history."""
    state, X = features(prep.lines, None, prep.cache, prep.signal_columns, prep.tips)
    booster = fit_booster(
        X,
        sample(strategy, np.arange(len(prep.frame))),
        None,
        booster_cfg,
        num_threads,
        num_boost_round=refit_rounds(best_iteration),
    )
    return FinalModel(state=state, booster=booster, X=X)


def recent_scores(
    prep: Prepared, final: FinalModel, calibration: Calibration, num_threads: int
) -> np.ndarray:
    """The final model's calibrated scores of the validation and test windows' lines."""
    recent = np.flatnonzero(prep.windows.valid | prep.windows.test)
    return calibrated_scores(final.booster, final.X.iloc[recent], calibration, num_threads)


def band_thresholds(scores: np.ndarray, bands: BandsConfig) -> dict[str, float]:
    """Score thresholds flagging the configured shares of ``scores`` high and elevated."""
    return {
        "high": float(np.quantile(scores, 1 - bands.high_share)),
        "elevated": float(np.quantile(scores, 1 - bands.elevated_share)),
    }
