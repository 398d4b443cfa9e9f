"""Ragged arrays: a variable-length list per actor, picked from per line without loops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Ragged:
    """Lists of values stored flat: row ``i`` is ``flat[off[i] : off[i] + cnt[i]]``."""

    flat: np.ndarray
    off: np.ndarray
    cnt: np.ndarray

    @classmethod
    def build(cls, rows: Sequence[Sequence[Any]], dtype: Any = object) -> Ragged:
        """Pack Python lists (one per actor) into flat arrays."""
        cnt = np.array([len(r) for r in rows], dtype=np.int64)
        off = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int64)
        flat = np.array([v for r in rows for v in r], dtype=dtype)
        return cls(flat, off, cnt)

    def pick(self, rng: np.random.Generator, rows: np.ndarray) -> np.ndarray:
        """Flat index of one uniformly chosen element of each given row (-1 if empty)."""
        cnt = self.cnt[rows]
        pos = self.off[rows] + (rng.random(len(rows)) * cnt).astype(np.int64)
        return np.where(cnt > 0, pos, -1)


def choose_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row of a non-negative weight matrix (-1 where a row is all zero)."""
    total = weights.sum(axis=1)
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * total
    idx = (cum <= u[:, None]).sum(axis=1)
    return np.where(total > 0, np.minimum(idx, weights.shape[1] - 1), -1)
