"""The monthly statement and the new history filters in a real browser, Chinese and English:
the month picker, totals that add up, the printable A4 layout without navigation, and the status
and amount filters (with a bad amount said in the user's language)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from qianbao.identity import accounts as id_accounts
from qianbao.identity import pin
from qianbao.identity.context import IdentityContext
from qianbao.kernel.clock import LOCAL_TZ
from qianbao.kernel.money import Money
from qianbao.ledger import Ledger, transfer
from qianbao.ledger.accounts import system_account_id
from qianbao.wallet import transfer as wallet_transfer
from qianbao.wallet.accounts import wallet_account
from tests.conftest import in_thread
from tests.support.identity import e164
from tests.support.pages import alert_text, no_sideways_scroll, shot, sign_up
from tests.web.conftest import screenshot

pytestmark = pytest.mark.browser
PIN = "583920"

TEXT = {
    "zh_CN": {
        "statements": "对账单",
        "title": "对账单",
        "opening": "期初余额",
        "closing": "期末余额",
        "show": "查询",
        "not_over": "本月尚未结束",
        "bad_amount": "最低金额无效",
        "bad_range": "结束日期早于开始日期",
        "bad_month": "请按 YYYY-MM 格式选择月份",
        "history": "月度对账单",
    },
    "en": {
        "statements": "Statements",
        "title": "Statement for",
        "opening": "Opening balance",
        "closing": "Closing balance",
        "show": "Show",
        "not_over": "This month is not over yet",
        "bad_amount": "The lowest amount is not valid",
        "bad_range": "The end date is before the start date",
        "bad_month": "Choose a month as YYYY-MM",
        "history": "Monthly statements",
    },
}


def _last_month(server: Any) -> tuple[str, datetime]:
    first = server.clock.today().replace(day=1)
    last = (first - timedelta(days=1)).replace(day=1)
    return f"{last.year:04d}-{last.month:02d}", datetime.combine(
        last.replace(day=20), time(10, 30), tzinfo=LOCAL_TZ
    )


def _prepare(server: Any, sender: str, receiver: str) -> None:
    """Fund the sender last month, send three transfers (one of them last month) and mark one
    of this month's as still processing."""

    async def go() -> None:
        db = server.database()
        ctx = IdentityContext(settings=server.app.state.settings, db=db, clock=db.clock)
        _, last_month_at = _last_month(server)
        try:
            async with db.transaction() as s:
                user = await id_accounts.by_phone(s, e164(sender))
                assert user is not None
                await pin.set_pin(s, ctx, user, PIN)
                account = await wallet_account(s, user.id, "CNY")
                ledger = await Ledger.of_session(s)
                source = await system_account_id(ledger.conn, "equity", "CNY", "opening")
                funded = await ledger.post(
                    transfer(
                        f"fund-{user.id}",
                        debit_account_id=source,
                        credit_account_id=account.id,
                        amount=500_00,
                        currency="CNY",
                        entry_type="funding",
                    )
                )
            entries = [funded.entry_id]
            for amount, note in (("120.00", "房租 rent"), ("8.80", "咖啡"), ("45.50", "=cmd")):
                async with db.transaction() as s:
                    user = await id_accounts.by_phone(s, e164(sender))
                    done = await wallet_transfer.send(
                        s,
                        ctx,
                        user,
                        to=receiver,
                        amount=Money.parse(amount, "CNY"),
                        note=note,
                        pin=PIN,
                        key=uuid.uuid4().hex,
                    )
                    entries.append(done.entry_id)
            # The funding and the rent go to last month (the ledger is append-only: the test
            # lifts the guard for this update only, as the owner of its own database).
            async with db.transaction() as s:
                for table in ("ledger_entries", "ledger_postings"):
                    await s.execute(
                        text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
                    )
                for offset, entry_id in enumerate(entries[:2]):
                    at = last_month_at + timedelta(hours=offset)
                    params = {"at": at, "e": entry_id}
                    await s.execute(
                        text("UPDATE ledger_entries SET created_at = :at WHERE id = :e"), params
                    )
                    for table in ("ledger_postings", "wallet_transactions"):
                        await s.execute(
                            text(f"UPDATE {table} SET created_at = :at WHERE entry_id = :e"),
                            params,
                        )
                for table in ("ledger_entries", "ledger_postings"):
                    await s.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only"))
                await s.execute(
                    text(
                        "UPDATE wallet_transactions SET status = 'pending' "
                        "WHERE entry_id = :e AND direction = 'out'"
                    ),
                    {"e": entries[2]},
                )
        finally:
            await db.dispose()

    in_thread(asyncio.run, go())


