"""/console/risk (D2, D3): one queue for what the risk rules stopped — transfers waiting for the
user's "Was this you?" answer, the ones users said were not theirs, restricted accounts — with
each decision's reasons and signals, and the rules' hit rates. /console/risk/rules: the rules in
force; an operator proposes a change with a 30-day back-test, another operator approves it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.disputes import review as dispute_review
from qianbao.identity.accounts import by_id
from qianbao.identity.phones import mask_phone
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, clock_of_app, db_session
from qianbao.kernel.i18n import N_
from qianbao.kernel.text import from_typing
from qianbao.risk import restrictions, rule_changes
from qianbao.risk.rules import RULE_CODES, THRESHOLDS, TITLES, Rule
from qianbao.support.console import audit
from qianbao.support.console.reports import bars
from qianbao.wallet import held as held_transfers
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, form_values, redirect
from qianbao.web.routes.console_pages import _staff
from qianbao.web.routes.ops_pages import OPERATOR_ROLES, _operator
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)
NOTICES = {
    "proposed": N_("The change is proposed. Another operator must approve it."),
    "applied": N_("The change is approved and in force."),
    "rejected": N_("The change is rejected; the rule stays as it was."),
}
HELD_LABELS = {
    "confirmed": N_("Said Yes"),
    "denied": N_("Said No"),
    "expired": N_("No answer"),
    "waiting": N_("Waiting"),
}
ACTION_LABELS = {
    "allow": N_("Allowed"),
    "step_up": N_("Extra code asked"),
    "hold": N_("Held: was this you?"),
    "block": N_("Blocked"),
}
OUTCOME_LABELS = {
    None: N_("—"),
    "passed": N_("code given"),
    "confirmed": N_("user said Yes"),
    "denied": N_("user said No"),
    "expired": N_("no answer"),
}


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), NOTICES[key]) if key in NOTICES else None


async def person(
    s: Any, user_id: uuid.UUID, cache: dict[uuid.UUID, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A customer or staff member as the console lists them (name, masked phone, frozen);
    ``cache`` spares reading the same person twice for one page."""
    cache = {} if cache is None else cache
    if user_id not in cache:
        user = await by_id(s, user_id)
        cache[user_id] = {
            "name": user.real_name or "—",
            "phone": mask_phone(user.phone),
            "id": str(user.id),
            "frozen": user.frozen_at is not None,
        }
    return cache[user_id]


def labels(locale: str) -> dict[str, Any]:
    return {
        "titles": {code: gettext(locale, t) for code, t in TITLES.items()},
        "thresholds": {code: gettext(locale, t) if t else None for code, t in THRESHOLDS.items()},
        "actions": {k: gettext(locale, v) for k, v in ACTION_LABELS.items()},
        "outcomes": {k: gettext(locale, v) for k, v in OUTCOME_LABELS.items()},
    }


