"""Where a model came from: the code's git commit and a digest of its training lines."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pandas as pd


def git_commit() -> str:
    """Commit of the working tree the run came from ('unknown' outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
            cwd=Path(__file__).parent,
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def data_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the training lines' content (order-independent of file layout)."""
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()
