"""``flrisk backtest``: replay history month by month under each targeting policy.

Each policy is its own loop over the same lines. The months before ``start`` are the initial
labelled history (the lines the data says were inspected, labelled with their truth); from
then on, every month, each policy selects ``capacity`` of the month's lines, sees the truth
of what it selected (and only that), and retrains on everything it has seen:

- ``random``: a random draw of the month's lines (every pick a random check);
- ``rules``: the legacy rules (``pipelines/baselines.py``), which never learn;
- ``model``: the project's model (LightGBM on its features, with the training's
  selection-bias handling), exploit only: the riskiest lines;
- ``model_explore``: the same model, with the exploration share of
  :func:`models.selection.select` drawn at random from the rest.

It needs the hidden truth of every line (a simulated world: ``flrisk simulate`` writes
``truth.csv``); an agency's own history only tells what its own selections found.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from models.contract.batch import Column, Lines
from models.contract.reader import read_entry_lines
from models.errors import UserError
from models.features.cache import SignalCache
from models.features.history import month_index
from models.features.signals import derive_signals, signal_frame
from models.selection import select
from models.settings import get_settings
from pipelines.baselines import legacy_rule_scores
from pipelines.config import LearningConfig, LightGBMConfig, load_config
from pipelines.labelled import load_truth, quarantine_path, sort_lines
from pipelines.learn import Sample, fit_booster, fit_propensity, make_sample
from pipelines.metrics import average_precision
from pipelines.policy_report import log_run, tables, write_outputs
from pipelines.prepare import features

POLICIES = ("random", "rules", "model", "model_explore")
LEARNING = ("model", "model_explore")
RETRAIN = ("monthly", "never")


class BacktestInputError(UserError, ValueError):
    """The backtest cannot run on these inputs (no truth, a bad start month, a bad option)."""

    hint = (
        "flrisk backtest replays a world whose every line has a known truth: "
        "`flrisk simulate --out DIR` writes DIR/train.csv, DIR/score.csv and DIR/truth.csv; "
        "pass --data DIR/train.csv --data DIR/score.csv --truth DIR/truth.csv."
    )


@dataclass(frozen=True)
class ReplayConfig:
    """How the replay runs.

    Attributes:
        capacity: Share of each month's lines a policy selects.
        explore: Exploration share of ``model_explore``'s selection.
        start: First replayed month (``YYYY-MM``); None: after the first third of months.
        retrain: ``monthly`` (after each month, on everything seen) or ``never``.
        rounds: Boosting rounds of every fit (fixed: no validation window to stop on).
        strategy: How selection-biased labels are learned (``inspected``, ``ipw``, ``pu``).
        seed: Seed of the random draws and of LightGBM.
        policies: The policies replayed.
        num_threads: LightGBM threads.
    """

    capacity: float = 0.03
    explore: float = 0.05
    start: str | None = None
    retrain: str = "monthly"
    rounds: int = 80
    strategy: str = "ipw"
    seed: int = 7
    policies: tuple[str, ...] = POLICIES
    num_threads: int = 1


@dataclass
class World:
    """The replayed lines (time order), their signals and truth, and what the data inspected."""

    lines: Lines = field(repr=False)
    cache: SignalCache = field(repr=False)
    signals: dict[str, Column] = field(repr=False)
    signal_table: pd.DataFrame = field(repr=False)
    month: np.ndarray = field(repr=False)
    truth: np.ndarray = field(repr=False)
    inspected: np.ndarray = field(repr=False)
    random: np.ndarray = field(repr=False)


@dataclass
class Policy:
    """One policy's loop: what it has seen, and its model (learning policies only)."""

    name: str
    inspected: np.ndarray = field(repr=False)
    violation: np.ndarray = field(repr=False)
    random: np.ndarray = field(repr=False)
    booster: lgb.Booster | None = field(default=None, repr=False)
    X: pd.DataFrame | None = field(default=None, repr=False)


def month_label(m: int) -> str:
    """``YYYY-MM`` of a :func:`~models.features.history.month_index`."""
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def _month_of(label: str) -> int:
    try:
        stamp = pd.Timestamp(f"{label}-01")
    except ValueError as exc:
        raise BacktestInputError(f"--start {label!r}: not a month (YYYY-MM)") from exc
    return int(stamp.year * 12 + stamp.month - 1)


