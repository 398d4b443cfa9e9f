"""``flrisk promote``: move an alias only when the candidate beats the holder on one holdout.

Both versions are compared in the same view of the same holdout: their stored headline
metrics when both were evaluated on the same test window, data and view, else the
candidate's holdout re-scored by both.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import typer

from models.contract.batch import Lines
from models.scoring.lookup import ResolvedModel, fetch_bundle, resolve
from models.scoring.scorer import Scorer
from models.settings import Settings, get_settings
from pipelines.config import EvaluationConfig, PromotionConfig, load_config
from pipelines.evaluate import evaluate_scores, headline_view
from pipelines.registry import (
    alias_version,
    download_run_artifact,
    set_alias,
    version_tags,
)

HOLDOUT_ARTIFACT = "evaluation/holdout.parquet"


def holdout_metric(
    settings: Settings,
    model: ResolvedModel,
    holdout: Path,
    metric: str,
    evaluation: EvaluationConfig,
) -> tuple[float, str]:
    """Score a holdout file with a registered version; the metric in the headline view."""
    frame = pd.read_parquet(holdout)
    scorer = Scorer(fetch_bundle(model, settings))
    p = scorer.score(Lines.from_frame(frame), reasons=0).risk_score
    res = evaluate_scores(frame, {"model": p}, {"model": p}, None, replace(evaluation, bootstrap=0))
    view = headline_view(res)
    return float(res[view]["model"][metric]["value"]), view


def decide(
    candidate: dict[str, Any], holder: dict[str, Any], metric: str, min_gain: float
) -> tuple[bool, str]:
    """Gate: promote when the candidate's metric beats the holder's, by at least ``min_gain``."""
    c, h = candidate[metric], holder[metric]
    why = f"{metric} {c:.4f} vs {h:.4f}: gain {c - h:+.4f} (gate: > 0 and >= {min_gain})"
    return c > h and c - h >= min_gain, why


def stored_metrics_comparable(candidate: dict[str, str], holder: dict[str, str]) -> bool:
    """Whether two versions' stored headline metrics judge the same lines the same way.

    Args:
        candidate: The candidate version's tags.
        holder: The alias holder's tags.

    Returns:
        True when both were evaluated on the same holdout (test window and data) and their
        ``holdout_metrics`` are in the same view (a run given the hidden truth has its
        headline there, a run without it on the random sample).
    """
    ch, hh = json.loads(candidate.get("holdout", "{}")), json.loads(holder.get("holdout", "{}"))
    if not ch or ch != hh:
        return False
    cm = json.loads(candidate.get("holdout_metrics", "{}"))
    hm = json.loads(holder.get("holdout_metrics", "{}"))
    return "view" in cm and cm.get("view") == hm.get("view")


def promote(
    model_uri: str,
    alias: str,
    force: bool,
    settings: Settings,
    gate: PromotionConfig,
    evaluation: EvaluationConfig,
) -> bool:
    """Move ``alias`` to the candidate if it passes ``gate`` (or ``force``); say why.

    Returns:
        Whether the alias now points at the candidate.
    """
    metric, min_gain = gate.metric, gate.min_gain
    cand = resolve(model_uri, settings)
    held = alias_version(settings, cand.name, alias)
    holder = None if held is None else ResolvedModel(cand.name, held, alias)
    if holder is None or force or holder.version == cand.version:
        why = "forced" if force else ("no current holder" if holder is None else "already holds it")
        set_alias(settings, cand.name, alias, cand.version)
        typer.echo(f"{alias} -> {cand.uri} ({why})")
        return True
    ct = version_tags(settings, cand.name, cand.version)
    ht = version_tags(settings, holder.name, holder.version)
    if stored_metrics_comparable(ct, ht):
        cm, hm = json.loads(ct["holdout_metrics"]), json.loads(ht["holdout_metrics"])
        where = (
            f"the same holdout {json.loads(ct['holdout'])['test_window']} ({cm.get('view')} view)"
        )
    else:
        path = download_run_artifact(settings, ct["run_id"], HOLDOUT_ARTIFACT)
        cv, view = holdout_metric(settings, cand, path, metric, evaluation)
        hv, _ = holdout_metric(settings, holder, path, metric, evaluation)
        cm, hm = {metric: cv}, {metric: hv}
        where = f"the candidate's holdout re-scored by both versions ({view} view)"
    ok, why = decide(cm, hm, metric, min_gain)
    if ok:
        set_alias(settings, cand.name, alias, cand.version)
        typer.echo(f"{alias} -> {cand.uri} (was {holder.uri}); on {where}: {why}")
    else:
        typer.echo(f"{alias} stays on {holder.uri}; {cand.uri} does not pass on {where}: {why}")
    return ok


def promote_command(model_uri: str, alias: str, force: bool) -> bool:
    """``flrisk promote``: the gate and evaluation settings of the packaged configuration."""
    cfg = load_config(None)
    return promote(model_uri, alias, force, get_settings(), cfg.promotion, cfg.evaluation)
