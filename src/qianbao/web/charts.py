"""Charts drawn on the server as inline SVG (no chart library, no script): a donut of a month's
spending by category and a bar chart of the months' totals.

Pure functions of already formatted data (labels translated, amounts written by the caller): the
charts only place them. The colours are classes (``seg-food``, ``bar current``) that
``static/css/insights.css`` paints with the design tokens — the pages' CSP allows no inline
styles. Each chart has a ``<title>`` and a ``<desc>`` (or, for the bars, one link per month
with its label), text labels, and an empty state when there is nothing to draw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class Slice:
    key: str  # the class suffix: seg-<key>
    label: str
    value: int  # drawn when positive
    value_text: str  # the amount as the page writes it
    share_text: str = ""  # "45.2%"


@dataclass(frozen=True)
class Bar:
    label: str  # under the bar ("7月", "Jul")
    value: int  # drawn when positive
    value_text: str  # above the bar (short: "¥1.2千")
    full_text: str  # the bar's <title>: its link's name and tooltip ("2026年7月：¥1,234.00")
    href: str | None = None
    current: bool = False


def _n(value: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _fit(text: str, most: int) -> str:
    """A text longer than ``most`` characters is squeezed into the ring's hole (108 units)."""
    return ' textLength="108" lengthAdjust="spacingAndGlyphs"' if len(text) > most else ""


def _size_class(text: str) -> str:
    return "big" if len(text) <= 9 else "mid" if len(text) <= 13 else "small"


def donut(
    slices: Sequence[Slice],
    *,
    chart_id: str,
    title: str,
    center_text: str,
    center_sub: str,
    empty_text: str,
) -> Markup:
    """A ring of the positive slices (largest first as given), the total in its middle."""
    chart_id = str(escape(chart_id))
    drawn = [s for s in slices if s.value > 0]
    whole = sum(s.value for s in drawn)
    c, r, w = 100, 70, 26
    parts = [
        f'<svg xmlns="{SVG_NS}" class="chart donut{" empty" if not drawn else ""}" '
        f'viewBox="0 0 200 200" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'focusable="false">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
    ]
    if drawn:
        desc = "; ".join(f"{s.label} {s.value_text} {s.share_text}".strip() for s in drawn)
        parts.append(f'<desc id="{chart_id}-d">{escape(desc)}</desc>')
    else:
        parts.append(f'<desc id="{chart_id}-d">{escape(empty_text)}</desc>')
    parts.append(
        f'<circle class="donut-track" cx="{c}" cy="{c}" r="{r}" fill="none" stroke-width="{w}"/>'
    )
    if drawn:
        parts.append(f'<g transform="rotate(-90 {c} {c})">')
        done = 0
        for s in drawn:
            length = s.value * 100 / whole
            gap = 0.6 if len(drawn) > 1 and length > 1.2 else 0  # a hairline between slices
            parts.append(
                f'<circle class="seg seg-{escape(s.key)}" cx="{c}" cy="{c}" r="{r}" fill="none" '
                f'stroke-width="{w}" pathLength="100" '
                f'stroke-dasharray="{_n(length - gap)} {_n(100 - length + gap)}" '
                f'stroke-dashoffset="{_n(-done * 100 / whole)}">'
                f"<title>{escape(f'{s.label} {s.value_text} {s.share_text}'.strip())}</title>"
                "</circle>"
            )
            done += s.value
        parts.append("</g>")
        parts.append(
            f'<text class="donut-total {_size_class(center_text)}" x="{c}" y="{c - 2}" '
            f'text-anchor="middle"{_fit(center_text, 12)}>{escape(center_text)}</text>'
        )
        parts.append(
            f'<text class="donut-sub" x="{c}" y="{c + 20}" text-anchor="middle"'
            f"{_fit(center_sub, 14)}>{escape(center_sub)}</text>"
        )
    else:
        parts.append(
            f'<text class="donut-empty" x="{c}" y="{c + 5}" text-anchor="middle">'
            f"{escape(empty_text)}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped


def bars(
    items: Sequence[Bar],
    *,
    chart_id: str,
    title: str,
    empty_text: str,
    width: int = 320,
    height: int = 180,
) -> Markup:
    """One bar per month (oldest first as given), its amount above it and its label under it;
    a month with a link is a tap target the whole height of its column."""
    chart_id = str(escape(chart_id))
    top, bottom = 24, 26
    area = height - top - bottom
    highest = max((b.value for b in items), default=0)
    slot = width / max(1, len(items))
    bar_w = min(slot * 0.56, 40)
    parts = [
        f'<svg xmlns="{SVG_NS}" class="chart bars{" empty" if highest <= 0 else ""}" '
        f'viewBox="0 0 {width} {height}" role="group" aria-labelledby="{chart_id}-t" '
        f'focusable="false">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<line class="bars-base" x1="0" x2="{width}" y1="{top + area}" y2="{top + area}"/>',
    ]
    for i, b in enumerate(items):
        x = i * slot
        h = b.value * area / highest if highest > 0 and b.value > 0 else 0
        cls = "bar current" if b.current else "bar"
        group = [
            f"<title>{escape(b.full_text)}</title>",
            f'<rect class="bar-hit" x="{_n(x)}" y="0" width="{_n(slot)}" height="{height}"/>',
        ]
        if h:
            group.append(
                f'<rect class="{cls}" x="{_n(x + (slot - bar_w) / 2)}" y="{_n(top + area - h)}" '
                f'width="{_n(bar_w)}" height="{_n(h)}" rx="4"/>'
            )
            group.append(
                f'<text class="bar-value{" current" if b.current else ""}" '
                f'x="{_n(x + slot / 2)}" y="{_n(top + area - h - 6)}" text-anchor="middle">'
                f"{escape(b.value_text)}</text>"
            )
        group.append(
            f'<text class="bar-label{" current" if b.current else ""}" x="{_n(x + slot / 2)}" '
            f'y="{height - 8}" text-anchor="middle">{escape(b.label)}</text>'
        )
        body = "".join(group)
        if b.href:
            current = ' aria-current="page"' if b.current else ""
            # Named by its <title> (the month and the whole amount), which holds the visible
            # label and short amount too.
            parts.append(f'<a href="{escape(b.href)}"{current}>{body}</a>')
        else:
            parts.append(f"<g>{body}</g>")
    if highest <= 0:
        parts.append(
            f'<text class="bars-empty" x="{width / 2:g}" y="{top + area / 2:g}" '
            f'text-anchor="middle">{escape(empty_text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped
