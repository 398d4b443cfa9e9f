"""Time-ordered split into train, validation and test windows by calendar month."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.features.history import month_index


@dataclass(frozen=True)
class Windows:
    """Boolean masks of the three windows and their month ranges (for the model card)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    months: dict[str, tuple[str, str]]


def _label(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def time_windows(dates: pd.Series, test_months: int, valid_months: int) -> Windows:
    """Last ``test_months`` for test, the ``valid_months`` before for validation, rest train.

    With too few months for that, the windows shrink to one month each, keeping at least one
    month of training.

    Raises:
        ValueError: Fewer than three distinct months of data.
    """
    m = month_index(dates)
    months = np.unique(m)
    if len(months) < 3:
        raise ValueError(
            f"need at least 3 months of labelled data for a time split, got {len(months)}"
        )
    t = min(test_months, max(1, (len(months) - 1) // 3))
    v = min(valid_months, max(1, (len(months) - t - 1) // 2))
    test_start, valid_start = months[-t], months[-t - v]
    test = m >= test_start
    valid = (m >= valid_start) & ~test
    train = m < valid_start
    return Windows(
        train=train,
        valid=valid,
        test=test,
        months={
            "train": (_label(months[0]), _label(valid_start - 1)),
            "valid": (_label(valid_start), _label(test_start - 1)),
            "test": (_label(test_start), _label(months[-1])),
        },
    )
