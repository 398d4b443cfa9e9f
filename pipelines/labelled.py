"""Labelled inputs of training and evaluation: entry-line files, feedback, hidden truth."""

from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.contract.reader import ReadResult, read_entry_lines
from models.errors import UserError
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


@dataclass(frozen=True)
class Merged:
    """Training lines with feedback merged, and what the merge left out.

    Attributes:
        frame: The lines.
        relabelled: Lines whose file labels feedback replaced.
        not_in_data: Feedback about lines that are not in the training data (skipped).
        under_review: Lines of the training data left out: their outcomes conflict.
    """

    frame: pd.DataFrame
    relabelled: int = 0
    not_in_data: int = 0
    under_review: int = 0


def merge_feedback(
    frame: pd.DataFrame,
    feedback: pd.DataFrame,
    under_review: Collection[tuple[str, int]] = (),
) -> Merged:
    """Training lines with feedback outcomes, which replace the same lines' file labels.

    Feedback relabels lines of the training data only: feedback about other lines (another
    data set's, a demo's) is counted and skipped. Lines under review are left out.
    """
    keys = _line_keys(frame)
    review = keys.isin({f"{e}#{n}" for e, n in under_review})
    if not len(feedback) and not review.any():
        return Merged(frame)
    fb_keys = _line_keys(feedback)
    known = fb_keys.isin(set(keys))
    kept = feedback[known.to_numpy()]
    replaced = keys.isin(set(fb_keys[known])) | review
    merged = pd.concat([frame[~replaced.to_numpy()], kept], ignore_index=True)
    return Merged(merged, len(kept), int((~known).sum()), int(review.sum()))


def sort_lines(frame: pd.DataFrame) -> pd.DataFrame:
    """Lines in time order (stable), renumbered from 0."""
    return frame.sort_values(LINE_ORDER, kind="stable").reset_index(drop=True)


class TruthMismatchError(UserError, ValueError):
    """The hidden-truth file does not cover the lines, or is not a truth file."""

    hint = (
        "Pass the truth.csv of the world the lines were simulated in: it covers every line "
        "of its train.csv and score.csv."
    )


def load_truth(path: Path, frame: pd.DataFrame) -> np.ndarray:
    """Hidden truth aligned with ``frame`` by (entry_id, line_no).

    Raises:
        TruthMismatchError: Lines the file lacks, or a file without the truth's columns
            (a user's mistake in ``--truth``: said in words by the CLI).
    """
    try:
        t = pd.read_csv(path, dtype={"entry_id": str})
        merged = (
            frame[["entry_id", "line_no"]]
            .astype({"entry_id": object})
            .merge(t.astype({"entry_id": object}), on=["entry_id", "line_no"], how="left")
        )
        missing = merged["true_violation"].isna()
    except KeyError as exc:
        raise TruthMismatchError(f"--truth {path}: not a truth file (no column {exc})") from exc
    if missing.any():
        raise TruthMismatchError(f"--truth {path}: no hidden truth for {int(missing.sum())} lines")
    return merged["true_violation"].to_numpy(dtype=float)
