"""The `flrisk` command line: every verb documented, plain errors, the evaluate/promote paths."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

VERBS = [
    "simulate", "train", "evaluate", "score", "backtest", "serve", "promote", "reference", "keys",
    "drift", "shadow-report",
]  # fmt: skip


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
    # Training's baselines: those that need no fitting are scored; the fitted one is explained.
    assert "| random |" in res.output and "| model_minus_legacy_rules |" in res.output
    assert "logistic: not in this table" in res.output and "training run" in res.output


@pytest.mark.slow
def test_evaluate_takes_the_simulators_later_lines_with_their_truth(registered_model):
    sim = registered_model.sim_dir
    res = CliRunner().invoke(
        app,
        ["evaluate", "--model", registered_model.uri, "--data", str(sim / "score.csv"),
         "--truth", str(sim / "truth.csv")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "**hidden_truth**" in res.output and "**random_sample**" not in res.output
    assert "| legacy_rules |" in res.output and "| random |" in res.output


@pytest.mark.slow
def test_promote_force_moves_the_alias_and_says_why(registered_model):
    res = CliRunner().invoke(
        app, ["promote", "--model", registered_model.uri, "--alias", "challenger", "--force"]
    )
    assert res.exit_code == 0, res.output
    assert "challenger -> " in res.output and "forced" in res.output


def test_serve_runs_uvicorn_with_the_limits_of_the_settings(monkeypatch):
    import socket

    import uvicorn

    from models.settings import get_settings

    seen = {}

    def run(server, sockets=None):
        c = server.config
        seen.update(target=c.app, factory=c.factory, http=c.http, **{
            k: getattr(c, k) for k in ("limit_concurrency", "timeout_keep_alive",
                                       "timeout_graceful_shutdown", "h11_max_incomplete_event_size")
        })  # fmt: skip

    monkeypatch.setattr(uvicorn.Server, "run", run)
    monkeypatch.setenv("FLRISK_MAX_CONNECTIONS", "321")
    monkeypatch.setenv("FLRISK_BOOTSTRAP_KEY", "false")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    get_settings.cache_clear()
    try:
        res = CliRunner().invoke(app, ["serve", "--port", str(port)])
    finally:
        get_settings.cache_clear()
    assert res.exit_code == 0, res.output
    assert seen["target"] == "serving.app:create_app" and seen["factory"] is True
    assert seen["http"] == "serving.connections:GuardedProtocol"
    assert seen["limit_concurrency"] == 321
    assert seen["timeout_keep_alive"] == 5 and seen["timeout_graceful_shutdown"] == 30
    assert seen["h11_max_incomplete_event_size"] == 64 * 1024


# ------------------------------------------------------------------ plain errors (#15 item 5)
# Every mistake answers in words: a non-zero exit, no traceback, the problem and what to do.


def _plain(res, *words: str) -> None:
    assert res.exit_code != 0, res.output
    assert "Traceback" not in res.output, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) <= 3, res.output
    assert lines[0].startswith("flrisk: error: "), res.output
    for w in words:
        assert w in res.output, (w, res.output)


def _labelled_csv(path, n=3, labels=True, **override):
    cols = {
        "entry_id": [f"E{i}" for i in range(n)],
        "line_no": ["1"] * n,
        "entry_date": ["2025-08-01"] * n,
        "hts_code": ["6109.10.0012"] * n,
        "country_of_origin": ["CN"] * n,
    }
    if labels:
        cols |= {"inspected": ["true"] * n, "inspection_reason": ["random"] * n,
                 "violation": ["0"] * n}  # fmt: skip
    cols |= override
    rows = [",".join(cols)] + [",".join(v[i] for v in cols.values()) for i in range(n)]
    path.write_text("\n".join(rows) + "\n")
    return path


@pytest.fixture
def no_model_load(monkeypatch):
    """Fail the test if a command loads a model: files must be checked before."""

    def refuse(*_a, **_k):
        raise AssertionError("a model was loaded before the input was checked")

    monkeypatch.setattr("pipelines.evaluate.fetch_bundle", refuse)
    monkeypatch.setattr("pipelines.score.fetch_bundle", refuse)


def test_a_missing_data_file_is_named_before_any_model_is_loaded(tmp_path, no_model_load):
    missing = tmp_path / "later.csv"
    for verb in (
        ["evaluate", "--model", "models:/flrisk@champion", "--data", str(missing)],
        ["score", "--model", "models:/flrisk@champion", "--data", str(missing),
         "--out", str(tmp_path / "s.csv")],
        ["train", "--data", str(missing)],
    ):  # fmt: skip
        _plain(CliRunner().invoke(app, verb), f"--data {missing}: no such file", "Check the path")


def test_a_folder_or_an_unreadable_file_is_said_so(tmp_path, no_model_load):
    res = CliRunner().invoke(
        app, ["evaluate", "--model", "models:/flrisk@champion", "--data", str(tmp_path)]
    )
    _plain(res, "is a folder, not a file")


def test_a_missing_mapping_or_truth_file_is_named(tmp_path, no_model_load):
    data = _labelled_csv(tmp_path / "later.csv")
    res = CliRunner().invoke(
        app,
        ["evaluate", "--model", "models:/flrisk@champion", "--data", str(data),
         "--mapping", str(tmp_path / "my-layout.toml")],
    )  # fmt: skip
    _plain(res, "--mapping", "my-layout.toml: no such file")
    res = CliRunner().invoke(
        app,
        ["train", "--data", str(data), "--truth", str(tmp_path / "truth.csv")],
    )
    _plain(res, "--truth", "truth.csv: no such file")


def test_a_mapping_that_is_not_a_mapping_is_explained(tmp_path, no_model_load):
    from models.contract.mapping import load_mapping
    from models.errors import UserError

    bad = tmp_path / "layout.toml"
    bad.write_text('name = "x"\n[columns]\nentry_id = 3\n')
    with pytest.raises(UserError, match=r"layout\.toml: columns\.entry_id"):
        load_mapping(bad)
    res = CliRunner().invoke(
        app, ["train", "--data", str(_labelled_csv(tmp_path / "t.csv")), "--mapping", str(bad)]
    )
    _plain(res, "mapping", "layout.toml", "kcs.toml")


def test_a_malformed_model_uri_is_explained(tmp_path, no_model_load):
    data = _labelled_csv(tmp_path / "later.csv")
    res = CliRunner().invoke(app, ["evaluate", "--model", "flrisk", "--data", str(data)])
    _plain(res, "not a model URI: 'flrisk'", "models:/NAME@ALIAS")


def test_an_unknown_model_is_named(tmp_path, no_model_load):
    data = _labelled_csv(tmp_path / "later.csv")
    res = CliRunner().invoke(
        app,
        ["score", "--model", "models:/never-registered/7", "--data", str(data),
         "--out", str(tmp_path / "s.csv")],
    )  # fmt: skip
    _plain(res, "models:/never-registered/7", "not found", "make mlflow-ui")


def test_evaluate_says_which_label_columns_are_missing(tmp_path, monkeypatch, no_model_load):
    from models.scoring.lookup import ResolvedModel

    monkeypatch.setattr(
        "pipelines.evaluate.resolve", lambda uri, s: ResolvedModel("flrisk", "1", None)
    )
    data = _labelled_csv(tmp_path / "day.csv", labels=False)
    res = CliRunner().invoke(app, ["evaluate", "--model", "models:/flrisk/1", "--data", str(data)])
    _plain(res, "missing required columns 'inspected', 'violation'", "labelled lines")


def test_bad_rows_are_summed_up_with_the_first_and_the_quarantine(tmp_path):
    data = _labelled_csv(tmp_path / "t.csv", n=30, line_no=["0"] * 30)
    res = CliRunner().invoke(app, ["train", "--data", str(data)])
    _plain(res, "30 problem(s) in 30 bad row(s) of t.csv", "first: row 2, column 'line_no'",
           "quarantine", "--allow-bad-rows")  # fmt: skip


def test_train_with_a_truth_file_of_another_world_is_explained(tmp_path):
    data = _labelled_csv(tmp_path / "t.csv", n=5)
    truth = tmp_path / "truth.csv"
    truth.write_text("entry_id,line_no,true_violation\nX1,1,0\n")
    res = CliRunner().invoke(app, ["train", "--data", str(data), "--truth", str(truth),
                                   "--no-feedback"])  # fmt: skip
    _plain(res, "no hidden truth for 5 lines", "truth.csv of the world")
    truth.write_text("a,b\n1,2\n")
    res = CliRunner().invoke(app, ["train", "--data", str(data), "--truth", str(truth),
                                   "--no-feedback"])  # fmt: skip
    _plain(res, "not a truth file")


def test_a_bad_training_configuration_is_named(tmp_path):
    cfg = tmp_path / "train.toml"
    cfg.write_text("[lightgbm]\nnum_boost_round = 'many'\n")
    res = CliRunner().invoke(
        app, ["train", "--data", str(_labelled_csv(tmp_path / "t.csv")), "--config", str(cfg)]
    )
    _plain(res, "num_boost_round", "pipelines/config/train.toml")


def test_serve_says_the_port_is_taken_and_what_to_do():
    import socket

    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        res = CliRunner().invoke(app, ["serve", "--host", "127.0.0.1", "--port", str(port)])
    _plain(res, f"port {port} on 127.0.0.1 is already in use", f"--port {port + 1}", "make run")


def test_debug_shows_the_traceback_as_well(tmp_path):
    missing = ["evaluate", "--model", "flrisk", "--data", str(_labelled_csv(tmp_path / "a.csv"))]
    res = CliRunner().invoke(app, ["--debug", *missing])
    assert res.exit_code != 0
    assert "Traceback" in res.output and "ModelNotFoundError" in res.output
    assert "flrisk: error: not a model URI" in res.output
    res = CliRunner().invoke(app, missing, env={"FLRISK_DEBUG": "1"})
    assert res.exit_code != 0 and "Traceback" in res.output


def test_an_unexpected_error_is_called_a_bug_in_two_lines(tmp_path, monkeypatch):
    def broken(**_kwargs):
        raise RuntimeError("something inside broke\nsecond line")

    monkeypatch.setattr("pipelines.evaluate.evaluate_command", broken)
    data = _labelled_csv(tmp_path / "a.csv")
    res = CliRunner().invoke(app, ["evaluate", "--model", "models:/flrisk/1", "--data", str(data)])
    _plain(res, "unexpected error: RuntimeError: something inside broke", "--debug", "bug")
    assert "second line" not in res.output


@pytest.mark.slow
def test_train_and_evaluate_print_no_mlflow_noise(sim_dir, fast_config, tmp_path):
    """What a user's terminal shows: no schema warning, no progress bars, no INFO lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env |= {"FLRISK_DATA_DIR": str(tmp_path), "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/m.db"}
    flrisk = str(Path(sys.executable).parent / "flrisk")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [flrisk, *args], capture_output=True, text=True, env=env, timeout=1200, check=False
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        out = done.stdout + done.stderr
        for noise in ("Inferred schema contains integer", "Downloading artifacts", " INFO mlflow"):
            assert noise not in out, (noise, out[-3000:])
        assert "Traceback" not in out, out[-3000:]
        return done

    data = str(sim_dir / "train.csv")
    trained = run("train", "--data", data, "--config", str(fast_config), "--no-feedback")
    uri = trained.stdout.strip().splitlines()[-1]
    assert uri.startswith("models:/flrisk/")
    run("evaluate", "--model", uri, "--data", data)
