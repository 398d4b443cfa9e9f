"""Training cost against data size: time and peak RSS at several sizes, log-log slope.

Each size is trained in a fresh subprocess (``pipelines.fit.fit``, the code ``flrisk
train`` runs, without the registry) so its peak RSS is its own. A slope of 1 on log-log
axes is linear growth; the target is no worse than linear, and 1M lines under 5 minutes.

    .venv/bin/python bench/train_scale.py [--sizes 100000 300000 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import numpy as np
from _common import row, simulated, write

CHILD = """
import json, resource, sys, time, contextlib, io
from models.contract.reader import read_entry_lines
from pipelines.config import load_config
from pipelines.fit import fit
frame = read_entry_lines(sys.argv[1] + "/train.csv", require_labels=True).frame
t0 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    fit(frame, {}, load_config(None), None, num_threads=2)
print(json.dumps({"seconds": time.perf_counter() - t0, "lines": len(frame),
                  "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    args = parser.parse_args()
    runs = []
    for size in args.sizes:
        sim = simulated(size)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(sim)], check=True, capture_output=True, text=True
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"train_scale: {runs[-1]}", flush=True)
    lines = np.array([r["lines"] for r in runs], dtype=float)
    secs = np.array([r["seconds"] for r in runs])
    mem = np.array([r["peak_gib"] for r in runs])
    slope_t = float(np.polyfit(np.log(lines), np.log(secs), 1)[0]) if len(runs) > 1 else np.nan
    slope_m = float(np.polyfit(np.log(lines), np.log(mem), 1)[0]) if len(runs) > 1 else np.nan
    largest = runs[-1]
    # 1M-line budget (5 min) scaled linearly to the largest size measured.
    budget = 300.0 * args.sizes[-1] / 1_000_000
    rows = [
        row(
            f"train {r['lines']:,} lines",
            r["seconds"],
            "s",
            target=budget if r is largest else None,
            higher_is_better=False,
        )
        for r in runs
    ]
    rows += [
        row(f"  peak RSS at {r['lines']:,} lines", r["peak_gib"], "GiB", higher_is_better=False)
        for r in runs
    ]
    rows.append(
        row(
            "time growth (log-log slope)",
            slope_t,
            "",
            target=1.1,
            alternative="linear",
            alt_value=1.0,
            higher_is_better=False,
        )
    )
    rows.append(
        row(
            "memory growth (log-log slope)",
            slope_m,
            "",
            alternative="linear",
            alt_value=1.0,
            higher_is_better=False,
        )
    )
    write("train_scale", rows, runs=runs)


if __name__ == "__main__":
    main()
