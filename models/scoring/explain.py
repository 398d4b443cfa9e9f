"""Explanations: SHAP contributions grouped into plain-language reasons with evidence.

LightGBM's ``pred_contrib=True`` gives exact TreeSHAP values in log-odds; we sum them over
the features that stand for one piece of evidence (e.g. all entity-list similarities), rank
the groups by absolute contribution and write each as a sentence an officer can check,
with the evidence behind it and its signed share of the line's total contribution.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
import pandas as pd

from models.contract.batch import is_small


class Row(Protocol):
    """One line's evidence, as the sentence makers read it: ``row.get(name)``.

    Values are what the line's columns hold (NumPy scalars, strings, NaN or NA); a name the
    line has no column for gives ``default``.
    """

    def get(self, key: str, default: Any = None) -> Any:
        """The line's value of ``key``."""


GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("listed_entity", ("mfr_list_sim", "shp_list_sim")),
    ("xinjiang_address", ("mfr_xj", "mfr_xj_postal", "shp_xj", "shp_xj_postal", "names_xj")),
    ("goods_description", ("desc_xj", "desc_risk_terms")),
    ("risk_goods", ("rg_", "hs_chapter", "hs_heading")),
    (
        "route",
        (
            "origin_ne_export",
            "lading_",
            "origin_is_hub",
            "route_cn_via_hub",
            "mfr_addr_",
            "shp_addr_",
            "mid_",
            "country_of_export",
            "transport_mode",
        ),
    ),
    ("origin", ("country_of_origin",)),
    (
        "unit_value",
        ("log_unit_value", "log_value_per_kg", "log_kg_per_unit", "log_value", "log_weight"),
    ),
    ("importer_history", ("hist_imp_",)),
    ("manufacturer_history", ("hist_mfr_",)),
    ("shipper_history", ("hist_shp_",)),
    ("goods_history", ("hist_hs6_", "hist_origin_heading_")),
    ("missing_data", ("n_missing",)),
    ("entry_shape", ("lines_in_entry",)),
)


HIST_SUFFIXES = (
    "_viol_rate",
    "_risky_share",
    "_months_known",
    "_lines",
    "_inspected",
    "_violations",
)


def feature_groups(feature_names: list[str]) -> dict[str, str]:
    """Reason group of every feature; pass-through columns form one group each."""
    out: dict[str, str] = {}
    for f in feature_names:
        for group, prefixes in GROUPS:
            if any(
                f == p or (p.endswith("_") and f.startswith(p)) or f.startswith(p + "_")
                for p in prefixes
            ):
                out[f] = group
                break
        else:
            if f.startswith("hist_"):
                base = f[len("hist_") :]
                for suffix in HIST_SUFFIXES:
                    base = base.removesuffix(suffix)
                out[f] = f"history:{base}"
            else:
                out[f] = f"field:{f}"
    return out


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _s(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)


