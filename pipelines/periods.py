"""Date periods: the lines a version was fitted on, and the lines it is judged on.

A version is judged only on lines it was never fitted on, so every registered bundle records
the entry dates of the lines its final booster, calibration and early stopping saw
(``meta["fitted_period"]``), and every comparison checks the judged lines against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from models.scoring.bundle import ModelBundle


@dataclass(frozen=True)
class Period:
    """Entry dates from ``first`` to ``last``, both included."""

    first: date
    last: date

    def overlaps(self, other: Period) -> bool:
        """Whether the two periods share at least one day."""
        return self.first <= other.last and other.first <= self.last

    def as_meta(self) -> list[str]:
        """``[first, last]`` as ISO dates, for a bundle's meta or a version tag."""
        return [self.first.isoformat(), self.last.isoformat()]

    def __str__(self) -> str:
        return f"{self.first.isoformat()}..{self.last.isoformat()}"


def period_of(dates: pd.Series, mask: np.ndarray | None = None) -> Period:
    """The first and last entry date of the lines (of ``mask``, when given).

    Raises:
        ValueError: No dated line.
    """
    d = pd.to_datetime(dates if mask is None else dates[mask]).dropna()
    if d.empty:
        raise ValueError("no dated line to take a period from")
    return Period(d.min().date(), d.max().date())


def _month_end(label: str) -> date:
    start = pd.Timestamp(f"{label}-01")
    return (start + pd.offsets.MonthEnd(0)).date()


def fitted_period(bundle: ModelBundle) -> Period:
    """The entry dates of the lines a registered bundle was fitted on.

    Bundles registered before the period was recorded carry only their split's months: they
    are taken to have been fitted on all of them (refit on every month, the default), which
    can only make a comparison refuse more, never judge a version on its own lines.

    Raises:
        ValueError: The bundle records neither its fitted period nor its windows.
    """
    meta: dict[str, Any] = bundle.meta
    if "fitted_period" in meta:
        first, last = meta["fitted_period"]
        return Period(date.fromisoformat(first), date.fromisoformat(last))
    windows = meta.get("windows")
    if not windows:
        raise ValueError("the model does not record the lines it was fitted on")
    return Period(pd.Timestamp(f"{windows['train'][0]}-01").date(), _month_end(windows["test"][1]))
