"""The finance pages beside /ops/bank (supervisors and admins with two-step verification):

- /ops/bank/payouts (F3): the withdrawals waiting for a payout file; make the files (one per
  currency, XSD-checked), approve one (not the operator who made it), release it and download
  it for the bank; the bank's pain.002 and statements are imported at /ops/bank. Outside
  production, a released file can be answered by the development bank (its pain.002 and the
  next statement, to import as a real bank's).
- /ops/bank/books (F4): today's safeguarding report per currency, the reports of the last
  days, and the ledger's trial balance."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.banking import demo_bank, payout_files, safeguarding
from qianbao.banking.access import require_finance
from qianbao.kernel.errors import DomainError, NotFound
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.i18n import N_
from qianbao.ledger import Ledger
from qianbao.ledger.accounts import trial_balance
from qianbao.support.console import audit
from qianbao.web.i18n import gettext
from qianbao.web.problems import domain_problem
from qianbao.web.routes.account_common import client_ip, redirect
from qianbao.web.routes.console_risk import person
from qianbao.web.routes.ops_pages import _operator
from qianbao.web.templating import locale_of, render

router = APIRouter(include_in_schema=False, route_class=TxRoute)

NOTICES = {
    "created": N_("The payout files are made. Another operator must approve each one."),
    "nothing": N_("No withdrawal is waiting for a payout file."),
    "approved": N_("Approved. Release it to download the file for the bank."),
    "released": N_(
        "Released: download the file and send it to the bank. Import the bank's status "
        "report (pain.002) and statement at Statements and suspense."
    ),
}
STATUS_LABELS = {
    "draft": N_("Waiting for approval"),
    "approved": N_("Approved"),
    "released": N_("Released to the bank"),
    "cancelled": N_("Cancelled"),
}
KIND_LABELS = {
    "user_wallet": N_("Customers' wallets"),
    "hold": N_("Held for customers"),
    "merchant": N_("Merchants' balances"),
    "suspense": N_("Suspense"),
    "bank_clearing": N_("Bank and clearing accounts"),
    "equity": N_("Equity, charges and interest"),
    "fee_revenue": N_("Fees earned"),
}


async def _finance(request: Request) -> Any:
    who = await _operator(request)
    if isinstance(who, Response):
        return who
    require_finance(who.user)
    return who


async def _payouts_page(request: Request, who: Any, exc: DomainError | None = None) -> Response:
    s, locale = db_session(request), locale_of(request)
    problem = domain_problem(exc, locale) if exc else None
    cache: dict[uuid.UUID, dict[str, Any]] = {}
    batches = []
    recent = await payout_files.recent(s)
    carried = await payout_files.items(s, [b.id for b in recent])
    for b in recent:
        batches.append(
            {
                "b": b,
                "status": gettext(locale, STATUS_LABELS.get(b.status, b.status)),
                "maker": await person(s, b.created_by, cache),
                "approver": await person(s, b.approved_by, cache) if b.approved_by else None,
                "releaser": await person(s, b.released_by, cache) if b.released_by else None,
                "items": carried[b.id],
            }
        )
    key = request.query_params.get("notice") or ""
    return render(
        request,
        "ops/bank_payouts.html",
        {
            "queued": await payout_files.queued_count(s),
            "batches": batches,
            "me": who.user.id,
            "problem": problem,
            "notice": gettext(locale, NOTICES[key]) if key in NOTICES else None,
            "dev_bank": settings_of(request).environment != "production",
            "backend": settings_of(request).payments.payout_backend,
        },
        status_code=problem.status if problem else 200,
    )


@router.get("/ops/bank/payouts", response_class=HTMLResponse)
async def payouts_page(request: Request) -> Response:
    who = await _finance(request)
    if isinstance(who, Response):
        return who
    return await _payouts_page(request, who)


@router.post("/ops/bank/payouts/create", response_class=HTMLResponse)
async def create(request: Request) -> Response:
    who = await _finance(request)
    if isinstance(who, Response):
        return who
    s = db_session(request)
    try:
        async with s.begin_nested():
            made = await payout_files.create_batches(s, settings_of(request), by=who.user.id)
    except DomainError as exc:
        return await _payouts_page(request, who, exc)
    for b in made:
        await audit.record(
            s,
            who.user,
            "bank.payout_file_created",
            obj=("payout_batch", str(b.id)),
            details={"count": b.count, "sum": b.control_sum, "currency": b.currency},
            ip=client_ip(request),
        )
    return redirect("/ops/bank/payouts", notice="created" if made else "nothing")


@router.post("/ops/bank/payouts/{batch_id}/{action}", response_class=HTMLResponse)
async def act(request: Request, batch_id: str, action: str) -> Response:
    who = await _finance(request)
    if isinstance(who, Response):
        return who
    if action not in ("approve", "release"):
        return redirect("/ops/bank/payouts")
    s = db_session(request)
    try:
        async with s.begin_nested():
            if action == "approve":
                b = await payout_files.approve(s, batch_id, by=who.user.id)
            else:
                b = await payout_files.release(s, batch_id, by=who.user.id)
    except DomainError as exc:
        return await _payouts_page(request, who, exc)
    await audit.record(
        s,
        who.user,
        f"bank.payout_file_{action}d",
        obj=("payout_batch", str(b.id)),
        details={"count": b.count, "sum": b.control_sum, "currency": b.currency},
        ip=client_ip(request),
    )
    return redirect("/ops/bank/payouts", notice=f"{action}d", anchor=f"batch-{b.id}")


@router.get("/ops/bank/payouts/{batch_id}/file")
async def download(request: Request, batch_id: str) -> Response:
    """A released file, for the bank (the same bytes each time)."""
    who = await _finance(request)
    if isinstance(who, Response):
        return who
    b = await payout_files.get(db_session(request), batch_id)
    if b.status != "released":
        raise NotFound()
    return _xml(b.document.encode("utf-8"), f"{b.message_id}.xml")


@router.get("/ops/bank/payouts/{batch_id}/bank-answer/{which}")
async def bank_answer(request: Request, batch_id: str, which: str) -> Response:
    """The development bank's answer to a released file (never in production)."""
    who = await _finance(request)
    if isinstance(who, Response):
        return who
    settings = settings_of(request)
    if settings.environment == "production" or which not in ("status", "statement"):
        raise NotFound()
    b = await payout_files.get(db_session(request), batch_id)
    answer = await demo_bank.answer(db_session(request), settings, b.id)
    if which == "status":
        return _xml(answer.status_report, answer.status_name)
    return _xml(answer.statement, answer.statement_name)


