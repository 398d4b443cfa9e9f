"""Loaders for the reference tables shipped in ``models/reference_data``.

Each table carries the source of every row; ``versions.json`` gives each table's version.
Loaders are cached: the tables are read once per process and never mutated.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pandas as pd

TABLES = ("entities", "xinjiang_places", "risk_goods")


def data_dir() -> Path:
    """Folder holding the shipped reference tables."""
    return Path(str(resources.files("models") / "reference_data"))


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir() / f"{name}.csv", dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def load_entities() -> pd.DataFrame:
    """UFLPA Entity List and CBP WRO/Findings entities.

    Returns:
        One row per entity: ``entity_id, name, aliases`` (``|``-separated), ``list``
        (``UFLPA``, ``WRO`` or ``FINDING``), ``sector, region, country, effective_date,
        citation, source``.
    """
    return _read("entities")


@lru_cache(maxsize=1)
def load_xinjiang_places() -> pd.DataFrame:
    """Xinjiang place names and their spellings.

    Returns:
        One row per spelling: ``place_id, canonical, variant, kind`` (region, prefecture,
        county, city), ``prefecture, postal_prefix, source``.
    """
    return _read("xinjiang_places")


@lru_cache(maxsize=1)
def load_risk_goods() -> pd.DataFrame:
    """Goods at risk of forced labour mapped to HS headings.

    Returns:
        One row per mapping: ``rule_id, hs_prefix`` (4 or 6 digits), ``good, country``
        (ISO alpha-2, empty for any origin), ``basis`` (``ilab_forced_labor``,
        ``ilab_derived``, ``uflpa_priority``), ``sector, rationale, source``.
    """
    return _read("risk_goods")


@lru_cache(maxsize=1)
def reference_versions() -> dict[str, str]:
    """Version of each table: the declared version plus a short content hash."""
    declared = json.loads((data_dir() / "versions.json").read_text())
    out: dict[str, str] = {}
    for name in TABLES:
        digest = hashlib.sha256((data_dir() / f"{name}.csv").read_bytes()).hexdigest()[:12]
        out[name] = f"{declared.get(name, {}).get('version', 'unknown')}+{digest}"
    return out
