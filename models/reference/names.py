"""Names beside codes for officers: ports of entry, countries, HS chapters.

Display only: no feature reads these. Countries come from pycountry (as the contract's
check does), HS chapters from the HS 2022 nomenclature (:func:`models.reference.hs
.nomenclature`), ports from the shipped ``ports.csv`` (CBP Schedule D port codes from the
Census Bureau's list and CBP's ACE Appendix E, each row naming its source; the file's
header comment cites them, docs/reference-data.md). An unknown code gives ``""``.

``ports.csv`` is read from the package, not from the current reference version: it is not
part of what a version changes, and a version published before the table was replaced
still carries a copy of the old one.
"""

from __future__ import annotations

import csv
from functools import lru_cache

import pycountry

from models.contract.columns import UNKNOWN_COUNTRY
from models.reference.hs import nomenclature
from models.reference.tables import shipped_dir


@lru_cache(maxsize=1)
def ports() -> dict[str, str]:
    """Port code -> name, from the shipped ``ports.csv`` (its ``#`` header lines skipped)."""
    text = (shipped_dir() / "ports.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {r["port_code"]: r["name"] for r in rows}


def port_name(code: str) -> str:
    """``"LOS ANGELES, CA"`` for ``"2704"``; ``""`` for a code not in the table."""
    return ports().get(str(code).strip(), "")


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    """``"Viet Nam"`` for ``"VN"`` (ISO 3166-1 alpha-2); ``"unknown"`` for ``ZZ``."""
    code = str(code).strip().upper()
    if code == UNKNOWN_COUNTRY:
        return "unknown"
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    return str(getattr(found, "common_name", None) or found.name) if found else ""


def hs_chapter_name(chapter: str) -> str:
    """The HS 2022 chapter's description for ``"61"``; ``""`` when there is none."""
    chapter = str(chapter).strip()
    return nomenclature().get(chapter, "") if len(chapter) == 2 and chapter.isdigit() else ""
