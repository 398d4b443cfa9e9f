"""The `flrisk` command line: every verb documented, and the evaluate/promote paths."""

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

VERBS = ["simulate", "train", "evaluate", "score", "serve", "promote", "reference"]


def test_every_verb_has_help():
    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0
    for verb in VERBS:
        assert verb in top.output
        res = runner.invoke(app, [verb, "--help"])
        assert res.exit_code == 0, (verb, res.output)
        assert "Usage" in res.output


@pytest.mark.slow
def test_evaluate_prints_the_table_with_intervals(registered_model, tmp_path):
    from models.contract.reader import read_entry_lines

    frame = read_entry_lines(registered_model.sim_dir / "train.csv", require_labels=True).frame
    recent = frame[frame["entry_date"] >= "2025-07-01"].copy()
    recent["entry_date"] = recent["entry_date"].dt.strftime("%Y-%m-%d")
    path = tmp_path / "recent.csv"
    recent.to_csv(path, index=False)
    res = CliRunner().invoke(
        app,
        [
            "evaluate",
            "--model",
            registered_model.uri,
            "--data",
            str(path),
            "--truth",
            str(registered_model.sim_dir / "truth.csv"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "**random_sample**" in res.output and "**hidden_truth**" in res.output
    assert "| legacy_rules |" in res.output and "[" in res.output


@pytest.mark.slow
def test_promote_force_moves_the_alias_and_says_why(registered_model):
    res = CliRunner().invoke(
        app, ["promote", "--model", registered_model.uri, "--alias", "challenger", "--force"]
    )
    assert res.exit_code == 0, res.output
    assert "challenger -> " in res.output and "forced" in res.output


def test_serve_runs_uvicorn_with_the_limits_of_the_settings(monkeypatch):
    import uvicorn

    from models.settings import get_settings

    seen = {}
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: seen.update(target=target, **kw))
    monkeypatch.setenv("FLRISK_MAX_CONNECTIONS", "321")
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["serve", "--port", "8123"])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert seen["target"] == "serving.app:create_app" and seen["factory"] is True
    assert seen["http"] == "serving.connections:GuardedProtocol"
    assert seen["limit_concurrency"] == 321
    assert seen["timeout_keep_alive"] == 5 and seen["timeout_graceful_shutdown"] == 30
    assert seen["h11_max_incomplete_event_size"] == 64 * 1024
