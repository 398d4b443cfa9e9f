"""Which lines (or entries) to examine: the riskiest, plus an exploration share drawn at random.

Sending officers only to the top of the ranking teaches the next model only what this one
already believed: the labels it gets back all come from where it looked. A small share of
the capacity spent on a random draw from the rest (the exploration share, 5% by default)
yields labels that stand for all traffic: they feed the unbiased evaluation view
(``inspection_reason=random``) and the propensity-weighted training (docs/evaluation.md).

One pure function, :func:`select`, decides for the workbench's worklist, file jobs and
``flrisk score --select``: same scores, capacity, share, seed and strata give the same
selection, wherever it is asked.

The cost is shown with it: the expected violations forgone, that is the calibrated scores
of the riskiest items the random picks displaced, minus the expected violations of the
random picks themselves.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

DEFAULT_EXPLORE = 0.05
RISK, RANDOM_CHECK = "risk", "random_check"


@dataclass(frozen=True)
class Selection:
    """The items chosen for examination and why.

    Attributes:
        kind: Per item, ``risk`` (among the riskiest), ``random_check`` (an exploration
            pick) or ``""`` (not selected).
        risk: Positions of the riskiest items chosen, riskiest first.
        random: Positions of the exploration picks, in the order drawn.
        capacity: Items selected in all (``len(risk) + len(random)``).
        explore: The exploration share asked for.
        seed: The seed of the draw.
        expected_cost: Expected violations forgone by exploring (see the module doc).
        expected_found: Expected violations among the selected items (sum of their scores).
    """

    kind: np.ndarray
    risk: np.ndarray
    random: np.ndarray
    capacity: int
    explore: float
    seed: int
    expected_cost: float
    expected_found: float

    @property
    def chosen(self) -> np.ndarray:
        """Every selected position: the riskiest first, then the random picks."""
        return np.concatenate([self.risk, self.random])


def random_count(capacity: int, explore: float) -> int:
    """How many of ``capacity`` items the exploration share takes (rounded half up).

    A positive share of a capacity of at least one always takes at least one item: a share
    that never explores would be 0.
    """
    if capacity <= 0 or explore <= 0:
        return 0
    return min(capacity, max(1, math.floor(capacity * explore + 0.5)))


def _allocate(sizes: np.ndarray, k: int) -> np.ndarray:
    """``k`` draws shared among strata in proportion to their sizes (largest remainder)."""
    total = int(sizes.sum())
    if total == 0 or k == 0:
        return np.zeros(len(sizes), dtype=np.int64)
    exact = sizes * (k / total)
    out = np.floor(exact).astype(np.int64)
    # Ties in the remainders go to the first stratum (strata come sorted by name).
    order = np.argsort(-(exact - out), kind="stable")
    for i in order[: k - int(out.sum())]:
        out[i] += 1
    return np.minimum(out, sizes)


def select(
    scores: np.ndarray,
    capacity: int,
    explore: float = DEFAULT_EXPLORE,
    seed: int = 0,
    strata: np.ndarray | None = None,
    presumed: np.ndarray | None = None,
) -> Selection:
    """Split ``capacity`` into the riskiest items and random picks from the rest.

    Args:
        scores: Calibrated risk per item (a line's score, or an entry's riskiest line's).
        capacity: Items that can be examined (more than there are: all of them).
        explore: Share of the capacity drawn at random from the items outside the riskiest
            ``capacity - n_random`` (0: none; at most 1).
        seed: Seed of the draw: the same inputs and seed give the same selection.
        strata: Optional group per item (e.g. the HS chapter or sector): the random picks
            are shared among groups in proportion to their size among the items not taken
            for risk, so every sector gets its share of checks.
        presumed: Optional flag per item the law presumes (UFLPA, Xinjiang, WRO): taken for
            risk before every other item, whatever its score.

    Returns:
        The :class:`Selection`. Ties in score go to the earlier item; no item is chosen twice
        and no random pick comes from the riskiest items taken.

    Raises:
        ValueError: ``explore`` outside [0, 1], or ``strata`` of another length.
    """
    s = np.asarray(scores, dtype=float)
    n = len(s)
    if not 0.0 <= explore <= 1.0 or math.isnan(explore):
        raise ValueError(f"explore must be in [0, 1], got {explore}")
    if strata is not None and len(strata) != n:
        raise ValueError(f"strata has {len(strata)} values for {n} items")
    cap = max(0, min(int(capacity), n))
    k = random_count(cap, explore)
    # Riskiest first; NaN scores last; ties by position (a stable sort of the negated scores).
    key = -np.nan_to_num(s, nan=-np.inf)
    if presumed is None:
        order = np.argsort(key, kind="stable")
    else:  # presumed items first (the law), by score within; ties by position
        order = np.lexsort((key, ~np.asarray(presumed, dtype=bool)))
    risk = order[: cap - k]
    rest = np.sort(order[cap - k :])
    rng = np.random.default_rng(seed)
    if strata is None or k == 0:
        picks = rng.choice(rest, size=k, replace=False) if k else rest[:0]
    else:
        groups = np.asarray(strata, dtype=object)[rest]
        names, codes = np.unique(groups.astype(str), return_inverse=True)
        quota = _allocate(np.bincount(codes, minlength=len(names)), k)
        parts = [
            rng.choice(rest[codes == g], size=int(q), replace=False)
            for g, q in enumerate(quota)
            if q
        ]
        picks = np.concatenate(parts) if parts else rest[:0]
    kind = np.full(n, "", dtype=object)
    kind[risk] = RISK
    kind[picks] = RANDOM_CHECK
    displaced = order[cap - k : cap]
    clean = np.nan_to_num(s, nan=0.0)
    cost = float(clean[displaced].sum() - clean[picks].sum())
    return Selection(
        kind=kind,
        risk=risk.astype(np.int64),
        random=np.asarray(picks, dtype=np.int64),
        capacity=len(risk) + len(picks),
        explore=float(explore),
        seed=int(seed),
        expected_cost=cost,
        expected_found=float(clean[risk].sum() + clean[picks].sum()),
    )


def seed_of(ref: str) -> int:
    """The documented seed of a worklist or job: the first 8 hex digits of its id, as a number.

    Non-hex ids (a request id) are hashed first, so any id gives a seed that is the same on
    every machine and every run.
    """
    text = ref if len(ref) >= 8 and all(c in "0123456789abcdef" for c in ref[:8]) else ""
    if not text:
        text = hashlib.sha256(ref.encode()).hexdigest()
    return int(text[:8], 16)
