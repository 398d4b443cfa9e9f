"""The one feature code path: fitted in training, stored with the model, applied in serving.

``fit_feature_state`` learns every statistic (category lists, typical values, party
histories) from training lines; ``build_features`` turns any contract-shaped lines into the
model matrix with that state. Training, ``flrisk score`` and the API all call
``build_features``, so there is no training/serving skew by construction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.distinct import factorize, spread
from models.history import PartyHistory, month_index
from models.signals import SignalCache, derive_signals
from models.valuestats import fit_value_stats, value_features

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
        )


def _history_keys(
    frame: pd.DataFrame, signals: pd.DataFrame, state_pt: dict[str, str], high_card: list[str]
) -> dict[str, pd.Series]:
    keys = {
        "imp": signals["imp_key"],
        "mfr": signals["mfr_key"],
        "shp": signals["shp_key"],
        "hs6": signals["hs6"].astype(object),
        "origin_heading": (
            frame["country_of_origin"].astype(str) + ":" + signals["hs_heading"]
        ).astype(object),
    }
    for col in high_card:
        keys[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return keys


def _categorical(src: pd.Series, categories: list[str]) -> Any:
    """``src.astype(str)`` as the fixed categories (unseen or missing: NaN), once per value."""
    codes, uniques = factorize(src)
    position = {c: i for i, c in enumerate(categories)}
    cat = spread([position.get(str(u), -1) for u in uniques], codes, -1, "int64")
    return pd.Categorical.from_codes(cat, dtype=pd.CategoricalDtype(categories))


def _categorical_source(frame: pd.DataFrame, signals: pd.DataFrame, col: str) -> pd.Series:
    src = frame[col] if col in frame.columns else signals[col]
    return src.astype(object).where(src.notna(), None)


def fit_feature_state(
    frame: pd.DataFrame,
    passthrough: dict[str, str] | None = None,
    cache: SignalCache | None = None,
    signals: pd.DataFrame | None = None,
) -> FeatureState:
    """Learn the feature state from labelled training lines.

    Args:
        frame: Contract-shaped lines with label columns (``inspected``, ``violation``).
        passthrough: Extra mapped columns to use as features: name -> categorical|numeric.
        cache: Signal memo to reuse.
        signals: Precomputed :func:`derive_signals` output for ``frame``.

    Returns:
        The fitted state; ``build_features(frame, state)`` gives the model matrix.
    """
    passthrough = dict(passthrough or {})
    if signals is None:
        signals = derive_signals(frame, cache)
    pt_cat = [c for c, kind in passthrough.items() if kind == "categorical"]
    high_card = [c for c in pt_cat if frame[c].nunique() > MAX_CATEGORIES]
    categorical = list(BASE_CATEGORICAL) + pt_cat
    categories: dict[str, list[str]] = {}
    for col in categorical:
        counts = _categorical_source(frame, signals, col).value_counts()
        counts = counts[counts >= MIN_CATEGORY_COUNT].head(MAX_CATEGORIES)
        categories[col] = sorted(str(v) for v in counts.index)
    inspected = frame["inspected"].fillna(False).astype(bool)
    n_insp = int(inspected.sum())
    prior = float((frame.loc[inspected, "violation"] == 1).sum() / n_insp) if n_insp else 0.0
    hist_frame = pd.DataFrame(
        {
            "entry_date": frame["entry_date"],
            "inspected": inspected,
            "violation": frame["violation"],
            "risky": signals["risky"],
        }
    )
    histories = {
        name: PartyHistory.fit(name, key, hist_frame)
        for name, key in _history_keys(frame, signals, passthrough, high_card).items()
    }
    state = FeatureState(
        categories=categories,
        value_stats=fit_value_stats(signals, frame["country_of_origin"]),
        histories=histories,
        prior_rate=prior,
        passthrough=passthrough,
        feature_names=[],
        categorical_features=categorical,
    )
    state.feature_names = list(
        build_features(frame.head(0), state, signals=signals.head(0)).columns
    )
    return state


def build_features(
    frame: pd.DataFrame,
    state: FeatureState,
    cache: SignalCache | None = None,
    signals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Model matrix for contract-shaped lines, with the fitted state.

    Args:
        frame: Contract-shaped lines (labels, if present, are ignored).
        state: Output of :func:`fit_feature_state`.
        cache: Signal memo to reuse across calls (serving keeps one per process).
        signals: Precomputed :func:`derive_signals` output for ``frame``, to avoid recomputing.

    Returns:
        One row per line, columns ``state.feature_names`` (categoricals as fixed
        ``CategoricalDtype``; unseen values become missing).
    """
    if signals is None:
        signals = derive_signals(frame, cache)
    X: dict[str, Any] = {}
    for col in state.categorical_features:
        X[col] = _categorical(_categorical_source(frame, signals, col), state.categories[col])
    for col in SIGNAL_NUMERIC:
        X[col] = signals[col].astype("float64").to_numpy()
    vf = value_features(signals, frame["country_of_origin"], state.value_stats)
    for col in VALUE_NUMERIC:
        X[col] = vf[col].to_numpy()
    for col, kind in state.passthrough.items():
        if kind == "numeric":
            X[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64").to_numpy()
    months = month_index(frame["entry_date"]) if len(frame) else pd.Series([], dtype="int64")
    high_card = [c for c in state.histories if c not in HISTORY_KEYS]
    keys = _history_keys(frame, signals, state.passthrough, high_card)
    for name, hist in state.histories.items():
        feats = hist.features(keys[name], months, state.prior_rate)
        for c in feats.columns:
            X[c] = feats[c].to_numpy()
    names = state.feature_names or list(X)
    # One frame built at once: inserting ~90 columns one by one copies the blocks each time.
    return pd.DataFrame({c: X[c] for c in names}, index=frame.index)
