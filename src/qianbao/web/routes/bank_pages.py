"""Bank rails' pages. /wallet/bank-transfer (B3): where to send a bank transfer and the user's
reference code for the memo, with copy buttons and a QR of the details, and the transfers that
arrived or wait. /ops/bank (F3, F4; supervisors and admins): import a statement file, the
receiving accounts, the files imported, the suspense queue — credit an item to a wallet or book
it, with a reason; above the threshold a second operator approves."""

from __future__ import annotations

import io
import uuid
from typing import Any

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.responses import Response

from qianbao.banking import accounts, overview, payout_files, suspense
from qianbao.banking.access import require_finance
from qianbao.banking.importer import import_file
from qianbao.banking.rules import BOOKING_LABELS, REASONS
from qianbao.kernel.clock import clock_of
from qianbao.kernel.errors import DomainError, ValidationFailed
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.support.console import audit
from qianbao.wallet import limits
from qianbao.wallet.bank_reference import reference_of
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import (
    client_ip,
    current_caller,
    form_values,
    login_redirect,
    redirect,
)
from qianbao.web.routes.console_risk import person
from qianbao.web.routes.merchant_pages_qr import scalable
from qianbao.web.routes.ops_pages import _operator
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

NOTICES = {
    "imported": N_("The file is imported."),
    "done": N_("Done: the item has left suspense."),
    "proposed": N_("Proposed. Another operator must approve it before any money moves."),
    "rejected": N_("The proposal is rejected; the item stays in suspense."),
}


def _qr(text: str) -> Markup:
    out = io.BytesIO()  # segno writes the SVG as bytes (UTF-8)
    segno.make(text, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False)
    return Markup(scalable(out.getvalue().decode("utf-8")))  # noqa: S704 - segno's SVG, no markup from users


@router.get("/wallet/bank-transfer", response_class=HTMLResponse)
async def bank_transfer_page(request: Request) -> Response:
    caller = await current_caller(request)
    if caller is None:
        return login_redirect(request)
    s = db_session(request)
    code = await reference_of(s, caller.user.id)
    receiving = await accounts.active(s, "CNY")
    limit, decision = await limits.allowance(s, caller.user, "topup", "CNY")
    locale = locale_of(request)
    qr = None
    if receiving:
        a = receiving[0]
        qr = _qr(
            "\n".join(
                [
                    f"{gettext(locale, N_('Account name'))}: {a.holder_name}",
                    f"{gettext(locale, N_('Account number'))}: {a.account_number}",
                    f"{gettext(locale, N_('Bank'))}: {a.bank_name}",
                    f"{gettext(locale, N_('Memo'))}: {code}",
                ]
            )
        )
    arrived = await overview.lines_of_user(s, caller.user.id, limit=10)
    return render(
        request,
        "wallet/bank_transfer.html",
        {
            "code": code,
            "accounts": receiving,
            "qr": qr,
            "limit": limit,
            "decision": decision,
            "arrived": arrived,
        },
    )


def _notice(request: Request) -> str | None:
    key = request.query_params.get("notice") or ""
    return gettext(locale_of(request), NOTICES[key]) if key in NOTICES else None


async def _ops_page(
    request: Request,
    who: Any,
    exc: DomainError | None = None,
    values: dict[str, str] | None = None,
    imported: Any = None,
) -> Response:
    s, locale = db_session(request), locale_of(request)
    problem = domain_problem(exc, locale) if exc else None
    cache: dict[uuid.UUID, dict[str, Any]] = {}
    queue = []
    for line in await suspense.queue(s):
        queue.append(
            {
                "line": line,
                "reason": gettext(locale, REASONS.get(line.reason or "", line.reason or "")),
                "proposer": await person(s, line.proposed_by, cache) if line.proposed_by else None,
                "four_eyes": suspense.needs_second_operator(settings_of(request), line),
                "proposal_text": _proposal_text(locale, line.proposal),
                "user": await person(s, line.user_id, cache) if line.user_id else None,
            }
        )
    resolved = []
    for line in await overview.recent_resolved(s):
        resolved.append(
            {
                "line": line,
                "by": await person(s, line.resolved_by, cache) if line.resolved_by else None,
                "approver": await person(s, line.approved_by, cache) if line.approved_by else None,
                "what": _resolution_text(locale, line.resolution),
                "user": await person(s, line.user_id, cache) if line.user_id else None,
            }
        )
    return render(
        request,
        "ops/bank.html",
        {
            "accounts": await accounts.all_accounts(s),
            "files": await overview.recent_files(s),
            "queue": queue,
            "totals": await suspense.totals(s),
            "resolved": resolved,
            "threshold": Money.parse(settings_of(request).bank.four_eyes_above, "CNY"),
            "bookings": [(k, gettext(locale, v)) for k, v in BOOKING_LABELS.items()],
            "me": who.user.id,
            "problem": problem,
            "values": values or {},
            "notice": _notice(request),
            "imported": imported,
            "now_day": clock_of(s).today(),
        },
        status_code=problem.status if problem else 200,
    )


