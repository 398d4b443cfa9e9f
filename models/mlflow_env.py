"""MLflow's environment defaults for flrisk: quiet on a user's terminal, no telemetry.

MLflow reads these when it is imported (logging level) or when it acts (progress bars,
telemetry), so they are set before any import of MLflow; each one the user sets wins.
"""

from __future__ import annotations

import os

DEFAULTS = {
    # Telemetry stalls without internet; a user can still opt in explicitly.
    "MLFLOW_DISABLE_TELEMETRY": "true",
    # Artifact downloads draw tqdm bars (several per model load) over the command's output.
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # INFO lines ("Creating initial MLflow database tables", "Validating input example")
    # say nothing a user acts on; warnings and errors still show.
    "MLFLOW_LOGGING_LEVEL": "WARNING",
}


def quiet_mlflow() -> None:
    """Set MLflow's environment defaults (never overriding what the user set)."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
