"""No label of the test months reaches anything training fits before it reports them.

The honest-evaluation promise of the whole training path, not of one function: the test
months' outcomes are scrambled, and every booster fitted, the chosen strategy and the
calibration must come out the same. Only the refit on every month (off here) may use them.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.contract.reader import read_entry_lines
from pipelines.config import load_config
from pipelines.fit import fit
from pipelines.split import time_windows

pytestmark = pytest.mark.slow


def _fit_recording_boosters(
    frame: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], object]:
    fitted: list[str] = []
    train = lgb.train

    def recording(*args: object, **kwargs: object) -> lgb.Booster:
        booster = train(*args, **kwargs)  # type: ignore[arg-type]
        fitted.append(booster.model_to_string())
        return booster

    monkeypatch.setattr(lgb, "train", recording)
    cfg = load_config(None).updated(
        {
            "learning": {"refit_on_all": False},
            "lightgbm": {"num_boost_round": 60},
            "evaluation": {"bootstrap": 0},
        }
    )
    result = fit(frame, {}, cfg, None, num_threads=1)
    monkeypatch.undo()
    return fitted, result


def test_scrambled_test_month_labels_change_nothing_fitted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.simulate import run

    run(out=tmp_path, lines=20_000, seed=5)
    frame = read_entry_lines(tmp_path / "train.csv", require_labels=True).frame
    cfg = load_config(None)
    test = time_windows(frame["entry_date"], cfg.split.test_months, cfg.split.valid_months).test
    rows = np.flatnonzero(test)
    assert len(rows) > 1000
    scrambled = frame.copy()
    order = np.random.default_rng(3).permutation(rows)
    for col in ("inspected", "inspection_reason", "violation"):
        values = scrambled[col].to_numpy(copy=True)
        values[rows] = values[order]
        scrambled[col] = values
    # The scrambling is real: the test months' outcomes now sit on other lines.
    assert (scrambled["violation"].to_numpy()[rows] != frame["violation"].to_numpy()[rows]).any()

    boosters, result = _fit_recording_boosters(frame, monkeypatch)
    boosters_scrambled, result_scrambled = _fit_recording_boosters(scrambled, monkeypatch)
    assert len(boosters) >= 3  # propensity, every candidate strategy
    changed = [
        i for i, (a, b) in enumerate(zip(boosters, boosters_scrambled, strict=True)) if a != b
    ]
    assert not changed, f"boosters {changed} of {len(boosters)} saw the test months' labels"
    assert result_scrambled.chosen == result.chosen  # type: ignore[attr-defined]
    assert result_scrambled.strategy_table == result.strategy_table  # type: ignore[attr-defined]
    cal, cal_scrambled = result.bundle.calibration, result_scrambled.bundle.calibration  # type: ignore[attr-defined]
    assert (cal.a, cal.b) == (cal_scrambled.a, cal_scrambled.b)
