"""How ``flrisk`` answers a mistake: one or two plain lines and a non-zero exit, no traceback.

Commands never catch errors themselves. The core and the pipelines raise domain errors
(:class:`models.errors.UserError` and its kinds: a contract problem, an unknown model, a bad
configuration...) where the problem is found, each with a message saying what is wrong and a
hint saying what to do. :class:`PlainErrors`, the command group of ``flrisk``, turns them
into words in this one place:

    flrisk: error: cannot read data/later.csv: No such file or directory
    flrisk: Check the path (relative paths start from the current folder) ...

``--debug`` (a global option) or ``FLRISK_DEBUG=1`` prints the traceback as well.
Anything else that escapes a command is a bug, said as such in two lines.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from models.errors import UserError

DEBUG_ENV = "FLRISK_DEBUG"
PREFIX = "flrisk:"
EXIT_ERROR = 1


class InputFileError(UserError):
    """A file named on the command line is missing, a folder, or unreadable."""

    hint = "Check the path (relative paths start from the current folder) and its permissions."


class OutputFileError(UserError):
    """A file the command must write cannot be written."""

    hint = "Choose a path in a folder you can write to."


def check_inputs(**named: Path | Iterable[Path] | None) -> None:
    """Refuse, before anything slow starts (loading a model), an input file that cannot be read.

    Args:
        named: Option name (``data``, ``mapping``, ``truth``...) -> a path, several, or None.

    Raises:
        InputFileError: The first path that is missing, a folder or unreadable, with the
            option that named it.
    """
    for option, value in named.items():
        paths = [] if value is None else [value] if isinstance(value, Path) else list(value)
        for path in paths:
            flag = f"--{option.replace('_', '-')}"
            if not path.exists():
                raise InputFileError(f"{flag} {path}: no such file")
            if path.is_dir():
                raise InputFileError(f"{flag} {path}: is a folder, not a file")
            if not os.access(path, os.R_OK):
                raise InputFileError(f"{flag} {path}: not readable (permission denied)")


def check_output(option: str, path: Path) -> None:
    """Refuse an output path whose folder exists but cannot be written (or that is a folder).

    Raises:
        OutputFileError: The path is a folder, or its nearest existing folder is read-only.
    """
    if path.is_dir():
        raise OutputFileError(f"--{option} {path}: is a folder; give a file name")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not os.access(folder, os.W_OK):
        raise OutputFileError(f"--{option} {path}: cannot write in {folder} (permission denied)")


def debug_wanted(ctx: typer.Context | None) -> bool:
    """``--debug`` on the command line, or ``FLRISK_DEBUG`` set to a true value."""
    if ctx is not None and ctx.params.get("debug"):
        return True
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def describe(exc: BaseException) -> tuple[str, str]:
    """What went wrong and what to do, in words: ``(message, hint)``."""
    if isinstance(exc, UserError):
        return exc.headline(), exc.hint
    if isinstance(exc, OSError) and exc.filename is not None:
        return (
            f"{exc.filename}: {exc.strerror or exc}",
            "Check the path and its permissions (relative paths start from the current folder).",
        )
    if type(exc).__module__.startswith("mlflow"):
        message = str(getattr(exc, "message", exc)).strip().splitlines()
        return (
            f"the MLflow store answered: {message[0] if message else type(exc).__name__}",
            "Check MLFLOW_TRACKING_URI (default: mlflow.db in the data folder, FLRISK_DATA_DIR).",
        )
    first = str(exc).strip().splitlines()
    return (
        f"unexpected error: {type(exc).__name__}: {first[0] if first else ''}".rstrip(": "),
        f"This looks like a bug in flrisk: run again with --debug (or {DEBUG_ENV}=1) to see "
        "the traceback, and report it with the command you ran.",
    )


def report(exc: BaseException, debug: bool) -> int:
    """Print ``exc`` in words on stderr (with the traceback when ``debug``); the exit code."""
    if debug:
        typer.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
    message, hint = describe(exc)
    typer.echo(f"{PREFIX} error: {message}", err=True)
    if hint:
        typer.echo(f"{PREFIX} hint: {hint}", err=True)
    return EXIT_ERROR


class PlainErrors(TyperGroup):
    """The ``flrisk`` group: runs the command and answers any error in words (see module doc).

    Typer's and Click's own signals (exit, abort, usage errors) pass through untouched: they
    are already plain.
    """

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        """Run the command; an error becomes :func:`report` and a non-zero exit."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:
            raise typer.Exit(report(exc, debug_wanted(ctx))) from None
