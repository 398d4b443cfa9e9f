"""Labelled inputs of training and evaluation: entry-line files, feedback, hidden truth."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from models.contract.reader import ReadResult, read_entry_lines
from models.settings import Settings

# Sort order of training lines: row order in the input files must never change a model.
LINE_ORDER = ["entry_date", "entry_id", "line_no"]


def quarantine_path(settings: Settings, first_input: Path) -> Path:
    """Quarantine file under the data folder (inputs may sit on read-only or shared storage)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    return settings.data_dir / "quarantine" / f"{Path(first_input).stem}.{stamp}.quarantine.csv"


def read_labelled(
    settings: Settings, data: list[Path], mapping: Path | None, allow_bad_rows: bool
) -> ReadResult:
    """Labelled lines for training or evaluation, bad rows quarantined under the data folder."""
    return read_entry_lines(
        data,
        mapping,
        allow_bad_rows=allow_bad_rows,
        require_labels=True,
        quarantine_path=quarantine_path(settings, data[0]),
    )


def _line_keys(frame: pd.DataFrame) -> pd.Series:
    return frame["entry_id"].astype(str) + "#" + frame["line_no"].astype(str)


def merge_feedback(frame: pd.DataFrame, feedback: pd.DataFrame) -> pd.DataFrame:
    """Training lines with feedback outcomes, which replace the same lines' file labels."""
    if not len(feedback):
        return frame
    replaced = _line_keys(frame).isin(set(_line_keys(feedback)))
    return pd.concat([frame[~replaced], feedback], ignore_index=True)


def sort_lines(frame: pd.DataFrame) -> pd.DataFrame:
    """Lines in time order (stable), renumbered from 0."""
    return frame.sort_values(LINE_ORDER, kind="stable").reset_index(drop=True)


def load_truth(path: Path, frame: pd.DataFrame) -> np.ndarray:
    """Hidden truth aligned with ``frame`` by (entry_id, line_no); refuses missing lines."""
    t = pd.read_csv(path, dtype={"entry_id": str})
    merged = (
        frame[["entry_id", "line_no"]]
        .astype({"entry_id": object})
        .merge(t.astype({"entry_id": object}), on=["entry_id", "line_no"], how="left")
    )
    if merged["true_violation"].isna().any():
        n = int(merged["true_violation"].isna().sum())
        raise ValueError(f"{path}: no hidden truth for {n} lines")
    return merged["true_violation"].to_numpy(dtype=float)
