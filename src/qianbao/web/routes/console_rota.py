"""/console/rota: the desk calendar and agents' shifts (rota). Every staff member reads it (who
is on when, the hours customers are shown, whether the desk is staffed now); supervisors and
admins add and remove shifts (audited). A shift ending at or before its start runs over
midnight: Monday 22:00–08:00 covers Monday night and Tuesday morning."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import Caller
from qianbao.identity.errors import Forbidden
from qianbao.identity.models import STAFF_ROLES
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.kernel.i18n import N_
from qianbao.support.channels.hours import describe
from qianbao.support.chat import after_hours
from qianbao.support.chat.api import config
from qianbao.support.console.access import is_supervisor
from qianbao.support.rota import service as rota
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

router = APIRouter(include_in_schema=False, route_class=TxRoute)
WEEKDAYS = (
    N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
    N_("Sunday"),
)  # fmt: skip
NOTICES = {
    "added": N_("The shift is in the rota."),
    "removed": N_("The shift is removed from the rota."),
}


async def _staff(request: Request) -> Caller | Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    ensure_ready(caller)
    if caller.user.role not in STAFF_ROLES:
        raise Forbidden()
    return caller


async def _page(
    request: Request, who: Caller, values: dict[str, str] | None = None, exc: Any = None
) -> Response:
    s, locale, cfg = db_session(request), locale_of(request), config(request)
    lines = await rota.lines(s, who.user)
    weekdays = [gettext(locale, w) for w in WEEKDAYS]
    problem = domain_problem(exc, locale) if exc else None
    notice = NOTICES.get(request.query_params.get("notice") or "")
    return render(
        request,
        "console/rota.html",
        {
            "hours": describe(cfg.hours, locale),
            "desk": await after_hours.notice(s, cfg, locale),
            "lines": lines,
            "weekdays": weekdays,
            "agents": await rota.agents(s, who.user) if is_supervisor(who.user) else [],
            "supervisor": is_supervisor(who.user),
            "values": values or {},
            "problem": problem,
            "notice": gettext(locale, notice) if notice else None,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/rota", response_class=HTMLResponse)
async def console_rota(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _page(request, who)


@router.post("/console/rota", response_class=HTMLResponse)
async def console_rota_add(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    values = await form_values(request)
    try:
        weekday = int(values.get("weekday", "0") or 0)
    except ValueError:
        weekday = 0
    try:
        await rota.add(
            db_session(request), who.user, agent_id=values.get("agent", ""), weekday=weekday,
            starts=values.get("starts", ""), ends=values.get("ends", ""),
        )  # fmt: skip
    except DomainError as exc:
        return await _page(request, who, values, exc)
    return redirect("/console/rota", notice="added")


@router.post("/console/rota/{shift_id}/remove", response_class=HTMLResponse)
async def console_rota_remove(request: Request, shift_id: str) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    await rota.remove(db_session(request), who.user, shift_id)
    return redirect("/console/rota", notice="removed")
