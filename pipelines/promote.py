"""``flrisk promote``: move an alias only when the candidate beats the holder on one holdout."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from models.scoring.lookup import ResolvedModel, client, fetch_bundle, resolve
from models.settings import Settings, get_settings


def _tags(settings: Settings, r: ResolvedModel) -> dict[str, str]:
    return dict(client(settings).get_model_version(r.name, r.version).tags)


def _holdout_metric(
    settings: Settings, model: ResolvedModel, holdout: Path, metric: str
) -> tuple[float, str]:
    """Score a holdout file with a registered version; the metric in the least biased view."""
    import pandas as pd

    from models.scoring.scorer import Scorer
    from pipelines.config import load_config
    from pipelines.evaluate import evaluate_scores

    frame = pd.read_parquet(holdout)
    p = Scorer(fetch_bundle(model, settings)).score(frame, reasons=0)["risk_score"].to_numpy()
    cfg = {**load_config(None)["evaluation"], "bootstrap": 0}
    res = evaluate_scores(frame, {"model": p}, {"model": p}, None, cfg)
    view = "random_sample" if "random_sample" in res else "all_inspected"
    return float(res[view]["model"][metric]["value"]), view


def decide(
    candidate: dict[str, Any], holder: dict[str, Any], metric: str, min_gain: float
) -> tuple[bool, str]:
    """Gate: promote when the candidate's metric beats the holder's, by at least ``min_gain``."""
    c, h = candidate[metric], holder[metric]
    if c > h and c - h >= min_gain:
        return True, f"{metric} {c:.4f} vs {h:.4f}: gain {c - h:+.4f} (gate: > 0 and >= {min_gain})"
    return False, f"{metric} {c:.4f} vs {h:.4f}: gain {c - h:+.4f} (gate: > 0 and >= {min_gain})"


def promote_command(model_uri: str, alias: str, force: bool) -> bool:
    """Move ``alias`` to the candidate if it passes the gate (or ``force``); say why."""
    from mlflow.exceptions import MlflowException

    from pipelines.config import load_config

    settings = get_settings()
    gate = load_config(None)["promotion"]
    metric, min_gain = str(gate["metric"]), float(gate["min_gain"])
    cand = resolve(model_uri, settings)
    c = client(settings)
    try:
        holder_mv = c.get_model_version_by_alias(cand.name, alias)
        holder = ResolvedModel(cand.name, str(holder_mv.version), alias)
    except MlflowException:
        holder = None
    if holder is None or force or holder.version == cand.version:
        why = "forced" if force else ("no current holder" if holder is None else "already holds it")
        c.set_registered_model_alias(cand.name, alias, cand.version)
        typer.echo(f"{alias} -> {cand.uri} ({why})")
        return True
    ct, ht = _tags(settings, cand), _tags(settings, holder)
    same = json.loads(ct.get("holdout", "{}")) == json.loads(ht.get("holdout", "{}"))
    if same:
        cm, hm = json.loads(ct["holdout_metrics"]), json.loads(ht["holdout_metrics"])
        where = (
            f"the same holdout {json.loads(ct['holdout'])['test_window']} ({cm.get('view')} view)"
        )
    else:
        from mlflow.artifacts import download_artifacts

        run = c.get_run(ct["run_id"])
        path = Path(
            download_artifacts(
                run_id=run.info.run_id,
                artifact_path="evaluation/holdout.parquet",
                tracking_uri=settings.tracking_uri(),
            )
        )
        cv, view = _holdout_metric(settings, cand, path, metric)
        hv, _ = _holdout_metric(settings, holder, path, metric)
        cm, hm = {metric: cv}, {metric: hv}
        where = f"the candidate's holdout re-scored by both versions ({view} view)"
    ok, why = decide(cm, hm, metric, min_gain)
    if ok:
        c.set_registered_model_alias(cand.name, alias, cand.version)
        typer.echo(f"{alias} -> {cand.uri} (was {holder.uri}); on {where}: {why}")
    else:
        typer.echo(f"{alias} stays on {holder.uri}; {cand.uri} does not pass on {where}: {why}")
    return ok
