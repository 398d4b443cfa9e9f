"""Scoring throughput, reasons against SHAP, and 10M lines through ``flrisk score``.

- score-only lines/s (target 200,000) and with 3 reasons for the riskiest 5% (target
  100,000), warm caches, in process;
- reasons: LightGBM's exact TreeSHAP (``pred_contrib``) as flrisk uses it, against
  ``shap.TreeExplainer`` on the same booster and rows;
- ``--big``: 10,000,000 lines (the simulated lines repeated under new entry ids, as Parquet)
  through the ``flrisk score`` command, wall time and peak RSS: score only, target 180 s and
  4 GiB; 3 reasons for the riskiest 5%, target 60 s and 4 GiB on 2 cores (issue 23).

    .venv/bin/python bench/score.py [--lines N] [--big] [--big-lines 10000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import (
    CACHE,
    all_lines,
    bundle_for,
    isolate,
    parquet_lines,
    row,
    simulated,
    write,
)

# Seconds for 10,000,000 lines through `flrisk score` on 2 cores.
BIG_SCORE_ONLY_S, BIG_REASONS_S = 180.0, 60.0


def big_file(src: Path, lines: int) -> Path:
    """``lines`` lines made of copies of ``src`` with the entry ids renamed per copy."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    out = CACHE / f"lines-{lines}.parquet"
    if out.is_file():
        return out
    table = pq.read_table(src)
    with pq.ParquetWriter(out, table.schema) as writer:
        done, copy = 0, 0
        while done < lines:
            part = table.slice(0, min(table.num_rows, lines - done))
            ids = pc.binary_join_element_wise(part["entry_id"], pa.scalar(f"R{copy}"), "-")
            writer.write_table(part.set_column(0, "entry_id", ids), row_group_size=500_000)
            done += part.num_rows
            copy += 1
    return out


