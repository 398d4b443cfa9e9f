"""Explanations: SHAP contributions grouped into plain-language reasons with evidence.

LightGBM's ``pred_contrib=True`` gives exact TreeSHAP values in log-odds; we sum them over
the features that stand for one piece of evidence (e.g. all entity-list similarities) and
split the groups by direction: those that raise the line's risk, largest first, and those
that lower it, most lowering first. Each group becomes a sentence an officer can check
(:mod:`models.scoring.sentences`), with the evidence behind it and its signed share of the
line's total contribution; a group whose contribution rests on no evidence in the line (an
undeclared field, a party never inspected, a check that found nothing raising the risk) is
left out rather than written as a reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from models.contract.batch import is_small
from models.scoring.legal_basis import GROUPS_OF_BASIS, LATER_READS, basis_reason, listed_later
from models.scoring.reason_choice import ColumnView, Wording, chosen, collector_paused, round4
from models.scoring.sentences import SENTENCES, Row, Said, _s

__all__ = [
    "LOWERS",
    "NOTE",
    "PRESUMES",
    "RAISES",
    "SENTENCES",
    "TIP_GROUP",
    "Row",
    "feature_groups",
    "group_contributions",
    "group_totals",
    "reasons_for",
]

# A reason raises or lowers the risk (the model's), states a presumption (the law's), or is
# a note that moves nothing (a party listed after the line's entry date).
RAISES, LOWERS, PRESUMES, NOTE = "raises", "lowers", "presumes", "note"

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
    ("shipper_role", ("shipper_ne_mfr", "shipper_trader", "shipper_ctry_ne_mfr")),
    ("missing_data", ("n_missing",)),
    ("entry_shape", ("lines_in_entry",)),
    ("tip", ("tip_",)),
)
# Groups said elsewhere, not by ``reasons_for``: the tip counts' contribution is carried by
# the line's ``tip`` reasons, one per tip (``models/scoring/tip_reasons.py``).
TIP_GROUP = "tip"
SAID_ELSEWHERE = frozenset({TIP_GROUP})


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


def group_contributions(contrib: np.ndarray, feature_names: list[str]) -> pd.DataFrame:
    """Sum per-feature SHAP values (without the bias column) into reason groups."""
    labels, values = _group_sums(contrib, feature_names)
    return pd.DataFrame(values, columns=labels)  # labels as the groupby's: pandas' text dtype


def group_totals(contrib: np.ndarray, feature_names: list[str]) -> np.ndarray:
    """Per line, the sum of absolute group contributions: what ``reasons_for``'s shares divide.

    Args:
        contrib: ``pred_contrib`` rows (lines x features+1), log-odds.
        feature_names: Model feature names, in column order.
    """
    return np.abs(_group_sums(contrib, feature_names)[1]).sum(axis=1)  # type: ignore[no-any-return]


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


def reasons_for(
    contrib: np.ndarray,
    feature_names: list[str],
    context: Mapping[str, np.ndarray],
    k: int,
    presumption: np.ndarray | None = None,
) -> list[list[dict[str, Any]]]:
    """Per line, its presumption's legal basis, up to k reasons each way, and a note.

    Args:
        contrib: ``pred_contrib`` output (lines x features+1), log-odds.
        feature_names: Model feature names, in column order.
        context: Column name -> array with one value per line of ``contrib``: feature
            values, signals and the lines' own fields (``<name>_raw``).
        k: Reasons per direction and line.
        presumption: Per line, its presumption (``"uflpa_entity;xinjiang"``, ``""``), or
            None for no line presumed.

    Returns:
        Per line, a list of ``{"code", "direction", "text", "evidence", "contribution",
        "share"}``: first, on a presumed line, one ``presumption`` reason per basis
        (``direction`` ``"presumes"``, :mod:`models.scoring.legal_basis`), carrying the
        contribution of the groups it rests on, which are not repeated; then the groups with
        a positive contribution (``"raises"``), largest first, then those with a negative
        one (``"lowers"``), most lowering first, only groups whose sentence rests on
        evidence in the line; last, a ``listed_later`` ``"note"`` when a party was listed
        after the line's entry date. ``share`` is the signed fraction of the sum of absolute
        group contributions.
    """
    rows = len(contrib)
    if k <= 0 or rows == 0:
        return [[] for _ in range(rows)]
    with collector_paused():
        return _reasons(contrib, feature_names, context, k, presumption)


def _reasons(
    contrib: np.ndarray,
    feature_names: list[str],
    context: Mapping[str, np.ndarray],
    k: int,
    presumption: np.ndarray | None,
) -> list[list[dict[str, Any]]]:
    """:func:`reasons_for` of a batch of at least one line, for at least one reason."""
    rows = len(contrib)
    labels, values = _group_sums(contrib, feature_names)
    index = {g: j for j, g in enumerate(labels)}
    total = np.abs(values).sum(axis=1)
    out: list[list[dict[str, Any]]] = [[] for _ in range(rows)]
    columns = ColumnView(context)
    allowed = np.ones(values.shape, dtype=bool)
    allowed[:, [index[g] for g in SAID_ELSEWHERE if g in index]] = False
    bases = [""] * rows if presumption is None else [b or "" for b in presumption.tolist()]
    for i in (i for i, b in enumerate(bases) if b):
        row = values[i].tolist()
        folded = _presumed(bases[i], columns.row(i), row, float(total[i]), index, out[i])
        allowed[i, [index[g] for g in folded if g in index]] = False
    line, direction, group, said = chosen(
        values, allowed, k, Wording(labels, context, columns, SAID_ELSEWHERE)
    )
    c = values[line, group]
    tot = total[line]
    share = np.divide(c, tot, out=np.zeros_like(c), where=tot > 0)
    codes = [labels[g] for g in group.tolist()]
    # A sentence said on several lines gives each its own evidence: the first takes the
    # one worded (nothing else keeps it once the batch is done), the others a copy.
    given: set[int] = set()
    for i, d, code, (text, ev), ci, si in zip(
        line.tolist(), direction.tolist(), codes, said, round4(c), round4(share), strict=True
    ):
        if id(ev) in given:
            ev = dict(ev)
        else:
            given.add(id(ev))
        out[i].append(
            {
                "code": code,
                "direction": LOWERS if d else RAISES,
                "text": text,
                "evidence": ev,
                "contribution": ci,
                "share": si,
            }
        )
    for i in _later_candidates(columns):
        if "uflpa_entity" not in bases[i] and "wro" not in bases[i]:
            note = listed_later(columns.row(i))
            if note is not None:
                out[i].append(_item("listed_later", NOTE, note, 0.0, 0.0))
    return out


def _later_candidates(columns: ColumnView) -> list[int]:
    """Lines with a party listed after the entry date (what ``listed_later`` reads)."""
    hits: set[int] = set()
    for c in LATER_READS:
        values = columns.column(c)
        if values is not None:
            hits.update(i for i, v in enumerate(values) if _s(v))
    return sorted(hits)


def _item(code: str, direction: str, said: Said, c: float, tot: float) -> dict[str, Any]:
    return {
        "code": code,
        "direction": direction,
        "text": said[0],
        "evidence": said[1],
        "contribution": round(c, 4),
        "share": round(c / tot, 4) if tot > 0 else 0.0,
    }


def _presumed(
    bases: str, line: Row, row: list[float], tot: float, index: dict[str, int], items: list
) -> set[str]:
    """Append a presumed line's legal-basis reasons; return the groups they fold in."""
    folded: set[str] = set()
    for basis in bases.split(";"):
        said = basis_reason(basis, line)
        if said is None:
            continue
        groups = [g for g in GROUPS_OF_BASIS[basis] if g not in folded]
        c = sum(row[index[g]] for g in groups if g in index)
        folded.update(GROUPS_OF_BASIS[basis])
        items.append(_item("presumption", PRESUMES, said, c, tot))
    return folded
