"""`flrisk score` and `flrisk evaluate` refuse a bundle that is not the one registered."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from bundletools import tamper_leaf
from typer.testing import CliRunner

from models.scoring.bundle import MODEL_FILE, sha256_file
from models.scoring.lookup import client, resolve
from models.settings import Settings, get_settings
from pipelines.cli import app


@pytest.fixture
def session_settings(registered_model: SimpleNamespace, monkeypatch: pytest.MonkeyPatch):
    """The CLI's settings are the session registry's (whatever tests before left cached)."""
    s = registered_model.settings
    monkeypatch.setenv("FLRISK_DATA_DIR", str(s.data_dir))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", s.tracking_uri())
    get_settings.cache_clear()
    yield s
    get_settings.cache_clear()


@pytest.mark.slow
def test_score_and_evaluate_refuse_a_tampered_bundle_with_rehashed_manifest(
    registered_model: SimpleNamespace, session_settings: Settings, tmp_path: Path
) -> None:
    from mlflow.artifacts import download_artifacts

    s = session_settings
    resolved = resolve(registered_model.uri, s)
    c = client(s)
    tags = c.get_model_version(resolved.name, resolved.version).tags
    local = Path(download_artifacts(artifact_uri=resolved.uri, dst_path=str(tmp_path / "dl")))
    folder = local / "artifacts" / "bundle"
    loaded = tamper_leaf(folder)  # a valid model, and its manifest agrees with it
    # The tampered files under a version whose tags are the trained one's (what an artifact
    # store changed behind the registry's back looks like).
    exp = c.get_experiment_by_name("Default") or c.get_experiment("0")
    run = c.create_run(exp.experiment_id)
    c.log_artifacts(run.info.run_id, str(folder), "bundle")
    c.set_terminated(run.info.run_id)
    name = "flrisk-tampered"
    c.create_registered_model(name)
    mv = c.create_model_version(name, f"{run.info.artifact_uri}/bundle", run_id=run.info.run_id)
    for key in ("bundle_hash", "model_hash"):
        c.set_model_version_tag(name, mv.version, key, tags[key])
    uri = f"models:/{name}/{mv.version}"
    sim = registered_model.sim_dir
    runs = {
        "score": ["score", "--model", uri, "--data", str(sim / "score.csv"),
                  "--out", str(tmp_path / "scores.csv")],
        "evaluate": ["evaluate", "--model", uri, "--data", str(sim / "train.csv"),
                     "--truth", str(sim / "truth.csv")],
    }  # fmt: skip
    tampered_model = sha256_file(folder / MODEL_FILE)
    for verb, args in runs.items():
        res = CliRunner().invoke(app, args)
        said = f"{res.output}\n{res.exception}"
        assert res.exit_code != 0, (verb, res.output)
        assert f"{uri}: the bundle in the artifact store is not the one registered" in said, verb
        assert f"bundle hash {loaded} != {tags['bundle_hash']} recorded in the registry" in said
        assert f"{MODEL_FILE} hash {tampered_model} != {tags['model_hash']}" in said
    assert not (tmp_path / "scores.csv").exists()
    # The registered model itself still loads (its files are untouched).
    few = tmp_path / "few.csv"
    few.write_text("".join((sim / "score.csv").read_text().splitlines(keepends=True)[:51]))
    ok = ["score", "--model", registered_model.uri, "--data", str(few), "--out",
          str(tmp_path / "ok.csv")]  # fmt: skip
    res = CliRunner().invoke(app, ok)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "ok.csv").exists()
