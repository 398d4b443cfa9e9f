"""Training parameters: the packaged ``train.toml``, optionally overridden by a user file."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any


def default_config_path() -> Path:
    """The packaged default parameters."""
    return Path(str(resources.files("pipelines") / "config" / "train.toml"))


def load_config(path: Path | None) -> dict[str, Any]:
    """Defaults deep-merged with the user's TOML (tables merged key by key)."""
    cfg = tomllib.loads(default_config_path().read_text())
    if path is not None:
        user = tomllib.loads(Path(path).read_text())
        for table, values in user.items():
            if isinstance(values, dict):
                cfg.setdefault(table, {}).update(values)
            else:
                cfg[table] = values
    return cfg
