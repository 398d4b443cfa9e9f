"""CPU time of the reason texts (``reasons_for``) on the lines of a scored batch.

Every line of a batch of the simulated world's unseen lines is explained (3 reasons each
way, as a request asks) by the bench's model; the inputs ``Scorer.score`` hands to
``reasons_for`` are kept, and the call is timed on them alone (CPU time, median of the
repeats), with a digest of its output so two versions of the code can be compared on the
same lines (run this script with ``PYTHONPATH`` at the other version's worktree).

    .venv/bin/python bench/reasons.py [--lines 2000 50000] [--repeats 9] [--world 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from typing import Any

from _common import CACHE, all_lines, bundle_for, simulated


def _inputs(scorer: Any, lines: Any) -> tuple[Any, ...]:
    """What ``Scorer.score`` passes to ``reasons_for`` for these lines, columns read."""
    import models.scoring.scorer as scoring

    kept: list[tuple[Any, ...]] = []
    real = scoring.reasons_for

    def keep(*args: Any) -> Any:
        kept.append(args)
        return real(*args)

    scoring.reasons_for = keep  # type: ignore[assignment]
    try:
        scorer.score(lines, reasons=3)
    finally:
        scoring.reasons_for = real
    contrib, names, context, k, presumption = kept[0]
    # Every column a reason reads, taken now: the timed calls read the same arrays.
    columns = {c: context[c] for c in context}
    return contrib, names, columns, k, presumption


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, nargs="+", default=[2000, 50000])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--world", type=int, default=1_000_000)
    args = parser.parse_args()
    from models.contract.batch import Lines
    from models.scoring.explain import reasons_for
    from models.scoring.scorer import Scorer

    sim = simulated(args.world)
    scorer = Scorer(bundle_for(sim))
    frame = all_lines(sim).iloc[::-1].reset_index(drop=True)  # the score.csv lines first
    print(f"world {sim} (cache {CACHE})")
    for n in args.lines:
        contrib, names, columns, k, presumption = _inputs(
            scorer, Lines.from_frame(frame.iloc[:n].reset_index(drop=True))
        )
        times = []
        for _ in range(args.repeats):
            t0 = time.process_time()
            out = reasons_for(contrib, names, dict(columns), k, presumption)
            times.append(time.process_time() - t0)
        text = json.dumps(out, sort_keys=True, ensure_ascii=False).encode()
        n_reasons = sum(len(r) for r in out)
        print(
            f"{n:>7,} lines: reasons_for {1000 * statistics.median(times):8.1f} ms CPU "
            f"(min {1000 * min(times):.1f}, max {1000 * max(times):.1f}, {args.repeats} calls); "
            f"{n_reasons:,} reasons, {1e6 * statistics.median(times) / max(n_reasons, 1):.1f} "
            f"us each; digest {hashlib.sha256(text).hexdigest()[:16]}"
        )


if __name__ == "__main__":
    main()
