"""``flrisk score --engine spark``: the same reader, features and model on Spark partitions.

Nothing is re-implemented for Spark. Each partition runs the contract reader's validation,
:class:`~models.scoring.scorer.Scorer` and the JSON serialisation of ``flrisk score`` through
``mapInArrow``, so a line gets the same score (to the bit) on either engine.

- The model travels as data, never as a pickled object: the driver broadcasts the LightGBM
  text model and the JSON feature state (already hash-verified when the bundle was loaded),
  and each Python worker rebuilds the :class:`Scorer` once, after the worker was forked, and
  keeps it in a module-level holder keyed by the bundle hash (workers are reused, so their
  distinct-value caches stay warm across tasks).
- Tips travel the same way: the driver reads them once (``flrisk score`` the store's, as the
  pandas engine does) and broadcasts their records; each worker indexes them once, so each
  line gets the same ``tip`` reasons and tip features as on the pandas engine.
- Lines are hash-partitioned by ``entry_id`` and sorted, and each partition is scored in
  batches that never split an entry, so entry-level features (lines per entry) and duplicate
  detection see whole entries.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import pyarrow as pa

from models.contract.columns import BadRowsError
from models.contract.duplicates import SeenKeys
from models.contract.mapping import load_mapping
from models.contract.reader import parquet_text
from models.contract.validate import validate_chunk
from models.features.matrix import FeatureState
from models.features.tips import TipIndex
from models.scoring.bundle import Calibration, ModelBundle
from models.scoring.scorer import Scorer
from pipelines.score_output import (
    OUTPUT_ARROW_SCHEMA,
    OUTPUT_COLUMNS,
    OUTPUT_SPARK_DDL,
    scores_frame,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

BATCH_LINES = 100_000  # Arrow batch size: big enough to amortise per-batch pandas overhead

# Per Python worker process: bundle hash -> Scorer. Filled lazily inside the worker.
_SCORERS: dict[str, Scorer] = {}
# Per Python worker process: hash of the tips' records -> their index.
_TIPS: dict[str, TipIndex] = {}


@dataclass(frozen=True)
class ShippedBundle:
    """A model bundle as plain text, the only form that crosses to executors."""

    bundle_hash: str
    model_text: str
    state_json: str
    calibration: dict[str, Any]
    thresholds: dict[str, float]
    reference_versions: dict[str, str]
    version: str
    tips_json: str = "[]"  # the tips' records (as the store gives them)

    @classmethod
    def of(cls, bundle: ModelBundle, version: str, tips: TipIndex | None = None) -> ShippedBundle:
        """Text form of a loaded (hash-verified) bundle, and of the tips to score with."""
        records = tips.records if tips is not None else []
        return cls(
            bundle_hash=bundle.bundle_hash,
            model_text=bundle.booster.model_to_string(num_iteration=-1),
            state_json=json.dumps(bundle.state.to_json()),
            calibration=dict(bundle.calibration.__dict__),
            thresholds=dict(bundle.thresholds),
            reference_versions=dict(bundle.reference_versions),
            version=version,
            tips_json=json.dumps(records, ensure_ascii=False, default=str),
        )

    def tips(self) -> TipIndex | None:
        """This process's index of the shipped tips (None without), built on first use."""
        if self.tips_json == "[]":
            return None
        key = hashlib.sha256(self.tips_json.encode()).hexdigest()
        index = _TIPS.get(key)
        if index is None:
            index = _TIPS[key] = TipIndex.from_tips(json.loads(self.tips_json))
        return index

    def scorer(self) -> Scorer:
        """This process's Scorer for the bundle, built on first use."""
        cached = _SCORERS.get(self.bundle_hash)
        if cached is not None:
            return cached
        bundle = ModelBundle(
            booster=lgb.Booster(model_str=self.model_text),
            state=FeatureState.from_json(json.loads(self.state_json)),
            calibration=Calibration(**self.calibration),
            thresholds=self.thresholds,
            reference_versions=self.reference_versions,
            # Spark already runs one task per core: one LightGBM thread per task.
            num_threads=1,
        )
        scorer = Scorer(bundle, version=self.version)
        _SCORERS[self.bundle_hash] = scorer
        return scorer


def spark_session(master: str = "local[*]", app: str = "flrisk-score") -> SparkSession:
    """A Spark session whose Python workers run this interpreter (the project's venv)."""
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(master)
        .appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", os.environ.get("FLRISK_SPARK_DRIVER_MEMORY", "2g"))
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(BATCH_LINES))
        .config("spark.python.worker.reuse", "true")
        .config("spark.executorEnv.PYSPARK_PYTHON", sys.executable)
        .getOrCreate()
    )


