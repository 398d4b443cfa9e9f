"""Invariants of the one columnar path: a line scores the same whatever batch or form it comes in.

A small batch takes the per-value Python kernels and a large one the vectorised ones
(``models.contract.batch.is_small``); JSON, CSV and Parquet reach the core through different
readers. None of it may change a score, a band or a reason, to the last bit. Lines are
taken as whole entries, since ``lines_in_entry`` counts an entry's lines in the batch.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.contract.batch import SMALL_BATCH, Lines
from models.contract.reader import read_entry_lines
from models.contract.validate import validate_lines
from models.scoring.bundle import load_bundle
from models.scoring.scorer import Scorer, Scores

FIXTURE = Path(__file__).parents[1] / "fixtures" / "scoring"
BIG = 100_000


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer(load_bundle(FIXTURE / "bundle", num_threads=2))


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory, scorer: Scorer) -> tuple[Lines, Scores]:
    """A 100,000-line batch of whole entries, scored with 3 reasons on every line."""
    from pipelines.simulate import run

    out = tmp_path_factory.mktemp("sim-big")
    run(out=out, lines=BIG + 5_000, seed=31)
    lines = read_entry_lines([out / "train.csv", out / "score.csv"]).lines
    entry = pd.Series(lines["entry_id"])
    keep = np.flatnonzero(entry.isin(entry.iloc[:BIG]) & (entry != entry.iloc[BIG - 1]))
    lines = lines.take(keep)
    assert BIG - 50 < len(lines) <= BIG
    return lines, scorer.score(lines, reasons=3)


def _whole_entries(lines: Lines, size: int, start: int) -> np.ndarray:
    """Positions of whole entries from ``start`` on that add up to exactly ``size`` lines."""
    entry = pd.Series(lines["entry_id"])
    counts = entry.value_counts(sort=False)
    chosen: list[str] = []
    total = 0
    for eid in entry.iloc[start:].drop_duplicates():
        c = int(counts[eid])
        if total + c <= size:
            chosen.append(eid)
            total += c
        if total == size:
            break
    assert total == size, f"could not gather {size} lines of whole entries"
    return np.flatnonzero(entry.isin(chosen).to_numpy())


def _assert_same(got: Scores, want: Scores, idx: np.ndarray) -> None:
    np.testing.assert_array_equal(got.risk_score, want.risk_score[idx])
    assert got.risk_band.tolist() == want.risk_band[idx].tolist()
    assert list(got.reasons) == list(want.reasons[idx])
    # Up to 3 reasons per direction, a legal basis per presumption, one note at most, and
    # every line has at least one reason.
    for reasons, presumed in zip(got.reasons, got.presumption, strict=True):
        count = Counter(r["direction"] for r in reasons)
        assert reasons and count["raises"] <= 3 and count["lowers"] <= 3 and count["note"] <= 1
        assert count["presumes"] == len([b for b in presumed.split(";") if b])
    assert all(sum(x["direction"] == "raises" for x in r) <= 3 for r in got.reasons)


@pytest.mark.parametrize("size", [1, 17, SMALL_BATCH, SMALL_BATCH + 1, 600])
def test_a_small_batch_scores_like_the_same_lines_in_a_big_one(
    scorer: Scorer, big: tuple[Lines, Scores], size: int
) -> None:
    lines, scored = big
    for start in (0, 40_000, 90_000):
        idx = _whole_entries(lines, size, start)
        _assert_same(scorer.score(lines.take(idx), reasons=3), scored, idx)


def test_the_kernels_differ_between_small_and_big_batches(big: tuple[Lines, Scores]) -> None:
    """The invariant above means something only if both kinds of batch are exercised."""
    lines, _ = big
    small = lines.take(_whole_entries(lines, 17, 0))
    assert isinstance(small["manufacturer_name"], np.ndarray)
    assert not isinstance(lines["manufacturer_name"], np.ndarray)


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return pd.read_csv(FIXTURE / "expected.csv", dtype=str, keep_default_na=False)


def _assert_fixture(scores: Scores, expected: pd.DataFrame) -> None:
    assert [float(x).hex() for x in scores.risk_score] == expected["risk_score"].tolist()
    assert scores.risk_band.tolist() == expected["risk_band"].tolist()
    assert list(scores.reasons) == expected["reasons"].tolist()


def test_json_csv_and_parquet_lines_score_alike(
    scorer: Scorer, expected: pd.DataFrame, tmp_path: Path
) -> None:
    text = pd.read_csv(FIXTURE / "lines.csv", dtype=str, keep_default_na=False)
    from_csv = read_entry_lines(FIXTURE / "lines.csv").lines
    text.to_parquet(tmp_path / "lines.parquet", index=False)
    from_parquet = read_entry_lines(tmp_path / "lines.parquet").lines
    # What a JSON request gives the API: one text or null per cell.
    records = {c: [v or None for v in text[c].tolist()] for c in text.columns}
    from_json = validate_lines(records, source="request").lines
    for lines in (from_csv, from_parquet, from_json):
        _assert_fixture(scorer.score(lines, reasons=3, as_json=True), expected)


def test_json_lines_one_request_at_a_time_score_alike(
    scorer: Scorer, expected: pd.DataFrame
) -> None:
    """Entries sent as separate small requests (the API's usual traffic)."""
    text = pd.read_csv(FIXTURE / "lines.csv", dtype=str, keep_default_na=False)
    want = expected.set_index(["entry_id", "line_no"])
    for _, entry in list(text.groupby("entry_id", sort=False))[:60]:
        records = {c: [v or None for v in entry[c].tolist()] for c in entry.columns}
        lines = validate_lines(records, source="request").lines
        got = scorer.score(lines, reasons=3, as_json=True)
        keys = list(zip(entry["entry_id"], entry["line_no"], strict=True))
        rows = want.loc[keys]
        assert [float(x).hex() for x in got.risk_score] == rows["risk_score"].tolist()
        assert [json.loads(r) for r in got.reasons] == [json.loads(r) for r in rows["reasons"]]


def test_a_frame_round_trip_keeps_the_lines(big: tuple[Lines, Scores]) -> None:
    lines, _ = big
    small = lines.take(np.arange(10))
    for batch in (small, lines):
        back = Lines.from_frame(batch.to_frame(), batch.passthrough)
        assert list(back) == list(batch)
        for c in batch:
            pd.testing.assert_series_equal(pd.Series(back[c]), pd.Series(batch[c]))