def read_world(
    data: list[Path], truth: Path | None, allow_bad_rows: bool, quarantine: Path
) -> World:
    """Lines of the files in time order, with every line's truth.

    Raises:
        BacktestInputError: No truth file given.
        TruthMismatchError: The truth file lacks some of the lines.
    """
    if truth is None:
        raise BacktestInputError(
            "flrisk backtest needs --truth: the true outcome of every line, not only of the "
            "inspected ones (a policy is judged on what it would have found)"
        )
    read = read_entry_lines(data, allow_bad_rows=allow_bad_rows, quarantine_path=quarantine)
    frame = sort_lines(read.frame)
    for col, empty in (("inspected", False), ("inspection_reason", None), ("violation", np.nan)):
        if col not in frame:
            frame[col] = empty
    frame["inspected"] = frame["inspected"].astype("boolean").fillna(False).astype(bool)
    t = load_truth(truth, frame)
    cache = SignalCache()
    lines = Lines.from_frame(frame, read.passthrough)
    signals = derive_signals(lines, cache)
    inspected = frame["inspected"].to_numpy(dtype=bool)
    return World(
        lines=lines,
        cache=cache,
        signals=signals,
        signal_table=signal_frame(signals),
        month=month_index(lines["entry_date"]),
        truth=t,
        inspected=inspected,
        random=inspected & (frame["inspection_reason"].astype(object) == "random").to_numpy(),
    )