@router.get("/console/risk", response_class=HTMLResponse)
async def risk_queue(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    s, locale = db_session(request), locale_of(request)
    people: dict[uuid.UUID, dict[str, str]] = {}
    waiting = [
        {
            "h": h,
            "who": await person(s, h.user_id, people),
            "payee": await held_transfers.payee_of(s, h),
        }
        for h in await held_transfers.recent(s, statuses=("waiting",))
    ]
    denied = [
        {
            "h": h,
            "who": await person(s, h.user_id, people),
            "payee": await held_transfers.payee_of(s, h),
        }
        for h in await held_transfers.recent(s, statuses=("denied",), limit=20)
    ]
    restricted = [
        {"r": r, "who": await person(s, r.user_id, people)}
        for r in await restrictions.list_active(s)
    ]
    cases = [
        {"c": c, "who": await person(s, c.user_id, people)} for c in await dispute_review.queue(s)
    ]
    decisions = [
        {"d": d, "who": await person(s, d.user_id, people)}
        for d in await rule_changes.decisions_of(s, flagged_only=True, limit=50)
    ]
    since = clock_of_app(request).now() - timedelta(days=30)
    rates = await rule_changes.hit_rates(s, since=since)
    answers = await held_transfers.answers_since(s, since)
    words = labels(locale)
    fired = [(words["titles"][c], sum(rates["rules"].get(c, {}).values())) for c in RULE_CODES]
    charts = {
        "rules": bars(fired),
        "answers": bars(
            [(gettext(locale, HELD_LABELS[k]), answers.get(k, 0)) for k in HELD_LABELS]
        ),
    }
    return render(
        request,
        "console/risk.html",
        {
            "waiting": waiting,
            "denied": denied,
            "restricted": restricted,
            "cases": cases,
            "decisions": decisions,
            "rates": rates,
            "codes": RULE_CODES,
            "l": words,
            "claims": await dispute_review.totals(s, since=since),
            "answers": answers,
            "charts": charts,
        },
    )


async def _rules_page(
    request: Request, who: Any, exc: DomainError | None = None, values: dict[str, str] | None = None
) -> Response:
    s, locale = db_session(request), locale_of(request)
    people: dict[uuid.UUID, dict[str, str]] = {}
    changes = [
        {"c": c, "who": await person(s, c.proposed_by, people)}
        for c in await rule_changes.open_changes(s)
    ]
    history = [
        {
            "c": c,
            "who": await person(s, c.proposed_by, people),
            "by": await person(s, c.decided_by, people) if c.decided_by else None,
        }
        for c in await rule_changes.recent_changes(s)
    ]
    problem = domain_problem(exc, locale) if exc else None
    return render(
        request,
        "console/risk_rules.html",
        {
            "rules": await rule_changes.rules_in_force(s),
            "changes": changes,
            "history": history,
            "operator": who.user.role in OPERATOR_ROLES,
            "me": who.user.id,
            "l": labels(locale),
            "problem": problem,
            "values": values or {},
            "notice": _notice(request),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/console/risk/rules", response_class=HTMLResponse)
async def rules_page(request: Request) -> Response:
    who = await _staff(request)
    if isinstance(who, Response):
        return who
    return await _rules_page(request, who)


def _whole(value: str) -> int:
    text = from_typing(value).strip()  # "２０００" from an IME: 2000
    if not text.isascii() or not text.isdigit() or len(text) > 13:
        raise rule_changes.InvalidRule(reason=N_("the numbers must be whole and not negative"))
    return int(text)


@router.post("/console/risk/rules/{code}", response_class=HTMLResponse)
async def propose(request: Request, code: str) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    values = await form_values(request)
    try:
        candidate = Rule(
            code=code,
            enabled=values.get("enabled") == "1",
            action=values.get("action", ""),
            min_amount=_whole(values.get("min_amount", "")),
            threshold=_whole(values.get("threshold", "0") or "0"),
        )
        change = await rule_changes.propose(
            s, candidate, reason=values.get("reason", ""), by=who.user.id
        )
        await audit.record(
            s,
            who.user,
            "risk.rule_proposed",
            obj=("risk_rule", code),
            details={
                "change": str(change.id),
                **{k: values.get(k, "") for k in ("action", "min_amount", "threshold", "enabled")},
            },
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _rules_page(request, who, exc, {**values, "code": code})
    return redirect("/console/risk/rules", notice="proposed", anchor=f"change-{change.id}")


@router.post("/console/risk/changes/{change_id}/{verdict}", response_class=HTMLResponse)
async def decide(request: Request, change_id: uuid.UUID, verdict: str) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    if verdict not in ("approve", "reject"):
        return redirect("/console/risk/rules")
    s = db_session(request)
    await form_values(request)
    try:
        change = await rule_changes.decide(
            s, change_id, approve=verdict == "approve", by=who.user.id
        )
        await audit.record(
            s,
            who.user,
            "risk.rule_applied" if change.status == "applied" else "risk.rule_rejected",
            obj=("risk_rule", change.code),
            details={"change": str(change.id)},
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _rules_page(request, who, exc)
    return redirect("/console/risk/rules", notice=change.status)
