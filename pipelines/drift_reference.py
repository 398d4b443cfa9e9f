"""Fit step 7: the drift reference, the final model's view of its most recent lines.

Fitted on the validation and test windows' lines, with the final model's feature state and
calibration, as of the month after training: that is how every line scored later is seen.
The presumption rate is the exception: law, judged on each line's own entry date.
A line scored after training looks up party and goods histories as they stood at the end
of training; the same line inside training saw only the months before its own, when
histories were shorter. Comparing later lines with the latter would report the passing of
time as drift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.features.matrix import build_features, model_frame
from models.scoring.bundle import Calibration
from models.scoring.drift import drift_columns, fit_reference
from models.scoring.presumption import presumptions
from models.scoring.psi import DriftReference
from pipelines.learn import calibrated_scores
from pipelines.periods import period_of
from pipelines.prepare import Prepared
from pipelines.refit import FinalModel


def after_training(dates: pd.Series) -> np.datetime64:
    """The first day of the month after the last training line's."""
    last = pd.to_datetime(dates).max()
    return np.datetime64((last + pd.offsets.MonthBegin(1)).normalize().date(), "ns")


def drift_reference(
    prep: Prepared, final: FinalModel, calibration: Calibration, num_threads: int
) -> DriftReference:
    """The reference bins of every drift measure over the recent windows' lines.

    Args:
        prep: The prepared training lines.
        final: The registered booster and feature state.
        calibration: The registered calibration.
        num_threads: LightGBM threads.
    """
    recent_mask = prep.windows.valid | prep.windows.test
    recent = np.flatnonzero(recent_mask)
    as_of = np.full(len(recent), after_training(prep.frame["entry_date"]))
    own = prep.lines.take(recent)
    lines = own.with_columns({"entry_date": as_of})
    signals = {c: v[recent] for c, v in prep.signal_columns.items()}
    # Tips as a later line sees them: received by then, statuses as of then.
    X = build_features(
        lines, final.state, signals=signals, tips=prep.tips, status_as_of=lines["entry_date"]
    )
    scores = calibrated_scores(final.booster, model_frame(X, final.state), calibration, num_threads)
    # The presumption is law on each line's own entry date (the lists then in force, which
    # the signals already matched, and the UFLPA's start), not as of the month after.
    presumption = presumptions(signals, own["entry_date"])
    columns = drift_columns(lines, signals, X, final.state, scores, presumption)
    first, last = period_of(prep.frame["entry_date"], recent_mask).as_meta()
    return fit_reference(columns, final.state, (first, last))
