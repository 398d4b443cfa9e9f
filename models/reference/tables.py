"""Loaders for the reference tables of the current reference version.

Each table carries the source of every row; ``versions.json`` gives each table's version.
The tables shipped in ``models/reference/data`` are the first version; ``flrisk reference
update`` publishes new ones under the reference root (:mod:`models.reference.versions`),
and :func:`data_dir` follows its ``CURRENT`` pointer. Loaders are cached: the tables are
read once per process and never mutated. Call :func:`clear_caches` after the pointer moves
(``flrisk reference update`` does; a server watches the pointer instead, see
:mod:`models.reference.snapshot`).
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
POINTER = "CURRENT"  # names the current version folder under ``<root>/versions``


def shipped_dir() -> Path:
    """The tables shipped with the package: the first reference version."""
    # Beside this module: robust to editable installs where models/ resolves as a namespace.
    return Path(__file__).resolve().parent / "data"


def reference_root() -> Path:
    """Where reference versions are published: never inside the installed package.

    ``FLRISK_REFERENCE_DIR`` when set (a deployment's own folder, or a test's copy), else
    ``<FLRISK_DATA_DIR>/reference`` (``data/reference`` by default).
    """
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override)
    return Path(os.environ.get("FLRISK_DATA_DIR") or "data") / "reference"


def current_dir(root: Path | None = None) -> Path:
    """Folder of the current version's tables under ``root`` (default :func:`reference_root`).

    The version its ``CURRENT`` pointer names; without a pointer, tables kept flat in the
    root (a folder set up before versions existed); else the shipped tables.
    """
    root = reference_root() if root is None else root
    try:
        name = (root / POINTER).read_text().strip()
    except OSError:
        name = ""
    if name:
        return root / "versions" / name
    if (root / "entities.csv").is_file():
        return root
    return shipped_dir()


def data_dir() -> Path:
    """Folder holding the current reference tables (see :func:`current_dir`)."""
    return current_dir()


def read_table(folder: Path, name: str) -> pd.DataFrame:
    """Table ``name`` of the version in ``folder``, every cell as text.

    A table published without a column added since (an entity table without
    ``end_date``) gets that column empty, so every version reads in today's schema.
    """
    frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
    for col in SCHEMAS.get(name, ()):
        if col not in frame.columns:
            frame[col] = ""
    return frame


def _read(name: str) -> pd.DataFrame:
    return read_table(data_dir(), name)


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
    return spellings_of(load_xinjiang_places())


def spellings_of(places: pd.DataFrame) -> dict[str, str]:
    """:func:`place_spellings` of a given place table (a reference snapshot's)."""
    out: dict[str, str] = {}
    for row in places.itertuples(index=False):
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
    return versions_of(data_dir())


def versions_of(folder: Path) -> dict[str, str]:
    """:func:`reference_versions` of the version in ``folder``."""
    declared = json.loads((folder / "versions.json").read_text())
    out: dict[str, str] = {}
    for name in TABLES:
        digest = hashlib.sha256((folder / f"{name}.csv").read_bytes()).hexdigest()[:12]
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
