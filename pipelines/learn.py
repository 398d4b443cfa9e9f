"""Model fitting: selection-bias strategies, LightGBM with early stopping, calibration.

Labels exist only for inspected lines and most inspections were targeted by old rules, so
the training sample is a choice. Three strategies are fitted and compared on the validation
window (see ``docs/evaluation.md``):

- ``inspected``: inspected lines only, as-is;
- ``ipw``: inspected lines weighted by 1 / P(inspected | x), the propensity fitted on all
  lines, so the sample stands for all traffic rather than what the old rules picked;
- ``pu``: inspected lines plus uninspected lines as down-weighted negatives (positive-
  unlabelled), so the model also sees ordinary traffic the old rules never sent to exam.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.scoring.bundle import Calibration
from models.scoring.scorer import calibrate
from pipelines.config import LightGBMConfig

DETERMINISTIC = {"deterministic": True, "force_row_wise": True, "verbosity": -1}


@dataclass
class Sample:
    """Rows, labels and weights of one training or validation sample."""

    rows: np.ndarray
    y: np.ndarray
    w: np.ndarray


def lgb_params(cfg: LightGBMConfig, num_threads: int) -> dict[str, Any]:
    """LightGBM parameters from the ``[lightgbm]`` table, made deterministic."""
    return {"metric": "binary_logloss", **cfg.params, **DETERMINISTIC, "num_threads": num_threads}


def fit_propensity(
    X: pd.DataFrame, inspected: np.ndarray, num_threads: int, seed: int
) -> lgb.Booster:
    """P(inspected | features) over the lines of the training window.

    Uninspected lines vastly outnumber inspected ones; a weighted random share of them (at
    most five per inspected line) gives the same expected fit in a fraction of the time.
    """
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(inspected), np.flatnonzero(~inspected)
    frac = min(1.0, 5.0 * max(len(pos), 1) / max(len(neg), 1))
    keep = np.sort(np.concatenate([pos, neg[rng.random(len(neg)) < frac]]))
    weight = np.where(inspected[keep], 1.0, 1.0 / frac)
    params = {
        "objective": "binary",  # at LightGBM's default learning rate, 0.1
        "num_leaves": 15,
        "min_data_in_leaf": 50,
        "seed": seed,
        "num_threads": num_threads,
        **DETERMINISTIC,
    }
    data = lgb.Dataset(X.iloc[keep], inspected[keep].astype(float), weight=weight)
    return lgb.train(params, data, num_boost_round=60)


def make_sample(
    strategy: str,
    inspected: np.ndarray,
    violation: np.ndarray,
    propensity: np.ndarray | None,
    pu_weight: float,
    floor: float,
    pu_sample: float = 1.0,
    seed: int = 0,
) -> Sample:
    """Training sample of one strategy.

    Args:
        strategy: ``inspected``, ``ipw`` or ``pu``.
        inspected: Whether each line was inspected.
        violation: 1/0 outcome (NaN where not inspected).
        propensity: P(inspected | x) per line (``ipw`` only).
        pu_weight: Weight of uninspected lines taken as negatives (``pu`` only).
        floor: Lower clip of the propensity, bounding the weights.
        pu_sample: Share of uninspected lines drawn for ``pu`` (their weight is scaled up
            by its inverse, so the expected loss is unchanged).
        seed: Seed of that draw.
    """
    rows = np.flatnonzero(inspected)
    y = (violation[rows] == 1).astype(float)
    w = np.ones(len(rows))
    if strategy == "ipw":
        if propensity is None:
            raise ValueError("ipw needs a propensity")
        # A propensity is at most 1: only the floor can bind. The weights are scaled to mean 1.
        w = np.reciprocal(np.maximum(propensity[rows], floor))
        w = w / w.mean()
    elif strategy == "pu":
        unl = np.flatnonzero(~inspected)
        if pu_sample < 1.0:
            unl = unl[np.random.default_rng(seed).random(len(unl)) < pu_sample]
        rows = np.concatenate([rows, unl])
        y = np.concatenate([y, np.zeros(len(unl))])
        w = np.concatenate([w, np.full(len(unl), pu_weight / pu_sample)])
    elif strategy != "inspected":
        raise ValueError(f"unknown strategy {strategy!r}")
    return Sample(rows=rows, y=y, w=w)


def fit_booster(
    X: pd.DataFrame,
    train: Sample,
    valid: Sample | None,
    cfg: LightGBMConfig,
    num_threads: int,
    num_boost_round: int | None = None,
) -> lgb.Booster:
    """Train LightGBM; with a validation sample, stop early on its weighted ``metric``.

    Features named in ``monotone_increasing`` may only raise the score as they grow: more
    evidence of a listed entity or a Xinjiang link never makes a line look safer, whatever
    noise the labels carry.
    """
    params = lgb_params(cfg, num_threads)
    rising = set(cfg.monotone_increasing)
    if rising:
        params["monotone_constraints"] = [1 if c in rising else 0 for c in X.columns]
        params["monotone_constraints_method"] = "advanced"
    dtrain = lgb.Dataset(X.iloc[train.rows], train.y, weight=train.w)
    rounds = num_boost_round or cfg.num_boost_round
    if valid is None or len(valid.rows) == 0 or valid.y.sum() == 0:
        return lgb.train(params, dtrain, num_boost_round=rounds)
    # lgb.train bins the validation set with the training set's bins (its reference).
    dvalid = lgb.Dataset(X.iloc[valid.rows], valid.y, weight=valid.w)
    return lgb.train(
        params,
        dtrain,
        num_boost_round=rounds,
        valid_sets=[dvalid],
        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)],
    )


def fit_platt(margin: np.ndarray, y: np.ndarray, w: np.ndarray, fitted_on: str) -> Calibration:
    """Platt scaling by weighted Newton steps on the logistic log-likelihood.

    A two-parameter map is robust on the few positives a random sample holds, and keeps the
    ranking unchanged (calibration never reorders lines).
    """

    def nll(a: float, b: float) -> float:
        z = a * margin + b
        return float((w * (np.logaddexp(0, z) - y * z)).sum())

    # Start from the intercept-only fit; damped Newton steps, since plain Newton can
    # overshoot on logistic likelihoods.
    rate = float(np.clip((w * y).sum() / w.sum(), 1e-6, 1 - 1e-6))
    a, b = 0.0, float(np.log(rate / (1 - rate)))
    current = nll(a, b)
    for _ in range(100):
        z = a * margin + b
        # The logistic function as exp(-log(1 + e^-z)): no overflow at any margin.
        p = np.exp(-np.logaddexp(0, -z))
        g = w * (p - y)
        h = w * p * (1 - p) + 1e-9
        grad = np.array([(g * margin).sum(), g.sum()])
        hess = np.array(
            [[(h * margin * margin).sum(), (h * margin).sum()], [(h * margin).sum(), h.sum()]]
        ) + 1e-6 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-4 and nll(a - t * step[0], b - t * step[1]) > current:
            t /= 2
        a, b = a - t * step[0], b - t * step[1]
        previous, current = current, nll(a, b)
        if abs(previous - current) < 1e-10 * max(1.0, abs(current)):
            break
    return Calibration(a=float(a), b=float(b), method="platt", fitted_on=fitted_on)


def calibrated_scores(
    booster: lgb.Booster, X: pd.DataFrame, calibration: Calibration, num_threads: int
) -> np.ndarray:
    """Calibrated probabilities of ``X``'s lines, as the scorer computes them."""
    margin = np.asarray(booster.predict(X, raw_score=True, num_threads=num_threads))
    return calibrate(margin, calibration)
