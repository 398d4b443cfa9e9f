"""``flrisk alerts list|partners``, ``flrisk rescreen`` and ``flrisk reference approve|reject``.

Re-screening reads the store the server writes (``FLRISK_AUDIT_URL``, default the data
folder's ``audit.db``) and the reference versions under the reference root; the alerts it
raises are the ones the server would raise (the same keys), so running both is harmless.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any

import typer

app = typer.Typer(help="Trade alerts raised by re-screens after reference changes.",
                  no_args_is_help=True)  # fmt: skip


def _store() -> Any:
    from models.settings import get_settings
    from models.store import AuditStore

    store = AuditStore(get_settings().audit_store_url())
    store.create()
    return store


@app.command("list")
def list_alerts(
    status: Annotated[
        str | None, typer.Option("--status", help="new or acknowledged (default: all).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Alerts raised from this date or ISO time.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    kind: Annotated[
        str | None, typer.Option("--kind", help="presumed, matched, partner or drift.")
    ] = None,
) -> None:
    """List alerts, newest first: line, party, entity, list, kind, scores then and now."""
    from models.alerts.messages import alert_json
    from models.store import Alerts

    if status not in (None, "new", "acknowledged"):
        raise typer.BadParameter("--status must be new or acknowledged")
    if kind not in (None, "presumed", "matched", "partner", "drift"):
        raise typer.BadParameter("--kind must be presumed, matched, partner or drift")
    rows = [alert_json(r) for r in Alerts(_store()).recent(since, status, kind=kind)]
    for a in rows:
        if as_json:
            typer.echo(json.dumps(a, ensure_ascii=False))
            continue
        if a["kind"] == "drift":
            moved = ", ".join(f"{m['measure']} PSI {m['psi']:.3f}" for m in a["measures"])
            typer.echo(
                f"#{a['id']} {a['status']:<12} drift    model {a['model_version']} episode "
                f"{a['episode']}: {moved} (threshold {a['threshold']}, "
                f"{a['window'].get('lines')} lines)"
            )
            continue
        now = "-" if a["score_now"] is None else f"{a['score_now']:.3f}"
        then = "-" if a["score_then"] is None else f"{a['score_then']:.3f}"
        typer.echo(
            f"#{a['id']} {a['status']:<12} {a['kind']:<8} {a['entry_id']}/{a['line_no']} "
            f"{a['party_role']} '{a['party_name']}' -> {a['entity_id']} {a['entity_name']} "
            f"({a['list']}, {a['effective_date']}, similarity {a['similarity']:.0f}) "
            f"score {then} -> {now} [ref {a['reference_version']}]"
        )
    if not as_json:
        typer.echo(f"{len(rows)} alert(s)")


@app.command("partners")
def partners(
    status: Annotated[
        str | None, typer.Option("--status", help="pending, approved or rejected.")
    ] = "pending",
) -> None:
    """List partner alerts received (default: those pending an admin's decision)."""
    from models.store import PartnerChanges

    rows = PartnerChanges(_store()).recent(status)
    for r in rows:
        p = json.loads(r["payload_json"])
        typer.echo(
            f"#{r['id']} {r['status']:<9} {r['authority']}: {p['entity']} "
            f"({p.get('basis', '')}, {p['effective_date']}) from key {r['source']}"
        )
    typer.echo(f"{len(rows)} partner alert(s)")


def rescreen(since: str | None) -> None:
    """``flrisk rescreen``: re-screen from the version last re-screened to the current one."""
    from models.alerts.rescreen import catch_up
    from models.reference.snapshot import current_snapshot
    from models.reference.tables import reference_root
    from models.reference.versions import list_versions
    from models.settings import get_settings

    settings = get_settings()
    root = reference_root()
    current = current_snapshot()
    published = list_versions(root)
    # Nothing re-screened yet: compare with the version before the current one.
    before = [v for v in published if v < current.version]
    first = before[-1] if before else ("shipped" if current.version != "shipped" else None)
    when = _since(since)
    result = catch_up(
        _store(), current, root, first=first, since=when, days=settings.rescreen_days,
        rescore=_rescorer(settings), webhook_urls=settings.webhook_urls,
        partner_urls=settings.partner_webhook_urls, who="flrisk-rescreen",
    )  # fmt: skip
    if result is None:
        typer.echo(f"reference {current.version} was re-screened already: nothing to do")
        return
    typer.echo(
        f"re-screened {result.names} distinct names against reference {current.version} "
        f"in {result.seconds:.2f}s: {len(result.alerts)} new alert(s), "
        f"{result.actions} enforcement action(s) published"
    )


def _since(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).isoformat() if "T" in value else (
            date.fromisoformat(value).isoformat())  # fmt: skip
    except ValueError:
        raise typer.BadParameter(f"--since {value!r} is not a date (YYYY-MM-DD)") from None


def _rescorer(settings: Any) -> Any:
    """Scores lines with the champion model, loaded on first use (only when lines alert)."""
    import pandas as pd

    from models.contract.validate import validate_lines
    from models.scoring.lookup import fetch_bundle, resolve
    from models.scoring.scorer import Scorer

    loaded: list[Any] = []

    def rescore(inputs: list[dict[str, Any]], reference: Any) -> list[float]:
        if not loaded:
            try:
                uri = f"models:/{settings.model_name}@{settings.model_alias}"
                resolved = resolve(uri, settings)
                loaded.append(Scorer(fetch_bundle(resolved, settings), version=resolved.uri))
            except Exception:
                typer.echo("no model could be loaded: alerts carry no new score", err=True)
                raise
        scorer = loaded[0]
        frame = pd.DataFrame(inputs).astype(object)
        read = validate_lines(frame, passthrough=dict(scorer.bundle.state.passthrough))
        scored = scorer.score(read.lines, reasons=0, reference=reference)
        return [float(s) for s in scored.risk_score]

    return rescore


def approve(change_id: int, reject: bool = False) -> None:
    """``flrisk reference approve|reject ID``: decide a pending partner alert."""
    import getpass

    from models.alerts import partner

    who = f"cli:{getpass.getuser()}"
    store = _store()
    if reject:
        partner.reject(store, change_id, who)
        typer.echo(f"rejected partner alert {change_id}")
        return
    version = partner.approve(store, change_id, who)
    typer.echo(
        f"approved partner alert {change_id}: reference version {version} "
        "(a running server re-screens with it; else run `flrisk rescreen`)"
    )
