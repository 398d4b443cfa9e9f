"""The promotion gate: its decisions, and a version judged only on lines it never saw."""

import json
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.promote import decide, stored_metrics_comparable


def _tags(window="2025-07..09", digest="abc", view="random_sample", pr_auc=0.5):
    return {
        "holdout": json.dumps({"test_window": window, "data_digest": digest}),
        "holdout_metrics": json.dumps({"view": view, "pr_auc": pr_auc}),
    }


def test_gate_needs_a_positive_gain_of_at_least_the_margin():
    assert decide({"pr_auc": 0.6}, {"pr_auc": 0.5}, "pr_auc", 0.05)[0]
    assert not decide({"pr_auc": 0.52}, {"pr_auc": 0.5}, "pr_auc", 0.05)[0]
    assert not decide({"pr_auc": 0.5}, {"pr_auc": 0.5}, "pr_auc", 0.0)[0]


def test_stored_metrics_compare_only_the_same_holdout_in_the_same_view():
    assert stored_metrics_comparable(_tags(), _tags(pr_auc=0.7))
    assert not stored_metrics_comparable(_tags(), _tags(digest="other"))
    # Same holdout, but one run had the hidden truth: its headline is another view.
    assert not stored_metrics_comparable(_tags(view="hidden_truth"), _tags())
    assert not stored_metrics_comparable({}, {})


# --- Periods: a version is judged only on lines it was never fitted on --------------------


def test_periods_overlap_on_a_shared_day_only():
    from datetime import date

    from pipelines.periods import Period

    a = Period(date(2024, 1, 1), date(2025, 3, 31))
    assert a.overlaps(Period(date(2025, 3, 31), date(2025, 6, 30)))
    assert not a.overlaps(Period(date(2025, 4, 1), date(2025, 6, 30)))
    assert a.overlaps(Period(date(2023, 6, 1), date(2026, 1, 1)))
    assert not a.overlaps(Period(date(2023, 1, 1), date(2023, 12, 31)))


def test_fitted_period_of_an_old_bundle_is_all_its_months():
    from datetime import date
    from types import SimpleNamespace

    from pipelines.periods import fitted_period

    recorded = SimpleNamespace(meta={"fitted_period": ["2024-01-03", "2025-03-30"]})
    assert str(fitted_period(recorded)) == "2024-01-03..2025-03-30"  # type: ignore[arg-type]
    old = SimpleNamespace(
        meta={"windows": {"train": ["2024-01", "2025-01"], "test": ["2025-04", "2025-06"]}}
    )
    p = fitted_period(old)  # type: ignore[arg-type]
    assert (p.first, p.last) == (date(2024, 1, 1), date(2025, 6, 30))
    with pytest.raises(ValueError):
        fitted_period(SimpleNamespace(meta={}))  # type: ignore[arg-type]


def test_lines_from_a_fitted_day_are_refused_naming_the_version_and_period():
    from datetime import date

    from pipelines.compare import NotComparableError, check_unseen
    from pipelines.periods import Period

    lines = Period(date(2025, 3, 1), date(2025, 6, 30))
    old = ("models:/m/1", Period(date(2024, 1, 1), date(2025, 2, 28)))
    new = ("models:/m/2", Period(date(2024, 1, 1), date(2025, 3, 31)))
    check_unseen(lines, [old])
    with pytest.raises(
        NotComparableError, match=r"models:/m/2 .*2024-01-01\.\.2025-03-31.*after 2025-03-31"
    ):
        check_unseen(lines, [old, new])


# --- The gate end to end: two versions fitted on early months, judged on later ones -------


@pytest.fixture(scope="module")
def early_versions(sim_dir, fast_config, tmp_path_factory):
    """Two versions fitted on the months before 2025-04 (one barely trained); later lines."""
    import pandas as pd

    from pipelines.train import train_command

    folder = tmp_path_factory.mktemp("gate")
    lines = pd.read_csv(sim_dir / "train.csv", dtype=str, keep_default_na=False)
    early, later = folder / "early.csv", folder / "later.csv"
    lines[lines["entry_date"] < "2025-04-01"].to_csv(early, index=False)
    lines[lines["entry_date"] >= "2025-04-01"].to_csv(later, index=False)
    worse = folder / "worse.toml"
    worse.write_text(
        fast_config.read_text().replace("num_boost_round = 150", "num_boost_round = 2")
    )
    common = dict(data=[early], mapping=None, name=None, truth=sim_dir / "truth.csv",
                  use_feedback=False, promote_alias=None, allow_bad_rows=False)  # fmt: skip
    good = train_command(config=fast_config, **common)
    bad = train_command(config=worse, **common)
    return SimpleNamespace(good=good, bad=bad, later=later, truth=sim_dir / "truth.csv")


