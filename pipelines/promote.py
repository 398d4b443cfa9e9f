"""``flrisk promote``: move an alias only when the candidate beats the holder on unseen lines.

A version is judged only on lines it was never fitted on. Two ways satisfy that:

- ``--data``: labelled lines entered outside both versions' fitted periods, scored by both
  in the least biased view, with the paired bootstrap difference (:mod:`pipelines.compare`);
- without it, the two versions' recorded headline metrics, but only when both were computed
  on the same held-out lines (same test window, same data, same view) by the backtest models,
  which were not fitted on them.

Anything else is refused: the registered booster is refit on every month, holdout included,
so re-scoring one version's holdout with it would judge it in-sample.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from models.scoring.lookup import ResolvedModel, fetch_bundle, resolve
from models.settings import Settings, get_settings
from pipelines.compare import (
    Comparison,
    EvidenceFiles,
    JudgedLines,
    NotComparableError,
    compare_versions,
    read_judged_lines,
)
from pipelines.config import EvaluationConfig, PromotionConfig, load_config
from pipelines.registry import alias_version, set_alias, version_tags


class PromotionRefusedError(Exception):
    """The two versions cannot be compared honestly; the message says what to pass instead."""


def decide(
    candidate: dict[str, Any], holder: dict[str, Any], metric: str, min_gain: float
) -> tuple[bool, str]:
    """Gate: promote when the candidate's metric beats the holder's, by at least ``min_gain``."""
    c, h = candidate[metric], holder[metric]
    why = f"{metric} {c:.4f} vs {h:.4f}: gain {c - h:+.4f} (gate: > 0 and >= {min_gain})"
    return c > h and c - h >= min_gain, why


def stored_metrics_comparable(candidate: dict[str, str], holder: dict[str, str]) -> bool:
    """Whether two versions' recorded headline metrics judge the same unseen lines alike.

    Every version's ``holdout_metrics`` were computed by its backtest booster on its test
    window, which that booster was not fitted on. Two such figures compare only when the
    test windows and data are the same and the figures are in the same view (a run given the
    hidden truth has its headline there, a run without it on the random sample).

    Args:
        candidate: The candidate version's tags.
        holder: The alias holder's tags.
    """
    ch, hh = json.loads(candidate.get("holdout", "{}")), json.loads(holder.get("holdout", "{}"))
    if not ch or ch != hh:
        return False
    cm = json.loads(candidate.get("holdout_metrics", "{}"))
    hm = json.loads(holder.get("holdout_metrics", "{}"))
    return "view" in cm and cm.get("view") == hm.get("view")


def refusal_without_data(
    candidate: ResolvedModel, holder: ResolvedModel, ct: dict[str, str], ht: dict[str, str]
) -> str:
    """Why the recorded metrics of two versions cannot be compared, and what to do."""

    def window(tags: dict[str, str]) -> str:
        w = json.loads(tags.get("holdout", "{}")).get("test_window")
        return "..".join(w) if w else "unknown"

    return (
        f"refused: {candidate.uri} and {holder.uri} were not evaluated on the same held-out "
        f"lines (test windows {window(ct)} and {window(ht)}), and each registered "
        "version was refit on its own holdout, so neither can be judged on the other's. "
        f"Pass labelled lines entered after both were fitted: flrisk promote --model "
        f"{candidate.uri} --alias {holder.alias} --data LABELLED_FILE"
    )


def _echo_comparison(cmp: Comparison, files: list[Path]) -> None:
    names = ", ".join(p.name for p in files)
    typer.echo(
        f"judged on {cmp.n_lines:,} lines entered {cmp.period} ({names}), fitted on by neither "
        f"version ({cmp.candidate_uri} fitted on {cmp.candidate_fitted}, "
        f"{cmp.holder_uri} on {cmp.holder_fitted})"
    )
    typer.echo(f"view {cmp.view}: {cmp.view_text} ({cmp.n_labelled:,} labelled lines)")
    typer.echo(f"  {cmp.metric} of {cmp.candidate_uri} (candidate): {cmp.candidate}")
    typer.echo(f"  {cmp.metric} of {cmp.holder_uri} (holder): {cmp.holder}")
    typer.echo(f"  difference, paired bootstrap over {cmp.resamples} resamples: {cmp.difference:+}")


def _judge_on_data(
    settings: Settings,
    cand: ResolvedModel,
    holder: ResolvedModel,
    judged: JudgedLines,
    evidence: EvidenceFiles,
    gate: PromotionConfig,
    evaluation: EvaluationConfig,
) -> tuple[bool, str, str]:
    try:
        cmp = compare_versions(
            judged,
            (cand.uri, fetch_bundle(cand, settings)),
            (holder.uri, fetch_bundle(holder, settings)),
            gate.metric,
            evaluation,
        )
    except NotComparableError as exc:
        raise PromotionRefusedError(str(exc)) from exc
    _echo_comparison(cmp, evidence.data)
    ok, why = decide(
        {gate.metric: cmp.candidate.value},
        {gate.metric: cmp.holder.value},
        gate.metric,
        gate.min_gain,
    )
    return ok, why, f"{cmp.n_lines:,} unseen lines ({cmp.view} view)"


def promote(
    model_uri: str,
    alias: str,
    force: bool,
    settings: Settings,
    gate: PromotionConfig,
    evaluation: EvaluationConfig,
    evidence: EvidenceFiles | None = None,
) -> bool:
    """Move ``alias`` to the candidate if it passes ``gate`` (or ``force``); say why.

    Args:
        model_uri: The candidate, e.g. ``models:/flrisk/4``.
        alias: The alias to move.
        force: Move it without judging.
        settings: Where the registry and data live.
        gate: The metric and the smallest gain that promotes.
        evaluation: Capacities and bootstrap of the comparison (those of ``flrisk evaluate``).
        evidence: Labelled lines unseen by both versions; without them, only recorded metrics
            on one shared holdout are compared.

    Returns:
        Whether the alias now points at the candidate.

    Raises:
        PromotionRefusedError: No honest comparison is possible (the alias is left unchanged).
    """
    try:
        judged = None if evidence is None else read_judged_lines(settings, evidence)
    except NotComparableError as exc:
        raise PromotionRefusedError(str(exc)) from exc
    cand = resolve(model_uri, settings)
    held = alias_version(settings, cand.name, alias)
    holder = None if held is None else ResolvedModel(cand.name, held, alias)
    if holder is None or force or holder.version == cand.version:
        why = "forced" if force else ("no current holder" if holder is None else "already holds it")
        set_alias(settings, cand.name, alias, cand.version)
        typer.echo(f"{alias} -> {cand.uri} ({why})")
        return True
    if judged is not None and evidence is not None:
        ok, why, where = _judge_on_data(settings, cand, holder, judged, evidence, gate, evaluation)
    else:
        ct = version_tags(settings, cand.name, cand.version)
        ht = version_tags(settings, holder.name, holder.version)
        if not stored_metrics_comparable(ct, ht):
            raise PromotionRefusedError(refusal_without_data(cand, holder, ct, ht))
        cm, hm = json.loads(ct["holdout_metrics"]), json.loads(ht["holdout_metrics"])
        ok, why = decide(cm, hm, gate.metric, gate.min_gain)
        window = json.loads(ct["holdout"])["test_window"]
        where = f"the same held-out lines {window} ({cm.get('view')} view), recorded at training"
    if ok:
        set_alias(settings, cand.name, alias, cand.version)
        typer.echo(f"{alias} -> {cand.uri} (was {holder.uri}); on {where}: {why}")
    else:
        typer.echo(f"{alias} stays on {holder.uri}; {cand.uri} does not pass on {where}: {why}")
    return ok


def promote_command(
    model_uri: str, alias: str, force: bool, evidence: EvidenceFiles | None = None
) -> bool:
    """``flrisk promote``: the gate and evaluation settings of the packaged configuration."""
    cfg = load_config(None)
    return promote(model_uri, alias, force, get_settings(), cfg.promotion, cfg.evaluation, evidence)
