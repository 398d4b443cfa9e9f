"""Exact TreeSHAP of a LightGBM booster, precomputed per leaf and applied to lines as arrays.

LightGBM's ``pred_contrib=True`` runs the recursive TreeSHAP algorithm (path-dependent,
with the trees' data counts as covers) for every line and every tree. Its result for one
tree is a sum over the tree's leaves: a leaf with value ``v`` on a path whose distinct
features have zero fractions ``z`` (the share of training lines that followed the path at
that feature's splits) and one fractions ``o`` (1 when the line follows the path at all of
them, else 0) gives feature ``i`` of the path

    v * (o_i - z_i) * sum over S within the path's other features of
        |S|! (d - |S| - 1)! / d! * prod(o_k, k in S) * prod(z_k, k not in S, k != i)

(``d`` distinct features on the path). As every ``o`` is 0 or 1, a leaf's terms depend on
the line only through which of its path's features the line follows: at most ``2**d``
patterns. :class:`TreeShap` computes every leaf's terms for every pattern once, when the
model is loaded; a line then costs its split decisions, one pattern per leaf, a look-up and
one sum per feature, for all lines at once. The values are LightGBM's up to floating-point
rounding (they are summed in another order); each line's values are the same in any batch,
as every step is per line. Models this cannot take (a path longer than
``MAX_PATH_FEATURES`` distinct features, a node without training lines) are left to
LightGBM (:meth:`TreeShap.of` returns None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.contract.batch import is_small
from models.scoring.treeshap_sums import SumPlan

# A leaf's table holds 2**d patterns of d values; depth-5 trees need at most 5.
MAX_PATH_FEATURES = 8
# Lines per block: bounds the memory of a large batch (block x leaves x path features).
# Small enough that a block's arrays are reused from the allocator's heap: larger blocks
# got fresh memory maps each time, whose page faults (and the kernel's huge-page
# compaction, which NumPy asks for on large arrays) cost more than the arithmetic.
BLOCK = 256
# LightGBM's kZeroThreshold: |x| at most this is zero for a split with missing type Zero.
ZERO = 1e-35
_NAN, _ZERO, _NONE = "NaN", "Zero", "None"


@dataclass
class _Tree:
    """One tree's nodes as parallel lists, and its leaves' paths (built from the dump)."""

    nodes: list[dict[str, Any]]
    paths: list[tuple[float, list[tuple[int, bool]]]]  # (leaf value, [(node, went left)])


def _flatten(tree: dict[str, Any], offset: int) -> _Tree:
    """A dumped tree's internal nodes (numbered from ``offset``) and its leaves' paths."""
    nodes: list[dict[str, Any]] = []
    paths: list[tuple[float, list[tuple[int, bool]]]] = []

    def count(node: dict[str, Any]) -> float:
        return float(node["leaf_count"] if "leaf_value" in node else node["internal_count"])

    def walk(node: dict[str, Any], path: list[tuple[int, bool]]) -> None:
        if "split_feature" not in node:
            paths.append((float(node["leaf_value"]), path))
            return
        me = offset + len(nodes)
        total = count(node)
        nodes.append(
            {
                "feature": int(node["split_feature"]),
                "threshold": node["threshold"],
                "categorical": node["decision_type"] == "==",
                "default_left": bool(node["default_left"]),
                "missing": node["missing_type"],
                "left_share": count(node["left_child"]) / total if total else math.nan,
                "right_share": count(node["right_child"]) / total if total else math.nan,
            }
        )
        walk(node["left_child"], [*path, (me, True)])
        walk(node["right_child"], [*path, (me, False)])

    walk(tree["tree_structure"], [])
    return _Tree(nodes, paths)


def _leaf_table(value: float, z: np.ndarray) -> np.ndarray:
    """Every pattern's terms of one leaf: ``(2**d, d)``, pattern bit ``k`` = line follows k."""
    d = len(z)
    patterns = np.arange(2**d)
    bits = ((patterns[:, None] >> np.arange(d)) & 1).astype(np.float64)  # (P, d)
    # w(s) = s! (d - s - 1)! / d!, for s = 0 .. d-1
    w = np.array(
        [math.factorial(s) * math.factorial(d - s - 1) / math.factorial(d) for s in range(d)]
    )
    out = np.empty((2**d, d))
    for i in range(d):
        # Coefficients of prod over k != i of (z_k + o_k t): poly[:, s] sums the S of size s.
        poly = np.zeros((2**d, d))
        poly[:, 0] = 1.0
        for k in range(d):
            if k == i:
                continue
            shifted = np.zeros_like(poly)
            shifted[:, 1:] = poly[:, :-1] * bits[:, k : k + 1]
            poly = poly * z[k] + shifted
        out[:, i] = value * (bits[:, i] - z[i]) * (poly @ w)
    return out