def _entity(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    role, sim = max(
        (("manufacturer", line.get("mfr_list_sim")), ("shipper", line.get("shp_list_sim"))),
        key=lambda t: -1.0 if t[1] is None or np.isnan(t[1]) else float(t[1]),
    )
    pre = "ev_mfr_" if role == "manufacturer" else "ev_shp_"
    ent = _s(line.get(pre + "entity_name"))
    if ent:
        ev = {
            "role": role,
            "entity_id": _s(line.get(pre + "entity_id")),
            "entity": ent,
            "matched_alias": _s(line.get(pre + "entity_alias")),
            "similarity": round(float(sim or 0.0), 1),
            "list": _s(line.get(pre + "entity_list")),
            "citation": _s(line.get(pre + "entity_citation")),
        }
        return (
            f"The {role} name matches {ev['list']} listed entity '{ent}' "
            f"(similarity {ev['similarity']:.0f}/100, {ev['citation']})."
        ), ev
    if np.isnan(line.get("mfr_list_sim", np.nan)) and np.isnan(line.get("shp_list_sim", np.nan)):
        return (
            "No manufacturer or shipper name was declared, so list screening was not possible.",
            {},
        )
    return "Neither the manufacturer nor the shipper matches the UFLPA or WRO entity lists.", {}


def _xinjiang(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    terms = [
        t
        for t in (
            _s(line.get("ev_mfr_xj_terms")),
            _s(line.get("ev_shp_xj_terms")),
            _s(line.get("ev_names_xj_terms")),
        )
        if t
    ]
    if terms:
        found = sorted(set("|".join(terms).split("|")))
        place = _s(line.get("ev_mfr_xj_place")) or _s(line.get("ev_shp_xj_place"))
        return (
            f"Party names or addresses point to Xinjiang: {', '.join(found)}"
            + (f" ({place})." if place else ".")
        ), {"terms": found, "place": place}
    return "No Xinjiang place name or postal code in the party names or addresses.", {}


def _description(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    terms = [t for t in _s(line.get("ev_desc_terms")).split("|") if t]
    if terms:
        return f"The goods description contains tell-tale terms: {', '.join(terms)}.", {
            "terms": terms
        }
    return "The goods description has no tell-tale terms.", {}


def _goods(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    good, origin = _s(line.get("ev_rg_good")), _s(line.get("country_of_origin_raw"))
    ev = {
        "hs6": _s(line.get("hs6")),
        "good": good,
        "origin": origin,
        "sector": _s(line.get("rg_sector")),
        "rules": _s(line.get("ev_rg_rule_ids")).split("|"),
        "ilab_forced_labor": bool(line.get("rg_ilab_fl", 0)),
        "uflpa_priority": bool(line.get("rg_priority", 0)),
    }
    if ev["ilab_forced_labor"]:
        return (
            f"HS {ev['hs6']} ({good}) from {origin} is on the ILAB list of goods produced "
            "with forced labour."
        ), ev
    if ev["uflpa_priority"]:
        return f"HS {ev['hs6']} is in a UFLPA high-priority sector ({ev['sector']}).", ev
    if good:
        return (
            f"HS {ev['hs6']} ({good}) is listed by ILAB for other origins or as a derived good.",
            ev,
        )
    return f"HS {ev['hs6']} is not a listed forced-labour risk good.", ev


def _route(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    ev = {
        "origin": _s(line.get("country_of_origin_raw")),
        "export": _s(line.get("country_of_export_raw")),
        "lading_country": _s(line.get("lading_country")),
        "manufacturer_address_country": _s(line.get("mfr_addr_country")),
        "shipper_address_country": _s(line.get("shp_addr_country")),
        "mid_country": _s(line.get("mid_country")),
    }
    odd = [
        f"{k.replace('_', ' ')} {v}"
        for k, v in ev.items()
        if k != "origin" and v and v != ev["origin"]
    ]
    if odd:
        return f"Declared origin {ev['origin']} but {', '.join(odd)}.", ev
    return f"Route consistent with declared origin {ev['origin']}.", ev


def _origin(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    o = _s(line.get("country_of_origin_raw"))
    return f"Declared country of origin {o}.", {"origin": o}


def _value(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    z = line.get("log_unit_value_z", np.nan)
    lv, typ = line.get("log_unit_value", np.nan), line.get("log_unit_value_typical", np.nan)
    if z is None or np.isnan(z) or np.isnan(lv) or typ is None or np.isnan(typ):
        return "Unit value could not be computed (quantity or value missing).", {}
    ratio = float(np.exp(lv - typ))
    ev = {
        "unit_value_usd": round(float(np.exp(lv)), 4),
        "typical_usd": round(float(np.exp(typ)), 4),
        "ratio_to_typical": round(ratio, 3),
        "robust_z": round(float(z), 2),
    }
    where = "below" if ratio < 1 else "above"
    return (
        f"Unit value ${ev['unit_value_usd']:,.2f} is {_pct(abs(1 - ratio))} {where} the typical "
        f"${ev['typical_usd']:,.2f} for this subheading and origin."
    ), ev


def _history(who: str, key: str) -> Callable[[Row, bool], tuple[str, dict[str, Any]]]:
    def fn(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
        n = float(np.expm1(line.get(f"hist_{key}_inspected", 0.0) or 0.0))
        v = float(line.get(f"hist_{key}_violations", 0.0) or 0.0)
        lines = float(np.expm1(line.get(f"hist_{key}_lines", 0.0) or 0.0))
        ev = {
            "prior_lines": round(lines),
            "prior_inspections": round(n),
            "prior_violations": round(v),
        }
        if lines < 0.5:
            return f"The {who} has no history in the training data (new).", ev
        return (
            f"The {who} had {_n(ev['prior_violations'], 'violation')} in "
            f"{_n(ev['prior_inspections'], 'past inspection')} "
            f"over {_n(ev['prior_lines'], 'line')}."
        ), ev

    return fn


def _missing(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    cols = [c for c in _s(line.get("ev_missing")).split("|") if c]
    if cols:
        return f"Unknown (not declared): {', '.join(cols)}.", {"missing": cols}
    return "All screening fields were declared.", {}


def _entry(line: Row, up: bool) -> tuple[str, dict[str, Any]]:
    n = int(line.get("lines_in_entry", 1) or 1)
    return f"The entry has {n} line(s).", {"lines_in_entry": n}


SENTENCES: dict[str, Callable[[Row, bool], tuple[str, dict[str, Any]]]] = {
    "listed_entity": _entity,
    "xinjiang_address": _xinjiang,
    "goods_description": _description,
    "risk_goods": _goods,
    "route": _route,
    "origin": _origin,
    "unit_value": _value,
    "importer_history": _history("importer", "imp"),
    "manufacturer_history": _history("manufacturer", "mfr"),
    "shipper_history": _history("shipper", "shp"),
    "goods_history": _history("subheading", "hs6"),
    "missing_data": _missing,
    "entry_shape": _entry,
}


def _field_sentence(group: str, line: Row) -> tuple[str, dict[str, Any]]:
    kind, col = group.split(":", 1)
    val = _s(line.get(col + "_raw", line.get(col)))
    if kind == "history":
        text, ev = _history(f"value {val or 'unknown'} of {col}", col)(line, True)
        return text, {"field": col, "value": val, **ev}
    return f"Field {col} = {val or 'unknown'}.", {"field": col, "value": val}


def group_contributions(contrib: np.ndarray, feature_names: list[str]) -> pd.DataFrame:
    """Sum per-feature SHAP values (without the bias column) into reason groups."""
    labels, values = _group_sums(contrib, feature_names)
    return pd.DataFrame(values, columns=pd.Index(labels, dtype=object))


@lru_cache(maxsize=8)
def _group_layout(feature_names: tuple[str, ...]) -> tuple[list[str], list[np.ndarray]]:
    """Sorted group labels and, per summation step, the (group, feature) index pairs."""
    groups = feature_groups(list(feature_names))
    labels = sorted(set(groups.values()))
    members = [[j for j, f in enumerate(feature_names) if groups[f] == g] for g in labels]
    steps = []
    for t in range(max((len(m) for m in members), default=0)):
        steps.append(np.array([(k, m[t]) for k, m in enumerate(members) if len(m) > t]))
    return labels, steps


def _group_sums(contrib: np.ndarray, feature_names: list[str]) -> tuple[list[str], np.ndarray]:
    """Per-group sums, bit-identical to ``DataFrame.T.groupby(groups).sum()``.

    pandas sums groups with Kahan compensation in feature order; the same steps are run here
    for all groups at once (a groupby's fixed cost per call is many times these steps').
    """
    labels, steps = _group_layout(tuple(feature_names))
    n = contrib.shape[0]
    if is_small(n):
        # A few lines: the same steps on Python floats (IEEE doubles, so bit-identical) cost
        # less than one NumPy call per step.
        return labels, np.array([_row_sums(row, len(labels), steps) for row in contrib.tolist()])
    total = np.zeros((n, len(labels)))
    comp = np.zeros((n, len(labels)))
    for step in steps:
        g, j = step[:, 0], step[:, 1]
        y = contrib[:, j] - comp[:, g]
        t = total[:, g] + y
        comp[:, g] = (t - total[:, g]) - y
        total[:, g] = t
    return labels, total


def _row_sums(row: list[float], n_groups: int, steps: list[np.ndarray]) -> list[float]:
    """:func:`_group_sums` of one line, Kahan-compensated in the same order."""
    total = [0.0] * n_groups
    comp = [0.0] * n_groups
    for step in steps:
        for g, j in step.tolist():
            y = row[j] - comp[g]
            t = total[g] + y
            comp[g] = (t - total[g]) - y
            total[g] = t
    return total


class _ColumnView:
    """Rows of evidence columns as cheap ``.get`` views (see :class:`Row`)."""

    def __init__(self, columns: Mapping[str, np.ndarray]) -> None:
        self._src = columns  # may compute columns on first use: not copied
        # Columns already asked for, in a plain dict: a row's get is then one lookup.
        self.cols: dict[str, np.ndarray | None] = {}

    def column(self, key: str) -> np.ndarray | None:
        col = self._src.get(key)
        self.cols[key] = col
        return col

    def row(self, i: int) -> _RowView:
        return _RowView(self, i)


class _RowView:
    __slots__ = ("_cols", "_i", "_view")

    def __init__(self, view: _ColumnView, i: int) -> None:
        self._view, self._cols, self._i = view, view.cols, i

    def get(self, key: str, default: Any = None) -> Any:
        try:
            col = self._cols[key]
        except KeyError:
            col = self._view.column(key)
        return default if col is None else col[self._i]


def reasons_for(
    contrib: np.ndarray,
    feature_names: list[str],
    context: Mapping[str, np.ndarray],
    k: int,
) -> list[list[dict[str, Any]]]:
    """Top-k reasons per line.

    Args:
        contrib: ``pred_contrib`` output (lines x features+1), log-odds.
        feature_names: Model feature names, in column order.
        context: Column name -> array with one value per line of ``contrib``: feature
            values, signals and the lines' own fields (``<name>_raw``).
        k: Reasons per line.

    Returns:
        Per line, a list of ``{"code", "text", "evidence", "contribution", "share"}`` with
        ``share`` the signed fraction of the sum of absolute group contributions.
    """
    rows = len(contrib)
    if k <= 0 or rows == 0:
        return [[] for _ in range(rows)]
    labels, values = _group_sums(contrib, feature_names)
    total = np.abs(values).sum(axis=1)
    order = np.argsort(-np.abs(values), axis=1)[:, :k]
    out: list[list[dict[str, Any]]] = []
    columns = _ColumnView(context)
    for i in range(rows):
        line = columns.row(i)
        items = []
        for j in order[i]:
            code, c = labels[j], float(values[i, j])
            maker = SENTENCES.get(code)
            text, ev = maker(line, c > 0) if maker else _field_sentence(code, line)
            items.append(
                {
                    "code": code,
                    "text": text,
                    "evidence": ev,
                    "contribution": round(c, 4),
                    "share": round(c / total[i], 4) if total[i] > 0 else 0.0,
                }
            )
        out.append(items)
    return out
