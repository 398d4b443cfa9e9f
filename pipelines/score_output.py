"""The scores file's columns, shared by the pandas and Spark engines of ``flrisk score``."""

from __future__ import annotations

import pyarrow as pa

# One line's score as both engines write it (reasons as JSON text).
OUTPUT_ARROW_SCHEMA = pa.schema(
    [
        ("entry_id", pa.string()),
        ("line_no", pa.int64()),
        ("risk_score", pa.float64()),
        ("risk_band", pa.string()),
        ("reasons", pa.string()),
        ("model_version", pa.string()),
    ]
)
OUTPUT_COLUMNS = list(OUTPUT_ARROW_SCHEMA.names)

_SPARK_TYPES = {pa.string(): "string", pa.int64(): "long", pa.float64(): "double"}
# The same columns as a Spark DDL schema (the output schema of ``mapInArrow``).
OUTPUT_SPARK_DDL = ", ".join(f"{f.name} {_SPARK_TYPES[f.type]}" for f in OUTPUT_ARROW_SCHEMA)
