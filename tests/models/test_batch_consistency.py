"""A line's score and reasons do not depend on the batch it is scored in.

Small batches take cheaper internal representations (NumPy arrays instead of Arrow columns,
dict factorising, one LightGBM thread); this checks, to the last digit, that one line and
1,000 lines get exactly what the same lines get inside a 20,000-line batch. Lines are taken
as whole entries, since ``lines_in_entry`` counts the entry's lines in the batch.
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from models.contract.reader import read_entry_lines
from models.features.matrix import build_features, fit_feature_state
from models.scoring.bundle import Calibration, ModelBundle
from models.scoring.scorer import Scorer


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Scorer, pd.DataFrame, pd.DataFrame]:
    from pipelines.simulate import run

    out: Path = tmp_path_factory.mktemp("sim-batch")
    run(out=out, lines=24_000, seed=5)
    train = read_entry_lines(out / "train.csv", require_labels=True).frame
    score = read_entry_lines(out / "score.csv").frame
    state = fit_feature_state(train)
    params = {"objective": "binary", "num_leaves": 15, "verbosity": -1, "num_threads": 1}
    booster = lgb.train(
        params, lgb.Dataset(build_features(train, state), train["inspected"].astype(float)), 30
    )
    bundle = ModelBundle(
        booster, state, Calibration(a=0.9, b=-0.2), {"high": 0.5, "elevated": 0.2}, {}
    )
    big = pd.concat([score, train], ignore_index=True).iloc[:20_000]
    # Keep whole entries only (the cut may split the last one).
    big = big[big["entry_id"] != big["entry_id"].iloc[-1]].reset_index(drop=True)
    assert len(big) > 19_000
    return Scorer(bundle), big, Scorer(bundle).score(big, reasons=3)


def _assert_same(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    np.testing.assert_array_equal(got["risk_score"].to_numpy(), expected["risk_score"].to_numpy())
    assert got["risk_band"].tolist() == expected["risk_band"].tolist()
    assert got["reasons"].tolist() == expected["reasons"].tolist()


def test_single_lines_equal_the_big_batch(batch: tuple[Scorer, pd.DataFrame, pd.DataFrame]) -> None:
    scorer, big, scored = batch
    sizes = big.groupby("entry_id", sort=False)["line_no"].transform("size").to_numpy()
    single = np.flatnonzero(sizes == 1)
    assert len(single) >= 100
    for i in single[:: max(1, len(single) // 100)]:
        _assert_same(scorer.score(big.iloc[[i]], reasons=3), scored.iloc[[i]])


def test_one_thousand_lines_equal_the_big_batch(
    batch: tuple[Scorer, pd.DataFrame, pd.DataFrame],
) -> None:
    scorer, big, scored = batch
    size = big.groupby("entry_id", sort=False)["line_no"].size()
    # Random whole entries up to 1,000 lines, topped up with one-line entries.
    picked: list[str] = []
    total = 0
    for entry in np.random.default_rng(0).permutation(size.index.to_numpy()):
        if total + size[entry] <= 1000 and (size[entry] > 1 or total < 900):
            picked.append(entry)
            total += int(size[entry])
    singles = [e for e in size.index[size == 1] if e not in set(picked)]
    picked += singles[: 1000 - total]
    rows = np.flatnonzero(big["entry_id"].isin(picked).to_numpy())
    assert len(rows) == 1000
    _assert_same(scorer.score(big.iloc[rows], reasons=3), scored.iloc[rows])


def test_reused_matrix_buffer_gives_the_same_scores(
    batch: tuple[Scorer, pd.DataFrame, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big batches build their model matrix in a reused buffer: same scores, big then small."""
    import models.scoring.scorer

    scorer, big, scored = batch
    monkeypatch.setattr(models.scoring.scorer, "BIG_BATCH", 1000)
    fresh = Scorer(scorer.bundle)
    _assert_same(fresh.score(big, reasons=3), scored)
    # Whole entries only (lines_in_entry counts the batch's lines), in the larger buffer.
    cut = int(np.flatnonzero(big["entry_id"].to_numpy() == big["entry_id"].iloc[5000])[0])
    _assert_same(fresh.score(big.iloc[:cut], reasons=3), scored.iloc[:cut])
    assert fresh._local.flat.size >= len(big) * len(scorer.bundle.state.feature_names)
