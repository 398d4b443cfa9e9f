"""Baselines scored in the same run and table as the model.

- ``legacy_rules``: what targeting did before: an exact entity-list name match, a Xinjiang
  address, or a UFLPA high-priority good from China (in that order of weight);
- ``logistic``: logistic regression on the same features and training sample;
- ``random``: a random ranking, the floor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def legacy_rule_scores(signals: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """Score of the legacy rules; ties broken at random, as an officer working a flat list."""
    exact = (signals["mfr_list_sim"].fillna(0) >= 99.5) | (
        signals["shp_list_sim"].fillna(0) >= 99.5
    )
    xinjiang = signals["ev_mfr_xj_terms"].fillna("").str.contains("xinjiang", case=False)
    goods_cn = signals["rg_priority_cn"] > 0
    score = 4.0 * exact + 2.0 * xinjiang + 1.0 * goods_cn
    return score.to_numpy(dtype=float) + np.random.default_rng(seed).random(len(signals)) * 1e-3


def random_scores(n: int, seed: int = 0) -> np.ndarray:
    """A random ranking."""
    return np.random.default_rng(seed).random(n)


def fit_logistic(
    X: pd.DataFrame, y: np.ndarray, w: np.ndarray, categorical: list[str], seed: int
) -> Pipeline:
    """Logistic regression on the model's features (one-hot categoricals, scaled numerics)."""
    numeric = [c for c in X.columns if c not in categorical]
    pre = ColumnTransformer(
        [
            (
                "num",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                ),
                numeric,
            ),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="~missing"),
                    OneHotEncoder(handle_unknown="ignore", min_frequency=20),
                ),
                categorical,
            ),
        ]
    )
    model = make_pipeline(pre, LogisticRegression(C=0.5, max_iter=300, random_state=seed))
    model.fit(_as_objects(X, categorical), y, logisticregression__sample_weight=w)
    return model


def logistic_scores(model: Pipeline, X: pd.DataFrame, categorical: list[str]) -> np.ndarray:
    """Probability of violation under the logistic baseline."""
    return np.asarray(model.predict_proba(_as_objects(X, categorical))[:, 1])


def _as_objects(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    out = X.copy()
    for c in categorical:
        out[c] = out[c].astype(object).where(out[c].notna(), "~missing")
    return out
