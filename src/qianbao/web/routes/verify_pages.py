"""/verify (D6): anyone types a phone number, website, e-mail address, social account or agent
id and learns whether it is one of ours; a signed-in user also reads whether a Qianbao agent is
talking to them right now.

The form is a POST (with the CSRF token) so that what people check stays out of addresses,
browser history and access logs. Lookups are limited per client IP (see the channels service)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.identity.deps import client_ip
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session
from qianbao.support.channels import service
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import current_caller, form_values
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
MAX_VALUE = 200


async def _page(request: Request, **context: Any) -> Response:
    caller = await current_caller(request)
    contacts = None
    if caller is not None:
        contacts = [
            {"name": c.name, "agent_id": c.agent_id, "channel": c.channel, "since": c.since}
            for c in await service.active_agent_contacts(db_session(request), caller.user.id)
        ]
    problem = context.pop("problem", None)
    return render(
        request,
        "verify/verify.html",
        {"value": "", "answer": None, "contacts": contacts, "problem": problem, **context},
        status_code=problem.status if problem else 200,
    )


@router.get("/verify", response_class=HTMLResponse)
async def verify_form(request: Request) -> Response:
    return await _page(request)


@router.post("/verify", response_class=HTMLResponse)
async def verify_check(request: Request) -> Response:
    form = await form_values(request)
    value = form.get("value", "").strip()[:MAX_VALUE]
    if not value:
        return await _page(request)
    settings = request.app.state.settings
    s, locale = db_session(request), locale_of(request)
    try:
        await service.check_rate(s, client_ip(request), settings.support)
    except DomainError as exc:
        return await _page(request, value=value, problem=domain_problem(exc, locale))
    await service.ensure_defaults(s, settings.support, settings.identity.default_region)
    answer = await service.lookup(s, value, region=settings.identity.default_region)
    return await _page(
        request,
        value=value,
        answer={"official": answer.official, "label": answer.label(locale)},
    )
