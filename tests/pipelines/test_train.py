"""Training end to end: determinism, registry, promotion gate, no skew between paths."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.contract.batch import Lines
from models.contract.reader import read_entry_lines
from models.scoring.bundle import MODEL_FILE, ModelIntegrityError, load_bundle, save_bundle
from models.scoring.lookup import client, fetch_bundle, resolve
from models.scoring.scorer import Scorer
from pipelines.config import load_config
from pipelines.fit import fit

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def small_history(sim_dir):
    frame = read_entry_lines(sim_dir / "train.csv", require_labels=True).frame
    return frame[frame["entry_date"] >= "2024-07-01"].reset_index(drop=True)


def _cfg():
    return load_config(None).updated(
        {
            "lightgbm": {"num_boost_round": 60},
            "evaluation": {"bootstrap": 0},
            "learning": {"strategies": ["inspected", "ipw"]},
        }
    )


def test_same_data_and_seed_give_a_byte_identical_model(small_history, tmp_path):
    a = fit(small_history, {}, _cfg())
    b = fit(small_history.sample(frac=1.0, random_state=3), {}, _cfg())  # row order must not matter
    pa = save_bundle(a.bundle, tmp_path / "a")
    pb = save_bundle(b.bundle, tmp_path / "b")
    assert (pa / MODEL_FILE).read_bytes() == (pb / MODEL_FILE).read_bytes()
    assert a.bundle.bundle_hash == b.bundle.bundle_hash


def test_category_limits_apply_only_to_labels_from_targeted_inspections(small_history):
    targeted = fit(small_history, {}, _cfg()).bundle.booster.model_to_string()
    assert "[max_cat_threshold: 4]" in targeted and "[min_data_per_group: 2000]" in targeted
    # Every line inspected (as in the KCS benchmark): LightGBM's defaults.
    inspected = small_history[small_history["inspected"].fillna(False).astype(bool)]
    everything = fit(inspected.reset_index(drop=True), {}, _cfg()).bundle.booster
    text = everything.model_to_string()
    assert "[max_cat_threshold: 32]" in text and "[min_data_per_group: 100]" in text


def test_bundle_refuses_a_tampered_model(small_history, tmp_path):
    folder = save_bundle(fit(small_history, {}, _cfg()).bundle, tmp_path / "m")
    load_bundle(folder)
    text = (folder / MODEL_FILE).read_text()
    (folder / MODEL_FILE).write_text(text.replace("shrinkage=", "shrinkage=9", 1))
    with pytest.raises(ModelIntegrityError, match="does not match"):
        load_bundle(folder)
    assert not list(folder.glob("*.pkl")) and not list(folder.glob("*.pickle"))


def test_registered_version_carries_evaluation_and_provenance(registered_model):
    s = registered_model.settings
    r = resolve(registered_model.uri, s)
    tags = client(s).get_model_version(r.name, r.version).tags
    assert len(tags["bundle_hash"]) == 64 and tags["strategy"] in {"inspected", "ipw", "pu"}
    metrics = json.loads(tags["holdout_metrics"])
    assert 0 < metrics["pr_auc"] <= 1
    champion = resolve(f"models:/{r.name}@champion", s)
    assert champion.version == r.version
    run = client(s).get_run(tags["run_id"])
    assert "test.hidden_truth/model.pr_auc" in run.data.metrics
    assert run.info.run_name.startswith("train.csv ")  # the data, its digest, the day
    assert run.data.params["strategy"] == tags["strategy"]
    assert run.data.params["lightgbm_targeted_applied"] == "true"  # simulated: targeted labels
    assert "test.hidden_truth.ci/model_minus_logistic.pr_auc_lo" in run.data.metrics


def test_model_beats_legacy_rules_and_random_on_hidden_truth(registered_model):
    s = registered_model.settings
    run = client(s).get_run(
        client(s)
        .get_model_version("flrisk", resolve(registered_model.uri, s).version)
        .tags["run_id"]
    )
    m = run.data.metrics
    assert m["test.hidden_truth/model.pr_auc"] > m["test.hidden_truth/legacy_rules.pr_auc"]
    ci = "test.hidden_truth.ci/"
    assert m[f"{ci}model.precision_at_5_lo"] > m[f"{ci}random.precision_at_5_hi"]


def test_flrisk_score_equals_the_in_process_scorer(registered_model, tmp_path):
    from pipelines.score import score_command

    out = tmp_path / "scores.csv"
    score_command(
        model_uri=registered_model.uri,
        data=[registered_model.sim_dir / "score.csv"],
        out=out,
        mapping=None,
        reasons=2,
        engine="pandas",
        master="local[*]",
        allow_bad_rows=False,
    )
    written = pd.read_csv(out, dtype={"entry_id": str})
    s = registered_model.settings
    r = resolve(registered_model.uri, s)
    direct = Scorer(fetch_bundle(r, s), version=r.uri).score(
        Lines.from_frame(registered_model.all_score_lines), reasons=2
    )
    assert len(written) == len(direct)
    np.testing.assert_array_equal(written["risk_score"].to_numpy(), direct.risk_score)
    # The file holds the in-process reasons: up to 2 per direction, raising ones first.
    assert written["reasons"].map(json.loads).tolist() == [
        json.loads(json.dumps(r)) for r in direct.reasons
    ]
    for reasons in written["reasons"].map(json.loads):
        dirs = [r["direction"] for r in reasons]
        order = ["presumes", "raises", "lowers", "note"]
        assert dirs == sorted(dirs, key=order.index)
        assert dirs.count("raises") <= 2 and dirs.count("lowers") <= 2


def test_training_features_equal_serving_features(registered_model):
    """The registered model scores a training-time line exactly as the scorer does."""
    from models.features.matrix import build_features, model_frame
    from models.scoring.scorer import calibrate

    s = registered_model.settings
    bundle = fetch_bundle(resolve(registered_model.uri, s), s)
    lines = Lines.from_frame(registered_model.score_lines)
    X = model_frame(build_features(lines, bundle.state), bundle.state)
    margin = bundle.booster.predict(X, raw_score=True)
    np.testing.assert_array_equal(
        calibrate(margin, bundle.calibration), Scorer(bundle).score(lines, reasons=0).risk_score
    )


def test_promotion_gate_refuses_a_worse_candidate(registered_model, fast_config, tmp_path):
    from pipelines.promote import promote_command
    from pipelines.train import train_command

    worse_cfg = tmp_path / "worse.toml"
    worse_cfg.write_text(
        Path(fast_config).read_text().replace("num_boost_round = 150", "num_boost_round = 1")
    )
    uri = train_command(
        data=[registered_model.sim_dir / "train.csv"],
        mapping=None,
        name="flrisk",
        config=worse_cfg,
        # Same lines and truth as the champion: the same holdout, so the figures recorded at
        # training compare without re-scoring anything.
        truth=registered_model.sim_dir / "truth.csv",
        use_feedback=False,
        promote_alias=None,
        allow_bad_rows=False,
    )
    assert promote_command(uri, "champion", force=False) is False
    assert resolve("models:/flrisk@champion", registered_model.settings).uri == registered_model.uri
