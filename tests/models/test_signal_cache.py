"""The signal memo: one per reference version, replaced whole once a memo is full."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.contract.reader import read_entry_lines
from models.features import cache as cache_module
from models.features.cache import SignalCache
from models.scoring.bundle import load_bundle
from models.scoring.scorer import Scorer

FIXTURE = Path(__file__).parents[1] / "fixtures" / "scoring"


def test_a_memo_past_its_limit_makes_the_cache_full(monkeypatch) -> None:
    cache = SignalCache()
    assert not cache.full()
    cache.traders.update({"A": True, "B": False})
    assert not cache.full(limit=2)
    cache.traders["C"] = False
    assert cache.full(limit=2)
    monkeypatch.setattr(cache_module, "MEMO_LIMIT", 2)
    assert cache.full()
    cache.traders.clear()
    for memo in ("places", "countries", "parties", "entities", "goods", "texts", "upper"):
        getattr(cache, memo).update({str(i): None for i in range(3)})
        assert cache.full(), memo
        getattr(cache, memo).clear()


def test_the_scorer_replaces_a_full_memo_whole_and_scores_the_same(monkeypatch) -> None:
    scorer = Scorer(load_bundle(FIXTURE / "bundle", num_threads=1))
    lines = read_entry_lines(FIXTURE / "lines.csv").lines
    before = scorer.score(lines, 3)
    used = scorer.cache
    assert used.full(limit=5)  # the fixture's lines hold more than 5 distinct names
    monkeypatch.setattr(cache_module, "MEMO_LIMIT", 5)
    again = scorer.score(lines, 3)
    assert scorer.cache is not used  # a fresh memo, not the full one emptied in place
    assert scorer.cache.reference is used.reference
    assert len(used.entities) > 5  # the old one is left as it was, for whoever holds it
    np.testing.assert_array_equal(again.risk_score, before.risk_score)
    assert list(again.reasons) == list(before.reasons)
