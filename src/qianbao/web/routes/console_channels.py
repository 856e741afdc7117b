"""Console pages of the official channels (D6) and call-back requests (E4).

- /console/channels: the registry — supervisors and admins list, add and deactivate channels;
  staff agent ids appear there by themselves.
- /console/callbacks: call-back requests for every staff member (support agents, supervisors,
  admins), oldest first, with the full number to call; "done" when called.
Staff must have two-step verification on (as everywhere in the console)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.accounts import by_id
from qianbao.identity.deps import Caller
from qianbao.identity.errors import Forbidden
from qianbao.identity.models import STAFF_ROLES
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.channels import callbacks, hours, service
from qianbao.web.i18n import LANGUAGE_NAMES, gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    current_caller,
    ensure_ready,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
OPERATOR_ROLES = ("supervisor", "admin")
NOTICES = {
    "added": N_("The channel is in the registry."),
    "deactivated": N_("The channel is deactivated: lookups now answer that it is not ours."),
    "done": N_("Marked as done. The ticket has a note of the call."),
}
SOURCES = {
    "operator": N_("Added in the console"),
    "settings": N_("From the settings"),
    "staff": N_("Staff agent id"),
}


async def _staff(request: Request, roles: tuple[str, ...] = STAFF_ROLES) -> Caller | Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    ensure_ready(caller)  # staff without two-step verification are told to turn it on
    if caller.user.role not in roles:
        raise Forbidden()
    return caller


def _notice(request: Request) -> str | None:
    message = NOTICES.get(request.query_params.get("notice") or "")
    return gettext(locale_of(request), message) if message else None


async def _channels_page(
    request: Request, values: dict[str, str] | None = None, exc: DomainError | None = None
) -> Response:
    s, locale = db_session(request), locale_of(request)
    settings = request.app.state.settings
    await service.ensure_defaults(s, settings.support, settings.identity.default_region)
    rows = [
        {
            "id": str(c.id),
            "kind": gettext(locale, service.KIND_NAMES[c.kind]),
            "value": c.value,
            "label": c.label(locale),
            "active": c.active,
            "source": gettext(locale, SOURCES.get(c.source, c.source)),
            "created_at": c.created_at,
        }
        for c in await service.channels(s)
    ]
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "console/channels.html",
        {
            "rows": rows,
            "kinds": [(k, gettext(locale, service.KIND_NAMES[k])) for k in service.OPERATOR_KINDS],
            "values": values or {},
            "problem": problem,
            "notice": _notice(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/channels", response_class=HTMLResponse)
async def console_channels(request: Request) -> Response:
    who = await _staff(request, OPERATOR_ROLES)
    if isinstance(who, Response):
        return who
    return await _channels_page(request)


@router.post("/console/channels", response_class=HTMLResponse)
async def console_channel_add(request: Request) -> Response:
    who = await _staff(request, OPERATOR_ROLES)
    if isinstance(who, Response):
        return who
    values = await form_values(request)
    try:
        await service.add_channel(
            db_session(request),
            kind=values.get("kind", ""),
            value=values.get("value", ""),
            label_zh=values.get("label_zh", ""),
            label_en=values.get("label_en", ""),
            actor=who.user.id,
            region=request.app.state.settings.identity.default_region,
        )
    except DomainError as exc:
        return await _channels_page(request, values, exc)
    return redirect("/console/channels", notice="added")


@router.post("/console/channels/{channel_id}/deactivate", response_class=HTMLResponse)
async def console_channel_deactivate(request: Request, channel_id: str) -> Response:
    who = await _staff(request, OPERATOR_ROLES)
    if isinstance(who, Response):
        return who
    await service.deactivate(db_session(request), channel_id, actor=who.user.id)
    return redirect("/console/channels", notice="deactivated")


async def _who(s: Any, user_id: uuid.UUID | None, locale: str = "zh_CN") -> dict[str, str]:
    if user_id is None:  # a visitor who booked a slot from the chat
        return {"name": gettext(locale, N_("Visitor (not signed in)")), "id": ""}
    user = await by_id(s, user_id)
    return {"name": user.real_name or "—", "id": str(user.id)}


@router.get("/console/callbacks", response_class=HTMLResponse)
async def console_callbacks(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s, locale = db_session(request), locale_of(request)

    async def rows(status: str, limit: int) -> list[dict[str, Any]]:
        out = []
        found = await callbacks.listing(s, status, limit)
        tickets = await callbacks.tickets_of(s, found)
        for c in found:
            ticket = tickets.get(c.id)
            out.append(
                {
                    "id": str(c.id),
                    "who": await _who(s, c.user_id, locale),
                    "phone": c.phone,
                    "window": hours.window_label(c.time_window, locale),
                    "topic": gettext(locale, callbacks.TOPICS.get(c.topic, c.topic)),
                    "note": c.note,
                    "language": LANGUAGE_NAMES.get(c.locale, c.locale),
                    "created_at": c.created_at,
                    "done_at": c.done_at,
                    "ticket": ticket.reference if ticket is not None else None,
                }
            )
        return out

    return render(
        request,
        "console/callbacks.html",
        {
            "open": await rows("new", 200),
            "done": await rows("done", 20),
            "agent_id": await service.agent_id_for(s, who.user.id),
            "notice": _notice(request),
        },
    )


@router.post("/console/callbacks/{callback_id}/done", response_class=HTMLResponse)
async def console_callback_done(request: Request, callback_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    await callbacks.mark_done(
        db_session(request), request.app.state.settings, callback_id, actor=who.user.id
    )
    return redirect("/console/callbacks", notice="done")
