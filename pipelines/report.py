"""Evaluation artifacts: plots, SHAP summary, feature importance and the model card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.evaluate import headline_view, views
from pipelines.fit import TrainResult
from pipelines.metrics import reliability, top_mask
from pipelines.tip_effect import tip_effect, tip_effect_md


def _plt():  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")  # headless: CI and servers have no display
    import matplotlib.pyplot as plt

    return plt


def _pr_curve(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(-s, kind="stable")
    yy = y[order]
    tp = np.cumsum(yy)
    return tp / max(tp[-1], 1), tp / np.arange(1, len(yy) + 1)


def plot_pr(result: TrainResult, path: Path) -> None:
    """Precision-recall curves of model and baselines in each view with labels."""
    plt = _plt()
    vs = views(result.test_frame, result.test_truth)
    fig, axes = plt.subplots(1, len(vs), figsize=(5 * len(vs), 4), squeeze=False)
    styles = {"model": "-", "logistic": "--", "legacy_rules": "-.", "random": ":"}
    for ax, (view, (y, mask)) in zip(axes[0], vs.items(), strict=True):
        for name, s in result.test_scores.items():
            r, p = _pr_curve(y[mask], s[mask])
            ax.plot(r, p, styles.get(name, "-"), label=name)
        ax.set(title=view, xlabel="recall", ylabel="precision", ylim=(0, 1.02))
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(result: TrainResult, path: Path) -> list[dict[str, Any]]:
    """Reliability plot of the calibrated model in the headline view."""
    plt = _plt()
    vs = views(result.test_frame, result.test_truth)
    view = headline_view(vs)
    y, mask = vs[view]
    rows = reliability(result.test_scores["model"][mask], y[mask])
    fig, ax = plt.subplots(figsize=(4.5, 4))
    pred = [r["predicted"] for r in rows]
    ax.plot(pred, [r["observed"] for r in rows], "o-", label="model")
    hi = max(pred + [r["observed"] for r in rows] + [0.01])
    ax.plot([0, hi], [0, hi], ":", color="grey", label="perfect")
    ax.set(title=f"calibration ({view})", xlabel="predicted", ylabel="observed")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return rows


def plot_shap_summary(
    result: TrainResult, path: Path, max_lines: int = 2000, top: int = 15
) -> None:
    """Beeswarm-style SHAP summary from LightGBM's exact TreeSHAP (pred_contrib)."""
    plt = _plt()
    X = result.explain_features.head(max_lines)
    contrib = np.asarray(result.bundle.booster.predict(X, pred_contrib=True))[:, :-1]
    order = np.argsort(-np.abs(contrib).mean(axis=0))[:top][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * top + 1))
    rng = np.random.default_rng(0)
    for row, j in enumerate(order):
        col = X.iloc[:, j]
        v = (
            col.cat.codes.astype(float).to_numpy()
            if isinstance(col.dtype, pd.CategoricalDtype)
            else col.to_numpy(dtype=float)
        )
        finite = np.isfinite(v)
        norm = np.full(len(v), 0.5)
        if finite.any() and np.ptp(v[finite]) > 0:
            norm[finite] = (v[finite] - v[finite].min()) / np.ptp(v[finite])
        ax.scatter(
            contrib[:, j],
            row + rng.normal(0, 0.08, len(v)),
            c=norm,
            cmap="coolwarm",
            s=4,
            alpha=0.6,
        )
    ax.set_yticks(range(len(order)), [X.columns[j] for j in order], fontsize=7)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set(
        xlabel="SHAP value (log-odds); colour: feature value low -> high",
        title="SHAP summary (test window)",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def feature_importance(result: TrainResult) -> pd.DataFrame:
    """Total gain and split count per feature of the registered model."""
    b = result.bundle.booster
    return pd.DataFrame(
        {
            "feature": b.feature_name(),
            "gain": b.feature_importance("gain"),
            "splits": b.feature_importance("split"),
        }
    ).sort_values("gain", ascending=False)


def breakdowns(result: TrainResult, by: str, top: int = 8) -> pd.DataFrame:
    """Per-group counts and model recall at the global 5% cut-off, in the headline view."""
    vs = views(result.test_frame, result.test_truth)
    view = headline_view(vs)
    y, mask = vs[view]
    flagged = top_mask(result.test_scores["model"], 0.05)
    key = result.test_frame[by].astype(object).fillna("unknown")
    rows = []
    for g in key.value_counts().head(top).index:
        m = (key == g).to_numpy() & mask
        pos = y[m].sum()
        rows.append(
            {
                by: g,
                "lines": int((key == g).sum()),
                "labelled": int(m.sum()),
                "violations": int(pos),
                "flagged_share": float(flagged[(key == g).to_numpy()].mean()),
                "recall_at_5": float((y[m] * flagged[m]).sum() / pos) if pos else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def _md(df: pd.DataFrame) -> str:
    if not len(df):
        return "n/a"
    fmt = [
        [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        for row in df.itertuples(index=False)
    ]
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns)
    return head + "\n" + "\n".join("| " + " | ".join(r) + " |" for r in fmt)


def model_card(
    result: TrainResult, name: str, extra: dict[str, Any], tips: dict[str, Any] | None = None
) -> str:
    """The model card in Markdown: intended use, data, metrics, limits, breakdowns, tips.

    ``tips``: :func:`~pipelines.tip_effect.tip_effect` of the result (computed if None).
    """
    b = result.bundle
    tips = tip_effect(result) if tips is None else tips
    strat = "\n".join(
        f"| {s} | {m['pr_auc']:.4f} | {m['precision_at_5']:.4f} | {m['best_iteration']:.0f} |"
        for s, m in result.strategy_table.items()
    )
    sector = (
        breakdowns(result, "hs_heading") if "hs_heading" in result.test_frame else pd.DataFrame()
    )
    country = breakdowns(result, "country_of_origin")
    return f"""# Model card: {name}

## Intended use
Decision support for CBP targeting officers: every entry line is ranked by the risk that it
was made with forced labour (UFLPA presumption, WRO/Findings), with the reasons for each
score. **An officer decides**; a score is never a detention. Not for use on goods outside
the data contract, nor as evidence in itself.

## Data
- lines: {result.counts["lines"]:,}; inspected: {result.counts["inspected"]:,}; random sample:
  {result.counts["random"]:,}; violations found: {result.counts["violations"]:,}
- windows (by month): train {result.windows["train"]}, validation {result.windows["valid"]},
  test {result.windows["test"]}
- training data digest (SHA-256): `{result.data_digest}`
- git commit: `{extra.get("git_commit", "unknown")}`
- reference tables: {json.dumps(b.reference_versions)}

## Learning from selection-biased labels
Strategies compared on the validation window ({b.meta.get("selection_view")} view):

| strategy | PR-AUC | precision@5% | iterations |
|---|---|---|---|
{strat}

Chosen: **{result.chosen}** (highest {extra.get("selection_metric", "pr_auc")}).
The registered model is refit on all months with this recipe; the metrics below are the
recipe's backtest on the
held-out test months, computed over every line of those months.

## Metrics (test window, 95% bootstrap intervals)
{result.table}

Calibration: {b.calibration.method} (a={b.calibration.a:.3f}, b={b.calibration.b:.3f}), fitted on
{b.calibration.fitted_on}. Risk bands: high >= {b.thresholds["high"]:.4f},
elevated >= {b.thresholds["elevated"]:.4f} (top 1% and 5% of recent lines).

## Breakdown by country of origin (recall at the global 5% cut-off)
{_md(country)}

## Breakdown by HS heading
{_md(sector)}

## Tips: the learned effect
{tip_effect_md(tips, b.meta.get("tips"))}

## Limits
- Labels come from inspections; violations nobody inspected for are invisible, and
  detection is imperfect: precision is a lower bound of true risk among flagged lines.
- The random-inspection sample is small: its intervals are wide; trust the interval.
- Entity matching is fuzzy: a similarity is evidence to check, not an identification.
- Lists and risk-goods tables change; the reference versions above say which were used.
"""


def write_reports(result: TrainResult, folder: Path, name: str, extra: dict[str, Any]) -> Path:
    """Write every evaluation artifact into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metrics.json").write_text(json.dumps(result.results, indent=1))
    (folder / "metrics.md").write_text(result.table)
    (folder / "strategies.json").write_text(json.dumps(result.strategy_table, indent=1))
    plot_pr(result, folder / "pr_curves.png")
    rel = plot_reliability(result, folder / "reliability.png")
    (folder / "reliability.json").write_text(json.dumps(rel, indent=1))
    plot_shap_summary(result, folder / "shap_summary.png")
    feature_importance(result).to_csv(folder / "feature_importance.csv", index=False)
    tips = tip_effect(result)
    (folder / "tip_effect.json").write_text(json.dumps(tips, indent=1))
    (folder / "model_card.md").write_text(model_card(result, name, extra, tips))
    holdout = result.test_frame.copy()
    holdout.to_parquet(folder / "holdout.parquet", index=False)
    return folder