def tree_rss(pid: int, cpu: dict[int, float] | None = None) -> int:
    """Resident bytes of a process and all its descendants (its scoring workers), now.

    ``cpu``, if given, receives each process's CPU seconds so far (user + system), by pid.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
            if cpu is not None:
                times = proc.cpu_times()
                cpu[proc.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def big_run(
    sim: Path, big: Path, lines: int, share: float, workers: int | None = None
) -> list[dict[str, object]]:
    """The code path of ``flrisk score`` (score_files on the verified bundle) in a fresh
    process, so the peak RSS is that run's alone: the sum over the process and its worker
    processes, sampled every 0.2 s (``ru_maxrss`` would give the largest one only).
    ``workers`` None: as many as ``flrisk score`` starts by default for this file."""
    if workers is None:
        from pipelines.score_parts import auto_workers

        workers = auto_workers([big])
    out = CACHE / "big-scores.parquet"
    child = (
        "import sys; from pathlib import Path; from models.scoring.bundle import load_bundle;"
        "from models.scoring.scorer import Scorer; from pipelines.score import score_files;"
        "s = Scorer(load_bundle(Path(sys.argv[1]), num_threads=2), version='bench');"
        "k = 3 if float(sys.argv[4]) > 0 else 0;"
        "print(score_files(s, [Path(sys.argv[2])], Path(sys.argv[3]), None, k,"
        " float(sys.argv[4]), False, workers=int(sys.argv[5])))"
    )
    cmd = [
        *(sys.executable, "-c", child, str(sim / "bundle"), str(big), str(out), str(share)),
        str(workers),
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, "TQDM_DISABLE": "1"})
    peak = 0
    cpu: dict[int, float] = {}  # CPU seconds by process, last sampled (0.2 s before its end)
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid, cpu))
        time.sleep(0.2)
    status = proc.returncode
    seconds = time.perf_counter() - t0
    if status != 0:
        raise RuntimeError(f"big run failed with status {status}")
    print(f"  CPU seconds by process: {', '.join(f'{v:.1f}' for v in cpu.values())}")
    what = f"3 reasons for riskiest {share:.0%}" if share > 0 else "score only"
    if workers:
        what += f", {workers} workers"
    budget = BIG_REASONS_S if share > 0 else BIG_SCORE_ONLY_S
    return [
        row(
            f"{lines:,} lines via flrisk score path, {what}",
            seconds,
            "s",
            target=budget * lines / 10_000_000,
            higher_is_better=False,
        ),
        row(
            "  peak RSS of that run (the process and its workers)",
            peak / 2**30,
            "GiB",
            target=4.0,
            higher_is_better=False,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--shap-rows", type=int, default=2_000)
    parser.add_argument("--big", action="store_true", help="also score 10M lines via flrisk score")
    parser.add_argument("--big-lines", type=int, default=10_000_000)
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="scoring worker processes of the big runs (default: flrisk score's own choice)",
    )
    parser.add_argument(
        "--big-shares",
        type=float,
        nargs="+",
        default=[0.0, 0.05],
        help="explain shares of the big runs (0: score only)",
    )
    args = parser.parse_args()
    isolate()
    sim = simulated(args.lines)
    bundle = bundle_for(sim)
    frame = all_lines(sim)
    from models.contract.batch import Lines
    from models.features.matrix import build_features, model_frame
    from models.scoring.scorer import Scorer

    chunks = [
        Lines.from_frame(frame.iloc[i : i + 250_000].reset_index(drop=True))
        for i in range(0, len(frame), 250_000)
    ]
    scorer = Scorer(bundle)
    for c in chunks:  # warm the caches, as a long-running scorer has them
        scorer.score(c, reasons=0)

    def rate(**kw: object) -> float:
        # What flrisk score does per chunk: score, then the output frame for the file.
        t0 = time.perf_counter()
        for c in chunks:
            scorer.score(c, as_json=True, **kw).to_frame()  # type: ignore[arg-type]
        return len(frame) / (time.perf_counter() - t0)

    score_only = rate(reasons=0)
    share5 = rate(reasons=3, explain_share=0.05)
    sample = Lines.from_frame(frame.iloc[: args.shap_rows])
    X = model_frame(build_features(sample, bundle.state, scorer.cache), bundle.state)
    t0 = time.perf_counter()
    ours = bundle.booster.predict(X, pred_contrib=True, num_threads=bundle.num_threads)
    lgb_rate = len(X) / (time.perf_counter() - t0)
    import shap

    t0 = time.perf_counter()
    values = shap.TreeExplainer(bundle.booster).shap_values(X)
    shap_rate = len(X) / (time.perf_counter() - t0)
    agree = float(np.abs(np.asarray(values) - np.asarray(ours)[:, :-1]).max())
    t0 = time.perf_counter()
    scorer.score(sample, reasons=3, as_json=True)
    full_rate = len(sample) / (time.perf_counter() - t0)
    rows = [
        row("score only (warm)", score_only, "lines/s", target=200_000),
        row(
            "score + 3 reasons for riskiest 5%",
            share5,
            "lines/s",
            target=100_000,
            alternative="reasons for every line",
            alt_value=full_rate,
        ),
        row(
            "SHAP contributions (LightGBM pred_contrib)",
            lgb_rate,
            "lines/s",
            alternative="shap.TreeExplainer",
            alt_value=shap_rate,
        ),
    ]
    extra: dict[str, object] = {"lines": len(frame), "shap_max_abs_diff": agree}
    if args.big:
        big = big_file(parquet_lines(sim), args.big_lines)
        for share in args.big_shares:
            rows += big_run(sim, big, args.big_lines, share, args.workers)
    write("score", rows, **extra)
    for r in rows:
        if "target" in r:
            verdict = "PASS" if r["passed"] else "FAIL"
            print(f"  {r['measure']}: {r['value']:,.4g} {r['unit']} (target {r['target']:,.4g}) "
                  f"{verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
