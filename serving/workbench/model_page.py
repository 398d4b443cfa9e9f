"""What the Model page shows: the served version, its training run's reports and plots.

The training run logs ``evaluation/{metrics.md, model_card.md, pr_curves.png,
reliability.png, shap_summary.png}``; they are fetched from MLflow once per version into
``data_dir/workbench/model-<version>/`` and served from there.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from models.scoring.lookup import client
from models.settings import Settings
from serving.model_holder import LoadedModel
from serving.workbench.figures import headline_figures

log = logging.getLogger(__name__)
REPORTS = ("metrics.md", "model_card.md")
FIGURES = "metrics.json"
# Marks a version's folder as fetched; its name changes when the set of files does.
FETCHED = ".fetched-2"
PLOTS = {
    "pr_curves.png": "Precision-recall curves on the holdout",
    "reliability.png": "Calibration (reliability) of the risk score",
    "shap_summary.png": "Which features drive scores (SHAP summary)",
}
_lock = threading.Lock()


def artifact_dir(settings: Settings, model: LoadedModel) -> Path:
    """Local cache of one version's evaluation artifacts."""
    safe = f"{model.resolved.name}-{model.resolved.version}".replace("/", "_")
    return settings.data_dir / "workbench" / f"model-{safe}"


def run_id(model: LoadedModel, settings: Settings) -> str | None:
    """The training run of the version: its ``run_id`` tag, else the version's run."""
    if model.tags.get("run_id"):
        return model.tags["run_id"]
    try:
        mv = client(settings).get_model_version(model.resolved.name, model.resolved.version)
        return str(mv.run_id) if mv.run_id else None
    except Exception:  # registry unreachable: the page still shows the bundle's facts
        log.warning("no run id for %s", model.resolved.uri)
        return None


def fetch_artifacts(settings: Settings, model: LoadedModel, rid: str | None) -> Path:
    """Download the evaluation files once; missing ones are simply absent."""
    folder = artifact_dir(settings, model)
    with _lock:
        if (folder / FETCHED).exists() or rid is None:
            return folder
        folder.mkdir(parents=True, exist_ok=True)
        c = client(settings)
        for name in (*REPORTS, FIGURES, *PLOTS):
            try:
                c.download_artifacts(rid, f"evaluation/{name}", str(folder))
            except Exception:  # not logged by this run (e.g. a hand-registered model)
                log.info("run %s has no evaluation/%s", rid, name)
        (folder / FETCHED).touch()
    return folder


def render_markdown(text: str) -> Markup:
    """Markdown to HTML with raw HTML disabled (the report is data, not markup)."""
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - markdown-it comes with typer's rich
        return Markup(f"<pre>{escape(text)}</pre>")  # noqa: S704  escaped
    html = MarkdownIt("js-default").render(text)
    return Markup(html)  # noqa: S704  js-default escapes raw HTML and unsafe links


def _training_date(settings: Settings, rid: str | None) -> str:
    if rid is None:
        return ""
    try:
        start = client(settings).get_run(rid).info.start_time
    except Exception:
        return ""
    return datetime.fromtimestamp(start / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def model_page(settings: Settings, model: LoadedModel) -> dict[str, Any]:
    """Everything the Model page template needs."""
    rid = run_id(model, settings)
    folder = fetch_artifacts(settings, model, rid)
    reports = {}
    for name in REPORTS:
        path = folder / "evaluation" / name
        path = path if path.is_file() else folder / name
        reports[name] = render_markdown(path.read_text()) if path.is_file() else None
    plots = {
        name: caption
        for name, caption in PLOTS.items()
        if (folder / "evaluation" / name).is_file() or (folder / name).is_file()
    }
    bundle = model.scorer.bundle
    metrics = model.metrics()
    return {
        "info": model.info(),
        "metrics": metrics,
        "figures": headline_figures(_evaluation(folder), metrics),
        "thresholds": bundle.thresholds,
        "calibration": bundle.calibration,
        "meta": bundle.meta,
        "run_id": rid,
        "trained": _training_date(settings, rid),
        "reports": reports,
        "plots": plots,
        "tags": {k: v for k, v in model.tags.items() if k in ("git_commit", "strategy")},
    }


def _evaluation(folder: Path) -> dict[str, Any] | None:
    """The run's ``metrics.json`` (values with intervals), if it logged one."""
    for path in (folder / "evaluation" / FIGURES, folder / FIGURES):
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except ValueError:  # a damaged file: the page falls back to the version's tags
                return None
            return data if isinstance(data, dict) else None
    return None


def plot_path(settings: Settings, model: LoadedModel, name: str) -> Path | None:
    """A cached plot's file, only for the known plot names (no path from the request)."""
    if name not in PLOTS:
        return None
    folder = artifact_dir(settings, model)
    for path in (folder / "evaluation" / name, folder / name):
        if path.is_file():
            return path
    return None
