"""What ``flrisk backtest`` writes: the CSV, a markdown table, a plot, an MLflow run.

The replay itself is :mod:`pipelines.policy_replay`; this module only presents its rows.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.settings import Settings

EXPERIMENT = "flrisk-backtest"
CSV_COLUMNS = (
    "month", "policy", "lines", "selected", "random_checks", "violations_found",
    "violations_in_month", "precision", "recall", "pr_auc",
)  # fmt: skip


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per policy: totals over the replayed months, and the model's PR-AUC early and late."""
    out = []
    months = sorted(rows["month"].unique())
    third = max(1, len(months) // 3)
    early, late = set(months[:third]), set(months[-third:])
    for policy, g in rows.groupby("policy", sort=False):
        found, selected = int(g["violations_found"].sum()), int(g["selected"].sum())
        pr = g["pr_auc"]
        out.append(
            {"policy": policy, "selected": selected, "random_checks": int(g["random_checks"].sum()),
             "violations_found": found, "precision": found / selected if selected else np.nan,
             "recall": found / max(1, int(g["violations_in_month"].sum())),
             "pr_auc_mean": pr.mean(), "pr_auc_first": pr[g["month"].isin(early)].mean(),
             "pr_auc_last": pr[g["month"].isin(late)].mean()}
        )  # fmt: skip
    return pd.DataFrame(out)


def _cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        return "–" if np.isnan(v) else f"{v:.3f}"
    return str(v)


def markdown(frame: pd.DataFrame) -> str:
    """A frame as a GitHub markdown table (NaN as a dash)."""
    head = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def tables(rows: pd.DataFrame) -> str:
    """The summary, then violations found and PR-AUC by month and policy."""
    found = rows.pivot(index="month", columns="policy", values="violations_found")
    found.insert(0, "violations", rows.groupby("month")["violations_in_month"].first())
    found = found.reset_index()
    pr = rows[rows["pr_auc"].notna()]
    parts = [
        "## Policies over the replayed months\n",
        markdown(summary(rows)),
        "\n\n## Violations found by month\n",
        markdown(found),
    ]
    if len(pr):
        by_month = pr.pivot(index="month", columns="policy", values="pr_auc").reset_index()
        parts += ["\n\n## PR-AUC of each policy's model on the month's full truth\n",
                  markdown(by_month)]  # fmt: skip
    return "".join(parts) + "\n"


def plot(rows: pd.DataFrame, path: Path) -> Path:
    """Cumulative violations found, and the models' PR-AUC, by month and policy (PNG)."""
    import matplotlib

    matplotlib.use("Agg")  # headless: CI and servers have no display
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4.5))
    for policy, g in rows.groupby("policy", sort=False):
        a.plot(g["month"], g["violations_found"].cumsum(), marker="o", label=policy)
        if g["pr_auc"].notna().any():
            b.plot(g["month"], g["pr_auc"], marker="o", label=policy)
    a.set_title("Violations found (cumulative)")
    b.set_title("PR-AUC on each month's full truth")
    for ax in (a, b):
        ax.tick_params(axis="x", rotation=60)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_outputs(rows: pd.DataFrame, out: Path) -> dict[str, Path]:
    """``backtest.csv``, ``backtest.md`` and ``backtest.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "backtest.csv"
    rows[list(CSV_COLUMNS)].to_csv(csv, index=False, float_format="%.6g")
    md = out / "backtest.md"
    md.write_text("# flrisk backtest\n\n" + tables(rows), encoding="utf-8")
    return {"csv": csv, "markdown": md, "plot": plot(rows, out / "backtest.png")}


def log_run(
    settings: Settings, rows: pd.DataFrame, params: dict[str, Any], files: dict[str, Path]
) -> str:
    """One MLflow run in the ``flrisk-backtest`` experiment; returns its id.

    Per policy and month (``step``: the month's position) the violations found and the
    PR-AUC; per policy the totals; the outputs as artifacts.
    """
    from models.mlflow_env import quiet_mlflow

    quiet_mlflow()  # before MLflow is imported: its defaults are read then
    import mlflow
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(settings.tracking_uri())
    if mlflow.get_experiment_by_name(EXPERIMENT) is None:
        root = (settings.data_dir / "mlartifacts").resolve()
        root.mkdir(parents=True, exist_ok=True)
        mlflow.create_experiment(EXPERIMENT, artifact_location=root.as_uri())
    mlflow.set_experiment(EXPERIMENT)
    months = {m: i for i, m in enumerate(sorted(rows["month"].unique()))}
    now = int(time.time() * 1000)
    metrics = []
    for r in rows.to_dict("records"):
        step, name = months[r["month"]], str(r["policy"])
        metrics.append(Metric(f"{name}.violations_found", float(r["violations_found"]), now, step))
        if not np.isnan(float(r["pr_auc"])):
            metrics.append(Metric(f"{name}.pr_auc", float(r["pr_auc"]), now, step))
    for s in summary(rows).to_dict("records"):
        name = str(s["policy"])
        metrics.append(
            Metric(f"{name}.total_violations_found", float(s["violations_found"]), now, 0)
        )
        if not np.isnan(float(s["pr_auc_mean"])):
            metrics.append(Metric(f"{name}.mean_pr_auc", float(s["pr_auc_mean"]), now, 0))
    with mlflow.start_run(run_name=f"backtest {time.strftime('%Y-%m-%d %H:%M')}") as run:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        # One batch: a call per metric is a database transaction each (minutes on SQLite).
        mlflow.MlflowClient().log_batch(run.info.run_id, metrics=metrics)
        for path in files.values():
            mlflow.log_artifact(str(path))
        return str(run.info.run_id)
