"""Stateless signals derived from one entry line: goods, route, parties, places.

Nothing here is learned from data; every signal is a fact about the line checked against the
reference tables. :func:`derive_signals` composes the families (``goods``, ``route``,
``parties``, and the entry's shape here); each family module computes its signals once per
distinct value and spreads them back, and a ``SignalCache`` keeps the checks across calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from models.contract.batch import Column, Lines
from models.features.cache import SignalCache
from models.features.distinct import factorize, isna, one_batch, spread
from models.features.goods import description_signals, goods_signals, value_signals
from models.features.parties import ENTITY_EVIDENCE, entity_signals, party_keys, party_signals
from models.features.route import address_signals, route_signals

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
    "ev_mfr_entity_since",
    "ev_mfr_entity_lists",
    "ev_mfr_entity_later",
    "ev_mfr_entity_via",
    "shp_list_sim",
    "ev_shp_entity_id",
    "ev_shp_entity_name",
    "ev_shp_entity_alias",
    "ev_shp_entity_list",
    "ev_shp_entity_citation",
    "ev_shp_entity_since",
    "ev_shp_entity_lists",
    "ev_shp_entity_later",
    "ev_shp_entity_via",
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


# Text signals and their pandas dtype in :func:`signal_frame`.
TEXT_DTYPES = {
    **{c: "str" for c in ("hs6", "hs_heading", "hs_chapter", "rg_sector", "ev_desc_terms")},
    **{f"{r}_addr_country": "str" for r in ("mfr", "shp")},
    **{f"ev_{r}_xj_{k}": "str" for r in ("mfr", "shp") for k in ("terms", "place")},
    **{f"ev_{r}_entity_id": "string" for r in ("mfr", "shp")},
    **{f"ev_{r}_entity_{k}": "str" for r in ("mfr", "shp") for k in ENTITY_EVIDENCE},
    "ev_names_xj_terms": "str",
    "ev_rg_good": "str",
    "ev_rg_rule_ids": "str",
}


def shape_signals(f: Lines, out: dict[str, Any]) -> None:
    """The entry's size (``lines_in_entry``) and the evidence missing from the line."""
    codes, uniques = factorize(f["entry_id"])
    known = codes >= 0
    counts = np.bincount(codes[known], minlength=len(uniques)).astype("float64")
    # An unknown entry id gets NaN, as a groupby on it would give.
    out["lines_in_entry"] = np.where(known, counts[np.maximum(codes, 0)], np.nan)
    missing = np.column_stack([isna(f[c]) for c in EVIDENCE_COLS]).reshape(
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
    with one_batch():
        return _derive(lines, cache)


def _derive(f: Lines, cache: SignalCache) -> dict[str, Column]:
    out: dict[str, Any] = {}
    goods: dict[str, Any] = {}
    goods_signals(f["hts_code"], f["country_of_origin"], cache, goods)
    for c in ("hs6", "hs_heading", "hs_chapter"):
        out[c] = goods.pop(c)
    origin, _ = route_signals(f, out)
    countries = address_signals(f, origin, cache, out)
    party_signals(f, countries, cache, out)
    description_signals(f, cache, out)
    entity_signals(f, cache, out)
    out.update(goods)
    value_signals(f, out)
    shape_signals(f, out)
    sim = out["mfr_list_sim"]
    out["risky"] = (
        (out["rg_priority_cn"] > 0)
        | (out["mfr_xj"] > 0)
        | (out["shp_xj"] > 0)
        # A missing similarity counts as 0 (np.where: nan_to_num's fixed cost is 4x higher).
        | (np.where(np.isnan(sim), 0.0, sim) >= cache.matcher.min_similarity)
        | (out["route_cn_via_hub"] > 0)
    )
    # party_signals made the names' keys (``shp_key`` is the shipper's name key).
    names = out.pop("mfr_name_key")
    out["mfr_key"] = party_keys(f["manufacturer_id"], f["manufacturer_name"], cache, names)
    out["imp_key"] = party_keys(f["importer_id"], f["importer_name"], cache)
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
