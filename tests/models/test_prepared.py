"""A batch's signals and features do not depend on what validation handed down with it.

Lines fresh from validation carry each text column's factorisation (``Lines.factors``),
which :func:`models.scoring.prepared.prepare` takes instead of factorising again; lines
taken from others carry none. Both must give the same signals and features, to the bit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.contract.batch import SMALL_BATCH
from models.contract.validate import validate_lines
from models.features.cache import SignalCache
from models.features.matrix import FeatureState
from models.scoring.bundle import load_bundle
from models.scoring.prepared import Prepared, prepare

FIXTURE = Path(__file__).parents[1] / "fixtures" / "scoring"


@pytest.fixture(scope="module")
def state() -> FeatureState:
    return load_bundle(FIXTURE / "bundle", num_threads=1).state


@pytest.fixture(scope="module")
def records() -> dict[str, list[str | None]]:
    """The fixture's lines as a JSON request gives them: one text or null per cell."""
    text = pd.read_csv(FIXTURE / "lines.csv", dtype=str, keep_default_na=False)
    return {c: [v or None for v in text[c].tolist()] for c in text.columns}


def _same(got: Prepared, want: Prepared) -> None:
    assert list(got.features) == list(want.features)
    for name, col in want.features.items():
        assert got.features[name].dtype == col.dtype, name
        assert got.features[name].tobytes() == col.tobytes(), name
    assert list(got.signals) == list(want.signals)
    for name, col in want.signals.items():
        other = got.signals[name]
        assert type(other) is type(col) and other.dtype == col.dtype, name
        assert pd.Series(other).equals(pd.Series(col)), name
    assert got.evidence.keys() == want.evidence.keys()
    for name, col in want.evidence.items():
        np.testing.assert_array_equal(got.evidence[name], col)


@pytest.mark.parametrize("size", [1, SMALL_BATCH, SMALL_BATCH + 1, 1197])
def test_validations_factors_give_the_signals_and_features_of_factorising_anew(
    state: FeatureState, records: dict[str, list[str | None]], size: int
) -> None:
    lines = validate_lines({c: v[:size] for c, v in records.items()}).lines
    assert lines.factors("manufacturer_name") is not None
    plain = lines.take(np.arange(size))  # the same lines, without validation's factors
    assert plain.factors("manufacturer_name") is None
    # A fresh memo each: the second batch must not read what the first one computed.
    _same(prepare(lines, state, SignalCache()), prepare(plain, state, SignalCache()))
