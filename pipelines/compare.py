"""Two versions judged on the same labelled lines that neither was fitted on.

Both rank every line of the file; each is judged in the least biased view the labels allow
(:func:`pipelines.evaluate.headline_view`), with the same bootstrap as ``flrisk evaluate``,
so each version's figure here equals its figure in ``flrisk evaluate`` on the same file. The
difference is paired: the same resampled lines for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.contract.batch import Lines
from models.scoring.bundle import ModelBundle
from models.scoring.scorer import Scorer
from models.settings import Settings
from pipelines.config import EvaluationConfig
from pipelines.evaluate import VIEW_TEXT, evaluate_scores, headline_view, views
from pipelines.labelled import load_truth, read_labelled
from pipelines.periods import Period, fitted_period, period_of


class NotComparableError(Exception):
    """The lines cannot judge a version: it was fitted on some of them."""


@dataclass(frozen=True)
class EvidenceFiles:
    """Labelled lines to judge versions on (``flrisk promote --data``)."""

    data: list[Path]
    mapping: Path | None = None
    truth: Path | None = None
    allow_bad_rows: bool = False


@dataclass(frozen=True)
class JudgedLines:
    """The labelled lines, their entry-date period and, for simulated data, the truth."""

    frame: pd.DataFrame
    lines: Lines
    period: Period
    truth: np.ndarray | None


def read_judged_lines(settings: Settings, evidence: EvidenceFiles) -> JudgedLines:
    """Read and validate the labelled files (before any model is loaded).

    Raises:
        NotComparableError: The files hold no labelled line.
    """
    res = read_labelled(settings, evidence.data, evidence.mapping, evidence.allow_bad_rows)
    if not len(res.frame):
        raise NotComparableError("the --data files hold no labelled line to judge the versions on")
    truth = load_truth(evidence.truth, res.frame) if evidence.truth else None
    return JudgedLines(res.frame, res.lines, period_of(res.frame["entry_date"]), truth)


@dataclass(frozen=True)
class Figure:
    """A metric's value with its 95% bootstrap interval, printed as ``flrisk evaluate`` does."""

    value: float
    lo: float
    hi: float

    def __format__(self, spec: str) -> str:
        f = f"{spec}.3f"
        return f"{self.value:{f}} [{self.lo:{f}}, {self.hi:{f}}]"


@dataclass(frozen=True)
class Comparison:
    """Both versions' figure on the judged lines and the paired difference."""

    metric: str
    view: str
    view_text: str
    n_lines: int
    n_labelled: int
    period: Period
    candidate_uri: str
    holder_uri: str
    candidate_fitted: Period
    holder_fitted: Period
    candidate: Figure
    holder: Figure
    difference: Figure
    resamples: int


def check_unseen(period: Period, versions: list[tuple[str, Period]]) -> None:
    """Refuse lines from any day a version was fitted on.

    Raises:
        NotComparableError: The lines' period overlaps a version's fitted period.
    """
    for uri, fitted in versions:
        if period.overlaps(fitted):
            last = max(f.last for _, f in versions)
            raise NotComparableError(
                f"refused: the lines were entered {period}, which overlaps the period "
                f"{uri} was fitted on ({fitted}); a version is judged only on lines it was "
                f"never fitted on. Pass labelled lines entered after {last.isoformat()}."
            )


def _figure(cell: dict[str, float]) -> Figure:
    return Figure(cell["value"], cell["lo"], cell["hi"])


def compare_versions(
    judged: JudgedLines,
    candidate: tuple[str, ModelBundle],
    holder: tuple[str, ModelBundle],
    metric: str,
    evaluation: EvaluationConfig,
) -> Comparison:
    """Score the lines with both versions and compare them in the least biased view.

    Args:
        judged: Labelled lines from :func:`read_judged_lines`.
        candidate: The candidate's URI and bundle.
        holder: The current holder's URI and bundle.
        metric: The metric judged (e.g. ``pr_auc``).
        evaluation: Capacities, resamples and seed (the packaged ones, as ``flrisk evaluate``).

    Raises:
        NotComparableError: Either version was fitted on some of the lines' dates.
    """
    (cu, cb), (hu, hb) = candidate, holder
    cf, hf = fitted_period(cb), fitted_period(hb)
    check_unseen(judged.period, [(cu, cf), (hu, hf)])
    c = Scorer(cb, version=cu).score(judged.lines, reasons=0).risk_score
    h = Scorer(hb, version=hu).score(judged.lines, reasons=0).risk_score
    results = evaluate_scores(
        judged.frame,
        {"model": c, "holder": h},
        {"model": c, "holder": h},
        judged.truth,
        evaluation,
        compared=("holder",),
    )
    view = headline_view(results)
    r = results[view]
    cand, held = _figure(r["model"][metric]), _figure(r["holder"][metric])
    # Without resamples (bootstrap = 0) there is no paired row: the difference has no interval.
    diff = r.get("model_minus_holder", {}).get(metric)
    difference = _figure(diff) if diff else Figure(cand.value - held.value, np.nan, np.nan)
    return Comparison(
        metric=metric,
        view=view,
        view_text=VIEW_TEXT[view],
        n_lines=len(judged.frame),
        n_labelled=int(views(judged.frame, judged.truth)[view][1].sum()),
        period=judged.period,
        candidate_uri=cu,
        holder_uri=hu,
        candidate_fitted=cf,
        holder_fitted=hf,
        candidate=cand,
        holder=held,
        difference=difference,
        resamples=evaluation.bootstrap,
    )
