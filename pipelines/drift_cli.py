"""``flrisk drift``: how far a file of entry lines has moved from a model's training lines.

Exit status, like ``diff``'s but with room for the error: 0 when no measure's PSI exceeds
the threshold, 3 when one does (each named with the bin that moved most), 2 when the
comparison could not be made (an unreadable file, an unknown model, a model without a drift
reference).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from models.contract.reader import iter_entry_lines
from models.errors import UserError
from models.scoring.drift import PRESUMPTION, DriftReport, drift_report
from models.scoring.lookup import fetch_bundle, resolve
from models.scoring.scorer import Scorer
from models.settings import get_settings
from pipelines.prefetch import prefetch

EXIT_MOVED = 3
EXIT_ERROR = 2


class NoDriftReferenceError(UserError):
    """The model was trained before drift monitoring: it holds no reference to compare with."""

    hint = "Retrain it (flrisk train): models trained since then store their drift reference."


class NoLinesError(UserError):
    """The file holds no valid line to compare."""

    hint = "Check the file (flrisk score reports its bad rows) or pass --allow-bad-rows."


def file_drift(
    scorer: Scorer,
    data: list[Path],
    mapping: Path | None,
    threshold: float,
    allow_bad_rows: bool,
    chunk_rows: int = 250_000,
) -> DriftReport:
    """Score the files chunk by chunk, add up their drift bins, and compare with the reference.

    Raises:
        NoDriftReferenceError: The model has no drift reference.
        NoLinesError: The files hold no valid line.
    """
    reference = scorer.bundle.drift
    if reference is None:
        raise NoDriftReferenceError(f"{scorer.version} has no drift reference")
    counts = [np.zeros(m.n_bins, dtype=np.int64) for m in reference.measures]
    for path in data:
        chunks = iter_entry_lines(
            path, mapping, chunk_rows=chunk_rows, allow_bad_rows=allow_bad_rows,
            quarantine_path=None,
        )  # fmt: skip
        for chunk in prefetch(chunks):
            if not len(chunk.lines):  # a header-only file, or a chunk of bad rows only
                continue
            bins = scorer.score(chunk.lines, reasons=0, observe=True).drift_bins()
            if bins is not None:
                for total, got in zip(counts, reference.counts(bins), strict=True):
                    total += got
    if not counts or counts[0].sum() == 0:
        raise NoLinesError(f"no valid line in {', '.join(str(p) for p in data)}")
    return drift_report(reference, counts, threshold)


def render(report: DriftReport, model: str, top: int = 0) -> str:
    """The report as text: a header, then one line per measure (the worst ``top``, or all)."""
    moved = report.moved()
    head = [
        f"drift of {report.lines:,} lines against {model}'s reference "
        f"({report.reference_lines:,} training lines); threshold PSI {report.threshold:g}",
        f"score PSI {report.psi('score'):.3f}",
    ]
    rate = report.rate(PRESUMPTION)
    if rate is not None:  # a model trained before the presumption rate was measured has none
        flag = "  MOVED" if report.psi(PRESUMPTION) > report.threshold else ""
        head.append(
            f"presumption rate {rate[0]:.1%} in training, {rate[1]:.1%} now "
            f"(PSI {report.psi(PRESUMPTION):.3f}){flag}"
        )
    if moved:
        head.append(f"moved ({len(moved)}): " + ", ".join(m.name for m in moved))
    else:
        head.append("nothing moved beyond the threshold")
    shown = report.measures[:top] if top else report.measures
    width = max((len(m.name) for m in shown), default=7)
    rows = [f"{'measure':<{width}}  {'psi':>7}  most moved bin (reference -> now)"]
    for m in shown:
        flag = "  MOVED" if m.psi > report.threshold else ""
        rows.append(
            f"{m.name:<{width}}  {m.psi:7.3f}  {m.moved}: "
            f"{m.reference_share:.1%} -> {m.share:.1%}{flag}"
        )
    return "\n".join([*head, "", *rows])


def drift_command(
    model_uri: str,
    data: list[Path],
    mapping: Path | None,
    threshold: float,
    allow_bad_rows: bool,
    top: int,
) -> int:
    """``flrisk drift``: print the report; the exit status (0 steady, 3 moved)."""
    settings = get_settings()
    resolved = resolve(model_uri, settings)
    scorer = Scorer(fetch_bundle(resolved, settings), version=resolved.uri)
    report = file_drift(scorer, data, mapping, threshold, allow_bad_rows)
    typer.echo(render(report, resolved.uri, top))
    return EXIT_MOVED if report.moved() else 0
