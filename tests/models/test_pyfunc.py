"""The MLflow pyfunc (models from code) scores like the Scorer, pass-through features included."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.contract.batch import Lines
from models.contract.reader import read_entry_lines
from models.features.matrix import build_features, fit_feature_state, model_frame
from models.scoring.bundle import Calibration, ModelBundle, save_bundle
from models.scoring.scorer import Scorer


def test_pyfunc_keeps_passthrough_features(tmp_path: Path) -> None:
    from models.scoring.pyfunc import FlriskPyfunc
    from pipelines.simulate import run

    run(out=tmp_path / "sim", lines=4000, seed=3)
    kinds = {"x_office": "categorical", "x_rate": "numeric"}
    train = read_entry_lines(tmp_path / "sim" / "train.csv", require_labels=True).frame
    score = read_entry_lines(tmp_path / "sim" / "score.csv").frame.head(300)
    for f in (train, score):
        f["x_office"] = np.where(np.arange(len(f)) % 3 == 0, "north", "south")
        f["x_rate"] = (np.arange(len(f)) % 7).astype(float)
    train_lines, score_lines = Lines.from_frame(train, kinds), Lines.from_frame(score, kinds)
    state = fit_feature_state(train_lines)
    X = model_frame(build_features(train_lines, state), state)
    booster = lgb.train(
        {"objective": "binary", "num_leaves": 7, "verbosity": -1, "num_threads": 1},
        lgb.Dataset(X, train["violation"].fillna(0).astype(float)),
        10,
    )
    assert "x_office" in X.columns and "x_rate" in X.columns
    bundle = ModelBundle(booster, state, Calibration(1.0, 0.0), {"high": 0.5, "elevated": 0.2}, {})
    folder = save_bundle(bundle, tmp_path / "bundle")
    model = FlriskPyfunc()
    model.load_context(SimpleNamespace(artifacts={"bundle": str(folder)}))
    text = score.drop(columns=["inspected", "inspection_reason", "violation"]).astype(object)
    text["entry_date"] = score["entry_date"].dt.strftime("%Y-%m-%d")
    got = model.predict(None, text)
    want = Scorer(bundle).score(score_lines, reasons=0)
    np.testing.assert_array_equal(got["risk_score"].to_numpy(), want.risk_score)
    assert got["risk_band"].tolist() == want.risk_band.tolist()
    assert isinstance(got, pd.DataFrame) and len(got) == len(score)


def test_registered_pyfunc_gives_the_reasons_flrisk_score_writes(registered_model, tmp_path):
    """``params={"reasons": k}`` through MLflow: the same JSON per line as ``flrisk score``."""
    import mlflow
    from typer.testing import CliRunner

    from pipelines.cli import app

    lines = tmp_path / "lines.csv"
    frame = registered_model.score_lines.head(120).copy()
    frame["entry_date"] = frame["entry_date"].dt.strftime("%Y-%m-%d")
    frame.drop(columns=["inspected", "inspection_reason", "violation"], errors="ignore").to_csv(
        lines, index=False
    )
    out = tmp_path / "scores.csv"
    res = CliRunner().invoke(
        app, ["score", "--model", registered_model.uri, "--data", str(lines), "--out", str(out),
              "--reasons", "3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    want = pd.read_csv(out, dtype={"entry_id": str}, keep_default_na=False)
    model = mlflow.pyfunc.load_model(registered_model.uri)
    text = pd.read_csv(lines, dtype=str, keep_default_na=False)
    got = model.predict(text, params={"reasons": 3})
    assert got["entry_id"].tolist() == want["entry_id"].tolist()
    assert got["reasons"].tolist() == want["reasons"].tolist()
    assert sum(r != "[]" for r in got["reasons"]) == len(got)  # every line explained
    scores_only = model.predict(text)
    assert (scores_only["reasons"] == "[]").all()
    np.testing.assert_array_equal(scores_only["risk_score"], got["risk_score"])
