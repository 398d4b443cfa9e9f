"""Goods signals: the HS code against the risk-goods lists, the description, the values."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from models.contract.batch import Column, Lines
from models.contract.textcase import upper_texts
from models.features.cache import SignalCache
from models.features.distinct import combine, factorize, memo_map, spread, spread_text, texts_of
from models.features.places import xinjiang_checks, xj_columns
from models.reference.hs import RISK_COLUMNS as RG_COLUMNS
from models.reference.hs import risk_goods

DESC_RISK_TERMS = re.compile(
    r"\b(LONG[- ]STAPLE|XINJIANG|XJ|POLYSILICON|SILICON METAL|METALLURGICAL GRADE|"
    r"TOMATO PASTE|HUMAN HAIR|PVC RESIN|UPLAND COTTON)\b"
)

# Columns whose absence is reported as missing evidence.


def _desc_terms(up: str) -> tuple[str, bool]:
    risk = "|".join(DESC_RISK_TERMS.findall(up))
    return risk, risk != ""


def description_signals(f: Lines, cache: SignalCache, out: dict[str, Any]) -> None:
    """``desc_xj``, ``desc_risk_terms`` and ``ev_desc_terms``: what the description says."""
    codes, uniques = factorize(f["goods_description"])
    upper = upper_texts(texts_of(uniques), cache.upper)
    places = xinjiang_checks(upper, cache)
    risk = memo_map(upper, cache.texts, _desc_terms)
    xj = xj_columns(places, codes)
    out["desc_xj"] = xj["hit"]
    out["desc_risk_terms"] = spread([r[1] for r in risk[:-1]], codes, risk[-1][1], "float64")
    terms = [(p[1] + "|" + r[0]).strip("|") for p, r in zip(places, risk, strict=True)]
    out["ev_desc_terms"] = spread_text(terms[:-1], codes, terms[-1], "str")


def goods_signals(hts: Column, origin: Column, cache: SignalCache, out: dict[str, Any]) -> None:
    """HS levels and the risk-goods listing of each (subheading, origin): ``hs*``, ``rg_*``."""
    hcodes, huniq = factorize(hts)
    ocodes, ouniq = factorize(origin)
    digits = [re.sub(r"\D", "", str(h)) for h in huniq]
    for name, n in (("hs6", 6), ("hs_heading", 4), ("hs_chapter", 2)):
        out[name] = spread_text([d[:n] for d in digits], hcodes, np.nan, "str")
    pair, first = combine(hcodes, ocodes)
    hs6 = [digits[hcodes[i]][:6] if hcodes[i] >= 0 else "" for i in first]
    org = [str(ouniq[ocodes[i]]) if ocodes[i] >= 0 else "" for i in first]
    keys = list(zip(hs6, org, strict=True))
    new = [k for k in dict.fromkeys(keys) if k not in cache.goods]
    if new:
        cache.goods.update(zip(new, risk_goods(new, cache.reference.risk_rules), strict=True))
    rows = [cache.goods[k] for k in keys]
    # No line, no row: each column is empty (``zip(*[])`` would give no columns at all).
    by_col = zip(*rows, strict=True) if rows else ((),) * len(RG_COLUMNS)
    cols = dict(zip(RG_COLUMNS, by_col, strict=True))
    is_cn = spread([u == "CN" for u in ouniq], ocodes, False, "bool")
    prio = spread(cols["rg_priority"], pair, False, "bool")
    out["rg_priority"] = prio.astype("float64")
    out["rg_priority_cn"] = (prio & is_cn).astype("float64")
    for c in ("rg_ilab_fl", "rg_ilab_any", "rg_ilab_derived"):
        out[c] = spread(cols[c], pair, False, "bool").astype("float64")
    out["rg_sector"] = spread_text([v or None for v in cols["rg_sector"]], pair, None, "str")
    out["ev_rg_good"] = spread_text(cols["rg_good"], pair, "", "str")
    out["ev_rg_rule_ids"] = spread_text(cols["rg_rule_ids"], pair, "", "str")


def value_signals(f: Lines, out: dict[str, Any]) -> None:
    """Log value, weight and their ratios (``log_*``): NaN where a part is missing or zero."""
    qty = np.asarray(f["quantity"], dtype="float64")
    kg = np.asarray(f["gross_weight_kg"], dtype="float64")
    val = np.asarray(f["declared_value_usd"], dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_value"] = np.log1p(val)
        out["log_weight"] = np.log1p(kg)
        out["log_unit_value"] = np.where((qty > 0) & (val > 0), np.log(val / qty), np.nan)
        out["log_value_per_kg"] = np.where((kg > 0) & (val > 0), np.log(val / kg), np.nan)
        out["log_kg_per_unit"] = np.where((kg > 0) & (qty > 0), np.log(kg / qty), np.nan)
