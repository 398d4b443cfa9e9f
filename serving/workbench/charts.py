"""Charts and highlights drawn on the server as escaped markup (no script, no remote assets).

The waterfall is inline SVG using presentation attributes only (the app's CSP forbids inline
styles). Every bar carries its label and signed value as text, and rising/falling bars use
different fill patterns, so the chart is readable without colour and by screen readers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

MAX_BARS = 8
ROW_H = 26
LABEL_W = 230
PLOT_W = 400
VALUE_W = 70
PAD = 10
PROB_TICKS = (0.01, 0.05, 0.2, 0.5, 0.8, 0.95)


@dataclass(frozen=True)
class Step:
    """One bar of the waterfall: a reason group and its contribution in log-odds."""

    label: str
    value: float


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


NO_EVIDENCE = "without evidence in the line"


def steps_for(
    reasons: Sequence[dict[str, object]], rest: float = 0.0, max_bars: int = MAX_BARS
) -> list[Step]:
    """The largest contributions as bars; the rest summed into one "other factors" bar.

    ``rest`` is what the model added from groups with no evidence in the line (undeclared
    fields, parties never inspected): drawn as its own last bar, so the bars still add up
    to the line's score without being shown as reasons.
    """
    items = sorted(
        (Step(str(r["code"]).replace("_", " "), float(r["contribution"])) for r in reasons),  # type: ignore[arg-type]
        key=lambda s: -abs(s.value),
    )
    head, tail = items[:max_bars], items[max_bars:]
    if tail:
        head.append(Step(f"{len(tail)} other factors", sum(s.value for s in tail)))
    if abs(rest) >= 0.005:
        head.append(Step(NO_EVIDENCE, rest))
    return head


def _signed(v: float) -> str:
    # A real minus sign reads better than a hyphen and is announced as "minus".
    return f"+{v:.2f}" if v >= 0 else f"\u2212{abs(v):.2f}"


def waterfall_svg(base: float, steps: Sequence[Step], a: float, b: float, title: str) -> Markup:
    """A horizontal waterfall from the model's baseline to this line's score.

    Args:
        base: Baseline log-odds (the model's average before any evidence).
        steps: Contributions in log-odds, drawn in order.
        a: Calibration slope (probability = sigmoid(a * margin + b)).
        b: Calibration intercept.
        title: Accessible title of the chart.

    Returns:
        Safe SVG markup.
    """
    totals = [base]
    for s in steps:
        totals.append(totals[-1] + s.value)
    lo, hi = min(totals), max(totals)
    ticks = [((_logit(p) - b) / a, p) for p in PROB_TICKS] if a > 0 else []
    ticks = [(m, p) for m, p in ticks if lo - 1.0 <= m <= hi + 1.0]
    lo = min([lo, *(m for m, _ in ticks)]) - 0.2
    hi = max([hi, *(m for m, _ in ticks)]) + 0.2
    span = hi - lo or 1.0

    def x(v: float) -> float:
        return LABEL_W + (v - lo) / span * PLOT_W

    n_rows = len(steps) + 2
    height = PAD * 2 + ROW_H * n_rows + 30
    width = LABEL_W + PLOT_W + VALUE_W
    out: list[str] = [
        f'<svg class="waterfall" role="img" aria-labelledby="wf-t" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="wf-t">{escape(title)}</title>',
        "<defs>"
        '<pattern id="up" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f6d4cf"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#9b1c1c" stroke-width="3"/></pattern>'
        '<pattern id="down" width="6" height="6" patternUnits="userSpaceOnUse">'
        '<rect width="6" height="6" fill="#d5e4f5"/>'
        '<circle cx="3" cy="3" r="1.4" fill="#1e4e8c"/></pattern>'
        "</defs>",
    ]
    for m, p in ticks:
        out.append(
            f'<line x1="{x(m):.1f}" y1="{PAD}" x2="{x(m):.1f}" y2="{height - 24}" '
            'stroke="#999" stroke-dasharray="2 3"/>'
            f'<text x="{x(m):.1f}" y="{height - 8}" font-size="11" text-anchor="middle" '
            f'fill="#333">{p:.0%}</text>'
        )
    y = PAD

    def row(label: str, x0: float, x1: float, fill: str, value: str) -> None:
        nonlocal y
        left, w = min(x0, x1), max(abs(x1 - x0), 2.0)
        out.append(
            f'<g><text x="{LABEL_W - 8}" y="{y + 17}" font-size="13" text-anchor="end" '
            f'fill="#111">{escape(label)}</text>'
            f'<rect x="{left:.1f}" y="{y + 4}" width="{w:.1f}" height="{ROW_H - 8}" '
            f'fill="{fill}" stroke="#222" stroke-width="1"/>'
            f'<text x="{LABEL_W + PLOT_W + 6}" y="{y + 17}" font-size="13" '
            f'fill="#111">{escape(value)}</text></g>'
        )
        y += ROW_H

    row("baseline (average line)", x(lo), x(base), "#e5e5e5", f"{base:.2f}")
    for s, t0, t1 in zip(steps, totals[:-1], totals[1:], strict=True):
        row(s.label, x(t0), x(t1), "url(#up)" if s.value >= 0 else "url(#down)", _signed(s.value))
    final = totals[-1]
    prob = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, a * final + b))))
    row("this line", x(lo), x(final), "#bbbbbb", f"{prob:.1%}")
    out.append(
        f'<text x="{LABEL_W}" y="{height - 8}" font-size="11" text-anchor="end" fill="#333">'
        "risk:</text></svg>"
    )
    return Markup("".join(out))  # noqa: S704  every dynamic piece above is escaped or numeric


def highlight(text: str | None, terms: Sequence[str]) -> Markup:
    """``text`` escaped, with each occurrence of a term (case-insensitive) in ``<mark>``."""
    if not text:
        return Markup("")
    words = sorted({t for t in terms if t and t.strip()}, key=len, reverse=True)
    if not words:
        return escape(text)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    parts: list[str] = []
    pos = 0
    for m in pattern.finditer(text):
        parts.append(str(escape(text[pos : m.start()])))
        parts.append(f"<mark>{escape(m.group(0))}</mark>")
        pos = m.end()
    parts.append(str(escape(text[pos:])))
    return Markup("".join(parts))  # noqa: S704  pieces escaped above


def value_range_svg(unit: float, typical: float) -> Markup:
    """A small log-scale strip: the typical unit value and this line's, with text labels."""
    if unit <= 0 or typical <= 0:
        return Markup("")
    lo = min(unit, typical) / 3.0
    hi = max(unit, typical) * 3.0
    span = math.log(hi / lo)

    def x(v: float) -> float:
        return 10 + math.log(v / lo) / span * 380

    return Markup(  # noqa: S704  only numbers are interpolated
        '<svg class="range" role="img" aria-label="unit value against typical" '
        'viewBox="0 0 400 56" width="100%" xmlns="http://www.w3.org/2000/svg">'
        '<line x1="10" y1="28" x2="390" y2="28" stroke="#555" stroke-width="2"/>'
        f'<rect x="{x(typical / 2):.1f}" y="20" width="{x(typical * 2) - x(typical / 2):.1f}" '
        'height="16" fill="#dddddd" stroke="#555"/>'
        f'<line x1="{x(typical):.1f}" y1="14" x2="{x(typical):.1f}" y2="42" stroke="#111" '
        'stroke-width="2"/>'
        f'<text x="{x(typical):.1f}" y="11" font-size="11" text-anchor="middle">typical '
        f"${typical:,.2f}</text>"
        f'<polygon points="{x(unit):.1f},36 {x(unit) - 6:.1f},50 {x(unit) + 6:.1f},50" '
        'fill="#9b1c1c"/>'
        f'<text x="{min(max(x(unit), 60), 340):.1f}" y="55" font-size="11" '
        f'text-anchor="middle">this line ${unit:,.2f}</text></svg>'
    )
