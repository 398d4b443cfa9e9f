"""Feature building and entity matching throughput.

- ``build_features`` lines/s with a cold cache (first sight of every name and address) and a
  warm one (the next file from the same traders), against the target of 100,000 lines/s;
- entity matching: the distinct-value, cached ``EntityMatcher`` against the naive loop a
  user would write (``rapidfuzz.process.extractOne`` per line, no cache, no dedup).

    .venv/bin/python bench/features.py [--lines N]
"""

from __future__ import annotations

import argparse
import time

from _common import all_lines, bundle_for, row, simulated, write

TARGET_WARM = 100_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--naive-sample", type=int, default=3_000)
    args = parser.parse_args()
    sim = simulated(args.lines)
    bundle = bundle_for(sim)
    frame = all_lines(sim)
    from models.contract.batch import Lines
    from models.features.cache import SignalCache
    from models.features.matrix import build_features

    chunks = [
        Lines.from_frame(frame.iloc[i : i + 250_000].reset_index(drop=True))
        for i in range(0, len(frame), 250_000)
    ]

    cache = SignalCache()
    rates = []
    for _ in range(2):  # first pass: cold caches; second: warm
        t0 = time.perf_counter()
        for c in chunks:
            build_features(c, bundle.state, cache)
        rates.append(len(frame) / (time.perf_counter() - t0))

    import pandas as pd
    from rapidfuzz import fuzz, process

    from models.reference.entities import EntityMatcher, normalize_name

    names = frame["manufacturer_name"].fillna("").astype(str)
    t0 = time.perf_counter()
    values = names.to_numpy()
    distinct = [str(v) for v in pd.unique(values)]  # as the signals do: each name once,
    found = dict(zip(distinct, EntityMatcher().match(distinct), strict=True))
    _ = [found[v] for v in values]  # then each line's answer
    ours = len(names) / (time.perf_counter() - t0)
    choices = EntityMatcher()._choice_text
    sample = names.sample(min(args.naive_sample, len(names)), random_state=1).tolist()
    t0 = time.perf_counter()
    for name in sample:
        process.extractOne(normalize_name(name), choices, scorer=fuzz.token_sort_ratio)
    naive = len(sample) / (time.perf_counter() - t0)
    write(
        "features",
        [
            row("build_features, cold cache", rates[0], "lines/s"),
            row(
                "build_features, warm cache",
                rates[1],
                "lines/s",
                target=TARGET_WARM,
                alternative="cold cache",
                alt_value=rates[0],
            ),
            row(
                "entity matching (cold matcher)",
                ours,
                "lines/s",
                alternative="naive extractOne per line",
                alt_value=naive,
            ),
        ],
        lines=len(frame),
    )


if __name__ == "__main__":
    main()
