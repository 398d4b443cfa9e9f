"""CPU time of ``Scorer.prepare`` (signals and features) on new lines, for A/B runs.

The model is a registered bundle loaded warm; the signal memo is warmed with ``--warm`` lines
of the world's score file (as a server after some traffic), then batches of ``--size`` lines
never prepared before are validated as a JSON request's columns (``validate_lines``, so
they carry validation's factors) and prepared one after another. ``--dump`` prints one hash
of every batch's features (bytes and dtypes), signals and evidence instead: the same hash
from two checkouts means the same outputs.

    PYTHONPATH=<checkout> .venv/bin/python bench/prepare.py --size 1000 --reps 20 \
        [--bundle DIR] [--score-csv FILE] [--dump] [--profile]

Prints one line; writes nothing. Run old and new checkouts in turn (CPU time, not wall).
"""

from __future__ import annotations

import argparse
import cProfile
import glob
import hashlib
import io
import pstats
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SERVE = Path("/tmp/bench-serve")


def _columns(frame: pd.DataFrame) -> dict[str, list[str | None]]:
    return {c: [v or None for v in frame[c].tolist()] for c in frame.columns}


def _digest(prepared: list[Any]) -> str:
    h = hashlib.sha256()
    for p in prepared:
        for name in sorted(p.features):
            v = np.ascontiguousarray(p.features[name])
            h.update(f"{name}:{v.dtype}".encode() + v.tobytes())
        for name, col in p.signals.items():
            kind = f"{name}:{type(col).__name__}:{getattr(col, 'dtype', '')}"
            h.update(kind.encode() + repr(list(col)).encode())
        for name in sorted(p.evidence):
            h.update(name.encode() + repr(np.asarray(p.evidence[name]).tolist()).encode())
    return h.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--warm", type=int, default=20_000)
    parser.add_argument("--bundle", type=Path, default=None)
    parser.add_argument("--score-csv", type=Path, default=SERVE / "sim-1000000-7" / "score.csv")
    parser.add_argument("--dump", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    from models.contract.columns import LABELS
    from models.contract.validate import validate_lines
    from models.scoring.bundle import load_bundle
    from models.scoring.scorer import Scorer

    bundle = args.bundle or Path(
        glob.glob(str(SERVE / "data/mlartifacts/models/*/artifacts/artifacts/bundle"))[0]
    )
    scorer = Scorer(load_bundle(bundle, num_threads=1), version="bench")
    need = args.warm + args.size * args.reps
    frame = pd.read_csv(args.score_csv, dtype=str, keep_default_na=False, nrows=need)
    frame = frame[[c for c in frame.columns if c not in LABELS]]
    if args.warm:
        scorer.prepare(validate_lines(_columns(frame.iloc[: args.warm])).lines)
    starts = range(args.warm, need, args.size)
    batches = [validate_lines(_columns(frame.iloc[i : i + args.size])).lines for i in starts]
    if args.dump:
        print(args.size, args.reps, _digest([scorer.prepare(b) for b in batches]))
        return
    profile = cProfile.Profile() if args.profile else None
    spent = []
    for lines in batches:
        if profile:
            profile.enable()
        t0 = time.process_time()
        scorer.prepare(lines)
        spent.append((time.process_time() - t0) * 1000)
        if profile:
            profile.disable()
    ms = np.array(spent)
    print(
        f"size={args.size} reps={args.reps} CPU ms per batch: median {np.median(ms):.3f}"
        f" min {ms.min():.3f} p90 {np.percentile(ms, 90):.3f}"
    )
    if profile:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())


if __name__ == "__main__":
    main()
