"""``flrisk shadow-report``: how the shadow challenger compares with the champion.

Reads the shadow scores the server kept (``FLRISK_SHADOW_ALIAS``) from the audit store, with
the outcomes recorded since, and prints one block per champion and challenger pair (see
:mod:`models.shadow_report` for what each figure means).
"""

from __future__ import annotations

from datetime import date

import typer

from models.errors import UserError
from models.settings import get_settings
from models.shadow_report import ShadowFigures, shadow_figures
from models.store import AuditStore, ShadowScores


class BadDateError(UserError):
    """A date option is not a date."""

    hint = "Give the date as YYYY-MM-DD, e.g. --since 2026-01-31."


def parse_since(since: str | None) -> str | None:
    """``since`` checked as an ISO date (the store's time stamps sort as ISO text).

    Raises:
        BadDateError: It is not a YYYY-MM-DD date.
    """
    if since is None:
        return None
    try:
        return date.fromisoformat(since).isoformat()
    except ValueError:
        raise BadDateError(f"--since {since!r} is not a date") from None


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def render(fig: ShadowFigures) -> str:
    """One pair's figures as text."""
    rho = "–" if fig.spearman is None else f"{fig.spearman:.3f}"
    c, s = fig.champion_precision, fig.challenger_precision
    return "\n".join(
        [
            f"challenger {fig.challenger} beside champion {fig.champion}",
            f"  lines scored by both    {fig.lines:,} ({fig.first[:19]} .. {fig.last[:19]})",
            f"  same risk band          {fig.band_agreement:.1%}",
            f"  rank correlation        {rho} (Spearman)",
            f"  top-{fig.k} overlap          {fig.top_overlap:.1%}",
            f"  lines with an outcome   {fig.with_outcome:,}",
            f"  champion precision      {_pct(c.value)} ({c.violations} of {c.judged} of its "
            f"top {fig.k} with an outcome)",
            f"  challenger precision    {_pct(s.value)} ({s.violations} of {s.judged} of its "
            f"top {fig.k} with an outcome)",
        ]
    )


def shadow_report_command(since: str | None, top_share: float) -> list[ShadowFigures]:
    """``flrisk shadow-report``: print every pair's figures; return them."""
    start = parse_since(since)
    store = AuditStore(get_settings().audit_store_url())
    try:
        figures = shadow_figures(ShadowScores(store).with_outcomes(start), top_share)
    finally:
        store.dispose()
    if not figures:
        typer.echo(
            "no shadow scores" + (f" since {start}" if start else "")
            + ": serve with FLRISK_SHADOW_ALIAS set (e.g. challenger) to keep them"
        )  # fmt: skip
    for fig in figures:
        typer.echo(render(fig) + "\n")
    return figures
