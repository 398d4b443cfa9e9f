"""`flrisk backtest` end to end on a small simulated world, and `flrisk score --select`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pipelines.simulate import run

    out = tmp_path_factory.mktemp("small-world")
    run(out=out, lines=6000, seed=3)
    return out


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from models.settings import get_settings

    monkeypatch.setenv("FLRISK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


@pytest.mark.slow
def test_backtest_prints_the_table_of_the_four_policies(
    small_world: Path, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bt"
    args = ["backtest", "--data", str(small_world / "train.csv"),
            "--data", str(small_world / "score.csv"), "--truth", str(small_world / "truth.csv"),
            "--capacity", "0.05", "--explore", "0.2", "--start", "2025-09", "--rounds", "8",
            "--out", str(out)]  # fmt: skip
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    for policy in ("random", "rules", "model", "model_explore"):
        assert f"| {policy} |" in res.output
    rows = pd.read_csv(out / "backtest.csv")
    assert list(rows.columns[:6]) == [
        "month",
        "policy",
        "lines",
        "selected",
        "random_checks",
        "violations_found",
    ]
    assert sorted(rows["month"].unique()) == ["2025-09", "2025-10", "2025-11", "2025-12"]
    assert len(rows) == 16
    by = rows.set_index(["month", "policy"])
    # Every policy selects the same share of each month; only the explorer and random draw.
    assert (rows.groupby("month")["selected"].nunique() == 1).all()
    assert (by.xs("model", level="policy")["random_checks"] == 0).all()
    explore = by.xs("model_explore", level="policy")
    assert (explore["random_checks"] == (explore["selected"] * 0.2).round()).all()
    assert (
        by.xs("random", level="policy")["random_checks"]
        == by.xs("random", level="policy")["selected"]
    ).all()
    # A policy finds at most what the month holds and what it selected; only models have PR-AUC.
    assert (rows["violations_found"] <= rows[["selected", "violations_in_month"]].min(axis=1)).all()
    assert rows.loc[rows["policy"].isin(["model", "model_explore"]), "pr_auc"].between(0, 1).all()
    assert rows.loc[rows["policy"].isin(["random", "rules"]), "pr_auc"].isna().all()
    assert (out / "backtest.png").stat().st_size > 1000
    assert "| policy |" in (out / "backtest.md").read_text()
    assert "MLflow run" in res.output and (data_dir / "mlflow.db").is_file()


def test_backtest_without_truth_is_a_plain_error(small_world: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(
        app, ["backtest", "--data", str(small_world / "train.csv"), "--out", str(tmp_path)]
    )
    assert res.exit_code != 0
    assert "needs --truth" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(
        app, ["backtest", "--data", str(small_world / "train.csv"), "--truth",
              str(small_world / "truth.csv"), "--start", "1999-01", "--out", str(tmp_path)],
    )  # fmt: skip
    assert res.exit_code != 0 and "--start 1999-01" in res.output


@pytest.mark.slow
def test_score_select_marks_the_riskiest_and_the_random_checks(
    registered_model, tmp_path: Path
) -> None:
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(
        app, ["score", "--model", registered_model.uri, "--data",
              str(registered_model.sim_dir / "score.csv"), "--out", str(out), "--reasons", "0",
              "--select", "200", "--explore", "0.1", "--seed", "4", "--stratify", "sector"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "20 random checks" in res.output and "expected cost" in res.output
    scores = pd.read_csv(out, keep_default_na=False)
    kinds = scores["selection"].value_counts().to_dict()
    assert kinds["risk"] == 180 and kinds["random_check"] == 20
    # The ranking: presumed lines first (the law), then by score.
    presumed = scores["presumption"].fillna("").astype(str) != ""
    ranked = scores.assign(_p=~presumed).sort_values(
        ["_p", "risk_score"], ascending=[True, False], kind="stable"
    )
    top = ranked.head(180)
    assert set(top["selection"]) == {"risk"}
    again = tmp_path / "again.csv"
    res = CliRunner().invoke(
        app, ["score", "--model", registered_model.uri, "--data",
              str(registered_model.sim_dir / "score.csv"), "--out", str(again), "--reasons", "0",
              "--select", "200", "--explore", "0.1", "--seed", "4", "--stratify", "sector",
              "--workers", "2"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    # The same seed draws the same lines; scored in worker processes, the same file.
    assert (
        pd.read_csv(again, keep_default_na=False)["selection"].tolist()
        == scores["selection"].tolist()
    )
    assert again.read_bytes() == out.read_bytes()
