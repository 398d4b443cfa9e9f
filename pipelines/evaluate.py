"""Honest evaluation: every line of later months ranked, judged where labels are unbiased.

Views, each over *all* lines of the evaluation window (an officer ranks everything):

- ``random_sample``: labels of random compliance inspections only: an unbiased estimate of
  precision and recall over all traffic (few positives: wide intervals);
- ``all_inspected``: every inspected line: the biased view a naive evaluation would report;
- ``hidden_truth``: every line against the simulator's hidden truth (simulated data only).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import typer

from models.contract.reader import read_entry_lines
from models.features.signals import derive_signals, signal_frame
from models.scoring.lookup import ResolvedModel, client, fetch_bundle, resolve
from models.scoring.scorer import Scorer
from models.settings import Settings, get_settings
from pipelines.baselines import legacy_rule_scores, random_scores
from pipelines.config import EvaluationConfig, load_config
from pipelines.labelled import load_truth, quarantine_path, read_labelled
from pipelines.metrics import bootstrap_draws, intervals, paired_difference
from pipelines.registry import version_tags
from pipelines.tips_file import read_training_tips

Results = dict[str, dict[str, dict[str, dict[str, float]]]]

VIEW_TEXT = {
    "random_sample": "random-inspection sample of the window (unbiased; cut-offs over all lines)",
    "all_inspected": "all inspected lines of the window (biased toward legacy targeting)",
    "hidden_truth": "every line of the window against the simulator's hidden truth",
}


# Baselines the model is compared with by a paired bootstrap (``model_minus_<name>`` rows).
COMPARED = ("logistic", "legacy_rules")


def views(
    frame: pd.DataFrame, truth: np.ndarray | None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Label vector and labelled mask of each evaluation view that has labels."""
    insp = frame["inspected"].fillna(False).to_numpy(dtype=bool)
    y = (frame["violation"].to_numpy(dtype=float) == 1).astype(float)
    rnd = insp & (frame["inspection_reason"].astype(object) == "random").to_numpy()
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if rnd.any() and not rnd.all():
        out["random_sample"] = (y, rnd)
    if insp.any():
        out["all_inspected"] = (y, insp)
    if truth is not None:
        out["hidden_truth"] = (truth.astype(float), np.ones(len(frame), dtype=bool))
    return out


# Least biased first: the simulator's truth on every line (simulated data only), then the
# random-inspection sample (unbiased, few positives), then every inspected line (biased
# toward the legacy rules' targeting, used only when nothing better exists).
HEADLINE_ORDER = ("hidden_truth", "random_sample", "all_inspected")


def headline_view(available: Iterable[str]) -> str:
    """The view whose metrics are the headline: the least biased one available.

    One rule for the model card's plots and breakdowns, the registered version's
    ``holdout_metrics`` and the promotion gate.

    Args:
        available: Names of the views that have labels (keys of :func:`views` or of
            :func:`evaluate_scores`' results).

    Raises:
        ValueError: No known view among ``available``.
    """
    names = set(available)
    for view in HEADLINE_ORDER:
        if view in names:
            return view
    raise ValueError(f"no labelled evaluation view among {sorted(names)}")


def headline_metrics(results: Results) -> dict[str, Any]:
    """The model's PR-AUC and precision at 5% in the headline view, with the view's name."""
    view = headline_view(results)
    m = results[view]["model"]
    return {"view": view, **{k: m[k]["value"] for k in ("pr_auc", "precision_at_5") if k in m}}


def evaluate_scores(
    frame: pd.DataFrame,
    scores: dict[str, np.ndarray],
    probs: dict[str, np.ndarray | None],
    truth: np.ndarray | None,
    cfg: EvaluationConfig,
    compared: Iterable[str] = COMPARED,
) -> Results:
    """Metrics with bootstrap intervals: ``{view: {model: {metric: {value, lo, hi}}}}``.

    When ``scores`` has a ``model`` and rankings named in ``compared``, each view also gets
    rows ``model_minus_<name>``: the paired difference (same resampled lines for both), the
    direct test of "the model beats this one".
    """
    values = frame["declared_value_usd"].to_numpy(dtype=float)
    out: Results = {}
    for view, (y, mask) in views(frame, truth).items():
        draws = {
            name: bootstrap_draws(
                s,
                y,
                mask,
                list(cfg.capacities),
                cfg.bootstrap,
                cfg.seed,
                values=values,
                probs=probs.get(name),
            )
            for name, s in scores.items()
        }
        out[view] = {name: intervals(*d) for name, d in draws.items()}
        if "model" in draws and cfg.bootstrap > 0:
            for name in compared:
                if name in draws:
                    out[view][f"model_minus_{name}"] = paired_difference(
                        draws["model"], draws[name]
                    )
    return out


def flat_metrics(results: Results) -> dict[str, float]:
    """``view.model.metric`` -> value (and ``_lo``/``_hi``), for MLflow."""
    flat: dict[str, float] = {}
    for view, models in results.items():
        for model, metrics in models.items():
            for metric, v in metrics.items():
                for part in ("value", "lo", "hi"):
                    if not np.isnan(v[part]):
                        suffix = "" if part == "value" else f"_{part}"
                        flat[f"{view}.{model}.{metric}{suffix}"] = float(v[part])
    return flat


