"""Stateless signals derived from one entry line: goods, route, parties, places.

Nothing here is learned from data; every signal is a fact about the line checked against the
reference tables. Expensive checks (fuzzy list matching, address parsing) run once per
distinct value and are mapped back, and a :class:`SignalCache` keeps them across calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import pycountry

from models.reference.entities import EntityMatcher, normalize_name
from models.reference.geography import find_xinjiang
from models.reference.hs import risk_goods_lookup

# South-East and South Asian hubs through which Chinese goods are most often re-routed.
TRANSSHIPMENT_HUBS = frozenset(
    {"VN", "MY", "TH", "KH", "ID", "PH", "LA", "MM", "BD", "SG", "KR", "TW", "MX", "TR", "IN"}
)
# Intermediaries: a trader or forwarder between the factory and the buyer is how goods change
# their declared origin (transshipment) and how a listed producer disappears from the manifest.
TRADER_TERMS = re.compile(
    r"\b(?:LOGISTICS?|FORWARD\w*|SHIPPING|SUPPLY CHAIN|TRADING|TRADE"
    r"|IMP(?:ORT)?\W*(?:&|AND)?\W*EXP(?:ORT)?|ENTERPRISES?|HOLDINGS?)\b"
)
DESC_RISK_TERMS = re.compile(
    r"\b(LONG[- ]STAPLE|XINJIANG|XJ|POLYSILICON|SILICON METAL|METALLURGICAL GRADE|"
    r"TOMATO PASTE|HUMAN HAIR|PVC RESIN|UPLAND COTTON)\b"
)


@dataclass
class SignalCache:
    """Per-process memo of the distinct-value checks (entity matches, places, countries)."""

    matcher: EntityMatcher = field(default_factory=EntityMatcher)
    places: dict[str, tuple[bool, str, str, bool]] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)


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


def _map_distinct(values: pd.Series, memo: dict[str, str], fn: object) -> pd.Series:
    filled = values.fillna("").astype(str)
    new = [v for v in pd.unique(filled) if v not in memo]
    for v in new:
        memo[v] = fn(v) if v else ""  # type: ignore[operator]
    return filled.map(memo)


def _xinjiang(texts: pd.Series, cache: SignalCache) -> pd.DataFrame:
    filled = texts.fillna("").astype(str)
    new = pd.Series([v for v in pd.unique(filled) if v not in cache.places], dtype=object)
    if len(new):
        found = find_xinjiang(new)
        for v, hit, terms, place, postal in zip(
            new,
            found["xj_hit"],
            found["xj_terms"],
            found["xj_place"],
            found["xj_postal"],
            strict=True,
        ):
            cache.places[v] = (bool(hit), str(terms), str(place), bool(postal))
    rows = [cache.places[v] for v in filled]
    return pd.DataFrame(rows, index=texts.index, columns=["hit", "terms", "place", "postal"])


def party_key(ids: pd.Series, names: pd.Series) -> pd.Series:
    """Stable party identifier: the declared ID when present, else the normalised name."""
    filled = names.fillna("").astype(str)
    distinct = pd.unique(filled)
    norm = filled.map(
        dict(zip(distinct, [normalize_name(v) if v else "" for v in distinct], strict=True))
    )
    key = ids.astype(object).where(ids.notna() & (ids.astype(str) != ""), "N:" + norm)
    return key.where(key != "N:", None).astype(object)


def derive_signals(frame: pd.DataFrame, cache: SignalCache | None = None) -> pd.DataFrame:
    """Compute every stateless signal for contract-shaped lines.

    Args:
        frame: Lines as returned by the contract reader (every contract column present).
        cache: Memo of distinct-value checks, reused across calls; a fresh one if None.

    Returns:
        Frame aligned with ``frame`` holding the derived signals and their evidence columns.
    """
    cache = cache or SignalCache()
    f = frame
    out = pd.DataFrame(index=f.index)
    hts = f["hts_code"].astype(str).str.replace(r"\D", "", regex=True)
    out["hs6"] = hts.str[:6]
    out["hs_heading"] = hts.str[:4]
    out["hs_chapter"] = hts.str[:2]
    origin = f["country_of_origin"].astype(object)
    export = f["country_of_export"].astype(object)
    lading = f["port_of_lading"].astype(object).str[:2]
    out["lading_country"] = lading
    out["origin_ne_export"] = (export.notna() & (export != origin)).astype("float64")
    out["lading_ne_origin"] = (lading.notna() & (lading != origin)).astype("float64")
    out["lading_cn_origin_other"] = ((lading == "CN") & (origin != "CN")).astype("float64")
    out["origin_is_hub"] = origin.isin(TRANSSHIPMENT_HUBS).astype("float64")

    mid = f["manufacturer_id"].astype(object)
    out["mid_country"] = mid.str[:2]
    out["mid_city"] = mid.str[-3:]
    out["mid_ne_origin"] = (mid.notna() & (mid.str[:2] != origin)).astype("float64")

    for role, col in (("mfr", "manufacturer_address"), ("shp", "shipper_address")):
        ctry = _map_distinct(f[col], cache.countries, _address_country)
        out[f"{role}_addr_country"] = ctry.replace("", None)
        out[f"{role}_addr_ne_origin"] = ((ctry != "") & (ctry != origin)).astype("float64")
        out[f"{role}_addr_cn"] = (ctry == "CN").astype("float64")
        xj = _xinjiang(f[col], cache)
        out[f"{role}_xj"] = xj["hit"].astype("float64")
        out[f"{role}_xj_postal"] = xj["postal"].astype("float64")
        out[f"ev_{role}_xj_terms"] = xj["terms"]
        out[f"ev_{role}_xj_place"] = xj["place"]
    out["route_cn_via_hub"] = (
        out["origin_is_hub"].astype(bool)
        & ((out["mfr_addr_cn"] + out["shp_addr_cn"] + out["lading_cn_origin_other"]) > 0)
    ).astype("float64")

    names_xj = _xinjiang(
        f["manufacturer_name"].fillna("").astype(str)
        + " | "
        + f["shipper_name"].fillna("").astype(str),
        cache,
    )
    out["names_xj"] = names_xj["hit"].astype("float64")
    mfr_norm = party_key(pd.Series(None, index=f.index, dtype=object), f["manufacturer_name"])
    shp_norm = party_key(pd.Series(None, index=f.index, dtype=object), f["shipper_name"])
    out["shipper_ne_mfr"] = (mfr_norm.notna() & shp_norm.notna() & (mfr_norm != shp_norm)).astype(
        "float64"
    )
    shp_upper = f["shipper_name"].fillna("").astype(str).str.upper()
    out["shipper_trader"] = shp_upper.str.contains(TRADER_TERMS).astype("float64")
    out["shipper_ctry_ne_mfr"] = (
        out["mfr_addr_country"].notna()
        & out["shp_addr_country"].notna()
        & (out["mfr_addr_country"] != out["shp_addr_country"])
    ).astype("float64")
    out["ev_names_xj_terms"] = names_xj["terms"]
    desc = f["goods_description"].fillna("").astype(str).str.upper()
    desc_xj = _xinjiang(desc, cache)
    out["desc_xj"] = desc_xj["hit"].astype("float64")
    risk_terms = desc.str.findall(DESC_RISK_TERMS).str.join("|")
    out["desc_risk_terms"] = (risk_terms != "").astype("float64")
    out["ev_desc_terms"] = (desc_xj["terms"] + "|" + risk_terms).str.strip("|")

    for role, col in (("mfr", "manufacturer_name"), ("shp", "shipper_name")):
        m = cache.matcher.match(f[col])
        out[f"{role}_list_sim"] = m["similarity"].astype("float64").where(f[col].notna())
        out[f"ev_{role}_entity_id"] = m["entity_id"]
        out[f"ev_{role}_entity_name"] = m["entity_name"]
        out[f"ev_{role}_entity_alias"] = m["matched_alias"]
        out[f"ev_{role}_entity_list"] = m["list"]
        out[f"ev_{role}_entity_citation"] = m["citation"]

    rg = risk_goods_lookup(out["hs6"], origin.fillna(""))
    out["rg_priority"] = rg["rg_priority"].astype("float64")
    out["rg_priority_cn"] = (rg["rg_priority"] & (origin == "CN")).astype("float64")
    out["rg_ilab_fl"] = rg["rg_ilab_fl"].astype("float64")
    out["rg_ilab_any"] = rg["rg_ilab_any"].astype("float64")
    out["rg_ilab_derived"] = rg["rg_ilab_derived"].astype("float64")
    out["rg_sector"] = rg["rg_sector"].replace("", None)
    out["ev_rg_good"] = rg["rg_good"]
    out["ev_rg_rule_ids"] = rg["rg_rule_ids"]

    qty = f["quantity"].astype("float64")
    kg = f["gross_weight_kg"].astype("float64")
    val = f["declared_value_usd"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_value"] = np.log1p(val)
        out["log_weight"] = np.log1p(kg)
        out["log_unit_value"] = np.where((qty > 0) & (val > 0), np.log(val / qty), np.nan)
        out["log_value_per_kg"] = np.where((kg > 0) & (val > 0), np.log(val / kg), np.nan)
        out["log_kg_per_unit"] = np.where((kg > 0) & (qty > 0), np.log(kg / qty), np.nan)

    out["lines_in_entry"] = f.groupby("entry_id")["line_no"].transform("size").astype("float64")
    evidence_cols = [
        "manufacturer_name",
        "manufacturer_address",
        "shipper_name",
        "importer_id",
        "importer_name",
        "quantity",
        "gross_weight_kg",
        "declared_value_usd",
        "goods_description",
        "country_of_export",
        "port_of_lading",
        "manufacturer_id",
    ]
    missing = f[evidence_cols].isna()
    out["n_missing"] = missing.sum(axis=1).astype("float64")
    ev_missing = pd.Series("", index=f.index, dtype=object)
    for col in evidence_cols:
        ev_missing = ev_missing + np.where(missing[col].to_numpy(), col + "|", "")
    out["ev_missing"] = ev_missing.str.rstrip("|")
    out["risky"] = (
        (out["rg_priority_cn"] > 0)
        | (out["mfr_xj"] > 0)
        | (out["shp_xj"] > 0)
        | (out["mfr_list_sim"].fillna(0) >= cache.matcher.min_similarity)
        | (out["route_cn_via_hub"] > 0)
    )
    out["mfr_key"] = party_key(f["manufacturer_id"], f["manufacturer_name"])
    out["imp_key"] = party_key(f["importer_id"], f["importer_name"])
    out["shp_key"] = party_key(pd.Series(None, index=f.index, dtype=object), f["shipper_name"])
    return out
