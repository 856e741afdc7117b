"""/contact (E4): every way to reach us — the help center, the hotline with its hours in the
user's language, e-mail, the website and social accounts from the settings — and, for a
signed-in user, a call-back request (on the account's own number; one open at a time)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.phones import mask_phone
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, clock_of_app, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.channels import callbacks, details, hours
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.templating import locale_of, render

# The messaging platforms' names in the reader's language (settings name them in any case).
PLATFORMS = {
    "wechat": N_("WeChat official account"),
    "telegram": N_("Telegram bot"),
    "weibo": N_("Weibo"),
}

router = APIRouter(include_in_schema=False, route_class=TxRoute)


def _tel(number: str) -> str:
    return "".join(c for c in number if c.isdigit() or c == "+")


async def _page(
    request: Request, values: dict[str, str] | None = None, problem: Any = None
) -> Response:
    cfg = request.app.state.settings.support
    locale = locale_of(request)
    opening = hours.hours_of(request.app.state.settings)  # the desk's one calendar
    caller = await current_caller(request)
    callback: dict[str, Any] | None = None
    if caller is not None:
        s = db_session(request)
        existing = await callbacks.open_request(s, caller.user.id)
        ticket = None
        if existing is not None:
            ticket = (await callbacks.tickets_of(s, [existing])).get(existing.id)
        callback = {
            "phone": mask_phone(caller.user.phone),
            "windows": [(k, hours.window_label(k, locale)) for k in hours.windows(opening)],
            "topics": [(k, gettext(locale, v)) for k, v in callbacks.TOPICS.items()],
            "open": None
            if existing is None
            else {
                "window": hours.window_label(existing.time_window, locale),
                "topic": gettext(locale, callbacks.TOPICS.get(existing.topic, existing.topic)),
                "at": existing.created_at,
                "ticket": ticket.reference if ticket is not None else None,
            },
            "values": values or {},
        }
    website = details.website(cfg)
    return render(
        request,
        "contact/contact.html",
        {
            "hotline": cfg.hotline,
            "hotline_tel": _tel(cfg.hotline),
            "hours": hours.describe(opening, locale),
            "open_now": opening.is_open(clock_of_app(request).now()),
            "email": cfg.email,
            "website": website,
            "social": [
                (gettext(locale, PLATFORMS[p.lower()]) if p.lower() in PLATFORMS else p, h)
                for p, h in sorted(cfg.social_accounts.items())
            ],
            "callback": callback,
            "requested": request.query_params.get("callback") == "requested",
            "problem": problem,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/contact", response_class=HTMLResponse)
async def contact(request: Request) -> Response:
    return await _page(request)


@router.post("/contact/callback", response_class=HTMLResponse)
async def contact_callback(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    ensure_ready(caller)
    values = await form_values(request)
    try:
        await callbacks.request(
            db_session(request),
            request.app.state.settings,
            user_id=caller.user.id,
            phone=caller.user.phone,
            window=values.get("window", ""),
            topic=values.get("topic", ""),
            note=values.get("note", ""),
            locale=locale_of(request),
        )
    except DomainError as exc:
        return await _page(request, values, domain_problem(exc, locale_of(request)))
    return redirect("/contact?callback=requested", anchor="callback")
