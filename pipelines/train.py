"""``flrisk train``: read labelled lines, fit, evaluate honestly, register.

The recipe is backtested: fitted on the earlier months, selected on the validation window,
judged on the last months against baselines. The registered model is then refit on every
month with the chosen recipe (``refit_on_all``), so officers score with the freshest history.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.contract.reader import ReadResult, read_entry_lines
from models.features.matrix import build_features, fit_feature_state
from models.features.signals import SignalCache, derive_signals
from models.reference.tables import reference_versions
from models.scoring.bundle import ModelBundle
from models.scoring.scorer import calibrate
from models.settings import Settings
from pipelines.baselines import fit_logistic, legacy_rule_scores, logistic_scores, random_scores
from pipelines.evaluate import evaluate_scores, metrics_table
from pipelines.learn import Sample, fit_booster, fit_platt, fit_propensity, make_sample
from pipelines.metrics import average_precision
from pipelines.split import time_windows


@dataclass
class TrainResult:
    """Everything a training run produced, for logging and the model card."""

    bundle: ModelBundle
    results: dict[str, Any]
    table: str
    strategy_table: dict[str, dict[str, float]]
    chosen: str
    windows: dict[str, tuple[str, str]]
    counts: dict[str, int]
    test_frame: pd.DataFrame = field(repr=False)
    test_scores: dict[str, np.ndarray] = field(repr=False)
    test_truth: np.ndarray | None = field(repr=False)
    explain_features: pd.DataFrame = field(repr=False)
    data_digest: str = ""
    # Whether [lightgbm_targeted] was applied (labels from targeted inspections).
    targeted_labels: bool = False


def _log(msg: str, t0: float) -> None:
    print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", flush=True)


def data_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of the training lines' content (order-independent of file layout)."""
    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _window_sample(s: Sample, rows: np.ndarray) -> Sample:
    return Sample(rows=rows[s.rows], y=s.y, w=s.w)


