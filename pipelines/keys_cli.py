"""``flrisk keys``: create, list and revoke the API keys of the server and the workbench.

Keys live hashed in the keys file (``FLRISK_API_KEYS_FILE``; default ``api_keys.json`` in the
data folder); a running server re-reads it on change, so a key created or revoked here works,
or stops working, from its next request. The logic is :mod:`models.keys`, shared with serving.
"""

from __future__ import annotations

from typing import Annotated

import typer

from models.keys import SCOPES, create_key, list_keys, revoke_key
from models.settings import get_settings

keys_app = typer.Typer(
    help="API keys for the API and the workbench: create, list, revoke.", no_args_is_help=True
)


@keys_app.command("create")
def create(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="Who holds the key (written to audit rows).")
    ],
    scope: Annotated[
        list[str],
        typer.Option("--scope", help=f"What the key may do, repeated: {', '.join(SCOPES)}."),
    ],
) -> None:
    """Create a key and print it: the last line is the key (shown only now), for scripts."""
    path = get_settings().keys_path()
    key = create_key(path, name, scope)
    info = next(k for k in list_keys(path) if k.name == name)
    typer.echo(
        f"created key '{name}' (ref {info.ref}; scopes {', '.join(info.scopes)}) in {path}.\n"
        "It is shown only now; send it as 'Authorization: Bearer <key>' or paste it into the "
        "workbench's sign-in page:",
        err=True,
    )
    typer.echo(key)


@keys_app.command("list")
def list_() -> None:
    """List the keys: name, reference, scopes, created, revoked (never a key or its hash)."""
    path = get_settings().keys_path()
    keys = list_keys(path)
    if not keys:
        typer.echo(f"no keys in {path}; create one with `flrisk keys create NAME --scope score`")
        return
    rows = [("name", "ref", "scopes", "created", "status")] + [
        (
            k.name,
            k.ref,
            ",".join(k.scopes),
            k.created,
            f"revoked {k.revoked}" if k.revoked else "active",
        )
        for k in keys
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())


@keys_app.command("revoke")
def revoke(
    key: Annotated[
        str,
        typer.Argument(metavar="NAME_OR_REF", help="The key's name, or its reference (keys list)."),
    ],
) -> None:
    """Revoke a key: a running server refuses it from its next request."""
    path = get_settings().keys_path()
    info = revoke_key(path, key)
    typer.echo(
        f"revoked key '{info.name}' (ref {info.ref}) on {info.revoked}: the API and the "
        "workbench refuse it from their next request."
    )
