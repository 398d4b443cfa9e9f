"""Spark ``local[2]`` against the pandas engine on the same Parquet lines (same model).

.venv/bin/python bench/spark.py [--lines N]
"""

from __future__ import annotations

import argparse
import shutil
import time

from _common import CACHE, bundle_for, isolate, parquet_lines, row, simulated, write


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    args = parser.parse_args()
    isolate()
    sim = simulated(args.lines)
    bundle = bundle_for(sim)
    data = parquet_lines(sim)

    import pyarrow.parquet as pq

    from models.scoring.scorer import Scorer
    from pipelines.score import score_files
    from pipelines.spark_score import read_lines, score_frame, spark_session

    n = pq.ParquetFile(data).metadata.num_rows
    t0 = time.perf_counter()
    score_files(
        Scorer(bundle, version="bench"),
        [data],
        CACHE / "pandas-scores.parquet",
        None,
        3,
        0.05,
        False,
    )
    pandas_rate = n / (time.perf_counter() - t0)
    spark = spark_session("local[2]", app="flrisk-bench")
    out = CACHE / "spark-scores"
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    score_frame(
        read_lines(spark, [data]), bundle, "bench", reasons=3, explain_share=0.05
    ).write.mode("overwrite").parquet(str(out))
    spark_rate = n / (time.perf_counter() - t0)
    spark.stop()
    write(
        "spark",
        [
            row(
                "Spark local[2] scoring (3 reasons, riskiest 5%)",
                spark_rate,
                "lines/s",
                alternative="pandas engine",
                alt_value=pandas_rate,
            )
        ],
        lines=n,
    )


if __name__ == "__main__":
    main()
