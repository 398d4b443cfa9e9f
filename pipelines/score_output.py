"""The scores file's columns, shared by the pandas and Spark engines of ``flrisk score``."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa

from models.scoring.scorer import Scores

# One line's score as both engines write it (reasons as JSON text).
OUTPUT_ARROW_SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),
        ("line_no", pa.int64()),
        ("risk_score", pa.float64()),
        ("risk_band", pa.string()),
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


def scores_frame(scores: Scores) -> pd.DataFrame:
    """The scores as a frame with the reference versions they were matched against."""
    frame = scores.to_frame()
    versions = json.dumps(scores.reference_versions, sort_keys=True, separators=(",", ":"))
    frame["reference_versions"] = pd.array([versions] * len(frame), dtype="str")
    return frame
