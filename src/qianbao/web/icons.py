"""Icons on pages: the vendored lucide set (``static/vendor/lucide``, see ``tools/vendor_icons.py``)
inlined as SVG, so they take the text colour and cost no request.

``{{ icon("scan-line") }}`` is decorative (hidden from screen readers: the label next to it says
what it is); ``{{ icon("eye", label=_("Show")) }}`` stands alone and is announced.
"""

from __future__ import annotations

import re
from pathlib import Path

from markupsafe import Markup, escape

ICON_DIR = Path(__file__).resolve().parent / "static" / "vendor" / "lucide" / "icons"
_INNER = re.compile(r"<svg[^>]*>(.*)</svg>", re.S)


def _load() -> dict[str, str]:
    shapes = {}
    for path in sorted(ICON_DIR.glob("*.svg")):
        match = _INNER.search(path.read_text(encoding="utf-8"))
        if match:
            shapes[path.stem] = " ".join(match.group(1).split())
    return shapes


SHAPES = _load()


def icon(name: str, label: str | None = None, size: int = 24, cls: str = "") -> Markup:
    """The icon ``name`` as inline SVG. An unknown name is a programming error: KeyError."""
    shape = SHAPES[name]
    hidden = 'aria-hidden="true" focusable="false"'
    a11y = f'role="img" aria-label="{escape(label)}"' if label else hidden
    classes = escape(f"icon {cls}".strip())
    # The shape is our vendored file; the label and classes are escaped above.
    return Markup(  # noqa: S704
        f'<svg class="{classes}" width="{size}" height="{size}" viewBox="0 0 24 24" fill="none" '
        f'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" '
        f"{a11y}>{shape}</svg>"
    )