def metrics_table(results: Results) -> str:
    """Markdown table, one block per view, one row per model, value [95% CI]."""
    cols = [
        "precision_at_1",
        "precision_at_5",
        "recall_at_5",
        "pr_auc",
        "value_caught_at_5",
        "brier",
    ]
    lines: list[str] = []
    for view, models in results.items():
        lines += [
            f"**{view}**: {VIEW_TEXT[view]}",
            "",
            "| model | " + " | ".join(cols) + " |",
            "|---" * (len(cols) + 1) + "|",
        ]
        for model, m in models.items():
            fmt = "+.3f" if model.startswith("model_minus_") else ".3f"
            cells = []
            for c in cols:
                v = m.get(c)
                cells.append(
                    ""
                    if v is None or np.isnan(v["value"])
                    else f"{v['value']:{fmt}} [{v['lo']:{fmt}}, {v['hi']:{fmt}}]"
                )
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
        base = next(iter(models.values())).get("base_rate", {}).get("value", float("nan"))
        lines += ["", f"base rate in this view: {base:.4f}", ""]
        if any(m.startswith("model_minus_") for m in models):
            lines += [
                "`model_minus_X`: the model's metric minus X's on the same bootstrap resamples "
                "(paired); an interval above 0 means the model is better (below 0 for brier).",
                "",
            ]
    return "\n".join(lines)


# Why evaluate's table has no logistic row, while training's has one.
NO_LOGISTIC = (
    "logistic: not in this table. Training fits the logistic baseline on its own training "
    "window, to judge the recipe, and does not register it (the registered model holds the "
    "LightGBM model only), so it cannot score new lines. Its figures on the training's test "
    "window are in the training run{run} (evaluation/metrics.md; `make mlflow-ui`)."
)


def _training_run(settings: Settings, resolved: ResolvedModel) -> str:
    """`` 'NAME' (RUN_ID)`` of the run that registered a version, or '' when unknown."""
    try:
        run_id = version_tags(settings, resolved.name, resolved.version).get("run_id")
        if not run_id:
            return ""
        name = client(settings).get_run(run_id).info.run_name
        return f" '{name}' ({run_id})" if name else f" {run_id}"
    except Exception:  # a note only: the table stands without it
        return ""


def with_label_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Lines with the label columns, added as "not inspected" where a file has none.

    Unlabelled lines are evaluated against the hidden truth only (simulated data): with no
    inspection, the inspection views have no lines.
    """
    missing: dict[str, Any] = {"inspected": False, "inspection_reason": "", "violation": np.nan}
    return frame.assign(**{c: v for c, v in missing.items() if c not in frame.columns})


def evaluate_command(
    model_uri: str,
    data: list[Path],
    mapping: Path | None,
    truth: Path | None,
    allow_bad_rows: bool,
    tips: Path | None = None,
) -> dict[str, Any]:
    """``flrisk evaluate``: score labelled lines with a registered model and print the table.

    Labelled lines are judged in each view they have labels for; with ``truth`` (simulated
    data), lines without inspection labels are judged against the hidden truth alone, so a
    simulated world's ``score.csv`` and ``truth.csv`` can be evaluated as they are.
    The baselines are training's that need no fitting (``legacy_rules``, ``random``), with
    the paired difference of the model against the legacy rules; why the fitted logistic
    baseline is absent is printed under the table. The cheap checks come first: the model
    URI, then the file (labels, bad rows), and only then is the model downloaded. Tips (the
    store's, and ``tips``, a file) are counted as training counts them: statuses as of each
    line's entry date.
    """
    settings = get_settings()
    resolved = resolve(model_uri, settings)
    if truth is None:
        res = read_labelled(settings, data, mapping, allow_bad_rows)
    else:  # the hidden truth labels every line: inspection labels are optional
        res = read_entry_lines(
            data,
            mapping,
            allow_bad_rows=allow_bad_rows,
            quarantine_path=quarantine_path(settings, data[0]),
        )
    if res.quarantine_path is not None:
        typer.echo(f"{len(res.bad_rows)} problems in bad rows quarantined to {res.quarantine_path}")
    frame = with_label_columns(res.frame)
    lines = res.lines
    hidden = load_truth(truth, frame) if truth else None
    index = read_training_tips(settings, tips, use_store=True)  # a bad file before the model
    scorer = Scorer(fetch_bundle(resolved, settings), version=resolved.uri)
    p = scorer.score(lines, reasons=0, tips=index, tip_status_as_of=lines["entry_date"]).risk_score
    signals = signal_frame(derive_signals(lines, scorer.cache))
    cfg = load_config(None).evaluation
    results = evaluate_scores(
        frame,
        {
            "model": p,
            "legacy_rules": legacy_rule_scores(signals),
            "random": random_scores(len(frame)),
        },
        {"model": p},
        hidden,
        cfg,
    )
    typer.echo(f"{resolved.uri} on {len(frame)} lines ({', '.join(str(d) for d in data)}):\n")
    typer.echo(metrics_table(results))
    typer.echo(NO_LOGISTIC.format(run=_training_run(settings, resolved)))
    return results
