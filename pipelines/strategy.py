"""Fit step 2: choose how to learn from selection-biased labels (see ``docs/evaluation.md``).

Each candidate strategy is fitted on the train window and compared on the validation window's
inspected lines weighted by 1/P(inspected | x): an estimate over all traffic that uses every
label, steadier than the few random-sample positives alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np

from pipelines.config import LearningConfig, LightGBMConfig
from pipelines.learn import Sample, fit_booster, fit_propensity, make_sample
from pipelines.metrics import average_precision
from pipelines.prepare import Prepared

# ``precision_at_5``: the validation lines at or above this quantile of the margins.
TOP_QUANTILE = 0.95


def propensity_scores(
    prep: Prepared, learning: LearningConfig, seed: int, num_threads: int
) -> np.ndarray | None:
    """P(inspected | x) of every line, floored; None when every line was inspected."""
    if prep.all_inspected:
        return None
    model = fit_propensity(prep.X.iloc[prep.train], prep.inspected[prep.train], num_threads, seed)
    p = np.asarray(model.predict(prep.X, num_threads=num_threads))
    return np.maximum(p, learning.propensity_floor)


def candidate_strategies(prep: Prepared, learning: LearningConfig) -> list[str]:
    """The configured strategies; only ``inspected`` when every line was inspected."""
    return ["inspected"] if prep.all_inspected else list(learning.strategies)


@dataclass(frozen=True)
class Sampler:
    """Draws a strategy's training sample from a set of lines (global row numbers)."""

    inspected: np.ndarray = field(repr=False)
    violation: np.ndarray = field(repr=False)
    propensity: np.ndarray | None = field(repr=False)
    learning: LearningConfig
    seed: int

    def __call__(self, strategy: str, rows: np.ndarray) -> Sample:
        """Training sample of ``strategy`` drawn from ``rows``, in global row numbers."""
        sm = make_sample(
            strategy,
            self.inspected[rows],
            self.violation[rows],
            None if self.propensity is None else self.propensity[rows],
            self.learning.pu_unlabelled_weight,
            self.learning.propensity_floor,
            self.learning.pu_unlabelled_sample,
            self.seed,
        )
        return Sample(rows=rows[sm.rows], y=sm.y, w=sm.w)


def selection_view(propensity: np.ndarray | None) -> str:
    """Name of the validation view strategies are compared in."""
    return "all_inspected" if propensity is None else "inspected_ipw"


def validation_scores(
    margin: np.ndarray, y: np.ndarray, w: np.ndarray, booster: lgb.Booster
) -> dict[str, float]:
    """Weighted PR-AUC and precision at the top 5% of validation margins, and iterations."""
    top = margin >= np.quantile(margin, TOP_QUANTILE) if len(margin) else np.zeros(0, dtype=bool)
    return {
        "pr_auc": average_precision(y, margin, w),
        "precision_at_5": float((w * y)[top].sum() / max(w[top].sum(), 1e-12)),
        "best_iteration": float(booster.best_iteration or booster.current_iteration()),
    }


@dataclass(frozen=True)
class StrategyChoice:
    """The chosen strategy, its booster, and the comparison that chose it."""

    chosen: str
    booster: lgb.Booster = field(repr=False)
    table: dict[str, dict[str, float]]
    view: str

    @property
    def best_iteration(self) -> int:
        """Rounds early stopping kept for the chosen strategy."""
        return int(self.table[self.chosen]["best_iteration"])


def choose_strategy(
    prep: Prepared,
    sample: Sampler,
    strategies: list[str],
    booster_cfg: LightGBMConfig,
    metric: str,
    num_threads: int,
) -> StrategyChoice:
    """Fit every strategy on the train window; the best on the validation window by ``metric``."""
    v_rows = prep.valid[prep.inspected[prep.valid]]
    v_y = (prep.violation[v_rows] == 1).astype(float)
    p = sample.propensity
    v_w = np.ones(len(v_rows)) if p is None else 1.0 / p[v_rows]
    table: dict[str, dict[str, float]] = {}
    boosters: dict[str, lgb.Booster] = {}
    for s in strategies:
        booster = fit_booster(
            prep.X, sample(s, prep.train), sample(s, prep.valid), booster_cfg, num_threads
        )
        margin = np.asarray(
            booster.predict(prep.X.iloc[v_rows], raw_score=True, num_threads=num_threads)
        )
        table[s] = validation_scores(margin, v_y, v_w, booster)
        boosters[s] = booster
    chosen = best_strategy(table, metric)
    return StrategyChoice(
        chosen=chosen, booster=boosters[chosen], table=table, view=selection_view(p)
    )


def best_strategy(table: dict[str, dict[str, float]], metric: str) -> str:
    """The strategy scoring highest on ``metric`` in the comparison ``table``.

    A NaN score (no positives) never beats a real one; the first listed strategy wins a tie.
    """
    return max(table, key=lambda s: np.nan_to_num(table[s][metric], nan=-1.0))
