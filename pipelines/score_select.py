"""``flrisk score --select N``: mark the lines to examine in a scores file.

The selection is :func:`models.selection.select` (the riskiest lines and an exploration
share drawn at random from the rest), the same function the workbench and file jobs use.
The scores file gets a ``selection`` column (``risk``, ``random_check`` or empty).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.errors import UserError
from models.selection import DEFAULT_EXPLORE, select


class SelectOptionError(UserError, ValueError):
    """``--select`` options that do not go together."""

    hint = "flrisk score --select N [--explore 0.05] [--seed S] [--stratify sector]"


@dataclass(frozen=True)
class Selecting:
    """What ``--select``, ``--explore``, ``--seed`` and ``--stratify`` asked for."""

    n: int
    explore: float = DEFAULT_EXPLORE
    seed: int = 0
    stratify: bool = False


def hs_chapters(hts: object) -> np.ndarray:
    """The HS chapter (first two digits) of each HTS code, "" when unknown: the sector."""
    s = pd.Series(np.asarray(hts, dtype=object)).astype("string").fillna("")
    return s.str.replace(".", "", regex=False).str[:2].to_numpy(dtype=object)


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype={"entry_id": str, "reasons": str}, keep_default_na=False)


def mark_selection(
    out: Path, n: int, explore: float, seed: int, strata: np.ndarray | None = None
) -> str:
    """Add the ``selection`` column to the scores file ``out`` (rewritten atomically).

    Args:
        out: The scores file (.csv or .parquet).
        n: Lines to select.
        explore: Exploration share (0 allowed).
        seed: Seed of the random draw.
        strata: The sector (HS chapter) of each line, in the file's order, or None.

    Returns:
        What was selected and its expected cost, in one paragraph for the terminal.
    """
    frame = _read(out)
    scores = pd.to_numeric(frame["risk_score"], errors="coerce").to_numpy(dtype=float)
    presumed = (
        frame["presumption"].fillna("").astype(str).to_numpy() != ""
        if "presumption" in frame
        else None
    )
    sel = select(scores, n, explore, seed, strata, presumed)
    frame["selection"] = sel.kind
    tmp = out.with_name(out.name + ".part")
    if out.suffix == ".parquet":
        frame.to_parquet(tmp, index=False)
    else:
        frame.to_csv(tmp, index=False)
    tmp.replace(out)
    cutoff = f"{scores[sel.risk[-1]]:.4f}" if len(sel.risk) else "none"
    return (
        f"selected {sel.capacity} lines: {len(sel.risk)} riskiest (cut-off score {cutoff}) "
        f"and {len(sel.random)} random checks (explore {explore:g}, seed {seed}"
        f"{', spread over HS chapters' if strata is not None else ''}); "
        f"expected violations found {sel.expected_found:.2f}; expected cost of the random "
        f"checks {sel.expected_cost:.2f} violations forgone"
    )