def read_lines(spark: SparkSession, data: list[Path]) -> DataFrame:
    """Entry-line files as a Spark frame (CSV is read as text, like the pandas reader)."""
    suffixes = {p.suffix.lower() for p in data}
    paths = [str(p) for p in data]
    if suffixes <= {".parquet", ".pq"} or all(p.is_dir() for p in data):
        return spark.read.parquet(*paths)
    if suffixes <= {".csv", ".txt"}:
        return spark.read.csv(paths, header=True, inferSchema=False, encoding="UTF-8")
    raise ValueError(f"cannot read {sorted(suffixes)} with Spark (use .csv or .parquet)")


def _score_batches(
    batches: Iterator[pa.RecordBatch],
    shipped: ShippedBundle,
    mapping_text: str | None,
    reasons: int,
    explain_share: float,
    entry_col: str,
) -> Iterator[pa.RecordBatch]:
    """Score one partition (sorted by entry) batch by batch, never splitting an entry."""
    cmap = _mapping(mapping_text)
    scorer = shipped.scorer()
    tips = shipped.tips()
    seen = SeenKeys()
    carry: pa.Table | None = None
    start = 1
    for batch in [*batches, None]:
        table = pa.Table.from_batches([batch]) if batch is not None else None
        if carry is not None:
            table = carry if table is None else pa.concat_tables([carry, table])
        if table is None or table.num_rows == 0:
            continue
        if batch is not None:
            # Hold back the last entry: its other lines may open the next batch.
            ids = table.column(entry_col).to_numpy(zero_copy_only=False)
            cut = int(np.searchsorted(ids == ids[-1], True)) if len(ids) else 0
            carry, table = table.slice(cut), table.slice(0, cut)
            if table.num_rows == 0:
                continue
        else:
            carry = None
        original = parquet_text(table)
        rows = np.arange(start, start + len(original), dtype=np.int64)
        start += len(original)
        result, _ = validate_chunk(
            original, rows, cmap, require_labels=False, source="partition", seen=seen
        )
        if len(result.bad_rows):
            raise BadRowsError(result.bad_rows, None)
        scored = scores_frame(
            scorer.score(
                result.lines,
                reasons=reasons,
                explain_share=explain_share,
                as_json=True,
                tips=tips,
            )
        )
        yield from pa.Table.from_pandas(
            scored[OUTPUT_COLUMNS], preserve_index=False, schema=OUTPUT_ARROW_SCHEMA
        ).to_batches()


def _mapping(text: str | None) -> Any:
    if text is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
        fh.write(text)
    try:
        return load_mapping(Path(fh.name))
    finally:
        os.unlink(fh.name)


def _entry_column(mapping_text: str | None) -> str:
    """The source column holding the entry id (the contract name without a mapping)."""
    cmap = _mapping(mapping_text)
    if cmap is None:
        return "entry_id"
    src = cmap.columns.get("entry_id")
    if src is None or src.source is None:
        raise ValueError("the Spark engine needs entry_id mapped from a source column")
    return str(src.source)


def score_frame(
    lines: DataFrame,
    bundle: ModelBundle,
    version: str,
    mapping: Path | None = None,
    reasons: int = 3,
    explain_share: float = 1.0,
    tips: TipIndex | None = None,
) -> DataFrame:
    """Scores of a Spark frame of entry lines (lazy: nothing runs until it is written).

    Args:
        lines: Entry lines in the contract layout (or the mapping's source layout).
        bundle: The verified model bundle (its text form is broadcast to the workers).
        version: Registered model version reported with each score.
        mapping: Column mapping TOML for a foreign layout.
        reasons: Reasons per explained line.
        explain_share: Share of each batch, riskiest first, that gets reasons.
        tips: The tips (``tip`` reasons, and the tip features of a model trained with them).

    Returns:
        ``entry_id, line_no, risk_score, risk_band, reasons (JSON text), model_version,
        reference_versions``.
    """
    spark = lines.sparkSession
    mapping_text = Path(mapping).read_text() if mapping else None
    entry_col = _entry_column(mapping_text)
    shipped = spark.sparkContext.broadcast(ShippedBundle.of(bundle, version, tips))
    n_parts = max(spark.sparkContext.defaultParallelism, 1)
    ordered = lines.repartition(n_parts, entry_col).sortWithinPartitions(entry_col)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _score_batches(
            batches, shipped.value, mapping_text, reasons, explain_share, entry_col
        )

    return ordered.mapInArrow(run, OUTPUT_SPARK_DDL)


def score_spark(
    bundle: ModelBundle,
    model_version_uri: str,
    data: list[Path],
    out: Path,
    mapping: Path | None,
    reasons: int,
    master: str,
    explain_share: float = 1.0,
    tips: TipIndex | None = None,
) -> int:
    """Score files on Spark and write partitioned Parquet to the folder ``out``.

    Returns:
        Lines scored.
    """
    spark = spark_session(master)
    scored = score_frame(
        read_lines(spark, [Path(p) for p in data]),
        bundle,
        model_version_uri,
        mapping,
        reasons,
        explain_share,
        tips,
    )
    scored.write.mode("overwrite").parquet(str(out))
    return int(spark.read.parquet(str(out)).count())
