"""The one feature code path: fitted in training, stored with the model, applied in serving.

``fit_feature_state`` learns every statistic (category lists, typical values, party
histories) from training lines; ``build_features`` turns any contract-shaped lines into the
model matrix with that state. Training, ``flrisk score`` and the API all go through
``feature_columns`` (``build_features`` is it wrapped in a frame), so there is no
training/serving skew by construction. It works on plain arrays, so one line costs well
under a millisecond and a million lines keep their vectorised throughput.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from models.features.distinct import combine, factorize, spread
from models.features.history import PartyHistory, month_index
from models.features.signals import SignalCache, derive_signals, signal_columns
from models.features.valuestats import (
    GOODS_COLUMNS,
    MEASURES,
    fit_value_stats,
    value_feature_arrays,
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
    # Category -> code per categorical feature, built on first use (not part of the state).
    _positions: dict[str, dict[str, int]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def positions(self, col: str) -> dict[str, int]:
        """Code of each category of ``col`` (built once: up to 200 per feature)."""
        pos = self._positions.get(col)
        if pos is None:
            pos = self._positions[col] = {c: i for i, c in enumerate(self.categories[col])}
        return pos

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
    column: Callable[[str], Any],
    signals: pd.DataFrame | Mapping[str, Any],
    high_card: list[str],
) -> dict[str, np.ndarray]:
    """Party / goods key per line for each history, as object arrays (missing: None or NaN).

    Args:
        column: Reads a contract column of the lines: a frame's column, or the reader's
            array of it.
        signals: The lines' signals.
        high_card: High-cardinality pass-through columns with a history of their own.
    """
    keys = {
        "imp": np.asarray(signals["imp_key"], dtype=object),
        "mfr": np.asarray(signals["mfr_key"], dtype=object),
        "shp": np.asarray(signals["shp_key"], dtype=object),
        "hs6": np.asarray(signals["hs6"], dtype=object),
        "origin_heading": _origin_heading(column("country_of_origin"), signals["hs_heading"]),
    }
    for col in high_card:
        values = np.array(column(col), dtype=object)  # a copy: the lines stay untouched
        values[pd.isna(values)] = None
        keys[col] = values
    return keys


def _origin_heading(origin: pd.Series | np.ndarray, heading: Any) -> np.ndarray:
    """``origin.astype(str) + ":" + heading`` (missing part: NaN), once per distinct pair.

    Args:
        origin: A frame's column, or the reader's array of that text column (NaN: unknown).
        heading: The HS heading of each line.
    """
    if isinstance(origin, pd.Series) and not isinstance(origin.dtype, pd.StringDtype):
        # Object origins turn missing into "nan"/"None" text under astype(str): keep that.
        return (origin.astype(str) + ":" + pd.Series(heading, index=origin.index)).to_numpy(
            dtype=object
        )
    ocodes, ouniq = factorize(np.asarray(origin))
    hcodes, huniq = factorize(np.asarray(heading, dtype=object))
    pair, first = combine(ocodes, hcodes)
    text = [
        f"{ouniq[ocodes[i]]}:{huniq[hcodes[i]]}" if ocodes[i] >= 0 and hcodes[i] >= 0 else np.nan
        for i in first
    ]
    return spread(text, pair, np.nan)


def _categorical_codes(src: Any, categories: list[str], position: dict[str, int]) -> np.ndarray:
    """Codes of ``src.astype(str)`` in the fixed categories (unseen or missing: -1)."""
    codes, uniques = factorize(np.asarray(src, dtype=object))
    return spread([position.get(str(u), -1) for u in uniques], codes, -1, "int64")  # type: ignore[no-any-return]


def _categorical_source(frame: pd.DataFrame, signals: Any, col: str) -> pd.Series:
    src = frame[col] if col in frame.columns else pd.Series(signals[col], index=frame.index)
    return src.astype(object).where(src.notna(), None)


def _month_index(dates: Any) -> np.ndarray:
    """:func:`month_index` without the datetime accessor's per-call cost."""
    if len(dates) == 0:
        return np.zeros(0, dtype="int64")
    if isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M":
        # Naive datetime64: whole months since 1970, shifted to months since year 0.
        months = np.asarray(dates).astype("datetime64[M]").astype("int64")
        return months + 1970 * 12  # type: ignore[no-any-return]
    return month_index(pd.Series(dates)).to_numpy()


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
        for name, key in _history_keys(frame.__getitem__, signals, high_card).items()
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
    signals: pd.DataFrame | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Model matrix for contract-shaped lines, with the fitted state.

    Args:
        frame: Contract-shaped lines (labels, if present, are ignored).
        state: Output of :func:`fit_feature_state`.
        cache: Signal memo to reuse across calls (serving keeps one per process).
        signals: Precomputed :func:`derive_signals` output for ``frame`` (or its
            :func:`~models.features.signals.signal_columns`), to avoid recomputing.

    Returns:
        One row per line, columns ``state.feature_names`` (categoricals as fixed
        ``CategoricalDtype``; unseen values become missing).
    """
    return features_frame(feature_columns(frame, state, cache, signals), state, frame.index)


def features_frame(
    X: Mapping[str, np.ndarray], state: FeatureState, index: pd.Index
) -> pd.DataFrame:
    """The frame of :func:`feature_columns` output (categorical codes as fixed categories).

    Args:
        X: Output of :func:`feature_columns`.
        state: The state ``X`` was built with.
        index: Index of the lines.

    Returns:
        The model matrix as :func:`build_features` returns it.
    """
    out: dict[str, Any] = {}
    for c, values in X.items():
        if c in state.categories:
            dtype = pd.CategoricalDtype(state.categories[c])
            out[c] = pd.Categorical.from_codes(values, dtype=dtype)
        else:
            out[c] = values
    # One frame built at once: inserting ~90 columns one by one copies the blocks each time.
    return pd.DataFrame(out, index=index)


def feature_columns(
    frame: pd.DataFrame | None,
    state: FeatureState,
    cache: SignalCache | None = None,
    signals: pd.DataFrame | Mapping[str, Any] | None = None,
    columns: Mapping[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """The features as plain arrays: what :func:`build_features` puts in its frame.

    The one feature code path; it works on arrays so that its fixed cost per call stays
    small (a single line is scored in about a millisecond) while large batches keep their
    vectorised throughput.

    Args:
        frame: Contract-shaped lines (labels, if present, are ignored); None when
            ``columns`` holds every contract column (the reader's ``arrays``).
        state: Output of :func:`fit_feature_state`.
        cache: Signal memo to reuse across calls.
        signals: Precomputed signals for ``frame`` (frame or column mapping).
        columns: :func:`~models.features.signals.frame_columns` of ``frame``, if already read; the
            columns it lacks are read from ``frame``.

    Returns:
        Feature name -> array, in ``state.feature_names`` order; categorical features are
        int64 codes into ``state.categories[name]`` (-1: unseen or missing).
    """
    cols: Mapping[str, Any] = columns or {}
    if signals is None:
        signals = signal_columns(frame, cache, columns)

    def read(col: str) -> Any:
        if col in cols:
            return cols[col]
        if frame is None:
            raise KeyError(f"column {col!r} is neither in the frame nor in its columns")
        return frame[col]

    def is_line_column(col: str) -> bool:
        return col in cols or (frame is not None and col in frame.columns)

    X: dict[str, Any] = {}
    for col in state.categorical_features:
        src = read(col) if is_line_column(col) else signals[col]
        X[col] = _categorical_codes(src, state.categories[col], state.positions(col))
    for col in SIGNAL_NUMERIC:
        X[col] = np.asarray(signals[col], dtype="float64")
    vf = value_feature_arrays(
        {c: np.asarray(signals[c]) for c in (*GOODS_COLUMNS, *MEASURES)},
        np.asarray(read("country_of_origin")),
        state.value_stats,
    )
    for col in VALUE_NUMERIC:
        X[col] = vf[col]
    for col, kind in state.passthrough.items():
        if kind == "numeric":
            num = pd.to_numeric(read(col), errors="coerce")
            num = num.astype("float64") if isinstance(num, pd.Series) else num
            X[col] = np.asarray(num, dtype="float64")
    months = _month_index(read("entry_date"))
    high_card = [c for c in state.histories if c not in HISTORY_KEYS]
    # A frame's own columns (their dtype decides how a missing origin reads), else arrays.
    keys = _history_keys(read if frame is None else frame.__getitem__, signals, high_card)
    for name, hist in state.histories.items():
        X.update(hist.feature_arrays(keys[name], months, state.prior_rate))
    names = state.feature_names or list(X)
    return {c: X[c] for c in names}
