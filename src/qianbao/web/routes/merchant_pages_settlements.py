"""The dashboard's settlements: the payouts to the merchant's bank account, one payout's report
(every payment and refund it pays for, with fees and promo discounts) and the same report as a
CSV file: amounts as decimal strings, UTF-8 with a byte-order mark so that Excel reads Chinese
names correctly."""

from __future__ import annotations

import csv
import io
from datetime import date

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.http import TxRoute, db_session, settings_of
from qianbao.kernel.i18n import N_
from qianbao.kernel.money import Money
from qianbao.merchants import dashboard, settlement
from qianbao.wallet.export import safe_cell
from qianbao.web.i18n import gettext
from qianbao.web.routes.merchant_pages_common import desk, page
from qianbao.web.templating import locale_of

router = APIRouter(include_in_schema=False, route_class=TxRoute)

CSV_COLUMNS = (
    N_("Type"),
    N_("Time"),
    N_("Reference"),
    N_("Payment reference"),
    N_("Order reference"),
    N_("Description or reason"),
    N_("Amount"),
    N_("Fee"),
    N_("Promo discount (paid by Qianbao)"),
    N_("Net"),
    N_("Currency"),
)
LINE_KINDS = {"payment": N_("Payment"), "refund": N_("Refund")}
TOTAL = N_("Total")


def _day(value: date | None, locale: str) -> str:
    return format_date(value, "medium", locale=locale) if value else ""


@router.get("/merchant/settlements", response_class=HTMLResponse)
async def settlements(request: Request) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    locale = locale_of(request)
    rows = await settlement.list_settlements(db_session(request), who.merchant.id)
    items = [
        {"row": r, "day": _day(r.business_date, locale), "pay_on": _day(r.pay_on, locale)}
        for r in rows
    ]
    delay = settings_of(request).merchants.settlement_delay_business_days
    context = {"items": items, "delay": delay}
    return page(request, who, "merchant/settlements.html", "settlements", context)


@router.get("/merchant/settlements/{settlement_id}.csv")
async def settlement_csv(request: Request, settlement_id: str) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    locale = locale_of(request)
    report = await dashboard.settlement_report(db_session(request), who.merchant.id, settlement_id)
    row = report.settlement
    cur = row.currency

    def dec(minor: int) -> str:
        return Money(minor, cur).to_decimal_string()

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([gettext(locale, c) for c in CSV_COLUMNS])
    for line in report.lines:
        at = line.at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") if line.at else ""
        writer.writerow(
            [
                gettext(locale, LINE_KINDS[line.kind]),
                at,
                line.reference,
                line.payment_reference,
                safe_cell(line.order_reference or ""),
                safe_cell(line.description or ""),
                dec(line.amount),
                dec(line.fee),
                dec(line.discount),
                dec(line.net),
                cur,
            ]
        )
    writer.writerow(
        [gettext(locale, TOTAL), "", "", "", "", "", dec(report.amount), dec(report.fees),
         dec(report.discounts), dec(report.net), cur]
    )  # fmt: skip
    name = f"qianbao-settlement-{row.business_date.isoformat()}-{str(row.id)[:8]}.csv"
    return Response(
        ("\ufeff" + out.getvalue()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/merchant/settlements/{settlement_id}", response_class=HTMLResponse)
async def settlement_page(request: Request, settlement_id: str) -> Response:
    who = await desk(request)
    if isinstance(who, Response):
        return who
    locale = locale_of(request)
    report = await dashboard.settlement_report(db_session(request), who.merchant.id, settlement_id)
    row = report.settlement
    return page(
        request,
        who,
        "merchant/settlement.html",
        "settlements",
        {
            "report": report,
            "s": row,
            "day": _day(row.business_date, locale),
            "pay_on": _day(row.pay_on, locale),
            "LINE_KINDS": LINE_KINDS,
        },
    )
