"""Jinja2 pages with per-request translations. An HTMX partial is a named block of its page
(jinja2-fragments): ``render(request, "page.html", ctx, block="list")``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.ext import _make_new_gettext, _make_new_ngettext  # the newstyle gettext wrappers
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.requests import Request
from starlette.responses import Response

from qianbao import __version__
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.http import locale_of
from qianbao.kernel.money import CURRENCIES
from qianbao.web.i18n import HTML_LANG, LANGUAGE_NAMES, LOCALES, translations

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
)
templates.env.policies["ext.i18n.trimmed"] = True
templates.env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]


def _format_time(value: datetime | None, locale: str) -> str:
    """'2026年11月22日 09:17' / 'Nov 22, 2026 9:17 AM' (minutes are enough on a page)."""
    if value is None:
        return ""
    local = value.astimezone(LOCAL_TZ)
    day = format_date(local, "medium", locale=locale)
    return f"{day} {format_time(local, 'short', locale=locale)}"


templates.env.filters["datetime"] = _format_time


def _format_day(value: date | None, locale: str) -> str:
    """'2026年11月23日星期一' / 'Monday, November 23, 2026' (arrival dates)."""
    return format_date(value, "full", locale=locale) if value is not None else ""


templates.env.filters["date"] = _format_day


def _format_money(minor: int | None, currency: str, locale: str) -> str:
    """'¥1,234.56' / '¥1,234.56' in zh_CN; exact (Decimal from integer minor units)."""
    if minor is None:
        return ""
    exponent = CURRENCIES[currency].exponent
    value = Decimal(minor).scaleb(-exponent)
    symbol_free = currency == "USDT"
    if symbol_free:
        return f"{format_decimal(value, format='#,##0.' + '0' * exponent, locale=locale)} USDT"
    return format_currency(value, currency, locale=locale, currency_digits=True)


templates.env.filters["money"] = _format_money


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
