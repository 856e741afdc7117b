"""The merchant dashboard (/merchant) in a real browser: a merchant's staff member signs in with
an authenticator code and sees the overview; refunds part of a payment (the balances move
exactly, a refund above what is left or above the merchant's balance changes nothing); creates
an API key whose secret is shown once and works against the API; adds a webhook endpoint (its
secret shown once) and reads the delivery log; downloads a settlement report whose totals add
up; cannot open another merchant's payment. The shop's QR code, an order QR paid while the page
watches, and the till at phone width in Chinese, with screenshots."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, TypeVar

import httpx
import pyotp
import pytest
from sqlalchemy import select

from qianbao.identity import accounts as id_accounts
from qianbao.kernel.clock import LOCAL_TZ, FrozenClock, with_clock
from qianbao.kernel.money import Money
from qianbao.merchants import checkout, customer, onboarding, payment_codes, refunds, settlement
from qianbao.rails import factory as rails
from qianbao.support.console.models import AuditEntry
from qianbao.wallet.accounts import wallet_account
from qianbao.web.i18n import gettext
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, e164, new_phone
from tests.support.merchants import Shop, make_merchant, merchant_balance
from tests.support.pages import (
    alert_text,
    no_sideways_scroll,
    notice_text,
    rules_off_ctx,
    script_errors,
    shot,
    sign_in,
    sign_up,
)
from tests.support.secrets import remember
from tests.support.wallet import PIN
from tests.web.test_wallet_pages import _fund_and_pin

pytestmark = pytest.mark.browser
T = TypeVar("T")


def _t(locale: str, message: str, **params: Any) -> str:
    """What the page says in ``locale`` (the catalog's words once translated, else English)."""
    return gettext(locale, message, **params)


# -- set-up through the services, on the server's database -------------------------------------
def _db(server, work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``work(db, ctx)`` in a thread of its own on the server's database."""

    async def go() -> T:
        db = server.database()
        ctx = rules_off_ctx(server, db)
        try:
            return await work(db, ctx)
        finally:
            await db.dispose()

    return in_thread(asyncio.run, go())


def _audited(server, shop: Shop) -> list[tuple[str, str]]:
    """The audit log's (action, merchant code) entries about this shop, oldest first."""

    async def work(db, ctx) -> list[tuple[str, str]]:
        async with db.session() as s:
            rows = await s.execute(
                select(AuditEntry.action, AuditEntry.details["merchant"].astext)
                .where(AuditEntry.object_kind == "merchant", AuditEntry.object_id == str(shop.id))
                .order_by(AuditEntry.id)
            )
            return [(a, m) for a, m in rows.all()]

    return _db(server, work)


def _shop(server, name_zh: str, name_en: str) -> Shop:
    async def work(db, ctx) -> Shop:
        app = SimpleNamespace(state=SimpleNamespace(db=db, identity=ctx))
        return await make_merchant(app, name_zh=name_zh, name_en=name_en)  # type: ignore[arg-type]

    return _db(server, work)


def _staff(server, shop: Shop, *, role: str = "owner", totp: bool = True) -> tuple[str, str]:
    """A merchant_staff user of ``shop`` (with an authenticator unless ``totp=False``);
    returns (phone, TOTP secret)."""
    phone, secret = new_phone(), pyotp.random_base32()
    remember(secret)

    async def work(db, ctx) -> None:
        async with db.transaction() as s:
            user = await id_accounts.create_staff(
                s, ctx, phone_raw=phone, password=STRONG_PASSWORD, role="merchant_staff",
                name="店员小李",
            )  # fmt: skip
            if totp:
                user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
                user.totp_enabled_at = ctx.clock.now()
            merchant = await onboarding.get(s, shop.id)
            await onboarding.add_staff(s, merchant, user, role=role)

    _db(server, work)
    return phone, secret


def _sign_in_staff(page, phone: str, secret: str) -> None:
    sign_in(page, phone)
    page.wait_for_url("**/login/2fa**")
    page.locator("#twofa-code").fill(pyotp.TOTP(secret).now())  # the server's clock is real
    page.locator("form[action='/login/2fa'] button[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/login" not in page.url, page.url


def _customer(page, server, locale: str, fen: int) -> str:
    phone = sign_up(page, server, locale)
    _fund_and_pin(server, phone, fen)
    return phone


async def _pay_now(db, ctx, shop: Shop, phone: str, amount: str, at: datetime | None) -> str:
    async with db.transaction() as s:
        if at is not None:
            with_clock(s, FrozenClock(at))
        merchant = await onboarding.get(s, shop.id)
        user = await id_accounts.by_phone(s, e164(phone))
        row, _ = await checkout.create_session(
            s, ctx.settings, merchant, amount=Money.parse(amount, "CNY"),
            order_ref=f"ORD-{uuid.uuid4().hex[:8]}", desc="拿铁 latte", success_url=None,
            cancel_url=None, expires_in_minutes=30, key=uuid.uuid4().hex,
        )  # fmt: skip
        paid, _ = await customer.pay_checkout(s, ctx, user, str(row.id), pin=PIN)
        return str(paid.payment.id)


def _pay(server, shop: Shop, phone: str, amount: str, *, at: datetime | None = None) -> str:
    """The customer pays ``amount`` at the shop (a checkout session paid with the PIN), now or
    at ``at``; returns the payment's id."""

    async def work(db, ctx) -> str:
        return await _pay_now(db, ctx, shop, phone, amount, at)

    return _db(server, work)


def _pay_many(server, shop: Shop, phone: str, amounts: list[str], at: datetime) -> list[str]:
    """Several payments at the same instant (the list must keep ties apart)."""

    async def work(db, ctx) -> list[str]:
        return [await _pay_now(db, ctx, shop, phone, a, at) for a in amounts]

    return _db(server, work)


def _wallet(server, phone: str) -> int:
    async def work(db, ctx) -> int:
        async with db.transaction() as s:
            user = await id_accounts.by_phone(s, e164(phone))
            return (await wallet_account(s, user.id, "CNY")).available

    return _db(server, work)


def _merchant_available(server, shop: Shop) -> int:
    async def work(db, ctx) -> int:
        app = SimpleNamespace(state=SimpleNamespace(db=db))
        return (await merchant_balance(app, shop.id))[1]  # type: ignore[arg-type]

    return _db(server, work)


def _api_balance(server, secret: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/v1/merchant/balance",
        headers={"Authorization": f"Bearer {secret}"},
        timeout=10,
    )


# -- overview and refunds ----------------------------------------------------------------------
def test_staff_sees_the_overview_and_refunds_part_of_a_payment(open_page, server):
    loc = "en"
    shop = _shop(server, "街角咖啡", "Corner Coffee")
    buyer = _customer(open_page(locale=loc), server, loc, 500_00)
    payment_id = _pay(server, shop, buyer, "100.00")  # fee 0.60: the merchant keeps 99.40
    phone, secret = _staff(server, shop)

    page = open_page(locale=loc, viewport="desktop")
    _sign_in_staff(page, phone, secret)
    page.goto("/merchant")
    assert page.locator("#merchant-name").inner_text() == "Corner Coffee"
    assert page.locator("#merchant-status").inner_text() == "Active"
    assert "You can take payments." in page.locator("#merchant-overview").inner_text()
    assert page.locator("#balance-available").inner_text() == "CN¥99.40"
    assert page.locator("#today-count").inner_text() == "1"
    assert page.locator("#today-total").inner_text() == "CN¥100.00"
    assert "CN¥100.00" in page.locator("#merchant-latest").inner_text()
    shot(page, "merchant-overview-en")

    page.locator(f"#merchant-latest a[href='/merchant/payments/{payment_id}']").click()
    page.wait_for_url(f"**/merchant/payments/{payment_id}")
    assert "Paid" in page.locator("#payment").inner_text()
    customer_before, merchant_before = _wallet(server, buyer), _merchant_available(server, shop)

    # More than was paid: refused, nothing moves.
    page.locator("#refund-amount").fill("100.01")
    page.get_by_role("button", name="Refund", exact=True).click()
    assert "At most CN¥100.00" in alert_text(page)
    assert (_wallet(server, buyer), _merchant_available(server, shop)) == (
        customer_before,
        merchant_before,
    )

    page.locator("#refund-amount").fill("30")
    page.locator("#refund-reason").fill("少了一杯 one cup short")
    page.get_by_role("button", name="Refund", exact=True).click()
    page.wait_for_url(f"**/merchant/payments/{payment_id}?done=refunded")
    assert "The refund is made" in notice_text(page)
    assert page.locator("#payment-refunded").inner_text() == "CN¥30.00"
    assert "少了一杯" in page.locator("#refund-list").inner_text()
    # The customer gets 30.00; the merchant gives 30.00 less the fee's share (0.18) back.
    assert _wallet(server, buyer) == customer_before + 30_00
    assert _merchant_available(server, shop) == merchant_before - 29_82
    assert "At most CN¥70.00" in page.locator("#refund-amount-hint").inner_text()
    shot(page, "merchant-payment-refunded-en")
    assert script_errors(page) == []


# -- API keys ----------------------------------------------------------------------------------
def test_an_api_key_is_shown_once_works_rotates_and_is_revoked(open_page, server):
    shop = _shop(server, "钥匙书店", "Key Books")
    phone, secret = _staff(server, shop)
    page = open_page(locale="en", viewport="desktop")
    _sign_in_staff(page, phone, secret)
    page.goto("/merchant/keys")
    page.locator("#key-name").fill("till 2")
    page.locator("input[name=scopes][value=payments]").check()
    page.get_by_role("button", name="Create the key").click()
    box = page.locator("#new-key-secret")
    assert "shown only this once" in box.inner_text()
    assert box.get_by_role("button", name="Copy").is_visible()
    key = page.locator("#new-key-secret-value").inner_text().strip()
    remember(key)
    assert key.startswith("qb_sk_")
    assert "read, payments" in page.locator("#key-list").inner_text()
    shot(page, "merchant-keys-new-en")

    r = _api_balance(server, key)
    assert r.status_code == 200, r.text
    assert r.json()["available"] == {"amount": "0.00", "currency": "CNY"}

    page.goto("/merchant/keys")  # never again
    assert key not in page.content()
    assert page.locator("#new-key-secret").count() == 0
    row = page.locator("#key-list li", has_text="till 2")
    assert key[:14] in row.inner_text() and "last used" in row.inner_text()

    row.get_by_role("button", name="Rotate").click()
    rotated = page.locator("#new-key-secret-value").inner_text().strip()
    remember(rotated)
    assert rotated != key and rotated.startswith("qb_sk_")
    assert "keeps working until" in page.locator("#rotated-note").inner_text()
    assert _api_balance(server, key).status_code == 200  # the overlap
    assert _api_balance(server, rotated).status_code == 200

    page.goto("/merchant/keys")
    page.locator("#key-list li", has_text=rotated[:14]).get_by_role("link", name="Revoke").click()
    assert "stops working at once" in page.locator("main").inner_text()
    page.locator("#revoke-yes").click()
    page.wait_for_url("**/merchant/keys?done=key_revoked")
    assert "no longer works" in notice_text(page)
    assert _api_balance(server, rotated).status_code == 401
    assert script_errors(page) == []
    # Each secret made or taken back is in the audit log, with the shop it belongs to.
    actions = ["merchant.key_created", "merchant.key_rotated", "merchant.key_revoked"]
    assert _audited(server, shop) == [(a, shop.code) for a in actions]

    # A staff member who is not the owner does not manage keys.
    clerk_phone, clerk_secret = _staff(server, shop, role="staff")
    clerk = open_page(locale="en", viewport="desktop")
    _sign_in_staff(clerk, clerk_phone, clerk_secret)
    clerk.goto("/merchant")
    assert clerk.locator(".merchant-tabs a[href='/merchant/keys']").count() == 0
    answer = clerk.goto("/merchant/keys")
    assert answer is not None and answer.status == 403
    assert "Only the merchant's owner" in clerk.locator("main").inner_text()


# -- webhooks ----------------------------------------------------------------------------------
def test_a_webhook_endpoint_shows_its_secret_once_and_logs_deliveries(open_page, server):
    shop = _shop(server, "钩子面包", "Hook Bakery")
    phone, secret = _staff(server, shop)
    page = open_page(locale="en", viewport="desktop")
    _sign_in_staff(page, phone, secret)
    page.goto("/merchant/webhooks")

    # Our own network is not a webhook target (SSRF): refused, nothing registered.
    page.locator("#endpoint-url").fill("https://127.0.0.1/qianbao/hooks")
    page.locator("input[name=event_types][value='payment.succeeded']").check()
    page.get_by_role("button", name="Add the endpoint").click()
    assert "private, local or reserved network" in alert_text(page)
    assert page.locator("#endpoint-list").count() == 0

    settings = server.app.state.settings.webhooks
    settings.allow_private_targets = True  # as in development, to reach a local address
    try:
        page.locator("#endpoint-url").fill("https://localhost:9/qianbao/hooks")
        page.locator("#endpoint-description").fill("收银系统 till system")
        page.get_by_role("button", name="Add the endpoint").click()
    finally:
        settings.allow_private_targets = False
    whsec = page.locator("#endpoint-secret-value").inner_text().strip()
    remember(whsec)
    assert whsec.startswith("whsec_")
    assert "Keep it secret" in page.locator("#endpoint-secret").inner_text()
    endpoint = page.locator("#endpoint-list li").first
    assert "https://localhost:9/qianbao/hooks" in endpoint.inner_text()
    assert "payment.succeeded" in endpoint.inner_text() and "Enabled" in endpoint.inner_text()
    shot(page, "merchant-webhooks-new-en")
    page.goto("/merchant/webhooks")
    assert whsec not in page.content()
    page.get_by_role("button", name="Reveal secret").click()
    assert page.locator("#endpoint-secret-value").inner_text().strip() == whsec
    assert _audited(server, shop) == [("merchant.webhook_secret_revealed", shop.code)]

    # A payment makes a delivery; its detail shows the body sent; it can be sent again.
    buyer = _customer(open_page(locale="en"), server, "en", 100_00)
    payment_id = _pay(server, shop, buyer, "12.00")
    page.goto("/merchant/webhooks/deliveries")
    page.locator("#delivery-list a", has_text="payment.succeeded").first.click()
    assert payment_id in page.locator("#payload").inner_text()
    assert "https://localhost:9/qianbao/hooks" in page.locator("#delivery").inner_text()
    page.locator("#resend").click()
    page.wait_for_url(re.compile(r".*/merchant/webhooks/deliveries/\d+\?done=resent$"))
    assert "queued to be sent again" in notice_text(page)
    shot(page, "merchant-delivery-en")

    page.goto("/merchant/webhooks")
    page.get_by_role("button", name="Disable").click()
    page.wait_for_url("**/merchant/webhooks?done=endpoint_disabled")
    assert "Disabled by its owner." in page.locator("#endpoint-list").inner_text()
    assert script_errors(page) == []


# -- settlements -------------------------------------------------------------------------------
def _at(day: str, hour: int) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=LOCAL_TZ)


def _history(server, shop: Shop, buyer: str) -> tuple[str, str]:
    """Two sales on Monday 16 November 2026 and a partial refund, paid out on Tuesday (T+1)."""
    first = _pay(server, shop, buyer, "100.00", at=_at("2026-11-16", 10))
    second = _pay(server, shop, buyer, "50.00", at=_at("2026-11-16", 11))

    async def work(db, ctx) -> str:
        async with db.transaction() as s:
            with_clock(s, FrozenClock(_at("2026-11-16", 12)))
            merchant = await onboarding.get(s, shop.id)
            await refunds.refund(
                s, ctx, merchant, first, amount=Money.parse("20.00", "CNY"), reason="退一杯",
                key=uuid.uuid4().hex,
            )  # fmt: skip
        provider = rails.payouts(ctx.settings)
        async with db.transaction() as s:
            with_clock(s, FrozenClock(_at("2026-11-17", 9)))
            assert await settlement.run(s, ctx.settings, provider) >= 1
            # Instructed in this transaction (at 09:00), not by the server's job (at its time).
            await settlement.submit_created(s, ctx.settings, provider)
        # The server's own payout job may hold the row at that moment (the poll skips locked
        # rows): poll until the settlement is paid, by this poll or by the job's.
        for _ in range(50):
            async with db.transaction() as s:
                with_clock(s, FrozenClock(_at("2026-11-17", 10)))
                await settlement.poll(s, provider)
                rows = await settlement.list_settlements(s, shop.id)
            if rows[0].status == "paid":
                break
            await asyncio.sleep(0.2)
        assert rows[0].status == "paid", rows[0].status
        return str(rows[0].id)

    return _db(server, work), second


def test_a_settlement_report_and_its_csv_add_up(open_page, server):
    shop = _shop(server, "结算茶馆", "Settled Tea House")
    buyer = _customer(open_page(locale="en"), server, "en", 1000_00)
    settlement_id, second = _history(server, shop, buyer)
    phone, secret = _staff(server, shop)
    page = open_page(locale="en", viewport="desktop")
    _sign_in_staff(page, phone, secret)
    page.goto("/merchant/settlements")
    listed = page.locator("#settlement-list").inner_text()
    assert "Nov 16, 2026" in listed and "CN¥129.22" in listed and "Paid out" in listed
    page.locator(f"#settlement-list a[href='/merchant/settlements/{settlement_id}']").click()
    # (100 − 0.60) + (50 − 0.30) − (20 − 0.12) = 129.22
    assert page.locator("#settlement-net").inner_text() == "CN¥129.22"
    assert page.locator("#settlement-gross").inner_text() == "CN¥150.00"
    assert page.locator("#settlement-fees").inner_text() == "−CN¥0.78"
    assert page.locator("#settlement-lines tbody tr").count() == 3
    shot(page, "merchant-settlement-en")
    page.set_viewport_size({"width": 375, "height": 812})  # a phone: lines as stacked cards
    shot(page, "merchant-settlement-phone-en")
    page.goto("/merchant/settlements")
    shot(page, "merchant-settlements-phone-en")
    page.goto(f"/merchant/settlements/{settlement_id}")
    page.set_viewport_size({"width": 1280, "height": 800})

    with page.expect_download() as info:
        page.locator("#settlement-csv").click()
    raw = open(info.value.path(), "rb").read()  # noqa: SIM115 - read once
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with its byte-order mark
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    head, lines, total = rows[0], rows[1:-1], rows[-1]
    assert head[0] == "Type" and head[9] == "Net"
    assert [r[0] for r in lines] == ["Payment", "Payment", "Refund"]
    assert {r[6] for r in lines} == {"100.00", "50.00", "-20.00"}
    assert "退一杯" in {r[5] for r in lines}
    net = sum(Decimal(r[9]) for r in lines)
    assert net == Decimal("129.22") and total[0] == "Total" and total[9] == "129.22"
    assert (total[6], total[7], total[10]) == ("130.00", "0.78", "CNY")

    # Everything was paid out: a refund now is more than the merchant's balance. Refused,
    # recorded as failed, and no balance moves.
    before = (_wallet(server, buyer), _merchant_available(server, shop))
    assert before[1] == 0
    page.goto(f"/merchant/payments/{second}")
    page.locator("#refund-amount").fill("10.00")
    page.get_by_role("button", name="Refund", exact=True).click()
    assert "Your merchant balance is not enough for this refund." in alert_text(page)
    assert (_wallet(server, buyer), _merchant_available(server, shop)) == before
    assert "Failed" in page.locator("#refund-list").inner_text()
    assert page.locator("#payment-refunded").inner_text() == "CN¥0.00"


def test_the_payments_list_pages_through_ties_and_filters_by_day_and_status(open_page, server):
    shop = _shop(server, "翻页小馆", "Paging Diner")
    buyer = _customer(open_page(locale="en"), server, "en", 1000_00)
    same_instant = _pay_many(
        server, shop, buyer, [f"{n}.00" for n in range(1, 22)], _at("2026-11-23", 9)
    )
    earlier = _pay(server, shop, buyer, "99.00", at=_at("2026-11-20", 15))
    phone, secret = _staff(server, shop)
    page = open_page(locale="en", viewport="desktop")
    _sign_in_staff(page, phone, secret)

    def ids() -> list[str]:
        links = page.locator("#payment-list a.tx")
        return [h.rsplit("/", 1)[1] for h in links.evaluate_all("l => l.map(a => a.href)")]

    page.goto("/merchant/payments")
    first = ids()
    assert len(first) == 20
    page.get_by_role("link", name="Older payments").click()
    second = ids()
    assert page.get_by_role("link", name="Older payments").count() == 0
    assert sorted(first + second) == sorted([*same_instant, earlier])  # none twice, none lost
    assert second[-1] == earlier

    page.locator("#pf-from").fill("2026-11-20")
    page.locator("#pf-to").fill("2026-11-22")
    page.get_by_role("button", name="Show", exact=True).click()
    assert ids() == [earlier]
    page.locator("#pf-status").select_option("expired")
    page.get_by_role("button", name="Show", exact=True).click()
    assert page.locator("#payment-list-empty").is_visible()
    no_sideways_scroll(page)


# -- who may open what -------------------------------------------------------------------------
def test_the_dashboard_is_for_the_merchants_own_staff_with_two_step_verification(open_page, server):
    shop_a = _shop(server, "甲店", "Shop A")
    shop_b = _shop(server, "乙店", "Shop B")
    buyer = _customer(open_page(locale="en"), server, "en", 100_00)
    payment_a = _pay(server, shop_a, buyer, "8.00")

    phone_b, secret_b = _staff(server, shop_b)
    staff_b = open_page(locale="en", viewport="desktop")
    _sign_in_staff(staff_b, phone_b, secret_b)
    answer = staff_b.goto(f"/merchant/payments/{payment_a}")
    assert answer is not None and answer.status == 404
    assert "CN¥8.00" not in staff_b.content()
    answer = staff_b.goto(f"/merchant/till/{payment_a}")
    assert answer is not None and answer.status == 404
    staff_b.goto("/merchant/payments")
    assert staff_b.locator("#payment-list-empty").is_visible()

    # Without an authenticator: to the security page to turn it on first.
    phone, _ = _staff(server, shop_a, totp=False)
    fresh = open_page(locale="en", viewport="desktop")
    sign_in(fresh, phone)
    fresh.wait_for_load_state()
    fresh.goto("/merchant")
    assert fresh.url.endswith("/security/two-factor")

    # A customer is no merchant's staff.
    shopper = open_page(locale="en")
    _customer(shopper, server, "en", 0)
    answer = shopper.goto("/merchant")
    assert answer is not None and answer.status == 403
    assert "Only the merchant's own staff can do this." in shopper.locator("main").inner_text()

    # Not signed in: to the sign-in page, and back here afterwards.
    stranger = open_page(locale="en")
    stranger.goto("/merchant/payments")
    assert "/login?next=/merchant/payments" in stranger.url


# -- QR codes and the till, at phone width in Chinese --------------------------------------------
def _issue_code(server, phone: str) -> str:
    async def work(db, ctx) -> str:
        async with db.transaction() as s:
            user = await id_accounts.by_phone(s, e164(phone))
            return (await payment_codes.issue(s, ctx, user)).code

    code = _db(server, work)
    remember(code)
    return code


def _pay_order(server, phone: str, session_id: str) -> None:
    async def work(db, ctx) -> None:
        async with db.transaction() as s:
            user = await id_accounts.by_phone(s, e164(phone))
            await customer.pay_checkout(s, ctx, user, session_id, pin=PIN)

    _db(server, work)


def _confirm(server, phone: str, payment_id: str) -> None:
    async def work(db, ctx) -> None:
        async with db.transaction() as s:
            user = await id_accounts.by_phone(s, e164(phone))
            await payment_codes.confirm(s, ctx, user, payment_id, pin=PIN)

    _db(server, work)


def test_qr_codes_and_the_till_on_a_phone_in_chinese(open_page, server):
    import zxingcpp
    from PIL import Image

    loc = "zh_CN"
    shop = _shop(server, "小巷面馆", "Alley Noodles")
    buyer = _customer(open_page(locale=loc), server, loc, 2000_00)
    _pay(server, shop, buyer, "36.00")
    phone, secret = _staff(server, shop)
    page = open_page(locale=loc)
    _sign_in_staff(page, phone, secret)

    page.goto("/merchant")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("#merchant-name").inner_text() == "小巷面馆"
    assert page.locator("#merchant-status").inner_text() == _t(loc, "Active")
    shot(page, "merchant-overview-zh_CN")
    page.goto("/merchant/payments")
    shot(page, "merchant-payments-zh_CN")
    page.locator("#payment-list a").first.click()
    shot(page, "merchant-payment-zh_CN")

    # The shop's static QR: on the page, and as PNG and SVG files, carrying the shop's address.
    page.goto("/merchant/qr")
    assert "用钱包扫码付款" in page.locator("#shop-qr").inner_text()
    assert page.locator("#shop-qr-image svg").is_visible()
    shot(page, "merchant-qr-zh_CN")
    png = page.request.get("/merchant/qr.png")
    assert png.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.body())))
    assert [d.text for d in decoded] == [f"{server.url}/pay/m/{shop.code}"]
    svg = page.request.get("/merchant/qr.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert "attachment" in svg.headers["content-disposition"]
    assert svg.text().lstrip().startswith("<?xml")
    assert not page.locator(".qr-print-shop").is_visible()
    on_screen = page.locator("#shop-qr-image svg").bounding_box()["width"]
    page.emulate_media(media="print")  # the sheet to print: the shop's names, a big code
    assert page.locator(".qr-print-shop").inner_text() == "小巷面馆"
    assert page.locator("#shop-qr-image svg").bounding_box()["width"] > on_screen
    assert not page.locator(".merchant-tabs").is_visible()
    assert not page.locator("#order-qr").is_visible()
    page.emulate_media(media="screen")

    # An order QR: a fixed amount, paid by the customer while the page watches.
    page.locator("#order-amount").fill("４２.５０")  # typed with a Chinese IME
    page.locator("#order-reference").fill("T-0042")
    page.locator("#order-description").fill("牛肉面两碗")
    page.get_by_role("button", name=_t(loc, "Show the QR code")).click()
    page.wait_for_url(re.compile(r".*/merchant/qr/orders/[0-9a-f-]{36}$"))
    session_id = page.url.rsplit("/", 1)[1]
    assert "¥42.50" in page.locator("#order-status").inner_text()
    assert page.locator("#order-qr-image svg").is_visible()
    shot(page, "merchant-qr-order-zh_CN")
    _pay_order(server, buyer, session_id)
    page.wait_for_selector("#order-status .badge.ok", timeout=10_000)
    assert page.locator("#order-qr-image").count() == 0

    # The till: a small amount goes through at once; a large one waits for the customer's PIN.
    page.goto("/merchant/till")
    shot(page, "merchant-till-zh_CN")
    page.locator("#till-amount").fill("18.50")
    page.locator("#till-code").fill("280000000000000000")  # no such code
    page.get_by_role("button", name=_t(loc, "Charge")).click()
    invalid = "This payment code is not valid or has expired: ask the customer to refresh it."
    assert _t(loc, invalid) in alert_text(page)
    assert page.locator("#till-amount").input_value() == "18.50"
    page.locator("#till-code").fill(_issue_code(server, buyer))
    page.get_by_role("button", name=_t(loc, "Charge")).click()
    page.wait_for_url(re.compile(r".*/merchant/till/[0-9a-f-]{36}$"))
    assert page.locator("#till-status .badge.ok").is_visible()
    shot(page, "merchant-till-paid-zh_CN")
    page.locator("#till-next").click()
    page.locator("#till-amount").fill("300.00")
    page.locator("#till-code").fill(_issue_code(server, buyer))
    page.get_by_role("button", name=_t(loc, "Charge")).click()
    page.wait_for_url(re.compile(r".*/merchant/till/[0-9a-f-]{36}$"))
    assert page.locator("#till-status .badge.warn").is_visible()
    shot(page, "merchant-till-waiting-zh_CN")
    _confirm(server, buyer, page.url.rsplit("/", 1)[1])
    page.wait_for_selector("#till-status .badge.ok", timeout=10_000)

    for path, name in (
        ("/merchant/keys", "keys"),
        ("/merchant/webhooks", "webhooks"),
        ("/merchant/webhooks/deliveries", "deliveries"),
        ("/merchant/settlements", "settlements"),
    ):
        page.goto(path)
        no_sideways_scroll(page)
        shot(page, f"merchant-{name}-zh_CN")
    page.goto("/merchant")
    assert page.locator("#today-count").inner_text() == "4"
    assert script_errors(page) == []
