"""The scores file's columns, shared by the pandas and Spark engines of ``flrisk score``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
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


@cache
def file_schema() -> pa.Schema:
    """The scores file's Arrow schema, pandas' metadata included, as ``flrisk score`` writes it.

    The file was first written through a pandas frame per chunk; its schema (texts as
    ``large_string`` but for the reasons, and the metadata that gives pandas its dtypes back)
    is kept, so files stay the same byte for byte. Taken from a one-line frame of those
    dtypes, once: the metadata names the installed pandas and Arrow.
    """
    frame = pd.DataFrame(
        {
            "entry_id": pd.array(["e"], dtype="str"),
            "line_no": np.zeros(1, dtype=np.int64),
            "risk_score": np.zeros(1),
            "risk_band": pd.array(["low"], dtype="str"),
            "presumption": pd.array([""], dtype="str"),
            "reasons": pd.Series(["[]"], dtype=object),
            "model_version": pd.array(["m"], dtype="str"),
            "reference_versions": pd.array(["{}"], dtype="str"),
        }
    )
    return pa.Table.from_pandas(frame, preserve_index=False).schema


def _arrow(col: object, kind: pa.DataType) -> pa.Array | pa.ChunkedArray:
    """A column of the scores as Arrow of type ``kind`` (an Arrow-backed text: no copy)."""
    got = pa.array(col, from_pandas=True)  # NumPy, or pandas' Arrow text via __arrow_array__
    return got if got.type == kind else got.cast(kind)


def scores_table(scores: Scores) -> pa.Table:
    """The scores file's rows of a chunk (:func:`file_schema`), straight from the arrays.

    The same table as ``pa.Table.from_pandas`` of :func:`scores_frame` (tested), without
    building a frame per chunk. ``scores.reasons`` must be JSON text (``as_json=True``).
    """
    schema = file_schema()
    n = len(scores)
    versions = json.dumps(scores.reference_versions, sort_keys=True, separators=(",", ":"))
    columns = {
        "entry_id": _arrow(scores.entry_id, pa.large_string()),
        "line_no": pa.array(np.asarray(scores.line_no, dtype=np.int64)),
        "risk_score": pa.array(np.asarray(scores.risk_score, dtype=np.float64)),
        "risk_band": _arrow(scores.risk_band, pa.large_string()),
        "presumption": _arrow(scores.presumption, pa.large_string()),
        "reasons": pa.array(scores.reasons, type=pa.string()),
        "model_version": pa.repeat(pa.scalar(scores.model_version, pa.large_string()), n),
        "reference_versions": pa.repeat(pa.scalar(versions, pa.large_string()), n),
    }
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def scores_frame(scores: Scores) -> pd.DataFrame:
    """The scores as a frame with the reference versions they were matched against."""
    frame = scores.to_frame()
    versions = json.dumps(scores.reference_versions, sort_keys=True, separators=(",", ":"))
    frame["reference_versions"] = pd.array([versions] * len(frame), dtype="str")
    return frame
