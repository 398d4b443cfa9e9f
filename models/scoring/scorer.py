"""Scoring: features -> LightGBM margin -> calibrated probability -> band -> reasons.

Used unchanged by ``flrisk score``, the API and the Spark engine, so a line gets the same
score whichever path it takes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from models.contract.batch import Column, Lines, frame_column, is_small
from models.features.cache import SignalCache
from models.features.matrix import FeatureState, model_frame
from models.json_text import reasons_text
from models.reference.snapshot import ReferenceSnapshot
from models.scoring.bundle import Calibration, ModelBundle
from models.scoring.drift import drift_columns
from models.scoring.explain import reasons_for
from models.scoring.partner import partner_reasons
from models.scoring.prepared import Prepared, prepare
from models.scoring.presumption import presumed_first, presumptions
from models.scoring.psi import DriftReference
from models.scoring.tip_reasons import TipIndex, merge_reasons, tip_reasons
from models.scoring.treeshap import TreeShap

NO_REASONS = "[]"
# Batches from this size on build their model matrix in a reused buffer (``Scorer._buffer``).
BIG_BATCH = 100_000


def calibrate(margin: np.ndarray, cal: Calibration) -> np.ndarray:
    """Platt-scaled probability from the raw log-odds margin."""
    z = np.clip(cal.a * margin + cal.b, -50.0, 50.0)
    return 1.0 / (1.0 + np.exp(-z))


def risk_band(scores: np.ndarray, thresholds: dict[str, float]) -> np.ndarray:
    """``high`` / ``elevated`` / ``low`` by the thresholds stored with the model."""
    return np.where(
        scores >= thresholds["high"],
        "high",
        np.where(scores >= thresholds["elevated"], "elevated", "low"),
    )


class _Evidence(Mapping[str, np.ndarray]):
    """Columns of the explained lines, each taken from its source on first read."""

    def __init__(
        self, sources: dict[str, tuple[Any, np.ndarray | None]], idx: np.ndarray, n: int
    ) -> None:
        self._sources, self._idx, self._done = sources, idx, dict[str, np.ndarray]()
        # Every line explained (a request): the columns as they are, no copy of each.
        self._all = len(idx) == n

    def __getitem__(self, key: str) -> np.ndarray:
        got = self._done.get(key)
        if got is None:
            col, labels = self._sources[key]
            # Take first, then convert (an Arrow column converts only the taken lines).
            taken = col if self._all else col[self._idx]
            got = labels[taken] if labels is not None else np.asarray(taken)
            self._done[key] = got
        return got

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def __len__(self) -> int:
        return len(self._sources)


def _drift_bins(
    reference: DriftReference,
    lines: Lines,
    signals: Mapping[str, Column],
    X: dict[str, np.ndarray],
    state: FeatureState,
    p: np.ndarray,
    presumption: np.ndarray,
) -> np.ndarray:
    return reference.bins(drift_columns(lines, signals, X, state, p, presumption))


@dataclass(frozen=True)
class Scores:
    """Scores of a batch of lines, in the batch's order.

    Attributes:
        entry_id: Entry of each line (the batch's column).
        line_no: Line number of each line.
        risk_score: Calibrated probability of a violation (float64).
        risk_band: ``high`` / ``elevated`` / ``low``.
        reasons: Per line, a list of reasons (empty if unexplained), or their JSON text.
        model_version: Registered model version (``name/version``) that scored them.
        presumption: Per line, why the law presumes forced labour on its entry date
            (``uflpa_entity``, ``xinjiang``, ``wro``, joined by ``;``), ``""`` when it does
            not (:mod:`models.scoring.presumption`). Presumed lines rank first.
        drift: With ``Scorer.score(observe=True)`` and a model that has a drift
            reference, what computes the lines' drift bins (see :meth:`drift_bins`).
        reference_versions: The reference tables matched (per table its version, and the
            ``snapshot``): the tables actually used, not those the model was trained with.
    """

    entry_id: Column
    line_no: np.ndarray
    risk_score: np.ndarray
    risk_band: np.ndarray
    reasons: np.ndarray
    model_version: str
    presumption: np.ndarray
    reference_versions: dict[str, str] = field(default_factory=dict)

    def ranking(self) -> np.ndarray:
        """Line positions in ranking order: presumed lines first, by score within."""
        return presumed_first(self.presumption, self.risk_score)

    drift: Callable[[], np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.risk_score)

    def drift_bins(self) -> np.ndarray | None:
        """Each line's bin of each drift measure (``DriftReference.bins``); None without.

        Computed when asked, not while scoring: the API asks after its answer is sent.
        """
        return self.drift() if self.drift is not None else None

    def columns(self) -> dict[str, Any]:
        """``entry_id, line_no, risk_score, risk_band, presumption, reasons`` as named arrays."""
        return {
            "entry_id": self.entry_id,
            "line_no": self.line_no,
            "risk_score": self.risk_score,
            "risk_band": self.risk_band,
            "presumption": self.presumption,
            "reasons": self.reasons,
        }

    def to_frame(self) -> pd.DataFrame:
        """:meth:`columns` and ``model_version`` as a frame."""
        n = len(self)
        return pd.DataFrame(
            {
                "entry_id": frame_column(self.entry_id),
                "line_no": self.line_no,
                "risk_score": self.risk_score,
                "risk_band": pd.array(self.risk_band, dtype="str"),
                "presumption": pd.array(self.presumption, dtype="str"),
                "reasons": pd.Series(self.reasons, dtype=object),  # never inferred as text
                "model_version": pd.array(np.full(n, self.model_version, object), dtype="str"),
            },
            copy=False,
        )


@dataclass
class Scorer:
    """A loaded model bundle ready to score contract-shaped lines.

    Attributes:
        bundle: The verified model bundle.
        version: Registered model version (``name/version``) reported with each score.
        cache: Memo of distinct-value checks, reused across calls.
        reference_source: Gives the current reference snapshot (a server's watcher); when
            set, each call without a ``reference`` scores against what it gives.
    """

    bundle: ModelBundle
    version: str = "unregistered"
    cache: SignalCache = field(default_factory=SignalCache)
    reference_source: Callable[[], ReferenceSnapshot] | None = None
    _codes_match: bool | None = field(default=None, init=False, repr=False)
    _labels: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _local: threading.local = field(default_factory=threading.local, init=False, repr=False)
    _baseline: float | None = field(default=None, init=False, repr=False)
    _shap: TreeShap | None = field(default=None, init=False, repr=False)
    _shap_built: bool = field(default=False, init=False, repr=False)

    def baseline(self) -> float:
        """The model's expected log-odds before any evidence (TreeSHAP's bias term).

        A line's margin is this plus the sum of its group contributions; the bias is the
        same for every line, so one all-missing row gives it.
        """
        if self._baseline is None:
            row = np.full((1, len(self.bundle.state.feature_names)), np.nan)
            contrib = self.bundle.booster.predict(row, pred_contrib=True, num_threads=1)
            self._baseline = float(np.asarray(contrib)[0, -1])
        return self._baseline

    def tree_shap(self) -> TreeShap | None:
        """The booster's precomputed TreeSHAP (:mod:`models.scoring.treeshap`), built once.

        None for a model it cannot stand for; LightGBM's ``pred_contrib`` explains then.
        """
        if not self._shap_built:
            self._shap = TreeShap.of(self.bundle.booster)
            self._shap_built = True
        return self._shap

    def contributions(self, data: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Exact TreeSHAP values of model-matrix rows: ``(lines, features + 1)``, bias last.

        The precomputed tables where the model allows them (LightGBM's values up to
        rounding, the same for a line in any batch), else LightGBM's ``pred_contrib``.
        """
        if isinstance(data, np.ndarray):
            shap = self.tree_shap()
            if shap is not None:
                return shap.contributions(data)
        contrib = self.bundle.booster.predict(
            data, pred_contrib=True, num_threads=self._threads(len(data))
        )
        return np.asarray(contrib)

    def _threads(self, n: int) -> int:
        # Starting a thread team costs more than a small batch's whole prediction.
        return 1 if is_small(n) else self.bundle.num_threads

    def _buffer(self, n: int, k: int) -> np.ndarray:
        """An uninitialised (n, k) Fortran-ordered float matrix.

        Batches of ``BIG_BATCH`` lines or more reuse one buffer per thread: a fresh matrix of
        that size stalls for a fraction of a second now and then while the kernel gathers
        huge pages for it, at random and for longer than the prediction itself
        (``docs/performance.md``). The matrix never leaves :meth:`score`.
        """
        if n < BIG_BATCH:
            return np.empty((n, k), dtype=np.float64, order="F")
        flat: np.ndarray | None = getattr(self._local, "flat", None)
        if flat is None or flat.size < n * k:
            flat = np.empty(n * k, dtype=np.float64)
            self._local.flat = flat
        return flat[: n * k].reshape((n, k), order="F")

    def _matrix(self, X: dict[str, np.ndarray], n: int) -> np.ndarray | pd.DataFrame:
        """LightGBM input from feature columns.

        The float matrix LightGBM would build (categories as codes, missing as NaN), or, if
        the booster's categories differ from the state's, the frame for LightGBM to convert.
        """
        state = self.bundle.state
        if self._codes_match is None:
            cats = [state.categories[c] for c in X if c in state.categories]
            self._codes_match = cats == list(self.bundle.booster.pandas_categorical or [])
        if not self._codes_match:
            return model_frame(X, state)
        data = self._buffer(n, len(X))
        for j, (c, col) in enumerate(X.items()):
            if c in state.categories:
                data[:, j] = np.where(col < 0, np.nan, col)  # LightGBM: missing category
            else:
                data[:, j] = col
        return data

    def score(
        self,
        lines: Lines,
        reasons: int = 3,
        explain_share: float = 1.0,
        as_json: bool = False,
        observe: bool = False,
        tips: TipIndex | None = None,
        reference: ReferenceSnapshot | None = None,
        tip_status_as_of: Column | None = None,
        prepared: Prepared | None = None,
    ) -> Scores:
        """Score a batch of lines and explain the riskiest.

        Args:
            lines: The lines, as the contract reader gives them.
            reasons: Reasons per explained line (0 for none).
            explain_share: Share of lines, riskiest first, that get reasons (1.0: all).
                TreeSHAP costs far more than a prediction, so large batches explain only
                what an officer will look at.
            as_json: Give ``reasons`` as JSON text (what files store), not lists;
                unexplained lines share one ``"[]"`` string instead of millions of lists.
            observe: Keep what gives each line's drift bins (``Scores.drift_bins``), when
                the model has a drift reference.
            tips: Tips that count as evidence: every line a tip names gets a ``tip``
                reason (explained or not), when ``reasons`` is above 0; and the tip
                features of a model trained with them (statuses as they are now).
            reference: The reference snapshot to match against; default: what
                ``reference_source`` gives, else the one the scorer last used.
            tip_status_as_of: Per line, the day the tips' statuses are taken on the eve of
                (evaluating past lines: their entry dates, as training counts them).
            prepared: What :meth:`prepare` made of these same ``lines`` (then
                ``reference``, ``tips`` and ``tip_status_as_of`` are the ones given to it);
                made here when None.

        Returns:
            The scores, bands and reasons of every line, in the batch's order.
        """
        state = self.bundle.state
        n_lines = len(lines)
        if prepared is None or prepared.lines is not lines:
            prepared = self.prepare(lines, reference, tips, tip_status_as_of)
        cache, signals, evidence, X = (
            prepared.cache,
            prepared.signals,
            prepared.evidence,
            prepared.features,
        )
        data = self._matrix(X, n_lines)
        threads = self._threads(n_lines)
        margin = (
            np.asarray(self.bundle.booster.predict(data, raw_score=True, num_threads=threads))
            if n_lines
            else np.zeros(0)
        )
        p = calibrate(margin, self.bundle.calibration)
        presumption = presumptions(signals, lines["entry_date"])
        explained = np.full(n_lines, NO_REASONS if as_json else None, dtype=object)
        n = n_lines if explain_share >= 1 else int(np.ceil(explain_share * n_lines))
        shap: tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]] | None = None  # tip reasons
        # A share of 0 explains no line (LightGBM fails on an empty matrix); tips still count.
        if reasons > 0 and n:
            # The lines explained are those ranked first, presumed ones before all others.
            idx = np.sort(presumed_first(presumption, p)[:n])
            sub = data.iloc[idx] if isinstance(data, pd.DataFrame) else data[idx]
            contrib = self.contributions(sub)
            shap = (idx, contrib, X)
            context = self._context(lines, X, signals, evidence, idx)
            for i, items in zip(
                idx,
                reasons_for(contrib, list(X), context, reasons, presumption[idx]),
                strict=True,
            ):
                explained[i] = reasons_text(items) if as_json else items
        if reasons > 0 and tips:
            hits = prepared.hits_for(tips)
            for i, extra in tip_reasons(lines, tips, cache, explained=shap, hits=hits).items():
                explained[i] = merge_reasons(explained[i], extra, as_json)
        for i, partner in partner_reasons(lines, cache.reference).items():
            # Evidence, never a presumption: after a presumption's legal basis.
            merged = json.loads(explained[i]) if as_json else list(explained[i] or [])
            at = sum(1 for r in merged if r.get("direction") == "presumes")
            merged.insert(at, partner)
            explained[i] = reasons_text(merged) if as_json else merged
        if not as_json:
            empty = np.flatnonzero(pd.isna(explained))
            if len(empty):
                explained[empty] = pd.Series(
                    [[] for _ in range(len(empty))], dtype=object
                ).to_numpy()
        drift_reference = self.bundle.drift
        drift: Callable[[], np.ndarray] | None = None
        if observe and drift_reference is not None:
            drift = partial(_drift_bins, drift_reference, lines, signals, X, state, p, presumption)
        return Scores(
            entry_id=lines["entry_id"],
            line_no=np.asarray(lines["line_no"]),
            risk_score=p,
            risk_band=risk_band(p, self.bundle.thresholds),
            reasons=explained,
            model_version=self.version,
            presumption=presumption,
            drift=drift,
            reference_versions=dict(cache.reference.versions),
        )

    def prepare(
        self,
        lines: Lines,
        reference: ReferenceSnapshot | None = None,
        tips: TipIndex | None = None,
        tip_status_as_of: Column | None = None,
    ) -> Prepared:
        """The signals and model features of ``lines``: what :meth:`score` does first.

        :func:`models.scoring.prepared.prepare` with the memo of ``reference``; ``flrisk
        score`` calls it in its read-ahead thread (one preparing thread at a time).
        """
        cache = self._cache_for(reference)
        return prepare(lines, self.bundle.state, cache, tips, tip_status_as_of)

    def _cache_for(self, reference: ReferenceSnapshot | None) -> SignalCache:
        """The memo of ``reference``'s look-ups: a new version swaps in a new memo whole.

        So does a memo grown full (:meth:`SignalCache.full`), which keeps it bounded. A
        request keeps the cache it took; concurrent requests on another version build their
        own (the last one built stays).
        """
        if reference is None and self.reference_source is not None:
            reference = self.reference_source()
        cache = self.cache
        if (reference is None or cache.reference is reference) and not cache.full():
            return cache
        cache = SignalCache(reference=cache.reference if reference is None else reference)
        self.cache = cache
        return cache

    def _context(
        self,
        lines: Lines,
        X: dict[str, np.ndarray],
        signals: Mapping[str, Column],
        evidence: Mapping[str, np.ndarray],
        idx: np.ndarray,
    ) -> _Evidence:
        """Evidence columns of the explained lines.

        Values as a row of the frame of features, signals and raw fields would give them
        (features first, then signals, then the features' own evidence such as the typical
        unit value, then the ``_raw`` fields); each column is taken only when a reason
        reads it.
        """
        state = self.bundle.state
        sources: dict[str, tuple[Any, np.ndarray | None]] = {}
        for c, col in X.items():
            labels = None
            if c in state.categories:
                # A category's value, or NaN when unseen/missing (what the Categorical gives).
                labels = self._labels.get(c)
                if labels is None:
                    labels = np.array([*state.categories[c], np.nan], dtype=object)
                    self._labels[c] = labels
            sources[c] = (col, labels)
        for c, values in (*signals.items(), *evidence.items()):
            sources.setdefault(c, (values, None))
        for c in ("country_of_origin", "country_of_export", *state.passthrough):
            sources.setdefault(c + "_raw", (lines[c], None))
        return _Evidence(sources, idx, len(lines))
