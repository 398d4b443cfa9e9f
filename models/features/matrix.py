"""The one feature code path: fitted in training, stored with the model, applied in serving.

``fit_feature_state`` learns every statistic (category lists, typical values, party
histories) from training lines; ``build_features`` turns any batch of lines into the model
matrix with that state. Training, ``flrisk score``, Spark and the API all go through
``build_features``, so there is no training/serving skew by construction; ``model_frame``
wraps its columns in a frame for LightGBM's training API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.contract.batch import Column, Lines
from models.features.cache import SignalCache
from models.features.distinct import combine, factorize, one_batch, spread
from models.features.history import HistoryLookup, PartyHistory, history_features, month_index
from models.features.signals import derive_signals, signal_frame
from models.features.tips import PartyHits, TipIndex, tip_features
from models.features.valuestats import (
    GOODS_COLUMNS,
    MEASURES,
    fit_value_stats,
    value_features,
)

STATE_FORMAT = 1
MAX_CATEGORIES = 200
MIN_CATEGORY_COUNT = 5

BASE_CATEGORICAL = (
    "country_of_origin",
    "country_of_export",
    "lading_country",
    "transport_mode",
    "hs_chapter",
    "hs_heading",
    "rg_sector",
    "mid_city",
    "mfr_addr_country",
)
SIGNAL_NUMERIC = (
    "origin_ne_export",
    "lading_ne_origin",
    "lading_cn_origin_other",
    "origin_is_hub",
    "mid_ne_origin",
    "mfr_addr_ne_origin",
    "mfr_addr_cn",
    "shp_addr_ne_origin",
    "shp_addr_cn",
    "mfr_xj",
    "mfr_xj_postal",
    "shp_xj",
    "shp_xj_postal",
    "route_cn_via_hub",
    "names_xj",
    "desc_xj",
    "desc_risk_terms",
    "mfr_list_sim",
    "shp_list_sim",
    "rg_priority",
    "rg_priority_cn",
    "rg_ilab_fl",
    "rg_ilab_any",
    "rg_ilab_derived",
    "log_value",
    "log_weight",
    "log_unit_value",
    "log_value_per_kg",
    "log_kg_per_unit",
    "lines_in_entry",
    "n_missing",
    "shipper_ne_mfr",
    "shipper_trader",
    "shipper_ctry_ne_mfr",
)
VALUE_NUMERIC = ("log_unit_value_z", "log_value_per_kg_z")
# Party keys whose past inspection outcomes are features; goods keys give a time-ordered
# encoding of how often a subheading (from an origin) was found in violation.
HISTORY_KEYS = ("imp", "mfr", "shp", "hs6", "origin_heading")


@dataclass
class FeatureState:
    """Everything learned from training data that the features need, JSON-serialisable."""

    categories: dict[str, list[str]]
    value_stats: dict[str, Any]
    histories: dict[str, PartyHistory] = field(repr=False)
    prior_rate: float
    passthrough: dict[str, str]
    feature_names: list[str]
    categorical_features: list[str]
    format: int = STATE_FORMAT
    # Whether the model has the tip features (trained with tips: models.features.tips).
    tips: bool = False
    # Category -> code per categorical feature, built on first use (not part of the state).
    _positions: dict[str, dict[str, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # The histories' joined search arrays, built on first use (not part of the state).
    _lookup: HistoryLookup | None = field(default=None, init=False, repr=False, compare=False)

    def positions(self, col: str) -> dict[str, int]:
        """Code of each category of ``col`` (built once: up to 200 per feature)."""
        pos = self._positions.get(col)
        if pos is None:
            pos = self._positions[col] = {c: i for i, c in enumerate(self.categories[col])}
        return pos

    def history_lookup(self) -> HistoryLookup:
        """All histories' search arrays joined (built once), in ``histories`` order."""
        if self._lookup is None:
            self._lookup = HistoryLookup(list(self.histories.values()))
        return self._lookup

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``feature_state.json``."""
        return {
            "format": self.format,
            "categories": self.categories,
            "value_stats": self.value_stats,
            "histories": {k: h.to_json() for k, h in self.histories.items()},
            "prior_rate": self.prior_rate,
            "passthrough": self.passthrough,
            "feature_names": self.feature_names,
            "categorical_features": self.categorical_features,
            "tips": self.tips,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureState:
        """Inverse of :meth:`to_json`; refuses a state written by another format."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"feature state format {data.get('format')} != {STATE_FORMAT}")
        return cls(
            categories=data["categories"],
            value_stats=data["value_stats"],
            histories={k: PartyHistory.from_json(v) for k, v in data["histories"].items()},
            prior_rate=float(data["prior_rate"]),
            passthrough=data["passthrough"],
            feature_names=data["feature_names"],
            categorical_features=data["categorical_features"],
            tips=bool(data.get("tips", False)),  # states written before tip features: none
        )


