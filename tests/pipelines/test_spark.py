"""Spark engine and MLflow ``spark_udf``: the same scores as the pandas engine, to the bit."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pytest

pytest.importorskip("pyspark")
pytestmark = pytest.mark.spark

SPARK_LINES = 3_000


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    from pipelines.spark_score import spark_session

    session = spark_session("local[2]", app="flrisk-tests")
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "1000")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def lines_file(registered_model: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few thousand scoring lines as Parquet (typed columns, as a warehouse would hold)."""
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    src = registered_model.sim_dir / "score.csv"
    codes = ("entry_id", "hts_code", "importer_id", "manufacturer_id", "port_of_entry")
    options = pv.ConvertOptions(
        strings_can_be_null=True, column_types={c: pa.string() for c in codes}
    )
    table = pv.read_csv(src, convert_options=options)
    path = tmp_path_factory.mktemp("spark") / "lines.parquet"
    pq.write_table(table.slice(0, SPARK_LINES), path, row_group_size=700)
    return path


@pytest.fixture(scope="module")
def pandas_scores(registered_model: SimpleNamespace, lines_file: Path) -> pd.DataFrame:
    from models.scoring.lookup import fetch_bundle, resolve
    from models.scoring.scorer import Scorer
    from pipelines.score import score_files

    settings = registered_model.settings
    resolved = resolve("models:/flrisk@champion", settings)
    scorer = Scorer(fetch_bundle(resolved, settings), version=resolved.uri)
    out = lines_file.with_name("pandas_scores.parquet")
    n = score_files(scorer, [lines_file], out, None, 3, 1.0, False)
    assert n == SPARK_LINES
    return pd.read_parquet(out)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["entry_id", "line_no"]).reset_index(drop=True)


def test_spark_engine_equals_pandas(
    spark: Any, registered_model: SimpleNamespace, lines_file: Path, pandas_scores: pd.DataFrame
) -> None:
    from models.scoring.lookup import fetch_bundle, resolve
    from pipelines.spark_score import read_lines, score_frame

    settings = registered_model.settings
    resolved = resolve("models:/flrisk@champion", settings)
    bundle = fetch_bundle(resolved, settings)
    out = lines_file.with_name("spark_scores")
    scored = score_frame(read_lines(spark, [lines_file]), bundle, resolved.uri, reasons=3)
    scored.write.mode("overwrite").parquet(str(out))
    got = _keyed(pd.read_parquet(out))
    want = _keyed(pandas_scores)
    assert len(list(out.glob("part-*.parquet"))) >= 2
    assert got["risk_score"].tolist() == want["risk_score"].tolist()  # exact float equality
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert json.loads(got["reasons"].iloc[0])[0]["text"]


def test_spark_udf_equals_pandas(
    spark: Any, registered_model: SimpleNamespace, lines_file: Path, pandas_scores: pd.DataFrame
) -> None:
    import mlflow.pyfunc
    from pyspark.sql import functions as F  # noqa: N812 (the usual Spark alias)

    from models.contract.columns import CONTRACT_COLUMNS

    frame = spark.read.parquet(str(lines_file))
    cols = [c for c in CONTRACT_COLUMNS if c in frame.columns]
    text = frame.select(*[F.col(c).cast("string").alias(c) for c in cols])
    udf = mlflow.pyfunc.spark_udf(spark, "models:/flrisk@champion", env_manager="local")
    # The pyfunc sees one Arrow batch at a time: whole entries per partition and one batch
    # per partition, as entry-level features (lines per entry) need them.
    spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "100000")
    scored = text.repartition(2, "entry_id").withColumn("s", udf(F.struct(*cols)))
    got = _keyed(
        scored.select(
            F.col("s.entry_id").alias("entry_id"),
            F.col("s.line_no").alias("line_no"),
            F.col("s.risk_score").alias("risk_score"),
            F.col("s.risk_band").alias("risk_band"),
        ).toPandas()
    )
    want = _keyed(pandas_scores)
    assert len(got) == SPARK_LINES
    assert got["risk_score"].tolist() == want["risk_score"].tolist()
    assert got["risk_band"].tolist() == want["risk_band"].tolist()


def test_spark_engine_gives_the_same_tip_reasons_and_features(
    spark: Any, registered_model: SimpleNamespace, lines_file: Path
) -> None:
    from models.scoring.lookup import fetch_bundle, resolve
    from models.scoring.scorer import Scorer
    from models.scoring.tip_reasons import TipIndex
    from pipelines.score import score_files
    from pipelines.spark_score import read_lines, score_frame

    settings = registered_model.settings
    resolved = resolve("models:/flrisk@champion", settings)
    bundle = fetch_bundle(resolved, settings)
    makers = pd.read_parquet(lines_file)["manufacturer_name"].dropna().value_counts().index
    statuses = ("corroborated", "new", "dismissed")
    tips = TipIndex.from_tips(
        {"id": i + 1, "received_date": "2020-01-02", "source_type": "ngo", "status": status,
         "duplicate_of": None, f"{status}_at": "2020-02-01",
         "parties": [{"role": "manufacturer", "name": str(name)}]}
        for i, (name, status) in enumerate(zip(makers[:3], statuses, strict=True))
    )  # fmt: skip
    want_path = lines_file.with_name("pandas_tip_scores.parquet")
    scorer = Scorer(bundle, version=resolved.uri)
    score_files(scorer, [lines_file], want_path, None, 3, 1.0, False, tips=tips)
    out = lines_file.with_name("spark_tip_scores")
    score_frame(
        read_lines(spark, [lines_file]), bundle, resolved.uri, reasons=3, tips=tips
    ).write.mode("overwrite").parquet(str(out))
    got, want = _keyed(pd.read_parquet(out)), _keyed(pd.read_parquet(want_path))
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    said = [r for text in got["reasons"] for r in json.loads(text) if r["code"] == "tip"]
    assert {r["evidence"]["status"] for r in said} == {"corroborated", "new"}  # not dismissed
    assert any(r["contribution"] != 0 for r in said)
