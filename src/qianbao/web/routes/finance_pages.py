"""The finance console (F2; supervisors and admins with two-step verification): /ops/finance is
the one place for the money — tiles to every page (fee plans, limits, currencies, receiving bank
accounts, the holiday calendar, withdrawal review, payout files, the suspense queue, the
safeguarding report, the trial balance, the audit log) and the changes waiting for a second
operator, each as before / after. /ops/finance/<section> shows a kind of setting and proposes a
change of it. The services check the role and record the audit log."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.finance import changes, overview
from qianbao.finance.access import require_finance_staff
from qianbao.finance.targets import LABELS, LIMIT_AMOUNTS
from qianbao.kernel.errors import DomainError
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import CURRENCIES
from qianbao.risk.limits import CHANNELS
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, redirect
from qianbao.web.routes.console_risk import person
from qianbao.web.routes.ops_pages import _operator
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

SECTIONS = {
    "fees": ("fee", N_("Fee plans")),
    "limits": ("limit", N_("Limits per tier and channel")),
    "currencies": ("currency", N_("Currencies")),
    "accounts": ("account", N_("Receiving bank accounts")),
    "calendar": ("calendar", N_("Holiday calendar")),
    "rates": ("rate", N_("Exchange rates")),
}
SECTION_OF_KIND = {kind: path for path, (kind, _) in SECTIONS.items()}
NOTICES = {
    "proposed": N_("Proposed. Another operator must approve it before it takes effect."),
    "approved": N_("Approved: the new value is in force."),
    "rejected": N_("Rejected: nothing changed."),
}
TARGET_LABELS = {
    "fee:withdrawal:card": N_("Withdrawal to a bank card"),
    "fee:withdrawal:iban": N_("Withdrawal to a bank account (IBAN)"),
    "fee:topup:alipay": N_("Top-up by Alipay"),
    "fee:topup:wechatpay": N_("Top-up by WeChat Pay"),
}
CHANNEL_LABELS = {
    "topup": N_("Top-up"),
    "transfer": N_("Transfer"),
    "withdrawal": N_("Withdrawal"),
    "payment": N_("Payment"),
    "exchange": N_("Exchange"),
}
CHECKBOXES = {"currency": ("enabled",), "account": ("active",)}
LONG = {"holidays": 3000, "workdays": 3000, "reason": 300}


def _label(locale: str, target: str) -> str:
    kind, _, key = target.partition(":")
    if target in TARGET_LABELS:
        return gettext(locale, TARGET_LABELS[target])
    if kind == "limit":
        tier, channel, code = key.split(":")
        channel_text = gettext(locale, CHANNEL_LABELS.get(channel, channel))
        return gettext(
            locale,
            N_("Tier {tier} · {channel} · {currency}"),
            tier=tier,
            channel=channel_text,
            currency=code,
        )
    shown = {
        "currency": N_("Currency {key}"),
        "account": N_("Receiving bank account {key}"),
        "calendar": N_("Holiday calendar {key}"),
        "rate": N_("Exchange rate {key}"),
    }.get(kind)
    return gettext(locale, shown, key=key) if shown else key


def _form_values(target: str, value: dict[str, Any] | None) -> dict[str, str]:
    """A setting's value as its form shows it for editing (amounts as decimal strings)."""
    code = overview.currency_of(target, value)
    out: dict[str, str] = {}
    for k, v in (value or {}).items():
        if k in (*LIMIT_AMOUNTS, "fixed", "minimum", "maximum", "review_above"):
            out[k] = overview.amount_text(v, code)
        elif isinstance(v, list):
            out[k] = "\n".join(v)
        elif isinstance(v, bool):
            out[k] = "on" if v else ""
        else:
            out[k] = "" if v is None else str(v)
    return out


async def _change_view(s: Any, locale: str, c: Any, cache: dict[Any, Any]) -> dict[str, Any]:
    return {
        "c": c,
        "label": _label(locale, c.target),
        "section": SECTION_OF_KIND.get(c.kind, ""),
        "rows": overview.diff(c),
        "proposer": await person(s, c.proposed_by, cache),
        "decider": await person(s, c.decided_by, cache) if c.decided_by else None,
    }


async def _hub(request: Request, who: Any, exc: DomainError | None = None) -> Response:
    s, locale = db_session(request), locale_of(request)
    problem = domain_problem(exc, locale) if exc else None
    cache: dict[uuid.UUID, dict[str, Any]] = {}
    pending = [
        await _change_view(s, locale, c, cache)
        for c in await changes.listing(s, who.user, status="pending")
    ]
    decided = [
        await _change_view(s, locale, c, cache)
        for c in await changes.listing(s, who.user, limit=60)
        if c.status != "pending"
    ][:15]
    key = request.query_params.get("notice") or ""
    return render(
        request,
        "ops/finance.html",
        {
            "pending": pending,
            "decided": decided,
            "me": who.user.id,
            "problem": problem,
            "notice": gettext(locale, NOTICES[key]) if key in NOTICES else None,
            "sections": [(path, label) for path, (_, label) in SECTIONS.items()],
        },
        status_code=problem.status if problem else 200,
    )