def _history_keys(
    lines: Lines, signals: Mapping[str, Any], high_card: list[str]
) -> dict[str, np.ndarray]:
    """Party / goods key per line for each history, as object arrays (missing: None or NaN).

    Args:
        lines: The lines.
        signals: The lines' signals.
        high_card: High-cardinality pass-through columns with a history of their own.
    """
    keys = {
        "imp": np.asarray(signals["imp_key"], dtype=object),
        "mfr": np.asarray(signals["mfr_key"], dtype=object),
        "shp": np.asarray(signals["shp_key"], dtype=object),
        # As it is: converting a large batch's text to objects costs more than the lookup.
        "hs6": signals["hs6"],
        "origin_heading": _origin_heading(lines["country_of_origin"], signals["hs_heading"]),
    }
    for col in high_card:
        values = np.array(lines[col], dtype=object)  # a copy: the lines stay untouched
        values[pd.isna(values)] = None
        keys[col] = values
    return keys


def _origin_heading(origin: Column, heading: Column) -> np.ndarray:
    """``origin + ":" + heading`` per line (either part missing: NaN), once per distinct pair."""
    ocodes, ouniq = factorize(origin)
    hcodes, huniq = factorize(heading)
    pair, first = combine(ocodes, hcodes)
    text = [
        f"{ouniq[ocodes[i]]}:{huniq[hcodes[i]]}" if ocodes[i] >= 0 and hcodes[i] >= 0 else np.nan
        for i in first
    ]
    return spread(text, pair, np.nan)  # type: ignore[no-any-return]


def _categorical_codes(src: Any, position: dict[str, int]) -> np.ndarray:
    """Codes of ``src.astype(str)`` in the fixed categories (unseen or missing: -1)."""
    # The column as it is: the batch has most often factorised it already (one_batch).
    codes, uniques = factorize(src)
    return spread([position.get(str(u), -1) for u in uniques], codes, -1, "int64")  # type: ignore[no-any-return]


def fit_feature_state(
    lines: Lines,
    cache: SignalCache | None = None,
    signals: Mapping[str, Column] | None = None,
    tips: bool = False,
) -> FeatureState:
    """Learn the feature state from labelled training lines.

    Args:
        lines: Contract lines with label columns (``inspected``, ``violation``); their
            pass-through columns become features too.
        cache: Signal memo to reuse.
        signals: Precomputed :func:`~models.features.signals.derive_signals` of ``lines``.
        tips: Give the model the tip features (:mod:`models.features.tips`): training was
            given tips.

    Returns:
        The fitted state; ``build_features(lines, state)`` gives the model matrix.
    """
    passthrough = dict(lines.passthrough)
    if signals is None:
        signals = derive_signals(lines, cache)
    # Statistics are pandas' group-bys over the signals: a frame is their natural input.
    sig = signal_frame(signals)
    pt_cat = [c for c, kind in passthrough.items() if kind == "categorical"]
    high_card = [c for c in pt_cat if pd.Series(lines[c]).nunique() > MAX_CATEGORIES]
    categorical = list(BASE_CATEGORICAL) + pt_cat
    categories: dict[str, list[str]] = {}
    for col in categorical:
        src = pd.Series(lines[col] if col in lines else sig[col])
        counts = src.astype(object).where(src.notna(), None).value_counts()
        counts = counts[counts >= MIN_CATEGORY_COUNT].head(MAX_CATEGORIES)
        categories[col] = sorted(str(v) for v in counts.index)
    inspected = pd.Series(lines["inspected"]).fillna(False).astype(bool)
    violation = pd.Series(lines["violation"])
    n_insp = int(inspected.sum())
    prior = float((violation[inspected] == 1).sum() / n_insp) if n_insp else 0.0
    hist_frame = pd.DataFrame(
        {
            "entry_date": lines["entry_date"],
            "inspected": inspected,
            "violation": violation,
            "risky": sig["risky"],
        }
    )
    histories = {
        name: PartyHistory.fit(name, key, hist_frame)
        for name, key in _history_keys(lines, signals, high_card).items()
    }
    state = FeatureState(
        categories=categories,
        value_stats=fit_value_stats(sig, pd.Series(lines["country_of_origin"])),
        histories=histories,
        prior_rate=prior,
        passthrough=passthrough,
        feature_names=[],
        categorical_features=categorical,
        tips=tips,
    )
    none = np.zeros(0, dtype=np.intp)
    no_signals = {c: v[none] for c, v in signals.items()}
    state.feature_names = list(build_features(lines.take(none), state, signals=no_signals))
    return state


