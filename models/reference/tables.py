"""Loaders for the reference tables shipped in ``models/reference/data``.

Each table carries the source of every row; ``versions.json`` gives each table's version.
Loaders are cached: the tables are read once per process and never mutated. Call
:func:`clear_caches` after the tables on disk change (``flrisk reference update`` does).
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

TABLES = ("entities", "xinjiang_places", "risk_goods")

# Column order of each table; ``flrisk reference update`` refuses files that lack one.
SCHEMAS: dict[str, tuple[str, ...]] = {
    "entities": (
        "entity_id",
        "name",
        "aliases",
        "list",
        "sector",
        "region",
        "country",
        "effective_date",
        "end_date",
        "hs_scope",
        "parent_entity_id",
        "parent_source",
        "citation",
        "source",
    ),
    "xinjiang_places": (
        "place_id",
        "canonical",
        "variant",
        "kind",
        "prefecture",
        "postal_prefix",
        "source",
    ),
    "risk_goods": (
        "rule_id",
        "hs_prefix",
        "good",
        "country",
        "basis",
        "sector",
        "rationale",
        "source",
    ),
}

ENV_DIR = "FLRISK_REFERENCE_DIR"


def data_dir() -> Path:
    """Folder holding the reference tables.

    ``FLRISK_REFERENCE_DIR`` overrides the shipped folder, so that a deployment can keep
    refreshed tables outside the installed package (and tests can work on a copy).
    """
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    # Beside this module: robust to editable installs where models/ resolves as a namespace.
    return Path(__file__).resolve().parent / "data"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(data_dir() / f"{name}.csv", dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def load_entities() -> pd.DataFrame:
    """UFLPA Entity List and CBP WRO/Findings entities.

    Returns:
        One row per listing: ``entity_id, name, aliases`` (``|``-separated), ``list``
        (``UFLPA``, ``WRO`` or ``FINDING``), ``sector, region, country``, the dates it was
        in force (``effective_date``; ``end_date``, empty while in force), ``citation,
        source``.
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
def place_spellings() -> dict[str, str]:
    """One-word Latin spellings of Xinjiang prefectures, counties and cities -> the canonical.

    ``SANJI`` -> ``CHANGJI``, ``QESHQER`` -> ``KASHGAR``, ``LUOPU`` -> ``LOP``: a firm named
    after its place is spelt with whichever transliteration the broker knows. Region-level
    spellings (``XUAR``, ``SINKIANG``) are left alone: no firm is named that way.
    """
    out: dict[str, str] = {}
    for row in load_xinjiang_places().itertuples(index=False):
        variant, canonical = str(row.variant).upper(), str(row.canonical).upper()
        one_word = all(t.isascii() and t.isalpha() for t in (variant, canonical))
        if row.kind != "region" and one_word:
            out[variant] = canonical
    return out


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
def declared_versions() -> dict[str, dict[str, str]]:
    """The content of ``versions.json``: per table, its ``version`` and ``source``."""
    loaded: dict[str, dict[str, str]] = json.loads((data_dir() / "versions.json").read_text())
    return loaded


@lru_cache(maxsize=1)
def reference_versions() -> dict[str, str]:
    """Version of each table: the declared version plus a short content hash."""
    declared = declared_versions()
    out: dict[str, str] = {}
    for name in TABLES:
        digest = hashlib.sha256((data_dir() / f"{name}.csv").read_bytes()).hexdigest()[:12]
        out[name] = f"{declared.get(name, {}).get('version', 'unknown')}+{digest}"
    return out


def clear_caches() -> None:
    """Forget every cached table so the next call reads the files again."""
    for loader in (
        load_entities,
        load_xinjiang_places,
        load_risk_goods,
        place_spellings,
        declared_versions,
        reference_versions,
    ):
        loader.cache_clear()