def _fit_sorted(
    frame: pd.DataFrame,
    passthrough: dict[str, str],
    cfg: dict[str, Any],
    truth: np.ndarray | None,
    num_threads: int,
    t0: float,
) -> TrainResult:
    lgb_cfg, learn = cfg["lightgbm"], cfg["learning"]
    seed = int(lgb_cfg["seed"])
    w = time_windows(
        frame["entry_date"], int(cfg["split"]["test_months"]), int(cfg["split"]["valid_months"])
    )
    idx = {k: np.flatnonzero(getattr(w, k)) for k in ("train", "valid", "test")}
    _log(
        f"windows {w.months}; lines train={len(idx['train'])} valid={len(idx['valid'])} "
        f"test={len(idx['test'])}",
        t0,
    )
    cache = SignalCache()
    signals = derive_signals(frame, cache)
    _log("signals derived (entity lists, places, goods, routes)", t0)
    state = fit_feature_state(
        frame.iloc[idx["train"]], passthrough, cache, signals=signals.iloc[idx["train"]]
    )
    X = build_features(frame, state, signals=signals)
    _log(f"features built: {X.shape[1]} columns", t0)
    insp = frame["inspected"].fillna(False).to_numpy(dtype=bool)
    viol = frame["violation"].to_numpy(dtype=float)
    rnd = insp & (frame["inspection_reason"].astype(object) == "random").to_numpy()
    all_inspected = bool(insp.all())
    strategies = ["inspected"] if all_inspected else list(learn["strategies"])
    if not all_inspected:
        # Its keys take precedence over [lightgbm]'s: set them in [lightgbm_targeted].
        lgb_cfg = {**lgb_cfg, **cfg.get("lightgbm_targeted", {})}
        _log(f"labels from targeted inspections: {cfg.get('lightgbm_targeted', {})} applied", t0)
    propensity = None
    if not all_inspected:
        prop_model = fit_propensity(X.iloc[idx["train"]], insp[idx["train"]], num_threads, seed)
        propensity = np.asarray(prop_model.predict(X, num_threads=num_threads))
        propensity = np.maximum(propensity, float(learn["propensity_floor"]))

    def sample(strategy: str, rows: np.ndarray) -> Sample:
        """Training sample of ``strategy`` drawn from ``rows`` (global row numbers)."""
        sm = make_sample(
            strategy,
            insp[rows],
            viol[rows],
            None if propensity is None else propensity[rows],
            float(learn["pu_unlabelled_weight"]),
            float(learn["propensity_floor"]),
            float(learn.get("pu_unlabelled_sample", 1.0)),
            seed,
        )
        return _window_sample(sm, rows)

    # Strategies are compared on the validation window's inspected lines weighted by
    # 1/P(inspected | x): an estimate over all traffic that uses every label, steadier than
    # the few random-sample positives alone.
    sel_view = "all_inspected" if propensity is None else "inspected_ipw"
    v_rows = idx["valid"][insp[idx["valid"]]]
    v_y = (viol[v_rows] == 1).astype(float)
    v_w = np.ones(len(v_rows)) if propensity is None else 1.0 / propensity[v_rows]
    strat_table: dict[str, dict[str, float]] = {}
    boosters = {}
    for s in strategies:
        booster = fit_booster(
            X, sample(s, idx["train"]), sample(s, idx["valid"]), lgb_cfg, num_threads
        )
        margin = np.asarray(
            booster.predict(X.iloc[v_rows], raw_score=True, num_threads=num_threads)
        )
        top = margin >= np.quantile(margin, 0.95) if len(margin) else np.zeros(0, dtype=bool)
        strat_table[s] = {
            "pr_auc": average_precision(v_y, margin, v_w),
            "precision_at_5": float((v_w * v_y)[top].sum() / max(v_w[top].sum(), 1e-12)),
            "best_iteration": float(booster.best_iteration or booster.current_iteration()),
        }
        boosters[s] = booster
        _log(
            f"strategy {s}: valid {sel_view} pr_auc={strat_table[s]['pr_auc']:.4f} "
            f"p@5={strat_table[s]['precision_at_5']:.4f} "
            f"iters={strat_table[s]['best_iteration']:.0f}",
            t0,
        )
    metric = str(learn["selection_metric"])
    chosen = max(strategies, key=lambda s: np.nan_to_num(strat_table[s][metric], nan=-1.0))
    booster = boosters[chosen]
    best_iter = int(strat_table[chosen]["best_iteration"])

    # Calibrate on the validation window's inspected lines, weighted back to all traffic.
    v = idx["valid"]
    vm = insp[v]
    margin_v = np.asarray(booster.predict(X.iloc[v], raw_score=True, num_threads=num_threads))
    wcal = np.ones(vm.sum()) if propensity is None else 1.0 / propensity[v][vm]
    calibration = fit_platt(
        margin_v[vm],
        (viol[v][vm] == 1).astype(float),
        wcal / wcal.mean(),
        fitted_on=f"validation window {w.months['valid']}, inspected lines, "
        + ("unweighted" if propensity is None else "inverse-propensity weighted"),
    )

    # Test window: model and baselines on every line.
    te = idx["test"]
    test_frame = frame.iloc[te].reset_index(drop=True)
    p_test = calibrate(
        np.asarray(booster.predict(X.iloc[te], raw_score=True, num_threads=num_threads)),
        calibration,
    )
    tr_sample = sample(chosen, idx["train"])
    sub = tr_sample.rows
    if len(sub) > 300_000:  # logistic regression on a deterministic subsample keeps CI fast
        keep = np.random.default_rng(seed).choice(len(sub), 300_000, replace=False)
        tr_sample = Sample(rows=sub[keep], y=tr_sample.y[keep], w=tr_sample.w[keep])
    logit = fit_logistic(
        X.iloc[tr_sample.rows], tr_sample.y, tr_sample.w, state.categorical_features, seed
    )
    p_logit = logistic_scores(logit, X.iloc[te], state.categorical_features)
    scores = {
        "model": p_test,
        "legacy_rules": legacy_rule_scores(signals.iloc[te], seed),
        "logistic": p_logit,
        "random": random_scores(len(te), seed),
    }
    t_test = None if truth is None else truth[te]
    results = evaluate_scores(
        test_frame, scores, {"model": p_test, "logistic": p_logit}, t_test, cfg["evaluation"]
    )
    table = metrics_table(results)
    _log("evaluated on the test window:\n" + table, t0)

    final_state, final_booster, final_X = state, booster, X
    if learn.get("refit_on_all", True):
        final_state = fit_feature_state(frame, passthrough, cache, signals=signals)
        final_X = build_features(frame, final_state, signals=signals)
        # More data supports a few more rounds than early stopping found on the train window.
        rounds = max(10, int(best_iter * 1.15) + 1)
        final_booster = fit_booster(
            final_X,
            sample(chosen, np.arange(len(frame))),
            None,
            lgb_cfg,
            num_threads,
            num_boost_round=rounds,
        )
        _log(f"refit on all {len(frame)} lines, {rounds} rounds", t0)
    recent = np.flatnonzero(w.valid | w.test)
    p_recent = calibrate(
        np.asarray(
            final_booster.predict(final_X.iloc[recent], raw_score=True, num_threads=num_threads)
        ),
        calibration,
    )
    bands = cfg["bands"]
    thresholds = {
        "high": float(np.quantile(p_recent, 1 - float(bands["high_share"]))),
        "elevated": float(np.quantile(p_recent, 1 - float(bands["elevated_share"]))),
    }
    bundle = ModelBundle(
        booster=final_booster,
        state=final_state,
        calibration=calibration,
        thresholds=thresholds,
        reference_versions=reference_versions(),
        meta={
            "strategy": chosen,
            "windows": w.months,
            "best_iteration": best_iter,
            "selection_view": sel_view,
            "trained_lines": len(frame),
        },
    )
    counts = {
        "lines": len(frame),
        "inspected": int(insp.sum()),
        "random": int(rnd.sum()),
        "violations": int((viol == 1).sum()),
    }
    return TrainResult(
        bundle=bundle,
        results=results,
        table=table,
        strategy_table=strat_table,
        chosen=chosen,
        windows=w.months,
        counts=counts,
        test_frame=test_frame,
        test_scores=scores,
        test_truth=t_test,
        explain_features=X.iloc[te],
        data_digest=data_digest(frame),
        targeted_labels=not all_inspected,
    )