class TreeShap:
    """Exact TreeSHAP contributions of one booster (see the module docstring).

    Build with :meth:`of`; :meth:`contributions` gives what ``booster.predict(data,
    pred_contrib=True)`` gives for a float matrix (features in the booster's order,
    categories as codes, missing as NaN): one column per feature, then the bias.
    """

    def __init__(self, trees: list[_Tree], n_features: int, bias: float) -> None:
        nodes = [n for t in trees for n in t.nodes]
        self.n_features = n_features
        self.bias = bias
        self._feature = np.array([n["feature"] for n in nodes], dtype=np.intp)
        numeric = [not n["categorical"] for n in nodes]
        thr = [float(n["threshold"]) if num else 0.0 for n, num in zip(nodes, numeric, strict=True)]
        self._threshold = np.array(thr)
        # Where a missing value goes, per node (LightGBM's NumericalDecision): with missing
        # type None it is read as 0.0; with NaN or Zero it follows the default direction.
        self._nan_left = np.array(
            [
                (t >= 0.0) if n["missing"] == _NONE else n["default_left"]
                for n, t in zip(nodes, thr, strict=True)
            ]
        )
        self._zero_nodes = np.array(
            [j for j, n in enumerate(nodes) if not n["categorical"] and n["missing"] == _ZERO],
            dtype=np.intp,
        )
        self._zero_left = np.array([nodes[j]["default_left"] for j in self._zero_nodes], dtype=bool)
        cat_nodes = [j for j, n in enumerate(nodes) if n["categorical"]]
        self._cat_nodes = np.array(cat_nodes, dtype=np.intp)
        sets = [[int(c) for c in str(nodes[j]["threshold"]).split("||")] for j in cat_nodes]
        width = max((max(s) for s in sets), default=-1) + 2  # the last column: out of range
        self._cat_left = np.zeros((len(cat_nodes), width), dtype=bool)
        for r, s in enumerate(sets):
            self._cat_left[r, s] = True
        self._build_leaves(trees, nodes)

    def _build_leaves(self, trees: list[_Tree], nodes: list[dict[str, Any]]) -> None:
        """Each leaf's path steps, pattern slots and table, padded to the longest path."""
        leaves = [leaf for t in trees for leaf in t.paths if leaf[1]]  # one-leaf trees: bias
        step_node: list[int] = []
        step_left: list[bool] = []
        step_bit: list[int] = []
        starts: list[int] = []
        leaf_features: list[list[int]] = []
        tables: list[np.ndarray] = []
        width = max((len({nodes[m]["feature"] for m, _ in p}) for _, p in leaves), default=1)
        for value, path in leaves:
            starts.append(len(step_node))
            features: list[int] = []
            z: dict[int, float] = {}
            for m, left in path:
                f = nodes[m]["feature"]
                if f not in z:
                    features.append(f)
                    z[f] = 1.0
                z[f] *= nodes[m]["left_share" if left else "right_share"]
                step_node.append(m)
                step_left.append(left)
                step_bit.append(1 << features.index(f))
            table = np.zeros((2**width, width))
            small = _leaf_table(value, np.array([z[f] for f in features]))
            # A pattern's bits past the leaf's own features are never set.
            table[: len(small), : len(features)] = small
            tables.append(table)
            leaf_features.append(features)
        # The steps as a (depth, leaves) grid: step k of every leaf's path, a path shorter
        # than the deepest padded with a step that sets no bit.
        ends = [*starts[1:], len(step_node)][: len(starts)]  # none: one-leaf trees only
        depth = max((e - s for s, e in zip(starts, ends, strict=True)), default=0)
        self._step_node = np.zeros((depth, len(leaves)), dtype=np.intp)
        self._step_left = np.zeros((depth, len(leaves), 1), dtype=bool)
        self._step_bit = np.zeros((depth, len(leaves), 1), dtype=np.uint8)
        for leaf, (s, e) in enumerate(zip(starts, ends, strict=True)):
            k = np.arange(e - s)
            self._step_node[k, leaf] = step_node[s:e]
            self._step_left[k, leaf, 0] = step_left[s:e]
            self._step_bit[k, leaf, 0] = step_bit[s:e]
        full = [(1 << len(set(f))) - 1 for f in leaf_features]
        self._full = np.array(full, dtype=np.uint8)[:, None]
        self._n_leaves = len(leaves)
        patterns = 2**width
        shape = (-1, patterns, width)
        table = np.concatenate(tables).reshape(shape) if tables else np.zeros((0, patterns, width))
        # Every (leaf, slot) of a path feature, ordered by feature (then tree and leaf), so
        # one gather and one reduceat sum each feature's terms in a fixed order.
        slots = [(f, leaf, k) for leaf, fs in enumerate(leaf_features) for k, f in enumerate(fs)]
        slots.sort(key=lambda s: s[0])
        self._slot_leaf = np.array([s[1] for s in slots], dtype=np.intp)
        # Each slot's own row of terms, one per pattern (its leaf's table, its column): a
        # slot's term is then its row's start plus the pattern, the pattern's one byte
        # gathered per slot rather than a full index.
        slot_column = np.array([s[2] for s in slots], dtype=np.intp)
        self._slot_table = table[self._slot_leaf, :, slot_column].reshape(-1)
        self._slot_start = (np.arange(len(slots), dtype=np.intp) * patterns)[:, None]
        feature = np.array([s[0] for s in slots], dtype=np.intp)
        self._feature_cols, first = np.unique(feature, return_index=True)
        self._feature_starts = first.astype(np.intp)
        counts = np.diff([*first.tolist(), len(slots)]).tolist()
        # A larger block sums its features' terms in steps over all features at once
        # (``treeshap_sums``): the slots laid out as the plan orders them.
        self._plan = SumPlan(counts)
        self._plan_leaf = self._slot_leaf[self._plan.order]
        self._plan_start = self._slot_start[self._plan.order]
        self._plan_cols = self._feature_cols[self._plan.features]

    @classmethod
    def of(cls, booster: Any) -> TreeShap | None:
        """The booster's TreeSHAP tables; None for a model they cannot stand for."""
        dump = booster.dump_model()
        if int(dump.get("num_class", 1)) != 1 or dump.get("average_output"):
            return None
        trees, offset = [], 0
        for info in dump["tree_info"]:
            tree = _flatten(info, offset)
            offset += len(tree.nodes)
            trees.append(tree)
        nodes = [n for t in trees for n in t.nodes]
        if any(not (n["left_share"] > 0 and n["right_share"] > 0) for n in nodes):
            return None  # a node no training line reached: LightGBM's own arithmetic
        for t in trees:
            for _, path in t.paths:
                if len({nodes[m]["feature"] for m, _ in path}) > MAX_PATH_FEATURES:
                    return None
        n_features = int(dump["max_feature_idx"]) + 1
        # The bias (expected value) is the same for every line: LightGBM's own, once.
        row = np.full((1, n_features), np.nan)
        bias = float(np.asarray(booster.predict(row, pred_contrib=True, num_threads=1))[0, -1])
        return cls(trees, n_features, bias)

    def go_left(self, data: np.ndarray) -> np.ndarray:
        """Each line's decision at every internal node (``(lines, nodes)``, True: left)."""
        return self._go_left(np.ascontiguousarray(data.T, dtype=np.float64)).T

    def _go_left(self, columns: np.ndarray) -> np.ndarray:
        """:meth:`go_left` of the lines' columns (``(features, lines)``): ``(nodes, lines)``."""
        values = columns[self._feature]
        missing = np.isnan(values)
        with np.errstate(invalid="ignore"):
            left = values <= self._threshold[:, None]
        left = np.where(missing, self._nan_left[:, None], left)
        if len(self._zero_nodes):
            v = values[self._zero_nodes]
            zero = (v >= -ZERO) & (v <= ZERO)
            left[self._zero_nodes] = np.where(
                zero, self._zero_left[:, None], left[self._zero_nodes]
            )
        if len(self._cat_nodes):
            v = values[self._cat_nodes]
            width = self._cat_left.shape[1]
            with np.errstate(invalid="ignore"):
                # LightGBM truncates to int; NaN and negatives go right (the last column).
                code = np.where(np.isnan(v) | (v < 0) | (v >= width - 1), width - 1, v)
            code = code.astype(np.intp)
            rows = np.arange(len(self._cat_nodes))[:, None]
            left[self._cat_nodes] = self._cat_left[rows, code]
        return left

    def contributions(self, data: np.ndarray) -> np.ndarray:
        """``pred_contrib`` of a float matrix: ``(lines, features + 1)``, the bias last."""
        n = len(data)
        out = np.zeros((n, self.n_features + 1))
        out[:, -1] = self.bias
        if not n or not self._n_leaves:
            return out
        for lo in range(0, n, BLOCK):
            block = np.ascontiguousarray(data[lo : lo + BLOCK], dtype=np.float64)
            cols, values = self._block(block)
            out[lo : lo + len(block), cols] = values
        return out

    def _block(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The block's feature values (``(lines, features)``) and their columns."""
        # Lines last: every step below is an operation on whole rows of lines (a row per
        # node, leaf or slot), never a small segment per line.
        left = self._go_left(np.ascontiguousarray(data.T))
        # Bits of a leaf's path features the line does not follow, then those it does.
        off = np.zeros((len(self._full), len(data)), dtype=np.uint8)
        for node, went_left, bit in zip(
            self._step_node, self._step_left, self._step_bit, strict=True
        ):
            off |= (left[node] != went_left) * bit
        pattern = self._full ^ off
        # Each slot's term: its row's value for the line's pattern. Indices as intp, which
        # ``take`` uses as they are (narrower ones are converted).
        small = is_small(len(data))
        index = pattern[self._slot_leaf if small else self._plan_leaf].astype(np.intp)
        index += self._slot_start if small else self._plan_start
        terms = np.take(self._slot_table, index)
        if small:
            # A few lines: one reduceat call per feature and line costs less than the
            # plan's fixed cost; both sum in the same order (same bits).
            return self._feature_cols, np.add.reduceat(terms, self._feature_starts, axis=0).T
        return self._plan_cols, self._plan(terms).T
