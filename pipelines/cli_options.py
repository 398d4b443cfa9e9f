"""Options shared by the ``flrisk`` verbs, and the quiet MLflow every verb that loads it wants."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from models.mlflow_env import quiet_mlflow

DataOpt = Annotated[list[Path], typer.Option("--data", help="Entry-line file (CSV or Parquet).")]
MappingOpt = Annotated[
    Path | None, typer.Option("--mapping", help="Column mapping (TOML) for another layout.")
]
ModelOpt = Annotated[
    str, typer.Option("--model", help="Registered model URI, e.g. models:/flrisk@champion.")
]
TipsOpt = Annotated[
    Path | None,
    typer.Option(
        "--tips",
        help="Tips file (CSV, one row per party named: docs/evaluation.md) for the tip "
        "features, besides the audit store's tips.",
    ),
]
AllowBadOpt = Annotated[
    bool,
    typer.Option("--allow-bad-rows", help="Quarantine bad rows and go on with the good ones."),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        min=0,
        max=64,
        help="Worker processes that read and score chunks (pandas engine; 0: this process, "
        "with a read-ahead thread). Default: 2 for Parquet inputs of 1,000,000 lines or "
        "more (each worker reads its own chunks), else 0. A CSV is read by this process.",
    ),
]


def _quiet_mlflow() -> None:
    # Before MLflow is imported: no telemetry, no progress bars, no INFO lines (user wins).
    quiet_mlflow()
