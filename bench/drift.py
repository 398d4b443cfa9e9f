"""What drift monitoring costs the scorer and ``/metrics``.

- one line scored with and without its drift bins (``Scorer.score(observe=True)``), runs
  interleaved, medians: what the API's latency pays;
- a 10,000-line batch, the same;
- the PSI of every measure over a full 10,000-line window (what a ``/metrics`` scrape adds).

    .venv/bin/python bench/drift.py [--lines N] [--reps R] [--model-dir BUNDLE]

A bundle from before drift monitoring gets a reference fitted here, on the scored lines.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import all_lines, bundle_for, row, simulated, write


def _median_pair(
    fn_a: Callable[[], object], fn_b: Callable[[], object], reps: int
) -> tuple[float, float]:
    a, b = [], []
    for _ in range(reps):  # interleaved: load on the shared machine hits both alike
        t0 = time.perf_counter()
        fn_a()
        a.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        fn_b()
        b.append(time.perf_counter() - t0)
    return statistics.median(a), statistics.median(b)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=40_000)
    parser.add_argument("--reps", type=int, default=300)
    parser.add_argument("--model-dir", type=Path, default=None)
    args = parser.parse_args()
    from models.contract.batch import Lines
    from models.features.signals import derive_signals
    from models.scoring.bundle import load_bundle
    from models.scoring.drift import drift_columns, drift_report, fit_reference
    from models.scoring.scorer import Scorer

    sim = simulated(args.lines)
    bundle = load_bundle(args.model_dir) if args.model_dir else bundle_for(sim)
    frame = all_lines(sim).head(10_000).reset_index(drop=True)
    batch = Lines.from_frame(frame)
    scorer = Scorer(bundle)
    if bundle.drift is None:
        from models.features.matrix import build_features

        signals = derive_signals(batch)
        X = build_features(batch, bundle.state, signals=signals)
        got = scorer.score(batch, reasons=0)
        cols = drift_columns(batch, signals, X, bundle.state, got.risk_score, got.presumption)
        bundle.drift = fit_reference(cols, bundle.state, ("", ""))
    one = batch.take(np.array([0]))
    scorer.score(one, reasons=3, observe=True)  # warm caches
    plain1, obs1 = _median_pair(
        lambda: scorer.score(one, reasons=3), lambda: scorer.score(one, reasons=3, observe=True),
        args.reps,
    )  # fmt: skip
    # What the API pays after its answer is sent: the bins of the line.
    kept = scorer.score(one, reasons=3, observe=True)
    _, bins1 = _median_pair(lambda: None, kept.drift_bins, args.reps)
    plain_b, obs_b = _median_pair(
        lambda: scorer.score(batch, reasons=0),
        lambda: scorer.score(batch, reasons=0, observe=True).drift_bins(),
        5,
    )
    bins = scorer.score(batch, reasons=0, observe=True).drift_bins()
    ref = bundle.drift
    assert bins is not None
    t = []
    for _ in range(20):
        t0 = time.perf_counter()
        drift_report(ref, ref.counts(bins))
        t.append(time.perf_counter() - t0)
    rows = [
        row("one line with reasons, observed (bins deferred)", obs1 * 1e3, "ms",
            higher_is_better=False, alternative="not observed", alt_value=plain1 * 1e3),
        row("drift bins of one line (after the answer)", bins1 * 1e3, "ms",
            higher_is_better=False),
        row("10,000 lines, with drift bins", obs_b, "s", higher_is_better=False,
            alternative="without", alt_value=plain_b),
        row("PSI of every measure over a 10,000-line window", statistics.median(t) * 1e3, "ms",
            higher_is_better=False),
    ]  # fmt: skip
    write("drift", rows, measures=len(ref.measures))


if __name__ == "__main__":
    main()
