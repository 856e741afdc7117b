"""Jinja2 pages with per-request translations. An HTMX partial is a named block of its page
(jinja2-fragments): ``render(request, "page.html", ctx, block="list")``."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.ext import _make_new_gettext, _make_new_ngettext  # the newstyle gettext wrappers
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.requests import Request
from starlette.responses import Response

from qianbao import __version__
from qianbao.kernel.hant import zh_text
from qianbao.kernel.http import locale_of
from qianbao.web.formatting import format_datetime, format_money
from qianbao.web.i18n import HTML_LANG, LANGUAGE_NAMES, LANGUAGE_SHORT, LOCALES, translations
from qianbao.web.icons import icon

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
# Times on pages are shown in China Standard Time (the wallet's home market); the <time> element
# carries the exact UTC instant. A per-user time zone can replace this later.

_env = Environment(
    loader=FileSystemLoader(str(TEMPLATE_DIR)),
    autoescape=select_autoescape(["html", "xml"], default_for_string=True),
    extensions=["jinja2.ext.i18n"],
)
templates = Jinja2Blocks(env=_env)
templates.env.globals.update(
    version=__version__,
    LOCALES=LOCALES,
    LANGUAGE_NAMES=LANGUAGE_NAMES,
    LANGUAGE_SHORT=LANGUAGE_SHORT,
    icon=icon,
)
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


templates.env.filters["datetime"] = format_datetime
# Chinese data kept in Simplified (districts, addresses) in the reader's script: |zh(locale)
templates.env.filters["zh"] = lambda value, locale: zh_text(str(value or ""), locale)


def _format_day(value: date | None, locale: str) -> str:
    """'2026年11月23日星期一' / 'Monday, November 23, 2026' (arrival dates)."""
    return format_date(value, "full", locale=locale) if value is not None else ""


templates.env.filters["date"] = _format_day


templates.env.filters["money"] = format_money


def _paren(value: Any, locale: str) -> str:
    """Brackets of the page's language: '（可选）' on Chinese pages, '(optional)' on English."""
    return f"（{value}）" if str(locale).startswith("zh") else f"({value})"


templates.env.filters["paren"] = _paren


def signed_in(request: Request) -> bool:
    """For the header link only, and cheap: no database. A resolved caller, or else the presence
    of the session cookie (a stale one is cleared when the account page redirects to sign-in)."""
    if getattr(request.state, "caller", None) is not None:
        return True
    try:
        cookie = request.app.state.settings.security.session_cookie
    except (AttributeError, KeyError):
        return False
    return bool(request.cookies.get(cookie))


def signed_in_role(request: Request) -> str | None:
    """The role of the caller this request resolved, for the header link; read from what is
    loaded only (after a rolled-back transaction the user's attributes are expired: None)."""
    caller = getattr(request.state, "caller", None)
    user = getattr(caller, "user", None)
    role = vars(user).get("role") if user is not None else None
    return role if isinstance(role, str) else None


# The customer's bottom tab bar (a header nav on wide screens): which tab a page belongs to.
# Staff pages (console, operators, merchants) have none.
_STAFF_PREFIXES = ("/console", "/ops", "/merchant", "/sandbox", "/demo-shop", "/design")
_TABS = (
    ("bills", ("/wallet/history", "/wallet/tx/", "/wallet/statement")),
    ("support", ("/support", "/chat", "/help", "/contact", "/wallet/cases", "/wallet/claims")),
    ("me", ("/me", "/security", "/inbox", "/wallet/cards", "/verify")),
    ("home", ("/wallet", "/pay", "/scan")),
)


def customer_tab(path: str) -> str | None:
    """'home', 'bills', 'support' or 'me' for a customer page; None for any other."""
    for tab, prefixes in _TABS:
        if any(path == p.rstrip("/") or path.startswith(p) for p in prefixes):
            return tab
    return None


def shows_tabbar(request: Request) -> bool:
    """A signed-in customer (not staff) on any page but the staff ones."""
    if not signed_in(request) or signed_in_role(request) not in (None, "user"):
        return False
    return not request.url.path.startswith(_STAFF_PREFIXES)


def account_frozen(request: Request) -> bool:
    """The signed-in user of this request froze their account (or support did): pages that
    move money show why they are off and the way out instead of their form."""
    user = getattr(getattr(request.state, "caller", None), "user", None)
    return user is not None and vars(user).get("frozen_at") is not None


def page_context(request: Request, **context: Any) -> dict[str, Any]:
    locale = locale_of(request)
    t = translations(locale)
    return {
        "request": request,
        "locale": locale,
        "html_lang": HTML_LANG[locale],
        "gettext": _make_new_gettext(t.gettext),
        "_": _make_new_gettext(t.gettext),
        "ngettext": _make_new_ngettext(t.ngettext),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "request_id": getattr(request.state, "request_id", ""),
        "signed_in": signed_in(request),
        "signed_in_role": signed_in_role(request),
        "tabbar": shows_tabbar(request),
        "account_frozen": account_frozen(request),
        "tab": customer_tab(request.url.path),
        **context,
    }


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    block: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    ctx = page_context(request, **(context or {}))
    if block is not None:
        return templates.TemplateResponse(
            request, name, ctx, status_code=status_code, block_name=block, headers=headers
        )
    return templates.TemplateResponse(request, name, ctx, status_code=status_code, headers=headers)