def fit(
    frame: pd.DataFrame,
    passthrough: dict[str, str],
    cfg: dict[str, Any],
    truth_path: Path | None = None,
    num_threads: int = 2,
) -> TrainResult:
    """Backtest the recipe, choose the strategy, calibrate, refit; no tracking, no registry.

    Args:
        frame: Labelled contract-shaped lines.
        passthrough: Extra feature columns from a mapping (name -> categorical|numeric).
        cfg: Parsed training configuration (see ``pipelines/config/train.toml``).
        truth_path: Hidden truth file (simulated data), used for reporting only.
        num_threads: LightGBM threads.
    """
    from pipelines.evaluate import load_truth

    t0 = time.perf_counter()
    frame = frame.sort_values(["entry_date", "entry_id", "line_no"], kind="stable").reset_index(
        drop=True
    )
    truth = load_truth(truth_path, frame) if truth_path else None
    return _fit_sorted(frame, passthrough, cfg, truth, num_threads, t0)


def quarantine_path(settings: Settings, first_input: Path) -> Path:
    """Quarantine file under the data folder (inputs may sit on read-only or shared storage)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    return settings.data_dir / "quarantine" / f"{Path(first_input).stem}.{stamp}.quarantine.csv"


def read_labelled(
    settings: Settings, data: list[Path], mapping: Path | None, allow_bad_rows: bool
) -> ReadResult:
    """Labelled lines for training or evaluation, bad rows quarantined under the data folder."""
    return read_entry_lines(
        data,
        mapping,
        allow_bad_rows=allow_bad_rows,
        require_labels=True,
        quarantine_path=quarantine_path(settings, data[0]),
    )


def train_command(
    data: list[Path],
    mapping: Path | None,
    name: str | None,
    config: Path | None,
    truth: Path | None,
    use_feedback: bool,
    promote_alias: str | None,
    allow_bad_rows: bool,
) -> str:
    """``flrisk train``: returns the registered ``models:/NAME/VERSION``."""
    from models.settings import get_settings
    from pipelines.config import load_config
    from pipelines.registry import log_training

    settings = get_settings()
    cfg = load_config(config)
    res = read_labelled(settings, data, mapping, allow_bad_rows)
    frame = res.frame
    if res.quarantine_path is not None:
        print(f"{len(res.bad_rows)} problems in bad rows quarantined to {res.quarantine_path}")
    if use_feedback:
        from models.feedback import load_feedback_lines

        fb = load_feedback_lines(settings, list(frame.columns))
        if len(fb):
            key = frame["entry_id"].astype(str) + "#" + frame["line_no"].astype(str)
            fkey = fb["entry_id"].astype(str) + "#" + fb["line_no"].astype(str)
            frame = pd.concat([frame[~key.isin(set(fkey))], fb], ignore_index=True)
            print(f"included {len(fb)} feedback outcomes from the audit store")
    result = fit(frame, res.passthrough, cfg, truth, settings.num_threads)
    return log_training(
        result, cfg, config, data, mapping, name or settings.model_name, promote_alias, settings
    )