def _print_pages(page: Any) -> int:
    """How many A4 pages the print style sheet makes (Chromium's own PDF printer)."""
    pdf = page.pdf(format="A4", print_background=False, prefer_css_page_size=True)
    return pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_monthly_statement_page_and_history_filters(open_page, server, locale):
    t = TEXT[locale]
    other = open_page(locale=locale)
    receiver = sign_up(other, server, locale)
    page = open_page(locale=locale)
    sender = sign_up(page, server, locale)
    _prepare(server, sender, receiver)
    month, _ = _last_month(server)

    # From the wallet home to this month's statement (so far).
    page.goto("/wallet")
    page.get_by_role("link", name=t["statements"], exact=True).click()
    page.wait_for_url("**/wallet/statement")
    assert t["title"] in page.locator("h1").inner_text()
    assert t["not_over"] in page.locator(".statement-head").inner_text()
    summary = page.locator(".statement-summary").inner_text()
    assert "380.00" in summary and "325.70" in summary  # opening, closing
    assert page.locator(".statement-table tbody tr").count() == 2
    no_sideways_scroll(page)
    shot(page, f"wallet-statement-now-{locale}")

    # Last month through the picker: funding and rent; the running balance reads 500 → 380.
    page.locator("#s-month").select_option(month)
    page.get_by_role("button", name=t["show"]).click()
    page.wait_for_url(f"**/wallet/statement?month={month}*")
    summary = page.locator(".statement-summary").inner_text()
    assert t["opening"] in summary and t["closing"] in summary
    assert "0.00" in summary and "500.00" in summary and "380.00" in summary
    rows = page.locator(".statement-table tbody tr")
    assert rows.count() == 2
    assert "房租 rent" in rows.nth(1).inner_text() and "380.00" in rows.nth(1).inner_text()
    assert page.locator(".statement-head").get_by_text(t["not_over"]).count() == 0
    shot(page, f"wallet-statement-{locale}")

    # The CSV link of this month.
    href = page.locator("a[download]").get_attribute("href")
    assert href == f"/wallet/statement.csv?month={month}&currency=CNY"
    body = page.evaluate(
        "href => fetch(href).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b)))",
        href,
    )
    csv_text = bytes(body).decode("utf-8")
    assert csv_text.startswith("\ufeff") and t["opening"] in csv_text and "380.00" in csv_text

    # Printed: no header, footer, picker or buttons, and one A4 page (the screenshot is taken
    # at the width of A4 at 96 dpi).
    assert _print_pages(page) == 1
    printed = open_page(locale=locale, viewport="desktop")
    printed.context.add_cookies(page.context.cookies())
    printed.set_viewport_size({"width": 794, "height": 1123})
    printed.emulate_media(media="print")
    printed.goto(f"/wallet/statement?month={month}")
    assert not printed.locator(".site-header").is_visible()
    assert not printed.locator(".site-footer").is_visible()
    assert not printed.locator("form.filters").is_visible()
    assert not printed.locator("a[download]").is_visible()
    assert printed.locator(".statement-table thead").is_visible()
    screenshot(printed, f"wallet-statement-print-{locale}")

    # A month in the future is a message in the user's language.
    page.goto("/wallet/statement?month=2999-01")
    assert t["bad_month"] in alert_text(page)

    # Wide screens get a real table.
    wide = open_page(locale=locale, viewport="desktop")
    wide.context.add_cookies(page.context.cookies())
    wide.goto(f"/wallet/statement?month={month}")
    assert wide.locator(".statement-table thead").is_visible()
    shot(wide, f"wallet-statement-desktop-{locale}")

    # History: the status and amount filters, and the link to the statements.
    page.goto("/wallet/history")
    assert page.get_by_role("link", name=t["history"]).count() == 1
    assert page.locator(".tx").count() == 3
    # The filters sit in a bottom sheet behind one chip: the list comes first on a phone.
    assert page.locator(".tx").first.bounding_box()["y"] < 400
    page.locator("#filters > summary").click()
    page.locator("#f-status").select_option("completed")
    page.locator("#f-min").fill("50")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**/wallet/history?*status=completed*")
    amounts = page.locator(".tx-amount").all_inner_texts()
    assert len(amounts) == 1 and "120.00" in amounts[0]
    assert page.locator("#f-min").input_value() == "50"
    assert "min_amount=50" in (page.locator("a[download]").get_attribute("href") or "")
    # The month's totals count completed money only.
    assert "120.00" in page.locator(".month-totals").first.inner_text()
    page.locator("#filters > summary").click()
    page.locator("#f-status").select_option("pending")
    page.locator("#f-min").fill("")
    page.locator("#f-max").fill("10")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**/wallet/history?*status=pending*")
    assert page.locator(".tx").count() == 1 and page.locator(".tx .badge").count() == 1
    shot(page, f"wallet-history-filters-{locale}")
    page.locator("#filters > summary").click()
    page.locator("#f-status").select_option("")
    page.locator("#f-min").fill("abc")
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_url("**/wallet/history?*min_amount=abc*")
    # Said under the field that is wrong, in the sheet that opens by itself.
    assert t["bad_amount"] in page.locator("#f-min-error").inner_text()
    assert page.locator(".tx").count() == 0
    page.locator("#f-min").fill("")
    page.locator("#f-start").fill("2026-12-05")
    page.locator("#f-end").fill("2026/12/01")
    page.locator("form.filters button[type=submit]").click()
    assert t["bad_range"] in page.locator("#f-end-error").inner_text()
    assert page.locator("#f-start").input_value() == "2026-12-05"
    shot(page, f"wallet-history-bad-amount-{locale}")
