"""Training with tips: the model's tip features, counted alike in training and in serving."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from models.contract.batch import Lines
from models.contract.reader import read_entry_lines
from models.features.cache import SignalCache
from models.features.matrix import build_features
from models.features.signals import derive_signals
from models.features.tips import TIP_FEATURES, TipIndex
from models.scoring.lookup import fetch_bundle, resolve
from pipelines.prepare import features
from pipelines.tips_file import read_tips_file

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(registered_model: SimpleNamespace):
    s = registered_model.settings
    return fetch_bundle(resolve(registered_model.uri, s), s)


def test_the_trained_model_has_the_tip_features_and_says_what_they_weigh(bundle) -> None:
    assert bundle.state.tips
    assert set(TIP_FEATURES) <= set(bundle.state.feature_names)
    assert bundle.meta["tips"]["tips"] > 0 and bundle.meta["tips"]["lines_named"] > 0
    used = dict(
        zip(bundle.booster.feature_name(), bundle.booster.feature_importance(), strict=True)
    )
    assert sum(used[c] for c in TIP_FEATURES) > 0  # the model splits on them


def test_training_and_serving_count_the_same_tips_alike(
    registered_model: SimpleNamespace, bundle
) -> None:
    sim = registered_model.sim_dir
    frame = read_entry_lines(sim / "train.csv", require_labels=True).frame
    recent = frame[frame["entry_date"] >= frame["entry_date"].max() - pd.Timedelta(days=60)]
    lines = Lines.from_frame(recent.reset_index(drop=True))
    first = np.datetime64(recent["entry_date"].min(), "D")
    # Tips whose statuses were settled before these lines were entered: as known then, as now.
    tips = [
        t for t in read_tips_file(sim / "tips.csv")
        if all(np.datetime64(t[k], "D") < first for k in ("corroborated_at", "dismissed_at")
               if t[k])
    ]  # fmt: skip
    index = TipIndex.from_tips(tips)
    cache = SignalCache()
    _, trained = features(lines, None, cache, derive_signals(lines, cache), index)
    served = build_features(lines, bundle.state, SignalCache(), tips=index)  # as the scorer
    assert trained[list(TIP_FEATURES)].to_numpy().sum() > 0
    for c in TIP_FEATURES:
        assert served[c].tolist() == trained[c].tolist(), c


def test_flrisk_evaluate_counts_the_tips_it_is_given(registered_model: SimpleNamespace) -> None:
    from typer.testing import CliRunner

    from pipelines.cli import app

    sim = registered_model.sim_dir
    args = ["evaluate", "--model", registered_model.uri, "--data", str(sim / "score.csv"),
            "--truth", str(sim / "truth.csv")]  # fmt: skip
    res = CliRunner().invoke(app, [*args, "--tips", str(sim / "tips.csv")])
    assert res.exit_code == 0, res.output
    assert "tip(s) counted by the tip features" in res.output and "| model |" in res.output


def test_one_matching_of_tips_serves_the_features_and_the_reasons(
    registered_model: SimpleNamespace, bundle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scored batch matches its tips to its lines once (``Prepared.tip_hits``), and the
    reasons it gives with the shared matching are those of a matching of their own."""
    import models.features.tips as tip_module
    import models.scoring.prepared as prepared_module
    import models.scoring.tip_reasons as reasons_module
    from models.scoring.scorer import Scorer

    sim = registered_model.sim_dir
    lines = read_entry_lines(sim / "score.csv").lines
    lines = lines.take(np.arange(min(len(lines), 3000)))
    index = TipIndex.from_tips(read_tips_file(sim / "tips.csv"))
    import dataclasses

    scorer = Scorer(bundle)
    # The reasons' own matching: the prepared batch without the features' one.
    unshared = dataclasses.replace(scorer.prepare(lines, tips=index), tip_hits=None)
    plain = scorer.score(lines, reasons=3, as_json=True, tips=index, prepared=unshared)
    calls = []
    real = tip_module.party_hits

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    for module in (tip_module, prepared_module, reasons_module):
        monkeypatch.setattr(module, "party_hits", counted)
    shared = Scorer(bundle).score(lines, reasons=3, as_json=True, tips=index)
    assert len(calls) == 1
    named = [r for r in shared.reasons if any(x["code"] == "tip" for x in json.loads(r))]
    assert named  # the tips name some lines
    assert list(shared.reasons) == list(plain.reasons)
    assert shared.risk_score.tolist() == plain.risk_score.tolist()