def start_month(world: World, start: str | None) -> int:
    """The first replayed month: ``start``, or the month after the first third.

    Raises:
        BacktestInputError: Fewer than two months, or ``start`` leaves no history or no
            month to replay.
    """
    months = np.unique(world.month)
    if len(months) < 2:
        raise BacktestInputError(f"the lines span {len(months)} month(s): need at least 2")
    m = _month_of(start) if start else int(months[max(1, len(months) // 3)])
    if m <= months[0] or m > months[-1]:
        raise BacktestInputError(
            f"--start {month_label(m)}: must be after the first month "
            f"({month_label(int(months[0]))}) and no later than the last "
            f"({month_label(int(months[-1]))})"
        )
    return m


@dataclass(frozen=True)
class Learner:
    """The project's training recipe at a fixed number of rounds, for one policy's labels."""

    booster_cfg: LightGBMConfig
    learning: LearningConfig
    strategy: str
    rounds: int
    seed: int
    num_threads: int

    def fit(self, world: World, policy: Policy, upto: int) -> None:
        """Refit ``policy``'s model on what it has seen in the months up to ``upto``.

        The feature state (party histories, typical values) is fitted on the same lines and
        the policy's labels only, so no line's features see another policy's findings.
        """
        labelled = world.lines.with_columns(
            {"inspected": policy.inspected, "violation": policy.violation}
        )
        rows = np.flatnonzero(world.month <= upto)
        _state, X = features(labelled, rows, world.cache, world.signals)
        inspected = policy.inspected[rows]
        propensity = None
        if self.strategy == "ipw":
            model = fit_propensity(X.iloc[rows], inspected, self.num_threads, self.seed)
            p = np.asarray(model.predict(X.iloc[rows], num_threads=self.num_threads))
            propensity = np.maximum(p, self.learning.propensity_floor)
        s = make_sample(
            self.strategy, inspected, policy.violation[rows], propensity,
            self.learning.pu_unlabelled_weight, self.learning.propensity_floor,
            self.learning.pu_unlabelled_sample, self.seed,
        )  # fmt: skip
        sample = Sample(rows=rows[s.rows], y=s.y, w=s.w)
        policy.booster = fit_booster(
            X, sample, None, self.booster_cfg, self.num_threads, num_boost_round=self.rounds
        )
        policy.X = X


def _scores(world: World, policy: Policy, idx: np.ndarray, seed: int) -> np.ndarray | None:
    """The policy's ranking of the month's lines (None: the random policy has none)."""
    if policy.name == "rules":
        return legacy_rule_scores(world.signal_table.iloc[idx], seed)
    if policy.name in LEARNING and policy.booster is not None and policy.X is not None:
        return np.asarray(policy.booster.predict(policy.X.iloc[idx], raw_score=True))
    return None


def replay(world: World, cfg: ReplayConfig, log: Callable[[str], None] = print) -> pd.DataFrame:
    """Every policy's loop over the months from the start; one row per month and policy.

    Returns:
        ``month, policy, lines, selected, random_checks, violations_found,
        violations_in_month, precision, recall, pr_auc`` (PR-AUC of the policy's model on
        every line of the month against the truth; empty for policies without a model).
    """
    unknown = sorted(set(cfg.policies) - set(POLICIES))
    if unknown or cfg.retrain not in RETRAIN or not 0 < cfg.capacity <= 1:
        raise BacktestInputError(
            f"policies {unknown} unknown (known: {list(POLICIES)})" if unknown
            else f"--retrain {cfg.retrain!r}: one of {list(RETRAIN)}" if cfg.retrain not in RETRAIN
            else f"--capacity {cfg.capacity}: a share of each month's lines in (0, 1]"
        )  # fmt: skip
    first = start_month(world, cfg.start)
    train = load_config(None)
    learner = Learner(
        train.booster(targeted_labels=True), train.learning, cfg.strategy, cfg.rounds,
        cfg.seed, cfg.num_threads,
    )  # fmt: skip
    history = world.month < first
    policies = [
        Policy(
            name=p,
            inspected=world.inspected & history,
            # The history's labels: the truth of the lines the data says were inspected.
            violation=np.where(world.inspected & history, world.truth, np.nan),
            random=world.random & history,
        )
        for p in cfg.policies
    ]
    for p in policies:
        if p.name in LEARNING:
            learner.fit(world, p, first - 1)
    log(f"history: {int(history.sum())} lines before {month_label(first)}, "
        f"{int((world.inspected & history).sum())} inspected")  # fmt: skip
    rows = []
    for m in (int(x) for x in np.unique(world.month) if x >= first):
        idx = np.flatnonzero(world.month == m)
        y = world.truth[idx]
        n = max(1, round(cfg.capacity * len(idx)))
        for p in policies:
            scores = _scores(world, p, idx, cfg.seed + m)
            # The random policy is a selection that is all exploration.
            share = 1.0 if scores is None else cfg.explore if p.name == "model_explore" else 0.0
            ranking = np.zeros(len(idx)) if scores is None else scores
            sel = select(ranking, n, share, seed=cfg.seed * 1000 + m)
            chosen = idx[sel.chosen]
            p.inspected[chosen] = True
            p.violation[chosen] = world.truth[chosen]
            p.random[idx[sel.random]] = True
            found = int(world.truth[chosen].sum())
            ranked = scores if p.name in LEARNING else None
            rows.append(
                {"month": month_label(m), "policy": p.name, "lines": len(idx),
                 "selected": len(chosen), "random_checks": len(sel.random),
                 "violations_found": found, "violations_in_month": int(y.sum()),
                 "precision": found / len(chosen),
                 "recall": found / y.sum() if y.sum() else np.nan,
                 "pr_auc": np.nan if ranked is None else average_precision(y, ranked)}
            )  # fmt: skip
        log(f"{month_label(m)}: " + ", ".join(
            f"{r['policy']} {r['violations_found']}" for r in rows[-len(policies):]
        ) + f" of {int(y.sum())} violations")  # fmt: skip
        if cfg.retrain == "monthly":
            for p in policies:
                if p.name in LEARNING:
                    learner.fit(world, p, m)
    return pd.DataFrame(rows)


def backtest_command(
    data: list[Path],
    truth: Path | None,
    out: Path,
    cfg: ReplayConfig,
    allow_bad_rows: bool = False,
    track: bool = True,
) -> pd.DataFrame:
    """``flrisk backtest``: read the world, replay every policy, write and print the tables."""
    settings = get_settings()
    world = read_world(data, truth, allow_bad_rows, quarantine_path(settings, data[0]))
    rows = replay(world, cfg)
    files = write_outputs(rows, out)
    print(tables(rows))
    if track:
        params = {**vars(cfg), "data": ",".join(str(d) for d in data), "truth": str(truth),
                  "lines": len(world.lines)}  # fmt: skip
        run_id = log_run(settings, rows, params, files)
        print(f"MLflow run {run_id} (experiment flrisk-backtest)")
    print(f"wrote {files['csv']}, {files['markdown']}, {files['plot']}")
    return rows
