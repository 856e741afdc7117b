"""The cash-points finder's plan (B5): the points and the customer drawn as SVG on the server —
a local flat projection around the customer (or the points' middle), rings of round distances,
north up, each point numbered as in the list. No map tiles, no script, nothing fetched."""

from __future__ import annotations

import math
from typing import Any

from markupsafe import Markup, escape

from qianbao.kernel.i18n import N_
from qianbao.web.i18n import gettext

WIDTH, HEIGHT, PAD = 340, 240, 26
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON = 111.320
NICE_KM = (0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def _xy(lat: float, lon: float, lat0: float, lon0: float) -> tuple[float, float]:
    return (
        (lon - lon0) * KM_PER_DEG_LON * math.cos(math.radians(lat0)),
        (lat - lat0) * KM_PER_DEG_LAT,
    )


def _km_text(km: float) -> str:
    return f"{km:g} km"


def svg(
    origin: tuple[float, float] | None,
    points: list[Any],
    locale: str,
    origin_label: str | None = None,
) -> Markup:
    """``origin_label``: what the centre is when it is not the customer's own position (the
    centre of a typed district)."""
    coords = [(float(p.agent.latitude), float(p.agent.longitude)) for p in points]
    if origin is not None:
        lat0, lon0 = origin
    else:
        lat0 = sum(c[0] for c in coords) / len(coords)
        lon0 = sum(c[1] for c in coords) / len(coords)
    xy = [_xy(la, lo, lat0, lon0) for la, lo in coords]
    reach = max([max(abs(x), abs(y)) for x, y in xy] + [0.3])
    scale = min((WIDTH / 2 - PAD) / reach, (HEIGHT / 2 - PAD) / reach)  # px per km
    cx, cy = WIDTH / 2, HEIGHT / 2
    title = gettext(locale, N_("Plan of the nearest cash points"))
    parts = [
        f'<svg class="agent-plan" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="plan-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="plan-title">{escape(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" rx="12" class="plan-bg"/>',
    ]
    rings = [k for k in NICE_KM if k <= reach * 1.05][-2:] or [NICE_KM[0]]
    for km in rings if origin is not None else []:  # distances from someone, or no rings
        r = km * scale
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" class="plan-ring"/>')
        parts.append(
            f'<text x="{cx + r * 0.72:.1f}" y="{cy - r * 0.72:.1f}" class="plan-ring-label">'
            f"{escape(_km_text(km))}</text>"
        )
    north = gettext(locale, N_("N"))
    parts.append(
        f'<g class="plan-north"><path d="M{WIDTH - 22},30 l6,-14 l6,14 z"/>'
        f'<text x="{WIDTH - 16}" y="44" text-anchor="middle">{escape(north)}</text></g>'
    )
    if origin is not None:
        you = origin_label or gettext(locale, N_("You are here"))
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="7" class="plan-you"/>'
            f'<text x="{cx + 10:.1f}" y="{cy + 18:.1f}" class="plan-you-label">{escape(you)}</text>'
        )
    for i, ((x, y), point) in enumerate(zip(xy, points, strict=True), start=1):
        px, py = cx + x * scale, cy - y * scale
        state = "open" if point.open_now else "closed"
        parts.append(
            f'<g class="plan-point {state}"><circle cx="{px:.1f}" cy="{py:.1f}" r="11"/>'
            f'<text x="{px:.1f}" y="{py + 4:.1f}" text-anchor="middle">{i}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped labels only
