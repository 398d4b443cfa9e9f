"""``flrisk train``: read labelled lines, fit, write the reports, log and register, promote.

Only the wiring lives here. Each step is a function of its own module: reading
(``labelled``), fitting (``fit``: prepare -> strategy -> calibrate -> backtest -> refit ->
bands), reports (``report``), what the run records (``run_record``), MLflow (``registry``)
and the promotion gate (``promote``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from models.feedback import load_feedback_lines
from models.scoring.bundle import save_bundle
from models.scoring.lookup import BUNDLE_ARTIFACT
from models.settings import Settings, get_settings
from pipelines.config import TrainConfig, default_config_path, load_config
from pipelines.fit import TrainResult, fit
from pipelines.labelled import merge_feedback, read_labelled
from pipelines.promote import PromotionRefusedError, promote
from pipelines.provenance import git_commit
from pipelines.registry import RegisteredRun, TrainingRun, log_training_run, set_version_tags
from pipelines.report import write_reports
from pipelines.run_record import (
    report_extra,
    run_metrics,
    run_name,
    run_params,
    version_tags,
)
from pipelines.tips_file import read_training_tips


def read_training_lines(
    settings: Settings,
    data: list[Path],
    mapping: Path | None,
    allow_bad_rows: bool,
    use_feedback: bool,
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Labelled lines of the files (bad rows quarantined), with API feedback when asked.

    Returns:
        The lines and the mapping's passthrough feature columns.
    """
    res = read_labelled(settings, data, mapping, allow_bad_rows)
    if res.quarantine_path is not None:
        print(f"{len(res.bad_rows)} problems in bad rows quarantined to {res.quarantine_path}")
    frame = res.frame
    if use_feedback:
        feedback = load_feedback_lines(settings, list(frame.columns))
        merged = merge_feedback(frame, feedback.frame, feedback.under_review)
        frame = merged.frame
        for n, what in (
            (merged.relabelled, "feedback outcome(s) from the audit store relabel training lines"),
            (merged.not_in_data, "feedback outcome(s) about lines not in the training data "
             "skipped"),
            (merged.under_review, "training line(s) under review (conflicting outcomes) left out"),
            (feedback.unscored, "feedback outcome(s) whose scored line is not in the audit "
             "store skipped"),
            (feedback.invalid, "feedback line(s) that fail the contract skipped"),
        ):  # fmt: skip
            if n:
                print(f"{n} {what}")
    return frame, res.passthrough


def log_and_register(
    settings: Settings,
    result: TrainResult,
    cfg: TrainConfig,
    config: Path | None,
    data: list[Path],
    mapping: Path | None,
    name: str,
) -> RegisteredRun:
    """Write the reports and the bundle, log the run, register the model and tag its version."""
    commit = git_commit()
    config_files = [config or default_config_path(), *([mapping] if mapping else [])]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bundle_dir = save_bundle(result.bundle, folder / BUNDLE_ARTIFACT)
        reports = write_reports(result, folder / "evaluation", name, report_extra(cfg, commit))
        registered = log_training_run(
            settings,
            name,
            TrainingRun(
                name=run_name(data, result.data_digest),
                params=run_params(cfg, data, mapping, result, commit),
                metrics=run_metrics(result),
                config_files=config_files,
                reports=reports,
                bundle_dir=bundle_dir,
                example=result.test_frame,
            ),
        )
    tags = version_tags(result, commit, registered.run_id)
    set_version_tags(settings, registered.name, registered.version, tags)
    print(f"registered {registered.uri} (run {registered.run_id})")
    return registered


def train_command(
    data: list[Path],
    mapping: Path | None,
    name: str | None,
    config: Path | None,
    truth: Path | None,
    use_feedback: bool,
    promote_alias: str | None,
    allow_bad_rows: bool,
    tips: Path | None = None,
) -> str:
    """``flrisk train``: returns the registered ``models:/NAME/VERSION``.

    With ``promote_alias``, the new version takes that alias only if it passes the training
    configuration's ``[promotion]`` gate. Tips (``tips``, a file; with ``use_feedback``, the
    store's too) give the model its tip features.
    """
    settings = get_settings()
    cfg = load_config(config)
    tip_index = read_training_tips(settings, tips, use_feedback)
    frame, passthrough = read_training_lines(settings, data, mapping, allow_bad_rows, use_feedback)
    result = fit(frame, passthrough, cfg, truth, settings.num_threads, tip_index)
    registered = log_and_register(
        settings, result, cfg, config, data, mapping, name or settings.model_name
    )
    if promote_alias:
        try:
            promote(registered.uri, promote_alias, False, settings, cfg.promotion, cfg.evaluation)
        except PromotionRefusedError as exc:
            # The version is registered either way; only the alias waits for honest evidence.
            print(f"{promote_alias} not moved: {exc}")
    return registered.uri
