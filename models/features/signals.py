"""Stateless signals derived from one entry line: goods, route, parties, places.

Nothing here is learned from data; every signal is a fact about the line checked against the
reference tables. Expensive checks (fuzzy list matching, address parsing) run once per
distinct value and are mapped back, and a :class:`SignalCache` keeps them across calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

import numpy as np
import pandas as pd
import pycountry

from models.contract.batch import Column, Lines, is_small
from models.contract.textcase import case_map
from models.features.distinct import combine, factorize, memo_map, spread
from models.reference.entities import MATCH_COLUMNS, EntityMatcher, normalize_name
from models.reference.geography import find_xinjiang
from models.reference.hs import RISK_COLUMNS as RG_COLUMNS
from models.reference.hs import risk_goods

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

# Columns whose absence is reported as missing evidence.
EVIDENCE_COLS = [
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
# Output column order (kept stable: the frame is part of the reasons' context).
SIGNAL_ORDER = (
    "hs6",
    "hs_heading",
    "hs_chapter",
    "lading_country",
    "origin_ne_export",
    "lading_ne_origin",
    "lading_cn_origin_other",
    "origin_is_hub",
    "mid_country",
    "mid_city",
    "mid_ne_origin",
    "mfr_addr_country",
    "mfr_addr_ne_origin",
    "mfr_addr_cn",
    "mfr_xj",
    "mfr_xj_postal",
    "ev_mfr_xj_terms",
    "ev_mfr_xj_place",
    "shp_addr_country",
    "shp_addr_ne_origin",
    "shp_addr_cn",
    "shp_xj",
    "shp_xj_postal",
    "ev_shp_xj_terms",
    "ev_shp_xj_place",
    "route_cn_via_hub",
    "names_xj",
    "shipper_ne_mfr",
    "shipper_trader",
    "shipper_ctry_ne_mfr",
    "ev_names_xj_terms",
    "desc_xj",
    "desc_risk_terms",
    "ev_desc_terms",
    "mfr_list_sim",
    "ev_mfr_entity_id",
    "ev_mfr_entity_name",
    "ev_mfr_entity_alias",
    "ev_mfr_entity_list",
    "ev_mfr_entity_citation",
    "shp_list_sim",
    "ev_shp_entity_id",
    "ev_shp_entity_name",
    "ev_shp_entity_alias",
    "ev_shp_entity_list",
    "ev_shp_entity_citation",
    "rg_priority",
    "rg_priority_cn",
    "rg_ilab_fl",
    "rg_ilab_any",
    "rg_ilab_derived",
    "rg_sector",
    "ev_rg_good",
    "ev_rg_rule_ids",
    "log_value",
    "log_weight",
    "log_unit_value",
    "log_value_per_kg",
    "log_kg_per_unit",
    "lines_in_entry",
    "n_missing",
    "ev_missing",
    "risky",
    "mfr_key",
    "imp_key",
    "shp_key",
)


# Text signals and their pandas dtype in :func:`signal_frame`.
TEXT_DTYPES = {
    **{c: "str" for c in ("hs6", "hs_heading", "hs_chapter", "rg_sector", "ev_desc_terms")},
    **{f"{r}_addr_country": "str" for r in ("mfr", "shp")},
    **{f"ev_{r}_xj_{k}": "str" for r in ("mfr", "shp") for k in ("terms", "place")},
    **{f"ev_{r}_entity_id": "string" for r in ("mfr", "shp")},
    **{
        f"ev_{r}_entity_{k}": "str"
        for r in ("mfr", "shp")
        for k in ("name", "alias", "list", "citation")
    },
    "ev_names_xj_terms": "str",
    "ev_rg_good": "str",
    "ev_rg_rule_ids": "str",
}


@dataclass
class SignalCache:
    """Per-process memo of the distinct-value checks, kept across calls (and file chunks).

    Every check below is a pure function of one value (a name, an address, a code), so a
    value seen in an earlier chunk costs one dictionary lookup: after the first chunks of a
    large file almost nothing is computed again.
    """

    matcher: EntityMatcher = field(default_factory=EntityMatcher)
    places: dict[str, tuple[bool, str, str, bool]] = field(default_factory=dict)
    countries: dict[str, str] = field(default_factory=dict)
    parties: dict[str, str | None] = field(default_factory=dict)
    entities: dict[str, tuple[object, ...]] = field(default_factory=dict)
    goods: dict[tuple[str, str], tuple[object, ...]] = field(default_factory=dict)
    texts: dict[str, tuple[str, bool]] = field(default_factory=dict)
    upper: dict[str, str] = field(default_factory=dict)
    traders: dict[str, bool] = field(default_factory=dict)


def _text_spread(per_unique: Sequence[Any], codes: np.ndarray, missing: Any, dtype: str) -> Any:
    """:func:`spread` to a text column in the batch's form (see ``models.contract.batch``).

    A small batch gets the object array the extension array would convert to (missing: NaN
    for ``str``, NA for ``string``).
    """
    if not is_small(len(codes)):
        return spread(per_unique, codes, missing, dtype)
    na = pd.NA if dtype == "string" else np.nan
    vals = [na if v is None or v is pd.NA or v != v else v for v in (*per_unique, missing)]
    return np.fromiter(vals, dtype=object, count=len(vals))[codes]


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


def _text(values: np.ndarray) -> list[str]:
    """Distinct values as text; the last slot stands for a missing value (empty text)."""
    return [*(str(v) for v in values), ""]


def _upper(texts: list[str], memo: dict[str, str] | None = None) -> list[str]:
    """Upper case exactly as the pandas string accessor does it (Arrow's Unicode tables).

    With ``memo``, each text is converted once per process (the accessor's fixed cost is
    most of a single line's description check).
    """
    if memo is None:
        return cast(list[str], case_map(texts, "utf8_upper"))  # no None in, none out
    new = [t for t in dict.fromkeys(texts) if t not in memo]
    memo.update(zip(new, _upper(new), strict=True))
    return [memo[t] for t in texts]


def _places(texts: list[str], cache: SignalCache) -> list[tuple[bool, str, str, bool]]:
    """Xinjiang check of each text, computed once per text per process."""
    new = [t for t in dict.fromkeys(texts) if t not in cache.places]
    if new:
        cache.places.update(zip(new, find_xinjiang(new), strict=True))
    return [cache.places[t] for t in texts]


def _xj_columns(found: list[tuple[bool, str, str, bool]], codes: np.ndarray) -> dict[str, Any]:
    hit, terms, place, postal = zip(*found, strict=True)
    return {
        "hit": spread(hit[:-1], codes, hit[-1], "float64"),
        "terms": _text_spread(terms[:-1], codes, terms[-1], "str"),
        "place": _text_spread(place[:-1], codes, place[-1], "str"),
        "postal": spread(postal[:-1], codes, postal[-1], "float64"),
    }


def _name_key(name: str) -> str | None:
    norm = normalize_name(name) if name else ""
    return "N:" + norm if norm else None


def _party_keys(ids: Column | None, names: Column, cache: SignalCache) -> np.ndarray:
    """Object array of party keys: the declared ID when present, else ``N:`` + normalised name."""
    codes, uniques = factorize(names)
    by_name = memo_map(_text(uniques), cache.parties, _name_key)
    key = spread(by_name[:-1], codes, by_name[-1])
    if ids is None:
        return key
    icodes, iuniq = factorize(ids)
    id_obj = spread(list(iuniq), icodes, np.nan)
    use_id = spread([str(u) != "" for u in iuniq], icodes, False, "bool")
    key = np.where(use_id, id_obj, key)
    key[key == "N:"] = None
    return key


def _slices(s: Column, *cuts: slice) -> list[np.ndarray]:
    """``s.str[cut]`` for each cut, as object arrays (missing stays NaN), once per value."""
    codes, uniques = factorize(s)
    return [spread([u[cut] for u in uniques], codes, np.nan) for cut in cuts]


def _route(f: Lines, out: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    ocodes, ouniq = factorize(f["country_of_origin"])
    origin = spread(list(ouniq), ocodes, np.nan)
    (export,) = _slices(f["country_of_export"], slice(None))
    (lading,) = _slices(f["port_of_lading"], slice(None, 2))
    out["lading_country"] = lading
    out["origin_ne_export"] = (pd.notna(export) & (export != origin)).astype("float64")
    out["lading_ne_origin"] = (pd.notna(lading) & (lading != origin)).astype("float64")
    out["lading_cn_origin_other"] = ((lading == "CN") & (origin != "CN")).astype("float64")
    out["origin_is_hub"] = spread([u in TRANSSHIPMENT_HUBS for u in ouniq], ocodes, 0, "float64")
    mid_country, mid_city = _slices(f["manufacturer_id"], slice(None, 2), slice(-3, None))
    out["mid_country"] = mid_country
    out["mid_city"] = mid_city
    out["mid_ne_origin"] = (pd.notna(mid_country) & (mid_country != origin)).astype("float64")
    return origin, export


def _addresses(
    f: Lines, origin: np.ndarray, cache: SignalCache, out: dict[str, Any]
) -> dict[str, np.ndarray]:
    countries = {}
    for role, col in (("mfr", "manufacturer_address"), ("shp", "shipper_address")):
        codes, uniques = factorize(f[col])
        texts = _text(uniques)
        per = memo_map(texts, cache.countries, lambda v: _address_country(v) if v else "")
        ctry = spread(per[:-1], codes, per[-1])
        countries[role] = ctry
        out[f"{role}_addr_country"] = _text_spread(
            [c or None for c in per[:-1]], codes, per[-1] or None, "str"
        )
        out[f"{role}_addr_ne_origin"] = ((ctry != "") & (ctry != origin)).astype("float64")
        out[f"{role}_addr_cn"] = (ctry == "CN").astype("float64")
        xj = _xj_columns(_places(texts, cache), codes)
        out[f"{role}_xj"] = xj["hit"]
        out[f"{role}_xj_postal"] = xj["postal"]
        out[f"ev_{role}_xj_terms"] = xj["terms"]
        out[f"ev_{role}_xj_place"] = xj["place"]
    out["route_cn_via_hub"] = (
        out["origin_is_hub"].astype(bool)
        & ((out["mfr_addr_cn"] + out["shp_addr_cn"] + out["lading_cn_origin_other"]) > 0)
    ).astype("float64")
    return countries


def _parties(
    f: Lines,
    countries: dict[str, np.ndarray],
    cache: SignalCache,
    out: dict[str, Any],
) -> None:
    mcodes, muniq = factorize(f["manufacturer_name"])
    scodes, suniq = factorize(f["shipper_name"])
    pair, first = combine(mcodes, scodes)
    mtext, stext = _text(muniq), _text(suniq)
    joined = [mtext[mcodes[i]] + " | " + stext[scodes[i]] for i in first]
    xj = _xj_columns([*_places(joined, cache), (False, "", "", False)], pair)
    out["names_xj"] = xj["hit"]
    mfr_norm = _party_keys(None, f["manufacturer_name"], cache)
    shp_norm = _party_keys(None, f["shipper_name"], cache)
    out["shipper_ne_mfr"] = (
        pd.notna(mfr_norm) & pd.notna(shp_norm) & (mfr_norm != shp_norm)
    ).astype("float64")
    new = [t for t in stext if t not in cache.traders]
    for t, up in zip(new, _upper(new), strict=True):
        cache.traders[t] = TRADER_TERMS.search(up) is not None
    trader = [cache.traders[t] for t in stext]
    out["shipper_trader"] = spread(trader[:-1], scodes, trader[-1], "float64")
    m, s = countries["mfr"], countries["shp"]
    out["shipper_ctry_ne_mfr"] = ((m != "") & (s != "") & (m != s)).astype("float64")
    out["ev_names_xj_terms"] = xj["terms"]


def _desc_terms(up: str) -> tuple[str, bool]:
    risk = "|".join(DESC_RISK_TERMS.findall(up))
    return risk, risk != ""


def _description(f: Lines, cache: SignalCache, out: dict[str, Any]) -> None:
    codes, uniques = factorize(f["goods_description"])
    upper = _upper(_text(uniques), cache.upper)
    places = _places(upper, cache)
    risk = memo_map(upper, cache.texts, _desc_terms)
    xj = _xj_columns(places, codes)
    out["desc_xj"] = xj["hit"]
    out["desc_risk_terms"] = spread([r[1] for r in risk[:-1]], codes, risk[-1][1], "float64")
    terms = [(p[1] + "|" + r[0]).strip("|") for p, r in zip(places, risk, strict=True)]
    out["ev_desc_terms"] = _text_spread(terms[:-1], codes, terms[-1], "str")


def _entities(f: Lines, cache: SignalCache, out: dict[str, Any]) -> None:
    for role, col in (("mfr", "manufacturer_name"), ("shp", "shipper_name")):
        codes, uniques = factorize(f[col])
        texts = _text(uniques)
        new = [t for t in dict.fromkeys(texts) if t not in cache.entities]
        if new:
            cache.entities.update(zip(new, cache.matcher.match_texts(new), strict=True))
        rows = [cache.entities[t] for t in texts]
        cols = dict(zip(MATCH_COLUMNS, zip(*rows, strict=True), strict=True))
        sim = spread(cols["similarity"][:-1], codes, np.nan, "float64")
        out[f"{role}_list_sim"] = sim
        out[f"ev_{role}_entity_id"] = _text_spread(cols["entity_id"][:-1], codes, pd.NA, "string")
        for name, src in (
            ("name", "entity_name"),
            ("alias", "matched_alias"),
            ("list", "list"),
            ("citation", "citation"),
        ):
            out[f"ev_{role}_entity_{name}"] = _text_spread(
                cols[src][:-1], codes, cols[src][-1], "str"
            )


def _goods(hts: Column, origin: Column, cache: SignalCache, out: dict[str, Any]) -> None:
    hcodes, huniq = factorize(hts)
    ocodes, ouniq = factorize(origin)
    digits = [re.sub(r"\D", "", str(h)) for h in huniq]
    for name, n in (("hs6", 6), ("hs_heading", 4), ("hs_chapter", 2)):
        out[name] = _text_spread([d[:n] for d in digits], hcodes, np.nan, "str")
    pair, first = combine(hcodes, ocodes)
    hs6 = [digits[hcodes[i]][:6] if hcodes[i] >= 0 else "" for i in first]
    org = [str(ouniq[ocodes[i]]) if ocodes[i] >= 0 else "" for i in first]
    keys = list(zip(hs6, org, strict=True))
    new = [k for k in dict.fromkeys(keys) if k not in cache.goods]
    if new:
        cache.goods.update(zip(new, risk_goods(new), strict=True))
    cols = dict(zip(RG_COLUMNS, zip(*[cache.goods[k] for k in keys], strict=True), strict=True))
    is_cn = spread([u == "CN" for u in ouniq], ocodes, False, "bool")
    prio = spread(cols["rg_priority"], pair, False, "bool")
    out["rg_priority"] = prio.astype("float64")
    out["rg_priority_cn"] = (prio & is_cn).astype("float64")
    for c in ("rg_ilab_fl", "rg_ilab_any", "rg_ilab_derived"):
        out[c] = spread(cols[c], pair, False, "bool").astype("float64")
    out["rg_sector"] = _text_spread([v or None for v in cols["rg_sector"]], pair, None, "str")
    out["ev_rg_good"] = _text_spread(cols["rg_good"], pair, "", "str")
    out["ev_rg_rule_ids"] = _text_spread(cols["rg_rule_ids"], pair, "", "str")


def _values(f: Lines, out: dict[str, Any]) -> None:
    qty = np.asarray(f["quantity"], dtype="float64")
    kg = np.asarray(f["gross_weight_kg"], dtype="float64")
    val = np.asarray(f["declared_value_usd"], dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_value"] = np.log1p(val)
        out["log_weight"] = np.log1p(kg)
        out["log_unit_value"] = np.where((qty > 0) & (val > 0), np.log(val / qty), np.nan)
        out["log_value_per_kg"] = np.where((kg > 0) & (val > 0), np.log(val / kg), np.nan)
        out["log_kg_per_unit"] = np.where((kg > 0) & (qty > 0), np.log(kg / qty), np.nan)


def _shape(f: Lines, out: dict[str, Any]) -> None:
    codes, uniques = factorize(f["entry_id"])
    known = codes >= 0
    counts = np.bincount(codes[known], minlength=len(uniques)).astype("float64")
    # An unknown entry id gets NaN, as a groupby on it would give.
    out["lines_in_entry"] = np.where(known, counts[np.maximum(codes, 0)], np.nan)
    missing = np.column_stack([np.asarray(pd.isna(f[c])) for c in EVIDENCE_COLS]).reshape(
        len(codes), len(EVIDENCE_COLS)
    )
    out["n_missing"] = missing.sum(axis=1).astype("float64")
    # One bit per column: the few distinct patterns are spelt out once each.
    bits = (missing.astype(np.int64) << np.arange(len(EVIDENCE_COLS), dtype=np.int64)).sum(axis=1)
    codes, patterns = factorize(bits)
    text = ["|".join(c for i, c in enumerate(EVIDENCE_COLS) if int(p) >> i & 1) for p in patterns]
    out["ev_missing"] = spread(text, codes, "")


def derive_signals(lines: Lines, cache: SignalCache | None = None) -> dict[str, Column]:
    """Compute every stateless signal of a batch of lines.

    Args:
        lines: Lines as the contract reader gives them (every contract column present).
        cache: Memo of distinct-value checks, reused across calls; a fresh one if None.

    Returns:
        Signal name -> column aligned with ``lines``, in ``SIGNAL_ORDER``.
    """
    cache = cache or SignalCache()
    f = lines
    out: dict[str, Any] = {}
    goods: dict[str, Any] = {}
    _goods(f["hts_code"], f["country_of_origin"], cache, goods)
    for c in ("hs6", "hs_heading", "hs_chapter"):
        out[c] = goods.pop(c)
    origin, _ = _route(f, out)
    countries = _addresses(f, origin, cache, out)
    _parties(f, countries, cache, out)
    _description(f, cache, out)
    _entities(f, cache, out)
    out.update(goods)
    _values(f, out)
    _shape(f, out)
    out["risky"] = (
        (out["rg_priority_cn"] > 0)
        | (out["mfr_xj"] > 0)
        | (out["shp_xj"] > 0)
        | (np.nan_to_num(out["mfr_list_sim"], nan=0.0) >= cache.matcher.min_similarity)
        | (out["route_cn_via_hub"] > 0)
    )
    out["mfr_key"] = _party_keys(f["manufacturer_id"], f["manufacturer_name"], cache)
    out["imp_key"] = _party_keys(f["importer_id"], f["importer_name"], cache)
    out["shp_key"] = _party_keys(None, f["shipper_name"], cache)
    return {c: out[c] for c in SIGNAL_ORDER}


def signal_frame(signals: Mapping[str, Column]) -> pd.DataFrame:
    """The signals of a batch as a DataFrame: an adapter for statistics, reports, notebooks.

    Text signals get their pandas text dtype (``TEXT_DTYPES``) whatever the batch's size;
    party keys stay object (pandas would otherwise infer a text dtype they never had).
    """
    cols: dict[str, Any] = {}
    for c, v in signals.items():
        if c in TEXT_DTYPES and isinstance(v, np.ndarray):  # a small batch's object array
            cols[c] = pd.array(v, dtype=TEXT_DTYPES[c])  # type: ignore[call-overload]
        elif isinstance(v, np.ndarray) and v.dtype == object:
            cols[c] = pd.Series(v, dtype=object)
        else:
            cols[c] = v
    return pd.DataFrame(cols)
