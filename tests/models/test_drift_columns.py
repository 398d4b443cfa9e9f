"""The ``unseen_category`` drift measure: a value given that the model has no category for."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from models.contract.batch import Lines
from models.scoring.drift import UNSEEN, drift_columns


def _columns(origin: list[object], codes: list[int], sector: list[object] | None = None) -> dict:
    n = len(origin)
    lines = Lines({"country_of_origin": np.array(origin, dtype=object)}, n)
    sector_codes = [0] * n if sector is None else [-1 if s is not None else 0 for s in sector]
    X = {
        "country_of_origin": np.array(codes, dtype=np.int32),
        "rg_sector": np.array(sector_codes, dtype=np.int32),
        "unit_value": np.ones(n),
    }
    signals = {"rg_sector": np.array(sector if sector is not None else ["x"] * n, dtype=object)}
    state = SimpleNamespace(categorical_features=["country_of_origin", "rg_sector"])
    empty = np.full(n, "", dtype=object)
    return drift_columns(lines, signals, X, state, np.zeros(n), empty)  # type: ignore[arg-type]


def test_a_given_value_without_a_category_is_unseen() -> None:
    got = _columns(["CN", "ZZ", None, "", "US"], [3, -1, -1, -1, 0])[UNSEEN]
    # Known code: seen; unknown code with a value: unseen; unknown because missing or empty: not.
    assert got.tolist() == [False, True, False, False, False]


@pytest.mark.parametrize("origin", [["CN"], ["ZZ"], [None]])
def test_a_line_alone_gets_what_it_gets_in_a_batch(origin: list[object]) -> None:
    code = {"CN": 3, "ZZ": -1, None: -1}[origin[0]]
    batch = _columns(["CN", "ZZ", None, *origin], [3, -1, -1, code])[UNSEEN]
    alone = _columns(origin, [code])[UNSEEN]
    assert alone.tolist() == batch[-1:].tolist()


def test_a_signal_feature_without_a_category_is_unseen_when_given() -> None:
    # A categorical feature taken from the signals (not a line field) counts the same way.
    got = _columns(["CN", "CN"], [3, 3], sector=["new sector", None])[UNSEEN]
    assert got.tolist() == [True, False]
