"""``flrisk check``: an importer's supplier list judged on the public lists, written to files.

Beside the report (``supplier_id, name, findings``) it writes the summary per tier
(``REPORT.tiers.csv``) and, when there are any, the rows left out (``REPORT.quarantine.csv``)
and the loops of ``supplies_to`` (``REPORT.cycles.csv``); it prints the summary.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from models.errors import UserError
from pipelines.cli_errors import check_inputs, check_output


class AsOfError(UserError, ValueError):
    """``--as-of`` is not a date."""

    hint = "Give the day as YYYY-MM-DD, e.g. --as-of 2025-01-31."


def sidecar(out: Path, kind: str) -> Path:
    """The file beside the report for ``kind`` (``tiers``, ``quarantine``, ``cycles``)."""
    return out.with_name(f"{out.stem}.{kind}.csv")


def check(
    suppliers: Annotated[
        Path, typer.Option("--suppliers", help="Supplier list (CSV or Parquet): supplier_id, "
                           "name, address, country [, hts_code, goods, tier, supplies_to].")
    ],
    out: Annotated[Path, typer.Option("--out", help="Report file (.csv or .parquet).")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Judge the lists as in force on this day "
                                 "(YYYY-MM-DD; default today).")
    ] = None,
) -> None:  # fmt: skip
    """Check a supplier list, at every tier, against the public forced-labour lists."""
    check_inputs(suppliers=suppliers)
    check_output("out", out)
    day = date.today()
    if as_of is not None:
        try:
            day = datetime.strptime(as_of, "%Y-%m-%d").date()
        except ValueError:
            raise AsOfError(f"--as-of {as_of!r} is not a date") from None
    from models.check.report import run_check
    from models.check.suppliers import read_suppliers

    report = run_check(read_suppliers(suppliers), day)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame = report.to_frame()
    if out.suffix.lower() in (".parquet", ".pq"):
        frame.to_parquet(out, index=False)
    else:
        frame.to_csv(out, index=False)
    tiers = report.tier_frame()
    tiers.to_csv(sidecar(out, "tiers"), index=False)
    typer.echo(f"{len(report.results)} suppliers checked against the lists in force on "
               f"{report.as_of}: {out}")  # fmt: skip
    typer.echo(tiers.to_string(index=False))
    for kind in ("quarantine", "cycles"):  # not left over from an earlier run
        sidecar(out, kind).unlink(missing_ok=True)
    if len(report.bad_rows):
        report.bad_rows.to_csv(sidecar(out, "quarantine"), index=False)
        rows = report.bad_rows["row"].nunique()
        typer.echo(f"{rows} row(s) left out, by row and column: {sidecar(out, 'quarantine')}")
    if report.cycles:
        import pandas as pd

        loops = pd.DataFrame({"cycle": [" -> ".join([*c, c[0]]) for c in report.cycles]})
        loops.to_csv(sidecar(out, "cycles"), index=False)
        typer.echo(f"{len(report.cycles)} loop(s) in supplies_to: {sidecar(out, 'cycles')}")