def _resolution_text(locale: str, resolution: str | None) -> str:
    if resolution == "matched":
        return gettext(locale, N_("Credited to a wallet"))
    if resolution == "refunded":
        return gettext(locale, N_("Sent back to the payer"))
    return gettext(locale, BOOKING_LABELS.get(resolution or "", resolution or ""))


def _proposal_text(locale: str, proposal: dict[str, Any] | None) -> str:
    if not proposal:
        return ""
    if proposal.get("action") == "credit":
        return gettext(locale, N_("Credit to a wallet"))
    if proposal.get("action") == "refund":
        return gettext(locale, N_("Send back to the payer"))
    return gettext(locale, BOOKING_LABELS.get(proposal.get("booking", ""), ""))


@router.get("/ops/bank", response_class=HTMLResponse)
async def ops_bank(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    require_finance(who.user)
    return await _ops_page(request, who)


@router.post("/ops/bank/import", response_class=HTMLResponse)
async def ops_bank_import(request: Request) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    require_finance(who.user)
    s = db_session(request)
    form = await request.form(max_files=1, max_fields=3)
    upload = form.get("file")
    try:
        if upload is None or isinstance(upload, str) or not upload.filename:
            raise ValidationFailed()
        data = await upload.read()
        async with s.begin_nested():  # a refused file leaves the page's transaction usable
            result: Any
            if payout_files.is_status_report(data):  # the bank's answer to our payout file
                result = await payout_files.import_status_report(
                    s, settings_of(request), data, filename=upload.filename, by=who.user.id
                )
            else:
                result = await import_file(
                    s,
                    settings_of(request),
                    data,
                    filename=upload.filename,
                    source="upload",
                    by=who.user.id,
                )
        await audit.record(
            s,
            who.user,
            "bank.statement_imported",
            obj=("bank_file", str(result.file_id)),
            details={"file": result.filename, "lines": result.lines, "new": result.new},
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _ops_page(request, who, exc)
    finally:
        await form.close()
    return await _ops_page(request, who, imported=result)


@router.post("/ops/bank/lines/{line_id}/{action}", response_class=HTMLResponse)
async def ops_bank_line(request: Request, line_id: str, action: str) -> Response:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    require_finance(who.user)
    if action not in ("credit", "book", "refund", "approve", "reject"):
        return redirect("/ops/bank")
    s, settings = db_session(request), settings_of(request)
    values = await form_values(request)
    try:
        async with s.begin_nested():
            if action == "credit":
                out = await suspense.credit_to_wallet(
                    s,
                    settings,
                    line_id,
                    who=values.get("who", "")[:40],
                    by=who.user.id,
                    note=values.get("note", ""),
                )
            elif action == "book":
                out = await suspense.book(
                    s,
                    settings,
                    line_id,
                    booking=values.get("booking", ""),
                    by=who.user.id,
                    note=values.get("note", ""),
                )
            elif action == "refund":
                out = await suspense.refund(
                    s, settings, line_id, by=who.user.id, note=values.get("note", "")
                )
            elif action == "approve":
                out = await suspense.approve(s, settings, line_id, by=who.user.id)
            else:
                out = await suspense.reject(s, line_id, by=who.user.id)
        await audit.record(
            s,
            who.user,
            f"bank.item_{action}" + ("" if out.done or action == "reject" else "_proposed"),
            subject_user_id=out.line.user_id,
            obj=("bank_line", str(out.line.id)),
            details={
                "amount": Money(out.line.amount, out.line.currency).text(),
                "note": values.get("note", "")[:200],
            },
            ip=client_ip(request),
        )
    except DomainError as exc:
        return await _ops_page(request, who, exc, {**values, "line": line_id})
    notice = "rejected" if action == "reject" else "done" if out.done else "proposed"
    return redirect("/ops/bank", notice=notice, anchor="suspense")
