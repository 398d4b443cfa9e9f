"""The ``flrisk`` command line: one verb per user task, each delegating to a pipeline module.

Heavy imports happen inside each command so that ``flrisk --help`` stays instant. Commands
do not catch errors: the group (``pipelines/cli_errors.py``) answers every error in one or
two plain lines; ``--debug`` or ``FLRISK_DEBUG=1`` adds the traceback. Command groups live in
their own modules, added here with one ``app.add_typer`` line each.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Annotated

import typer

from models.errors import UserError
from pipelines.alerts_cli import app as alerts_app
from pipelines.audit_cli import app as audit_app
from pipelines.backtest_cli import backtest as backtest_command
from pipelines.check_cli import check as check_command
from pipelines.cli_errors import (
    DEBUG_ENV,
    PlainErrors,
    check_inputs,
    check_output,
    debug_wanted,
)
from pipelines.cli_options import (
    AllowBadOpt,
    DataOpt,
    MappingOpt,
    ModelOpt,
    TipsOpt,
    WorkersOpt,
    _quiet_mlflow,
)
from pipelines.keys_cli import keys_app

app = typer.Typer(
    cls=PlainErrors,
    help="flrisk: forced-labour risk scoring of US import entry lines.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
reference_app = typer.Typer(help="Reference tables: entity lists, Xinjiang places, risk goods.")
app.add_typer(reference_app, name="reference")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.command(name="check")(check_command)
app.command(name="backtest")(backtest_command)
app.add_typer(alerts_app, name="alerts")


@app.callback()
def main(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            envvar=DEBUG_ENV,
            help=f"On an error, print the full traceback too (or set {DEBUG_ENV}=1).",
        ),
    ] = False,
) -> None:
    """flrisk: forced-labour risk scoring of US import entry lines."""


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("data/sim"),
    lines: Annotated[int, typer.Option("--lines", min=100, help="Entry lines to write.")] = 200_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (output is deterministic).")] = 7,
    scenario: Annotated[
        Path | None, typer.Option("--scenario", help="Scenario TOML (default: built-in).")
    ] = None,
    bad_rows: Annotated[
        float, typer.Option("--bad-rows", min=0.0, max=0.5, help="Share of defective rows.")
    ] = 0.0,
) -> None:
    """Simulate a border world: train.csv (labelled history), score.csv, truth.csv."""
    check_inputs(scenario=scenario)
    from pipelines.simulate import run

    run(out=out, lines=lines, seed=seed, scenario_path=scenario, bad_rows=bad_rows)


@app.command()
def train(
    data: DataOpt,
    mapping: MappingOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Registered model name.")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Training parameters (TOML).")
    ] = None,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Hidden truth (simulated data only).")
    ] = None,
    feedback: Annotated[
        bool,
        typer.Option(
            "--feedback/--no-feedback",
            help="Relabel training lines with the inspection outcomes in the audit store "
            "(officers' and systems'; lines under review are left out), and count its tips.",
        ),
    ] = True,
    promote: Annotated[
        str | None, typer.Option("--promote", help="Alias to move to the new version if it passes.")
    ] = None,
    allow_bad_rows: AllowBadOpt = False,
    tips: TipsOpt = None,
) -> None:
    """Train, evaluate and register a model; the last line printed is its models:/ URI."""
    check_inputs(data=data, mapping=mapping, config=config, truth=truth, tips=tips)
    _quiet_mlflow()
    from pipelines.train import train_command

    uri = train_command(
        data=data,
        mapping=mapping,
        name=name,
        config=config,
        truth=truth,
        use_feedback=feedback,
        promote_alias=promote,
        allow_bad_rows=allow_bad_rows,
        tips=tips,
    )
    typer.echo(uri)


@app.command()
def evaluate(
    model: ModelOpt,
    data: DataOpt,
    mapping: MappingOpt = None,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Hidden truth file (simulated data).")
    ] = None,
    allow_bad_rows: AllowBadOpt = False,
    tips: TipsOpt = None,
) -> None:
    """Judge a registered model on later labelled lines: the evaluation table of training.

    Labelled lines carry inspected, inspection_reason and violation (an agency's later
    inspections); with --truth (simulated data) unlabelled lines will do, e.g. score.csv.
    """
    check_inputs(data=data, mapping=mapping, truth=truth, tips=tips)
    _quiet_mlflow()
    from pipelines.evaluate import evaluate_command

    evaluate_command(
        model_uri=model, data=data, mapping=mapping, truth=truth, allow_bad_rows=allow_bad_rows,
        tips=tips,
    )  # fmt: skip


@app.command()
def score(
    model: ModelOpt,
    data: DataOpt,
    out: Annotated[Path, typer.Option("--out", help="Scores file (.csv or .parquet).")],
    mapping: MappingOpt = None,
    reasons: Annotated[int, typer.Option("--reasons", min=0, max=20, help="Reasons per line.")] = 3,
    engine: Annotated[
        str, typer.Option("--engine", help="pandas (one machine) or spark.")
    ] = "pandas",
    master: Annotated[str, typer.Option("--master", help="Spark master URL.")] = "local[*]",
    allow_bad_rows: AllowBadOpt = False,
    explain_share: Annotated[
        float,
        typer.Option(
            "--explain-share",
            min=0.0,
            max=1.0,
            help="Share of lines, riskiest first, that get reasons (pandas engine; 1 = all).",
        ),
    ] = 1.0,
    rank: Annotated[
        bool,
        typer.Option(
            "--rank",
            help="Write the lines in ranking order: presumed lines (UFLPA, Xinjiang, WRO) "
            "first, by score within. Default: the input's order.",
        ),
    ] = False,
    select: Annotated[
        int | None,
        typer.Option(
            "--select",
            min=0,
            help="Lines to examine: the output gets a `selection` column (risk, random_check).",
        ),
    ] = None,
    explore: Annotated[
        float,
        typer.Option(
            "--explore", min=0.0, max=1.0, help="Share of --select drawn at random from the rest."
        ),
    ] = 0.05,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the random checks.")] = 0,
    stratify: Annotated[
        str | None,
        typer.Option("--stratify", help="`sector`: spread the random checks over HS chapters."),
    ] = None,
    workers: WorkersOpt = None,
) -> None:
    """Score entry lines with a registered model and write risk scores with reasons.

    With --select N, the N lines to examine are marked: the riskiest, and an exploration
    share (--explore, default 5%; 0 allowed) drawn at random (--seed) from the rest.
    """
    check_inputs(data=data, mapping=mapping)
    check_output("out", out)
    _quiet_mlflow()
    from pipelines.score import score_command
    from pipelines.score_select import Selecting, SelectOptionError

    if stratify not in (None, "sector") or (stratify and select is None):
        raise SelectOptionError(f"--stratify {stratify!r}: only `sector`, and only with --select")
    if select is not None and engine != "pandas":
        raise SelectOptionError("--select needs the pandas engine (one scores file to mark)")
    selection = None if select is None else Selecting(select, explore, seed, bool(stratify))

    score_command(
        model_uri=model,
        data=data,
        out=out,
        mapping=mapping,
        reasons=reasons,
        engine=engine,
        master=master,
        allow_bad_rows=allow_bad_rows,
        explain_share=explain_share,
        rank=rank,
        selection=selection,
        workers=workers,
    )


@app.command()
def drift(
    ctx: typer.Context,
    model: ModelOpt,
    data: DataOpt,
    mapping: MappingOpt = None,
    threshold: Annotated[
        float, typer.Option("--threshold", min=0.0, help="PSI above which a measure has moved.")
    ] = 0.2,
    top: Annotated[
        int, typer.Option("--top", min=0, help="Measures listed, worst first (0: all).")
    ] = 0,
    allow_bad_rows: AllowBadOpt = False,
) -> None:
    """PSI of every model feature and of the score against the model's training lines.

    Exit status: 0 when nothing moved beyond the threshold, 3 when something did (named on
    the moved line), 2 when no comparison could be made.
    """
    from pipelines.cli_errors import report

    try:
        check_inputs(data=data, mapping=mapping)
        _quiet_mlflow()
        from pipelines.drift_cli import drift_command

        status = drift_command(model, data, mapping, threshold, allow_bad_rows, top)
    except UserError as exc:
        # 2, not 1: 1 would read as "something moved" to a caller used to diff.
        report(exc, debug_wanted(ctx.find_root()))  # type: ignore[arg-type]
        raise typer.Exit(2) from None
    raise typer.Exit(status)


@app.command("shadow-report")
def shadow_report(
    since: Annotated[
        str | None, typer.Option("--since", help="Only shadow scores from this date (YYYY-MM-DD).")
    ] = None,
    top: Annotated[
        float,
        typer.Option("--top", min=0.0001, max=1.0, help="Share of lines in each top-k set."),
    ] = 0.05,
) -> None:
    """Compare the shadow challenger with the champion on the lines the server scored.

    Band agreement, rank correlation, top-k overlap and, where outcomes arrived, each
    model's precision on its riskiest lines.
    """
    from pipelines.shadow_cli import shadow_report_command

    shadow_report_command(since, top)


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    demo_data: Annotated[
        Path | None, typer.Option("--demo-data", help="Entry lines preloaded in the workbench.")
    ] = None,
) -> None:
    """Serve the @champion model: the API under /v1 and the officer workbench at /.

    Once the server answers, a short block says where to open it, the key to sign in with
    (created now when there is none) and how to get a new one.
    """
    check_inputs(demo_data=demo_data)
    _quiet_mlflow()
    from models.settings import get_settings
    from pipelines.serve_cli import (
        announce_when_ready,
        check_port,
        first_key,
        key_not_shown,
    )

    check_port(host, port)
    if demo_data is not None:
        os.environ["FLRISK_DEMO_DATA"] = str(demo_data)
    settings = get_settings()
    key = first_key(settings.keys_path(), settings.bootstrap_key)
    import uvicorn

    # Factory and protocol by name: the app (and its model) is built in the serving process,
    # never forked. The protocol adds a header deadline and a per-client connection cap to
    # uvicorn's limits (settings; docs/deploy.md).
    config = uvicorn.Config(
        "serving.app:create_app", factory=True, host=host, port=port, workers=1,
        http="serving.connections:GuardedProtocol", **settings.uvicorn_options(),
    )  # fmt: skip
    server = uvicorn.Server(config)
    announce_when_ready(server, host, port, key, settings.keys_path(), _prog())
    try:
        server.run()
    finally:
        key_not_shown(server, key, settings.keys_path())


def _prog() -> str:
    """How to call flrisk again from this shell: ``flrisk`` when on PATH, else its path."""
    argv0 = sys.argv[0]
    if shutil.which("flrisk") == os.path.abspath(argv0) or not argv0.endswith("flrisk"):
        return "flrisk"
    return os.path.relpath(argv0) if not os.path.isabs(argv0) else argv0


@app.command()
def promote(
    model: ModelOpt,
    alias: Annotated[str, typer.Option("--alias", help="Alias to move.")] = "champion",
    data: Annotated[
        list[Path] | None,
        typer.Option(
            "--data",
            help="Labelled lines entered after both versions were fitted: both are judged on them.",
        ),
    ] = None,
    mapping: MappingOpt = None,
    truth: Annotated[
        Path | None, typer.Option("--truth", help="Hidden truth of --data (simulated data).")
    ] = None,
    allow_bad_rows: AllowBadOpt = False,
    force: Annotated[bool, typer.Option("--force", help="Skip the promotion gate.")] = False,
) -> None:
    """Move an alias to a version if it beats the holder on lines neither was fitted on.

    Exit status: 0 when the alias moved, 1 when the candidate did not pass the gate, 2 when
    no honest comparison was possible (pass --data with newer labelled lines).
    """
    _quiet_mlflow()
    from pipelines.promote import EvidenceFiles, PromotionRefusedError, promote_command

    evidence = EvidenceFiles(data, mapping, truth, allow_bad_rows) if data else None
    try:
        moved = promote_command(model_uri=model, alias=alias, force=force, evidence=evidence)
    except PromotionRefusedError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if not moved:
        raise typer.Exit(1)


@reference_app.command("show")
def reference_show() -> None:
    """Print the loaded reference tables with their versions and row counts."""
    from pipelines.reference_cli import show

    show()


@reference_app.command("update")
def reference_update(
    source: Annotated[
        str | None, typer.Option("--from", help="Path or URL of an official publication.")
    ] = None,
    table: Annotated[
        str | None, typer.Option("--table", help="Table to update (default: guessed).")
    ] = None,
    entities: Annotated[
        str | None,
        typer.Option("--entities", help="CSV of entity rows to add or replace by entity_id."),
    ] = None,
) -> None:
    """Publish a new reference version: a table from a publication, or entity rows added.

    The new version is written whole, then made current by an atomic pointer swap; a
    running server matches its next request against it.
    """
    from pipelines.reference_cli import update

    if (source is None) == (entities is None):
        raise typer.BadParameter("pass either --from SOURCE or --entities FILE.csv")
    if entities is not None:
        update(source=entities, table="entities", entities_rows=True)
    else:
        assert source is not None
        update(source=source, table=table)


@reference_app.command("approve")
def reference_approve(
    change_id: Annotated[int, typer.Argument(help="The partner alert's id.")],
    reject: Annotated[bool, typer.Option("--reject", help="Reject it instead.")] = False,
) -> None:
    """Approve a pending partner alert: evidence in scoring from a new reference version."""
    from pipelines.alerts_cli import approve

    approve(change_id, reject=reject)


@app.command()
def rescreen(
    since: Annotated[
        str | None,
        typer.Option("--since", help="Re-screen lines scored from this date (default: 180 days)."),
    ] = None,
) -> None:
    """Re-screen past lines against the reference changes not re-screened yet; raise alerts."""
    from pipelines.alerts_cli import rescreen as run

    run(since)


if __name__ == "__main__":  # pragma: no cover
    app()