def _alias(settings, alias):
    from models.scoring.lookup import resolve

    return resolve(f"models:/{settings.model_name}@{alias}", settings).uri


def _evaluate_cell(uri, later, truth, metric="pr_auc"):
    """The model's cell for ``metric`` in ``flrisk evaluate``'s hidden-truth block."""
    res = CliRunner().invoke(app, ["evaluate", "--model", uri, "--data", str(later),
                                   "--truth", str(truth)])  # fmt: skip
    assert res.exit_code == 0, res.output
    block = res.output.split("**hidden_truth**")[1]
    header = next(line for line in block.splitlines() if line.startswith("| model |"))
    row = next(line for line in block.splitlines() if line.startswith("| model | 0"))
    cols = [c.strip() for c in header.strip("|").split("|")]
    return [c.strip() for c in row.strip("|").split("|")][cols.index(metric)]


@pytest.mark.slow
def test_promotion_without_unseen_lines_is_refused_and_leaves_the_alias(
    registered_model, early_versions
):
    """The champion was refit on months the candidate's holdout holds: no honest comparison."""
    settings = registered_model.settings
    runner = CliRunner()
    res = runner.invoke(app, ["promote", "--model", registered_model.uri, "--alias", "gate-a",
                              "--force"])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["promote", "--model", early_versions.good, "--alias", "gate-a"])
    assert res.exit_code == 2, res.output
    assert "refused" in res.output and "--data" in res.output
    assert "Traceback" not in res.output
    assert _alias(settings, "gate-a") == registered_model.uri
    # Lines the holder was fitted on are refused too, with the period to use instead.
    res = runner.invoke(app, ["promote", "--model", early_versions.good, "--alias", "gate-a",
                              "--data", str(early_versions.later),
                              "--truth", str(early_versions.truth)])  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "overlaps" in res.output and "after 2025-09-30" in res.output
    assert _alias(settings, "gate-a") == registered_model.uri


@pytest.mark.slow
def test_promotion_on_unseen_lines_prints_the_figures_flrisk_evaluate_prints(
    registered_model, early_versions
):
    settings = registered_model.settings
    runner = CliRunner()
    runner.invoke(app, ["promote", "--model", early_versions.bad, "--alias", "gate-b", "--force"])
    args = ["--alias", "gate-b", "--data", str(early_versions.later),
            "--truth", str(early_versions.truth)]  # fmt: skip
    res = runner.invoke(app, ["promote", "--model", early_versions.good, *args])
    assert res.exit_code == 0, res.output
    assert _alias(settings, "gate-b") == early_versions.good
    out = res.output
    assert "2025-04-01..2025-09-30" in out and "hidden_truth" in out
    assert (
        f"pr_auc of {early_versions.good} (candidate): "
        + _evaluate_cell(early_versions.good, early_versions.later, early_versions.truth)
        in out
    )
    assert (
        f"pr_auc of {early_versions.bad} (holder): "
        + _evaluate_cell(early_versions.bad, early_versions.later, early_versions.truth)
        in out
    )
    assert "difference, paired bootstrap" in out
    # The worse version does not win the alias back on the same lines: exit 1, alias kept.
    res = runner.invoke(app, ["promote", "--model", early_versions.bad, *args])
    assert res.exit_code == 1, res.output
    assert _alias(settings, "gate-b") == early_versions.good


@pytest.mark.slow
def test_train_promote_refuses_rather_than_judge_in_sample(registered_model, early_versions):
    """``train --promote`` registers the version and leaves the alias when it cannot judge."""
    settings = registered_model.settings
    from pipelines.promote import PromotionRefusedError, promote_command

    CliRunner().invoke(app, ["promote", "--model", registered_model.uri, "--alias", "gate-c",
                             "--force"])  # fmt: skip
    with pytest.raises(PromotionRefusedError):
        promote_command(early_versions.good, "gate-c", force=False)
    assert _alias(settings, "gate-c") == registered_model.uri
