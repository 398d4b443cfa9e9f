"""Fit a model: the training steps composed, with no tracking and no registry.

The recipe is backtested: fitted on the earlier months, selected on the validation window,
judged on the last months against baselines. The registered model is then refit on every
month with the chosen recipe (``refit_on_all``), so officers score with the freshest history.
Each step is a function of its inputs (``prepare``, ``strategy``, ``backtest``, ``refit``);
this module only wires them and reports progress.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.features.tips import TipIndex
from models.reference.tables import reference_versions
from models.scoring.bundle import ModelBundle
from pipelines.backtest import backtest, calibrate_on_validation, fit_logistic_baseline
from pipelines.config import TrainConfig
from pipelines.drift_reference import drift_reference
from pipelines.labelled import load_truth, sort_lines
from pipelines.periods import period_of
from pipelines.prepare import Prepared, prepare
from pipelines.provenance import data_digest
from pipelines.refit import (
    FinalModel,
    band_thresholds,
    recent_scores,
    refit_on_all,
    refit_rounds,
)
from pipelines.strategy import Sampler, candidate_strategies, choose_strategy, propensity_scores


@dataclass
class TrainResult:
    """Everything a training run produced, for logging and the model card."""

    bundle: ModelBundle
    results: dict[str, Any]
    table: str
    strategy_table: dict[str, dict[str, float]]
    chosen: str
    windows: dict[str, tuple[str, str]]
    counts: dict[str, int]
    test_frame: pd.DataFrame = field(repr=False)
    test_scores: dict[str, np.ndarray] = field(repr=False)
    test_truth: np.ndarray | None = field(repr=False)
    explain_features: pd.DataFrame = field(repr=False)
    data_digest: str = ""
    # Whether [lightgbm_targeted] was applied (labels from targeted inspections).
    targeted_labels: bool = False


class _Progress:
    """Progress lines with the seconds since the start of the fit."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __call__(self, msg: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {msg}", flush=True)


def fit_sorted(
    frame: pd.DataFrame,
    passthrough: dict[str, str],
    cfg: TrainConfig,
    truth: np.ndarray | None,
    num_threads: int,
    tips: TipIndex | None = None,
) -> TrainResult:
    """Every fit step, in order, on lines already in time order (see :func:`fit`)."""
    log = _Progress()
    prep = prepare(frame, passthrough, cfg.split, tips)
    log(
        f"windows {prep.windows.months}; lines train={len(prep.train)} "
        f"valid={len(prep.valid)} test={len(prep.test)}; features: {prep.X.shape[1]} columns"
    )
    targeted = not prep.all_inspected
    booster_cfg = cfg.booster(targeted_labels=targeted)
    if targeted:
        log(f"labels from targeted inspections: {cfg.lightgbm_targeted} applied")
    seed = cfg.lightgbm.seed
    propensity = propensity_scores(prep, cfg.learning, seed, num_threads)
    sample = Sampler(prep.inspected, prep.violation, propensity, cfg.learning, seed)
    choice = choose_strategy(
        prep,
        sample,
        candidate_strategies(prep, cfg.learning),
        booster_cfg,
        cfg.learning.selection_metric,
        num_threads,
    )
    for s, m in choice.table.items():
        log(
            f"strategy {s}: valid {choice.view} pr_auc={m['pr_auc']:.4f} "
            f"p@5={m['precision_at_5']:.4f} iters={m['best_iteration']:.0f}"
        )
    calibration = calibrate_on_validation(prep, choice.booster, propensity, num_threads)
    logistic = fit_logistic_baseline(prep, sample, choice.chosen, seed)
    bt = backtest(
        prep, choice.booster, calibration, logistic, truth, cfg.evaluation, seed, num_threads
    )
    log("evaluated on the test window:\n" + bt.table)
    if cfg.learning.refit_on_all:
        final = refit_on_all(
            prep,
            sample,
            choice.chosen,
            booster_cfg,
            choice.best_iteration,
            num_threads,
        )
        log(f"refit on all {len(frame)} lines, {refit_rounds(choice.best_iteration)} rounds")
        fitted = period_of(prep.frame["entry_date"])
    else:
        final = FinalModel(state=prep.state, booster=choice.booster, X=prep.X)
        # Early stopping and calibration saw the validation window: it counts as fitted on.
        fitted = period_of(prep.frame["entry_date"], prep.windows.train | prep.windows.valid)
    thresholds = band_thresholds(recent_scores(prep, final, calibration, num_threads), cfg.bands)
    drift = drift_reference(prep, final, calibration, num_threads)
    bundle = ModelBundle(
        booster=final.booster,
        state=final.state,
        calibration=calibration,
        thresholds=thresholds,
        reference_versions=reference_versions(),
        meta={
            "strategy": choice.chosen,
            "windows": prep.windows.months,
            "best_iteration": choice.best_iteration,
            "selection_view": choice.view,
            "trained_lines": len(frame),
            "fitted_period": fitted.as_meta(),
            "drift_reference": {"lines": drift.lines, "period": list(drift.window)},
            "tips": tip_summary(prep),
        },
        drift=drift,
    )
    return TrainResult(
        bundle=bundle,
        results=bt.results,
        table=bt.table,
        strategy_table=choice.table,
        chosen=choice.chosen,
        windows=prep.windows.months,
        counts=prep.counts(),
        test_frame=bt.frame,
        test_scores=bt.scores,
        test_truth=bt.truth,
        explain_features=bt.features,
        data_digest=data_digest(frame),
        targeted_labels=targeted,
    )


def fit(
    frame: pd.DataFrame,
    passthrough: dict[str, str],
    cfg: TrainConfig,
    truth_path: Path | None = None,
    num_threads: int = 2,
    tips: TipIndex | None = None,
) -> TrainResult:
    """Backtest the recipe, choose the strategy, calibrate, refit; no tracking, no registry.

    Args:
        frame: Labelled contract-shaped lines.
        passthrough: Extra feature columns from a mapping (name -> categorical|numeric).
        cfg: Training configuration (see ``pipelines/config/train.toml``).
        truth_path: Hidden truth file (simulated data), used for reporting only.
        num_threads: LightGBM threads.
        tips: Tips (from the store, a tips file): the model gets the tip features.
    """
    lines = sort_lines(frame)
    truth = load_truth(truth_path, lines) if truth_path else None
    return fit_sorted(lines, passthrough, cfg, truth, num_threads, tips)


def tip_summary(prep: Prepared) -> dict[str, int]:
    """Tips training was given, and how many training lines counted one (for the card)."""
    if not prep.tips:
        return {"tips": 0, "lines_named": 0, "lines_corroborated": 0}
    tip_cols = [c for c in prep.X.columns if c.startswith("tip_")]
    counts = prep.X[tip_cols].to_numpy()
    corroborated = [j for j, c in enumerate(tip_cols) if c.endswith("_corroborated")]
    return {
        "tips": sum(1 for t in prep.tips.records if t.get("duplicate_of") is None),
        "lines_named": int((counts.sum(axis=1) > 0).sum()),
        "lines_corroborated": int((counts[:, corroborated].sum(axis=1) > 0).sum()),
    }
