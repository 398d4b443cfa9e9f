"""Border simulator: a labelled history of entry lines with a hidden forced-labour truth.

``run`` writes ``train.csv`` (labelled history), ``score.csv`` (the last months, no
labels), ``truth.csv`` (every line's true violation and mechanism), ``actors.csv`` (the
simulated manufacturers), ``tips.csv`` (dated allegations naming them, for ``flrisk train
--tips``), ``summary.json`` and, with ``bad_rows``, ``defects.csv``.
"""

from __future__ import annotations

import time
from pathlib import Path

from pipelines.simulate.writer import SimulationSummary

__all__ = ["SimulationSummary", "run"]


def run(
    out: Path,
    lines: int,
    seed: int,
    scenario_path: Path | None = None,
    bad_rows: float = 0.0,
) -> SimulationSummary:
    """Simulate ``lines`` entry lines and write them to ``out``.

    Args:
        out: Output folder (created if missing).
        lines: Number of entry lines over the whole period (train + score).
        seed: Seed of the single numpy Generator: same seed, byte-identical files.
        scenario_path: TOML merged over the default scenario.
        bad_rows: Fraction of train rows to damage (recorded in ``defects.csv``).

    Returns:
        The summary of rates, also written as ``summary.json`` and printed.
    """
    from pipelines.simulate.pipeline import simulate

    started = time.perf_counter()
    summary = simulate(Path(out), lines, seed, scenario_path, bad_rows)
    summary.seconds = round(time.perf_counter() - started, 2)
    (Path(out) / "summary.json").write_text(summary.to_json() + "\n", encoding="utf-8")
    print(summary.format())
    return summary
