"""Benchmark: time `pipelines.simulate.run` on 1,000,000 lines against the 2-minute target.

Usage: .venv/bin/python bench/simulate.py [--lines N] [--seed S]
Prints lines/s and the ratio to the target; writes bench/results/simulate.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from pathlib import Path

from pipelines.simulate import run

TARGET_SECONDS = 120.0
TARGET_LINES = 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=TARGET_LINES)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            summary = run(Path(tmp), args.lines, args.seed)
        seconds = time.perf_counter() - started
        size_mb = sum(p.stat().st_size for p in Path(tmp).iterdir()) / 1e6
    # Scale the target with the size so a smaller smoke run is still comparable.
    budget = TARGET_SECONDS * args.lines / TARGET_LINES
    result = {
        "benchmark": "simulate",
        "lines": args.lines,
        "seconds": round(seconds, 2),
        "lines_per_second": round(args.lines / seconds),
        "target_seconds": round(budget, 2),
        "ratio_to_target": round(seconds / budget, 3),
        "passed": seconds <= budget,
        "output_mb": round(size_mb, 1),
        "cpus": os.cpu_count(),
        "violation_rate": summary.violation_rate,
    }
    out = Path(__file__).parent / "results" / "simulate.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"simulate: {args.lines:,} lines in {seconds:.1f} s = {result['lines_per_second']:,} "
        f"lines/s; {result['ratio_to_target']:.2f} x the {budget:.0f} s target "
        f"({'PASS' if result['passed'] else 'FAIL'}); {size_mb:.0f} MB written"
    )


if __name__ == "__main__":
    main()