def _xml(data: bytes, name: str) -> Response:
    return Response(
        data,
        media_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/ops/bank/books", response_class=HTMLResponse)
async def books(request: Request) -> Response:
    who = await _finance(request)
    if isinstance(who, Response):
        return who
    s, locale = db_session(request), locale_of(request)
    reports = await safeguarding.build(s)
    ledger = await Ledger.of_session(s)
    every = await trial_balance(ledger.conn)
    totals: dict[str, int] = {}
    for r in every:
        totals[r["currency"]] = totals.get(r["currency"], 0) + r["posted"]
    # Accounts at zero (a merchant's fee account before its first sale...) add nothing to the
    # sum: counted, not listed.
    rows = [r for r in every if r["posted"] or r["pending_out"] or r["pending_in"]]
    at_zero = sum(r["accounts"] for r in every) - sum(r["accounts"] for r in rows)
    listed = {r["currency"] for r in rows}
    totals = {c: t for c, t in totals.items() if t or c in listed}
    for r in rows:
        r["label"] = gettext(locale, KIND_LABELS.get(r["kind"], r["kind"]))
    return render(
        request,
        "ops/bank_books.html",
        {
            "reports": reports,
            "line_labels": [(k, gettext(locale, v)) for k, v in safeguarding.LINES],
            "history": await safeguarding.history(s),
            "trial": rows,
            "totals": totals,
            "at_zero": at_zero,
        },
    )