def model_frame(X: Mapping[str, np.ndarray], state: FeatureState) -> pd.DataFrame:
    """The model matrix as a frame (categorical codes as fixed categories), for LightGBM.

    Training hands this to ``lightgbm.Dataset``: a frame's categorical dtypes carry the
    category lists into the booster (``pandas_categorical``).

    Args:
        X: Output of :func:`build_features`.
        state: The state ``X`` was built with.
    """
    out: dict[str, Any] = {}
    for c, values in X.items():
        if c in state.categories:
            dtype = pd.CategoricalDtype(state.categories[c])
            out[c] = pd.Categorical.from_codes(values, dtype=dtype)
        else:
            out[c] = values
    # One frame built at once: inserting ~90 columns one by one copies the blocks each time.
    return pd.DataFrame(out)


def build_features(
    lines: Lines,
    state: FeatureState,
    cache: SignalCache | None = None,
    signals: Mapping[str, Column] | None = None,
    evidence: dict[str, np.ndarray] | None = None,
    tips: TipIndex | None = None,
    status_as_of: Column | None = None,
    tip_hits: PartyHits | None = None,
) -> dict[str, np.ndarray]:
    """The model matrix of a batch of lines, with the fitted state.

    The one feature code path: training, ``flrisk score``, Spark and the API all call it, so
    there is no training/serving skew by construction.

    Args:
        lines: Contract lines (labels, if present, are ignored).
        state: Output of :func:`fit_feature_state`.
        cache: Signal memo to reuse across calls (serving keeps one per process).
        signals: Precomputed :func:`~models.features.signals.derive_signals` of ``lines``.
        evidence: If given, receives what the features were computed against but are not
            features themselves (each measure's typical value, ``<measure>_typical``), for
            the reasons.
        tips: The tips, for a state with tip features (None: no tip names any line).
        status_as_of: Per line, the day the tips' statuses are taken on the eve of
            (training: the entry dates, so no line sees its own outcome); None: as they are
            now (serving). See :func:`~models.features.tips.tip_features`.
        tip_hits: The matching of ``tips`` to these lines, if already made.

    Returns:
        Feature name -> array, in ``state.feature_names`` order; categorical features are
        int64 codes into ``state.categories[name]`` (-1: unseen or missing).
    """
    with one_batch():
        return _build_features(lines, state, cache, signals, evidence, tips, status_as_of, tip_hits)


def _build_features(
    lines: Lines,
    state: FeatureState,
    cache: SignalCache | None,
    signals: Mapping[str, Column] | None,
    evidence: dict[str, np.ndarray] | None,
    tips: TipIndex | None,
    status_as_of: Column | None,
    tip_hits: PartyHits | None,
) -> dict[str, np.ndarray]:
    if signals is None:
        signals = derive_signals(lines, cache)
    X: dict[str, Any] = {}
    for col in state.categorical_features:
        src = lines[col] if col in lines else signals[col]
        X[col] = _categorical_codes(src, state.positions(col))
    for col in SIGNAL_NUMERIC:
        X[col] = np.asarray(signals[col], dtype="float64")
    # The goods codes and the origin as they are: the batch has factorised them already.
    vf = value_features(
        {**{c: signals[c] for c in GOODS_COLUMNS}, **{m: np.asarray(signals[m]) for m in MEASURES}},
        lines["country_of_origin"],
        state.value_stats,
    )
    for col in VALUE_NUMERIC:
        X[col] = vf[col]
    if evidence is not None:
        evidence.update({f"{m}_typical": vf[f"{m}_typical"] for m in MEASURES})
    for col, kind in state.passthrough.items():
        if kind == "numeric":
            X[col] = np.asarray(lines[col], dtype="float64")
    months = month_index(lines["entry_date"])
    high_card = [c for c in state.histories if c not in HISTORY_KEYS]
    keys = _history_keys(lines, signals, high_card)
    parties = [keys[name] for name in state.histories]
    X.update(history_features(state.history_lookup(), parties, months, state.prior_rate))
    if state.tips:
        X.update(tip_features(lines, tips, cache or SignalCache(), status_as_of, tip_hits))
    names = state.feature_names or list(X)
    return {c: X[c] for c in names}
