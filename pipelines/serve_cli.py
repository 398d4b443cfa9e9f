"""What ``flrisk serve`` does around the server: a free port first, a plain "ready" block last.

The server itself is ``serving.app:create_app`` run by uvicorn (``pipelines/cli.py``); this
module never imports serving. It checks the port before anything starts (a second
``make run`` says the port is taken, in words), creates the first API key when there is none
(so the block can show it), and prints a short block once the server answers: the URL, the
key, how to sign in, how to get a new key.
"""

from __future__ import annotations

import errno
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import typer

from models.errors import UserError
from models.keys import SCOPES, bootstrap_admin_key

READY_WAIT_S = 300.0  # the model may take a while to load on a busy machine
RULE = "-" * 72


class PortInUseError(UserError):
    """Another process already listens on the port."""


class CannotListenError(UserError):
    """The address cannot be listened on (not this machine's, or a privileged port)."""

    hint = "Use --host 127.0.0.1 and a port above 1023, e.g. --port 8000."


def _probe_host(host: str) -> str:
    """The address to reach a server listening on ``host`` from this machine."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - an address to connect to, not to bind
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def base_url(host: str, port: int) -> str:
    """The URL a person on this machine opens."""
    return f"http://{_probe_host(host)}:{port}"


def _get_json(url: str, timeout: float) -> tuple[int, dict[str, object]] | None:
    """Status and JSON body of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - http only
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"{}")
        except ValueError:
            return exc.code, {}
    except (OSError, ValueError):
        return None


def check_port(host: str, port: int) -> None:
    """Refuse to start when ``host:port`` cannot be listened on, saying why and what to do.

    Raises:
        PortInUseError: Something listens there already (flrisk itself, when it answers).
        CannotListenError: Any other reason the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As uvicorn binds: a port left in TIME_WAIT by a stopped server is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise CannotListenError(
                    f"cannot listen on {host}:{port}: {exc.strerror or exc}"
                ) from exc
            url = base_url(host, port)
            answer = _get_json(f"{url}/healthz", timeout=2.0)
            who = (
                f"flrisk is already running there: open {url}"
                if answer is not None and answer[1].get("status") == "ok"
                else "another program is using it"
            )
            raise PortInUseError(
                f"port {port} on {host} is already in use ({who})",
                "Stop the other server (Ctrl+C in its terminal), or serve on another port: "
                f"flrisk serve --port {port + 1} (make run PORT={port + 1}).",
            ) from exc


def first_key(keys_path: Path, bootstrap: bool) -> str | None:
    """The all-scope ``admin`` key, created now when no keys file exists (else None)."""
    return bootstrap_admin_key(keys_path) if bootstrap else None


def ready_block(
    url: str, status: dict[str, object] | None, key: str | None, keys_path: Path, prog: str
) -> str:
    """The block printed once the server answers: URL, model, key, sign-in, a new key."""
    if status is None:
        state = "the server did not answer yet; it may still be starting"
    elif status.get("status") == "ready":
        m = status.get("model")
        m = m if isinstance(m, dict) else {}
        alias = f" (@{m['alias']})" if m.get("alias") else ""
        state = f"ready, serving models:/{m.get('name', '?')}/{m.get('version', '?')}{alias}"
    else:
        state = f"up but not ready: {status.get('detail', 'see /readyz')}"
    if key:
        key_lines = [
            f"  key       {key}",
            f"            (admin, all scopes; shown only now, stored hashed in {keys_path})",
        ]
    elif keys_path.exists():
        key_lines = [
            "  key       the one shown when it was created (the first run shows an 'admin'",
            f"            key); keys are stored hashed in {keys_path}, never shown again",
        ]
    else:
        key_lines = [f"  key       none yet ({keys_path} does not exist): create one as below"]
    lines = [
        "",
        RULE,
        f"flrisk is {state}",
        f"  open      {url}",
        *key_lines,
        '  sign in   open the page, paste the key into "API key", press Sign in',
        f"  new key   {prog} keys create YOUR-NAME --scope score --scope feedback",
        f"            prints a new key (scopes: {', '.join(SCOPES)}); `keys revoke admin` retires",
        "            a lost one",
        f"  API       curl -H 'Authorization: Bearer KEY' {url}/v1/model   (docs/api.md)",
        "  stop      Ctrl+C",
        RULE,
        "",
    ]
    return "\n".join(lines)


def announce_when_ready(
    server: Any,
    host: str,
    port: int,
    key: str | None,
    keys_path: Path,
    prog: str,
    wait_s: float = READY_WAIT_S,
) -> threading.Thread:
    """Print :func:`ready_block` once ``server`` (a ``uvicorn.Server``) has started.

    Printed from a daemon thread after uvicorn's own start-up lines, so the block is the
    last thing on the terminal. A server that never starts (its port taken meanwhile) prints
    nothing: another process answering on the port is not this one.
    """
    url = base_url(host, port)

    def wait_and_print() -> None:
        deadline = time.monotonic() + wait_s
        while not server.started:
            if server.should_exit or time.monotonic() > deadline:
                return
            time.sleep(0.1)
        time.sleep(0.2)  # let uvicorn's "running on" line land first
        answer = _get_json(f"{url}/readyz", timeout=10.0)
        typer.echo(ready_block(url, answer[1] if answer else None, key, keys_path, prog))

    thread = threading.Thread(target=wait_and_print, name="flrisk-ready", daemon=True)
    thread.start()
    return thread


def key_not_shown(server: Any, key: str | None, keys_path: Path) -> None:
    """A key created for a server that never started is printed anyway: it exists."""
    if key and not server.started:
        typer.echo(
            f"flrisk: the server did not start; the admin key created for it is\n    {key}\n"
            f"(all scopes, stored hashed in {keys_path}; shown only now)",
            err=True,
        )
