"""Names beside codes for officers: ports of entry, countries, HS chapters.

Display only: no feature reads these. Countries come from pycountry (as the contract's
check does), HS chapters from the HS 2022 nomenclature (:func:`models.reference.hs
.nomenclature`), ports from ``ports.csv`` (CBP Schedule D codes of the main ports; a code
not in it is shown without a name). An unknown code gives ``""``.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd
import pycountry

from models.contract.columns import UNKNOWN_COUNTRY
from models.reference.hs import nomenclature
from models.reference.tables import data_dir


@lru_cache(maxsize=1)
def _ports() -> dict[str, str]:
    path = data_dir() / "ports.csv"
    if not path.is_file():  # a reference folder without it (FLRISK_REFERENCE_DIR): no names
        return {}
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return dict(zip(table["port_code"], table["name"], strict=True))


def port_name(code: str) -> str:
    """``"Los Angeles, CA"`` for ``"2704"``; ``""`` for a code not in the table."""
    return _ports().get(str(code).strip(), "")


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
