"""Fit steps 3 and 4: calibrate on the validation window, then judge on the test window.

The test window is scored by the model and by the baselines over every line, and evaluated
in each view that has labels (``pipelines/evaluate.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from models.scoring.bundle import Calibration
from pipelines.baselines import fit_logistic, legacy_rule_scores, logistic_scores, random_scores
from pipelines.config import EvaluationConfig
from pipelines.evaluate import Results, evaluate_scores, metrics_table
from pipelines.learn import Sample, calibrated_scores, fit_platt
from pipelines.prepare import Prepared
from pipelines.strategy import Sampler

# The logistic baseline is fitted on a deterministic subsample above this many lines: it
# keeps CI fast.
LOGISTIC_MAX_LINES = 300_000


def calibrate_on_validation(
    prep: Prepared, booster: lgb.Booster, propensity: np.ndarray | None, num_threads: int
) -> Calibration:
    """Platt scaling on the validation window's inspected lines, weighted back to all traffic."""
    v = prep.valid
    vm = prep.inspected[v]
    margin_v = np.asarray(booster.predict(prep.X.iloc[v], raw_score=True, num_threads=num_threads))
    wcal = np.ones(vm.sum()) if propensity is None else 1.0 / propensity[v][vm]
    return fit_platt(
        margin_v[vm],
        (prep.violation[v][vm] == 1).astype(float),
        wcal / wcal.mean(),
        fitted_on=f"validation window {prep.windows.months['valid']}, inspected lines, "
        + ("unweighted" if propensity is None else "inverse-propensity weighted"),
    )


def fit_logistic_baseline(prep: Prepared, sample: Sampler, strategy: str, seed: int) -> Pipeline:
    """Logistic regression on the chosen strategy's training sample and the same features."""
    tr = sample(strategy, prep.train)
    if len(tr.rows) > LOGISTIC_MAX_LINES:
        keep = np.random.default_rng(seed).choice(len(tr.rows), LOGISTIC_MAX_LINES, replace=False)
        tr = Sample(rows=tr.rows[keep], y=tr.y[keep], w=tr.w[keep])
    return fit_logistic(prep.X.iloc[tr.rows], tr.y, tr.w, prep.state.categorical_features, seed)


@dataclass(frozen=True)
class Backtest:
    """The recipe's test-window evaluation and what its reports are drawn from."""

    results: Results
    table: str
    frame: pd.DataFrame = field(repr=False)
    scores: dict[str, np.ndarray] = field(repr=False)
    truth: np.ndarray | None = field(repr=False)
    features: pd.DataFrame = field(repr=False)


def backtest(
    prep: Prepared,
    booster: lgb.Booster,
    calibration: Calibration,
    logistic: Pipeline,
    truth: np.ndarray | None,
    evaluation: EvaluationConfig,
    seed: int,
    num_threads: int,
) -> Backtest:
    """Model and baselines on every line of the test window, evaluated in every view."""
    te = prep.test
    X_test = prep.X.iloc[te]
    p_model = calibrated_scores(booster, X_test, calibration, num_threads)
    p_logit = logistic_scores(logistic, X_test, prep.state.categorical_features)
    scores = {
        "model": p_model,
        "legacy_rules": legacy_rule_scores(prep.signals.iloc[te], seed),
        "logistic": p_logit,
        "random": random_scores(len(te), seed),
    }
    frame = prep.frame.iloc[te].reset_index(drop=True)
    t_test = None if truth is None else truth[te]
    probs: dict[str, np.ndarray | None] = {"model": p_model, "logistic": p_logit}
    results = evaluate_scores(frame, scores, probs, t_test, evaluation)
    return Backtest(
        results=results,
        table=metrics_table(results),
        frame=frame,
        scores=scores,
        truth=t_test,
        features=X_test,
    )
