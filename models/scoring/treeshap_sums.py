"""Each feature's sum of its TreeSHAP terms, in NumPy's order for one line, for all at once.

The TreeSHAP tables (:mod:`models.scoring.treeshap`) give a batch one row of terms per
(leaf, path feature) slot; a feature's value is the sum of its slots' terms, first validated
as ``np.add.reduceat`` over each line's slots: the first term plus NumPy's pairwise sum of
the others (one after the other below 8; up to 128, eight running sums combined as
``((0+1)+(2+3))+((4+5)+(6+7))``, then the rest one after the other; above, halves).

Done feature by feature, that is a dozen small array operations per feature and block of
lines. :class:`SumPlan` lays the slots out once per model so that each step of those sums
is one operation over every feature that takes it (the features taking a step form a
prefix of the layout): the same additions, on the same values, in the same order, so the
same bits, in a number of operations that does not grow with the number of features.
"""

from __future__ import annotations

import numpy as np

# NumPy's pairwise summation: 8 running sums, halves above 128 values.
PAIRWISE_BLOCK, PAIRWISE_LEAF = 8, 128


def _pairwise(rows: np.ndarray) -> np.ndarray:
    """NumPy's pairwise sum of a contiguous run of values, for every column at once.

    Below 8 values, one after the other; up to 128, eight running sums (values i, i+8, ...)
    combined as ((0+1)+(2+3))+((4+5)+(6+7)), then the rest one after the other; above,
    halves (the first a multiple of 8) summed so and added.
    """
    n = len(rows)
    if n < PAIRWISE_BLOCK:
        acc = rows[0].copy()
        for r in rows[1:]:
            acc += r
        return acc
    if n <= PAIRWISE_LEAF:
        r = _lanes(rows[: n - n % PAIRWISE_BLOCK])
        acc = _combined(r)
        for rest in rows[n - n % PAIRWISE_BLOCK :]:
            acc += rest
        return acc
    half = n // 2
    half -= half % PAIRWISE_BLOCK
    return _pairwise(rows[:half]) + _pairwise(rows[half:])


def _lanes(rows: np.ndarray) -> np.ndarray:
    """The eight running sums of a run whose length is a multiple of 8: ``(8, lines)``."""
    return np.add.reduce(rows.reshape(-1, PAIRWISE_BLOCK, rows.shape[1]), axis=0)


def _combined(r: np.ndarray) -> np.ndarray:
    """Eight running sums (on the first axis) combined as NumPy combines them."""
    return ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))


class SumPlan:
    """The slots' layout and the steps that sum each feature's terms (see the module doc).

    Built from the number of slots of each feature (its slots in their summing order). A
    feature's first term ``t0`` is added last to the pairwise sum of the others ``t1..tm``:

    - ``m == 0``: ``t0`` alone;
    - ``m < 8``: ``t1 + t2 + ...`` one after the other;
    - ``8 <= m <= 128``: eight running sums over ``m // 8`` chunks, combined, then the
      remainder one after the other;
    - ``m > 128`` (halves): feature by feature, as :func:`_pairwise` does.

    Attributes:
        order: For each row of the laid-out terms, its slot (an index into the features'
            slots concatenated in feature order).
        features: For each row of the result, its feature (an index into ``counts``).
    """

    def __init__(self, counts: list[int]) -> None:
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp).tolist()
        rest = [c - 1 for c in counts]
        lane = [f for f, m in enumerate(rest) if PAIRWISE_BLOCK <= m <= PAIRWISE_LEAF]
        short = [f for f, m in enumerate(rest) if 1 <= m < PAIRWISE_BLOCK]
        alone = [f for f, m in enumerate(rest) if m == 0]
        halves = [f for f, m in enumerate(rest) if m > PAIRWISE_LEAF]
        chunks = {f: rest[f] // PAIRWISE_BLOCK for f in lane}
        # Each feature's additions one after the other (after its running sums, if any).
        adds = {f: rest[f] - 1 for f in short} | {f: rest[f] % PAIRWISE_BLOCK for f in lane}
        first_add = {f: 2 for f in short} | {f: 1 + PAIRWISE_BLOCK * chunks[f] for f in lane}
        order: list[int] = []
        # Running sums: chunk k of every feature with more than k chunks (a prefix).
        lane = sorted(lane, key=lambda f: -chunks[f])
        self._lane_steps: list[tuple[int, int]] = []
        for k in range(max(chunks.values(), default=0)):
            taking = [f for f in lane if chunks[f] > k]
            self._lane_steps.append((len(order), len(taking)))
            for f in taking:
                at = starts[f] + 1 + PAIRWISE_BLOCK * k
                order.extend(range(at, at + PAIRWISE_BLOCK))
        # Sums one after the other: the features by number of additions, most first.
        summed = sorted(short + lane, key=lambda f: -adds[f])
        position = {f: p for p, f in enumerate(summed)}
        self._n_summed = len(summed)
        self._lane_at = np.array([position[f] for f in lane], dtype=np.intp)
        short_first = sorted(short, key=lambda f: position[f])
        self._short_at = np.array([position[f] for f in short_first], dtype=np.intp)
        self._short_rows = (len(order), len(short_first))
        order.extend(starts[f] + 1 for f in short_first)
        self._add_steps: list[tuple[int, int]] = []
        for j in range(max(adds.values(), default=0)):
            taking = [f for f in summed if adds[f] > j]
            self._add_steps.append((len(order), len(taking)))
            order.extend(starts[f] + first_add[f] + j for f in taking)
        # First terms, of the summed features then of those with one slot.
        self._firsts = len(order)
        order.extend(starts[f] for f in [*summed, *alone])
        self._n_alone = len(alone)
        # Features summed by halves: their slots as they are, summed one by one.
        self._halves: list[tuple[int, int]] = []
        for f in halves:
            self._halves.append((len(order), counts[f]))
            order.extend(range(starts[f], starts[f] + counts[f]))
        self.order = np.array(order, dtype=np.intp)
        self.features = np.array([*summed, *alone, *halves], dtype=np.intp)

    def __call__(self, terms: np.ndarray) -> np.ndarray:
        """Each feature's sum (rows as ``features``) of terms laid out as ``order``.

        Args:
            terms: ``(slots, lines)``, row ``r`` the terms of slot ``order[r]``.
        """
        n_lines = terms.shape[1]
        out = np.empty((len(self.features), n_lines))
        summed = out[: self._n_summed]
        if self._lane_steps:
            lo, n = self._lane_steps[0]
            lanes = terms[lo : lo + n * PAIRWISE_BLOCK].reshape(n, PAIRWISE_BLOCK, n_lines).copy()
            for lo, k in self._lane_steps[1:]:
                lanes[:k] += terms[lo : lo + k * PAIRWISE_BLOCK].reshape(k, PAIRWISE_BLOCK, -1)
            summed[self._lane_at] = _combined(lanes.transpose(1, 0, 2))
        lo, n = self._short_rows
        summed[self._short_at] = terms[lo : lo + n]
        for lo, k in self._add_steps:
            summed[:k] += terms[lo : lo + k]
        firsts = terms[self._firsts : self._firsts + self._n_summed + self._n_alone]
        # The first term plus the others' sum, as reduceat adds them.
        np.add(firsts[: self._n_summed], summed, out=summed)
        out[self._n_summed : self._n_summed + self._n_alone] = firsts[self._n_summed :]
        at = self._n_summed + self._n_alone
        for r, (lo, n) in enumerate(self._halves, start=at):
            out[r] = terms[lo] + _pairwise(terms[lo + 1 : lo + n])
        return out
