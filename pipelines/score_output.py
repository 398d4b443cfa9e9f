"""The scores file's columns, shared by the pandas and Spark engines of ``flrisk score``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from models.scoring.presumption import presumed_first
from models.scoring.scorer import Scores

# One line's score as both engines write it (reasons as JSON text).
OUTPUT_ARROW_SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),
        ("line_no", pa.int64()),
        ("risk_score", pa.float64()),
        ("risk_band", pa.string()),
        ("presumption", pa.string()),
        ("reasons", pa.string()),
        ("model_version", pa.string()),
        # The reference tables matched (JSON: per table its version, and the snapshot).
        ("reference_versions", pa.string()),
    ]
)
OUTPUT_COLUMNS = list(OUTPUT_ARROW_SCHEMA.names)

_SPARK_TYPES = {pa.string(): "string", pa.int64(): "long", pa.float64(): "double"}
# The same columns as a Spark DDL schema (the output schema of ``mapInArrow``).
OUTPUT_SPARK_DDL = ", ".join(f"{f.name} {_SPARK_TYPES[f.type]}" for f in OUTPUT_ARROW_SCHEMA)


def rank_file(path: Path) -> None:
    """Rewrite a scores file in ranking order: presumed lines first, by score within.

    The file is read whole (its columns are small but for the reasons, which are mostly
    ``[]`` when only the riskiest share is explained), reordered and replaced atomically.
    """
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        table = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=OUTPUT_ARROW_SCHEMA, strings_can_be_null=False
            ),
        )
    order = presumed_first(
        table.column("presumption").to_numpy(zero_copy_only=False),
        table.column("risk_score").to_numpy(),
    )
    ranked = table.take(pa.array(order))
    tmp = path.with_name(path.name + ".ranking")
    if path.suffix == ".parquet":
        pq.write_table(ranked, tmp)
    else:
        pacsv.write_csv(ranked, tmp)
    tmp.replace(path)


def serialised(scored: pd.DataFrame) -> pd.DataFrame:
    """The scores file's columns of :func:`scores_frame`, reasons as JSON text."""
    out = scored[OUTPUT_COLUMNS].copy()
    if len(out) and not isinstance(out["reasons"].iloc[0], str):
        out["reasons"] = [json.dumps(r, ensure_ascii=False) for r in out["reasons"]]
    return out


def scores_frame(scores: Scores) -> pd.DataFrame:
    """The scores as a frame with the reference versions they were matched against."""
    frame = scores.to_frame()
    versions = json.dumps(scores.reference_versions, sort_keys=True, separators=(",", ":"))
    frame["reference_versions"] = pd.array([versions] * len(frame), dtype="str")
    return frame
