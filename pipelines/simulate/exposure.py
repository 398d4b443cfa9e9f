"""Forced-labour exposure: which mechanism makes each line risky, and the hidden truth.

The mechanism follows from who really made the goods (the maker's kind), what they are
and where they are declared from. The truth is drawn with noise on top: a Xinjiang-linked
line is not always a violation, and a few violations ("undisclosed") have no visible sign.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipelines.simulate.catalogue import catalogue
from pipelines.simulate.makers import FRONT, LISTED, MILL, NORMAL, XINJIANG
from pipelines.simulate.scenario import Scenario

MECHANISM_NAMES = (
    "none",
    "listed_entity",
    "xinjiang_direct",
    "xinjiang_inputs",
    "transshipment",
    "ilab_goods",
    "undisclosed",
)
_BY_KIND = {LISTED: 1, XINJIANG: 2, MILL: 3, FRONT: 4}


def _ilab_mask(product: np.ndarray, origin: np.ndarray) -> np.ndarray:
    pairs = {(i, c) for i, p in enumerate(catalogue().products) for c in p.ilab_origins}
    keys = pd.MultiIndex.from_arrays([product, origin])
    wanted = pd.MultiIndex.from_tuples(sorted(pairs)) if pairs else keys[:0]
    return np.asarray(keys.isin(wanted))


def assign_truth(
    rng: np.random.Generator,
    sc: Scenario,
    kind: np.ndarray,
    product: np.ndarray,
    origin: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mechanism code, true violation and price factor of each line.

    Args:
        rng: The simulation's generator.
        sc: Scenario.
        kind: Maker kind per line (``actors.KINDS`` index).
        product: Catalogue index per line.
        origin: Declared country of origin per line.

    Returns:
        ``(mechanism, violation, price_factor)``; ``mechanism`` indexes ``MECHANISM_NAMES``.
    """
    n = len(kind)
    mech = np.zeros(n, dtype=np.int64)
    for k, code in _BY_KIND.items():
        mech[kind == k] = code
    mech[(kind == NORMAL) & _ilab_mask(product, origin)] = 5
    vp = sc.exposure.violation_prob
    prob = np.array([vp["background"]] + [vp[m] for m in MECHANISM_NAMES[1:6]])[mech]
    violation = rng.random(n) < prob
    mech = np.where((mech == 0) & violation, 6, mech)
    pf = sc.exposure.price_factor
    factor = np.array([1.0] + [pf[m] for m in MECHANISM_NAMES[1:6]] + [1.0])[mech]
    return mech, violation, factor