async def _finance_staff(request: Request) -> Any:
    """The signed-in supervisor or admin (with two-step verification), or where to send others."""
    who = await _operator(request)
    if not isinstance(who, Response):
        require_finance_staff(who.user)
    return who


@router.get("/ops/finance", response_class=HTMLResponse)
async def finance_hub(request: Request) -> Response:
    who = await _finance_staff(request)
    if isinstance(who, Response):
        return who
    return await _hub(request, who)


async def _section(
    request: Request,
    who: Any,
    path: str,
    exc: DomainError | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    s, locale = db_session(request), locale_of(request)
    kind, title = SECTIONS[path]
    problem = domain_problem(exc, locale) if exc else None
    found = await overview.section(s, settings_of(request), who.user, kind)
    items = [
        {
            "target": x.target,
            "label": _label(locale, x.target),
            "value": x.value,
            "form": _form_values(x.target, x.value),
            "pending": x.pending,
            "currency": overview.currency_of(x.target, x.value),
            "history": (
                await changes.listing(s, who.user, status="approved", target=x.target, limit=5)
                if kind == "rate"
                else []
            ),
        }
        for x in found
    ]
    return render(
        request,
        "ops/finance_section.html",
        {
            "path": path,
            "kind": kind,
            "title": gettext(locale, title),
            "items": items,
            "problem": problem,
            "values": values or {},
            "sections": [(p, label) for p, (_, label) in SECTIONS.items()],
            "channels": [(c, gettext(locale, CHANNEL_LABELS[c])) for c in CHANNELS],
            "currencies": list(CURRENCIES),
            "labels": LABELS,
            "amounts": (*LIMIT_AMOUNTS, "fixed", "minimum", "maximum", "review_above"),
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/ops/finance/{path}", response_class=HTMLResponse)
async def finance_section(request: Request, path: str) -> Response:
    who = await _finance_staff(request)
    if isinstance(who, Response):
        return who
    if path not in SECTIONS:
        return redirect("/ops/finance")
    return await _section(request, who, path)


async def _posted(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=30)
    values = {k: v[: LONG.get(k, 256)] for k, v in form.items() if isinstance(v, str)}
    await form.close()
    return values


def _target(kind: str, values: dict[str, str]) -> str:
    """The setting a form names: its own, or — for a new one — the key typed into it."""
    target = values.get("target", "")
    if target == f"{kind}:new":
        if kind == "limit":
            parts = (values.get("tier", ""), values.get("channel", ""), values.get("currency", ""))
            return "limit:" + ":".join(p.strip() for p in parts)
        if kind == "account":
            return "account:" + values.get("code", "").strip().upper()
        if kind == "calendar":
            return "calendar:" + values.get("year", "").strip()
        if kind == "rate":
            return "rate:" + values.get("code", "").strip().upper()
    return target


@router.post("/ops/finance/{path}/propose", response_class=HTMLResponse)
async def finance_propose(request: Request, path: str) -> Response:
    who = await _finance_staff(request)
    if isinstance(who, Response):
        return who
    if path not in SECTIONS:
        return redirect("/ops/finance")
    kind = SECTIONS[path][0]
    values = await _posted(request)
    fields = {k: v for k, v in values.items() if k not in ("csrf_token", "target", "reason")}
    for box in CHECKBOXES.get(kind, ()):
        fields[box] = "on" if values.get(box) else "off"
    if kind == "account" and values.get("target") == "account:new":
        fields["active"] = "on"
    s = db_session(request)
    try:
        async with s.begin_nested():  # a refusal leaves the page's transaction usable
            await changes.propose(
                s,
                settings_of(request),
                who.user,
                target=_target(kind, values),
                values=fields,
                reason=values.get("reason", ""),
                ip=client_ip(request),
            )
    except DomainError as exc:
        return await _section(request, who, path, exc, values)
    return redirect("/ops/finance", notice="proposed", anchor="pending")


@router.post("/ops/finance/changes/{change_id}/{decision}", response_class=HTMLResponse)
async def finance_decide(request: Request, change_id: str, decision: str) -> Response:
    who = await _finance_staff(request)
    if isinstance(who, Response):
        return who
    if decision not in ("approve", "reject"):
        return redirect("/ops/finance")
    s = db_session(request)
    try:
        async with s.begin_nested():
            await changes.decide(
                s,
                settings_of(request),
                who.user,
                change_id,
                approve=decision == "approve",
                ip=client_ip(request),
            )
    except DomainError as exc:
        return await _hub(request, who, exc)
    notice = "approved" if decision == "approve" else "rejected"
    return redirect("/ops/finance", notice=notice, anchor="decided")
