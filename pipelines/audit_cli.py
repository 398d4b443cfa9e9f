"""``flrisk audit verify``: check the audit log's hash chain.

Each audit row carries a hash of its fields chained to the row before it
(:mod:`models.audit_chain`). ``verify`` walks the chain and names the first broken link (a
row changed, removed or written past the store), exiting 1; an intact chain prints its row
count and head hash, exiting 0. It only reads: run it beside a serving server.
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(
    help="The audit log: check that no row was changed or removed in the database.",
    no_args_is_help=True,
)


@app.command()
def verify(
    url: Annotated[
        str | None,
        typer.Option("--url", help="SQLAlchemy URL of the audit store (default: the server's)."),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option("--head", help="A head hash noted earlier: the chain must pass through it."),
    ] = None,
) -> None:
    """Walk the hash chain: the first broken link and exit 1, or the row count and exit 0."""
    from models.settings import get_settings
    from models.store import AuditStore, AuditUnavailableError

    store = AuditStore(url or get_settings().audit_store_url())
    try:
        verdict = store.verify(noted=head)
    except AuditUnavailableError as exc:
        typer.echo(f"cannot read the audit store: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        store.dispose()
    for line in verdict.report():
        typer.echo(line)
    if not verdict.ok:
        raise typer.Exit(1)
