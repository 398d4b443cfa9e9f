"""Route signals: origin, export and lading countries, transshipment hubs, address countries.

Goods re-routed through a hub change their declared origin; the factory's address, the
port of lading and the manufacturer ID's country often still say where they were made.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
import pycountry

from models.contract.batch import Lines
from models.features.cache import SignalCache
from models.features.distinct import (
    factorize,
    isna,
    memo_map,
    slices,
    spread,
    spread_text,
    texts_of,
)
from models.features.places import xinjiang_checks, xj_columns

# South-East and South Asian hubs through which Chinese goods are most often re-routed.
TRANSSHIPMENT_HUBS = frozenset(
    {"VN", "MY", "TH", "KH", "ID", "PH", "LA", "MM", "BD", "SG", "KR", "TW", "MX", "TR", "IN"}
)
# Intermediaries: a trader or forwarder between the factory and the buyer is how goods change
# their declared origin (transshipment) and how a listed producer disappears from the manifest.


@lru_cache(maxsize=1)
def _country_words() -> dict[str, str]:
    words: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            name = getattr(c, attr, None)
            if name:
                words[name.upper()] = c.alpha_2
    for sub in pycountry.subdivisions.get(country_code="CN") or []:
        words[sub.name.upper().split(" SHENG")[0]] = "CN"
    words.update(
        {
            "CHINA": "CN",
            "PRC": "CN",
            "P.R.C.": "CN",
            "P.R. CHINA": "CN",
            "VIETNAM": "VN",
            "VIET NAM": "VN",
            "HONG KONG": "HK",
            "KOREA": "KR",
            "SOUTH KOREA": "KR",
            "TAIWAN": "TW",
            "USA": "US",
            "UNITED STATES": "US",
            "TURKEY": "TR",
            "LAOS": "LA",
        }
    )
    return words


def _address_country(text: str) -> str:
    """Country named in the last comma-separated parts of a free-text address, or ''."""
    words = _country_words()
    parts = [re.sub(r"[\d\-]+", " ", p).strip().upper() for p in text.split(",")]
    for part in reversed(parts[-3:]):
        if part in words:
            return words[part]
    return ""


def route_signals(f: Lines, out: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Origin, export, lading and manufacturer-ID countries compared; returns origin, export."""
    ocodes, ouniq = factorize(f["country_of_origin"])
    origin = spread(list(ouniq), ocodes, np.nan)
    (export,) = slices(f["country_of_export"], slice(None))
    (lading,) = slices(f["port_of_lading"], slice(None, 2))
    out["lading_country"] = lading
    out["origin_ne_export"] = (~isna(export) & (export != origin)).astype("float64")
    out["lading_ne_origin"] = (~isna(lading) & (lading != origin)).astype("float64")
    out["lading_cn_origin_other"] = ((lading == "CN") & (origin != "CN")).astype("float64")
    out["origin_is_hub"] = spread([u in TRANSSHIPMENT_HUBS for u in ouniq], ocodes, 0, "float64")
    mid_country, mid_city = slices(f["manufacturer_id"], slice(None, 2), slice(-3, None))
    out["mid_country"] = mid_country
    out["mid_city"] = mid_city
    out["mid_ne_origin"] = (~isna(mid_country) & (mid_country != origin)).astype("float64")
    return origin, export


def address_signals(
    f: Lines, origin: np.ndarray, cache: SignalCache, out: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Countries and Xinjiang places in the addresses; returns each role's address country."""
    countries = {}
    for role, col in (("mfr", "manufacturer_address"), ("shp", "shipper_address")):
        codes, uniques = factorize(f[col])
        texts = texts_of(uniques)
        per = memo_map(texts, cache.countries, lambda v: _address_country(v) if v else "")
        ctry = spread(per[:-1], codes, per[-1])
        countries[role] = ctry
        out[f"{role}_addr_country"] = spread_text(
            [c or None for c in per[:-1]], codes, per[-1] or None, "str"
        )
        out[f"{role}_addr_ne_origin"] = ((ctry != "") & (ctry != origin)).astype("float64")
        out[f"{role}_addr_cn"] = (ctry == "CN").astype("float64")
        xj = xj_columns(xinjiang_checks(texts, cache), codes)
        out[f"{role}_xj"] = xj["hit"]
        out[f"{role}_xj_postal"] = xj["postal"]
        out[f"ev_{role}_xj_terms"] = xj["terms"]
        out[f"ev_{role}_xj_place"] = xj["place"]
    out["route_cn_via_hub"] = (
        out["origin_is_hub"].astype(bool)
        & ((out["mfr_addr_cn"] + out["shp_addr_cn"] + out["lading_cn_origin_other"]) > 0)
    ).astype("float64")
    return countries
