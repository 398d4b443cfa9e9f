"""``flrisk backtest``: replay history month by month under targeting policies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipelines.cli_errors import check_inputs
from pipelines.cli_options import AllowBadOpt, DataOpt, _quiet_mlflow


def backtest(
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    truth: Annotated[
        Path | None,
        typer.Option("--truth", help="True outcome of every line (required: simulated data)."),
    ] = None,
    capacity: Annotated[
        float, typer.Option("--capacity", help="Share of each month's lines selected.")
    ] = 0.03,
    explore: Annotated[
        float,
        typer.Option("--explore", min=0.0, max=1.0, help="Exploration share of model_explore."),
    ] = 0.05,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First replayed month, YYYY-MM (default: after a third)."),
    ] = None,
    retrain: Annotated[str, typer.Option("--retrain", help="monthly or never.")] = "monthly",
    rounds: Annotated[
        int, typer.Option("--rounds", min=5, max=2000, help="Boosting rounds of every fit.")
    ] = 80,
    strategy: Annotated[
        str, typer.Option("--strategy", help="How biased labels are learned: inspected, ipw, pu.")
    ] = "ipw",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the draws and of LightGBM.")] = 7,
    track: Annotated[
        bool, typer.Option("--track/--no-track", help="Log an MLflow run of the backtest.")
    ] = True,
    allow_bad_rows: AllowBadOpt = False,
) -> None:
    """Replay history month by month under four targeting policies (needs --truth).

    Policies: random, the legacy rules, the model (exploit only) and the model with an
    exploration share; writes DIR/backtest.csv, backtest.md and backtest.png.
    """
    check_inputs(data=data, truth=truth)
    _quiet_mlflow()
    from pipelines.config import STRATEGIES
    from pipelines.policy_replay import BacktestInputError, ReplayConfig, backtest_command

    if strategy not in STRATEGIES:
        raise BacktestInputError(f"--strategy {strategy!r}: one of {list(STRATEGIES)}")
    # One LightGBM thread: the monthly fits are small, and on a shared machine OpenMP threads
    # that wait for each other cost far more than they share (docs/performance.md).
    cfg = ReplayConfig(
        capacity=capacity, explore=explore, start=start, retrain=retrain, rounds=rounds,
        strategy=strategy, seed=seed, num_threads=1,
    )  # fmt: skip
    backtest_command(data, truth, out, cfg, allow_bad_rows=allow_bad_rows, track=track)
