"""Party profiles: an importer, manufacturer or shipper across every scored line, and its summary.

The profile is the API's (:mod:`serving.parties`); worklist rows and entry pages link here.
Reading a profile and exporting a summary are audited (``party_view``, ``party_export``).
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

from models.parties import KINDS, Profile, UnknownKindError
from serving.deps import StoreDep, new_request_id
from serving.parties import (
    BadPeriodError,
    audit_party,
    party_profile,
    period_of,
    summary_csv,
)
from serving.workbench.deps import PartiesSession
from serving.workbench.pages import PageError, render

router = APIRouter(include_in_schema=False)
BAR_W, BAR_H, CHART_H = 18, 120, 150


async def _load(
    request: Request, store: StoreDep, kind: str, key: str
) -> tuple[Profile, tuple[str, str] | None]:
    q = request.query_params
    try:
        period = period_of(q.get("from") or None, q.get("to") or None)
        profile = await run_in_threadpool(party_profile, store, kind, key, period)
    except UnknownKindError as exc:
        raise PageError(404, "No such kind of party", f"Parties are: {', '.join(KINDS)}.") from exc
    except BadPeriodError as exc:
        raise PageError(422, "Period not understood", str(exc)) from exc
    return profile, period


def months_svg(months: list[dict[str, object]]) -> Markup:
    """Lines per month as bars (presentation attributes only: the CSP forbids styles)."""
    if not months:
        return Markup("")
    top = max(int(m["lines"]) for m in months) or 1  # type: ignore[call-overload]
    width = len(months) * (BAR_W + 6) + 10
    parts = [
        f'<svg class="months" role="img" viewBox="0 0 {width} {CHART_H}" width="{width}" '
        f'height="{CHART_H}" aria-label="Lines per month">'
    ]
    for i, m in enumerate(months):
        n = int(m["lines"])  # type: ignore[call-overload]
        h = max(1, round(BAR_H * n / top))
        x = 5 + i * (BAR_W + 6)
        label = escape(f"{m['month']}: {n} lines, {m['violations']} violations")
        parts.append(
            f'<g><title>{label}</title><rect x="{x}" y="{BAR_H - h + 5}" width="{BAR_W}" '
            f'height="{h}" fill="#1f4e79"></rect>'
            f'<text x="{x + BAR_W / 2}" y="{CHART_H - 5}" font-size="9" '
            f'text-anchor="middle">{escape(str(m["month"])[2:])}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704  every dynamic piece above is escaped or numeric


@router.get("/parties/{kind}/{key:path}/summary.csv")
async def party_summary(
    request: Request, kind: str, key: str, session: PartiesSession, store: StoreDep
) -> Response:
    """The party's summary over the period asked for, as CSV (for a referral)."""
    profile, period = await _load(request, store, kind, key)
    text = await run_in_threadpool(summary_csv, profile, period)
    detail = {"kind": kind, "key": key, "from": request.query_params.get("from"),
              "to": request.query_params.get("to"), "lines": len(profile.lines)}  # fmt: skip
    await run_in_threadpool(
        audit_party, store, new_request_id(), session.key_id, "party_export", detail
    )
    name = quote(f"{kind}-summary.csv")
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/parties/{kind}/{key:path}")
async def party(
    request: Request, kind: str, key: str, session: PartiesSession, store: StoreDep
) -> Response:
    """Lines over time, outcomes, list matches, presumption, the spellings seen."""
    profile, period = await _load(request, store, kind, key)
    detail = {"kind": kind, "key": key, "from": request.query_params.get("from"),
              "to": request.query_params.get("to")}  # fmt: skip
    await run_in_threadpool(
        audit_party, store, new_request_id(), session.key_id, "party_view", detail
    )
    base = f"/parties/{quote(kind)}/{quote(key, safe='')}"
    export = f"{base}/summary.csv?" + urlencode(
        {k: v for k, v in request.query_params.items() if k in ("from", "to")}
    )
    return render(
        request, "party.html",
        {"p": profile, "kind": kind, "key": key, "period": period, "base": base,
         "export": export, "chart": months_svg(profile.months)},
    )  # fmt: skip
