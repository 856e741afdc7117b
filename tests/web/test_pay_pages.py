"""The customer's pay pages in a real browser at phone width: a shop's hosted checkout page
(sign-in first, a wrong PIN, paying, back to the shop, "already paid", a cancelled order), a QR
purchase by an uploaded picture on the Scan page (a dynamic order QR and a shop's static QR with
a promo code), and the payment code with a till charge confirmed by PIN on the phone.

Shops are made through the merchant services and act through the merchant API with their key,
as a till or a shop's server would; every money check is exact and, on a refusal, unchanged."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.kernel.translations import gettext
from qianbao.merchants import promo, qr
from qianbao.wallet import accounts
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, e164
from tests.support.merchants import Shop, make_merchant, merchant_balance
from tests.support.pages import alert_text, no_sideways_scroll, script_errors, shot, sign_up
from tests.support.wallet import PIN
from tests.web.test_wallet_pages import _fund_and_pin

pytestmark = pytest.mark.browser

SHOP_SITE = "https://shop.example"
TEXT = {
    "zh_CN": {
        "shop": "测试咖啡",
        "wrong_pin": "支付密码错误",
        "invalid_amount": "请输入数字金额",
        "paid_already": "这笔付款请求已经支付过了。",
    },
    "en": {
        "shop": "Test Coffee",
        "wrong_pin": "The payment PIN is wrong",
        "invalid_amount": "Enter the amount as a number",
        "paid_already": "This payment request has already been paid.",
    },
}


def t(locale: str, message: str, **params: Any) -> str:
    """One of the pay pages' own messages as the catalog has it (in Chinese once translated)."""
    return gettext(locale, message, **params)


# -- set-up through the services and the merchant API -----------------------------------------
def _run(coro: Any) -> Any:
    return in_thread(asyncio.run, coro)


def _with_app(server: Any, work: Any) -> Any:
    """``work(app)`` with an app-like object whose database is usable from this thread (the
    server's own pool belongs to the server's event loop)."""

    async def go() -> Any:
        db = server.database()
        try:
            return await work(
                SimpleNamespace(state=SimpleNamespace(db=db, identity=server.app.state.identity))
            )
        finally:
            await db.dispose()

    return _run(go())


def _shop(server: Any) -> Shop:
    shop: Shop = _with_app(server, make_merchant)
    return shop


def _shop_posted(server: Any, shop: Shop) -> int:
    async def work(app: Any) -> int:
        posted, _ = await merchant_balance(app, shop.id)
        return posted

    return int(_with_app(server, work))


def _wallet(server: Any, phone: str) -> int:
    """The customer's available CNY balance, in fen."""

    async def work(app: Any) -> int:
        async with app.state.db.transaction() as s:
            user = await id_accounts.by_phone(s, e164(phone))
            assert user is not None
            return next(
                b.available for b in await accounts.balances(s, user.id) if b.currency == "CNY"
            )

    return int(_with_app(server, work))


def _promo(server: Any, code: str, *, off: int, min_spend: int) -> None:
    async def work(app: Any) -> None:
        async with app.state.db.transaction() as s:
            now = server.clock.now()
            await promo.create(
                s,
                promo.Definition(
                    code=code, kind="fixed", value=off, currency="CNY", min_spend=min_spend,
                    max_discount=None, once_per_user=True, budget=100_00, merchant_id=None,
                    valid_from=now - timedelta(hours=1), valid_until=now + timedelta(days=1),
                ),
                by=None,
            )  # fmt: skip

    _with_app(server, work)


def _api(server: Any, method: str, path: str, shop: Shop, body: dict | None = None) -> dict:
    headers = {**shop.headers, "Idempotency-Key": uuid.uuid4().hex}
    r = httpx.request(method, server.url + path, json=body, headers=headers, timeout=20)
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


def _checkout_session(server: Any, shop: Shop, amount: str, **extra: Any) -> dict:
    body = {
        "amount": amount,
        "currency": "CNY",
        "order_reference": f"ORDER-{uuid.uuid4().hex[:8]}",
        "description": "Latte 拿铁",
        "success_url": f"{SHOP_SITE}/thanks?order=1",
        "cancel_url": f"{SHOP_SITE}/cart",
        **extra,
    }
    return _api(server, "POST", "/api/v1/merchant/checkout-sessions", shop, body)


def _shop_site(page: Any) -> None:
    """The shop's own site (outside this closed network) answers in the test."""
    page.context.route(
        f"{SHOP_SITE}/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<p>Thanks!</p>"),
    )


def _customer(open_page: Any, server: Any, locale: str, fen: int) -> tuple[Any, str]:
    page = open_page(locale=locale)
    phone = sign_up(page, server, locale)
    _fund_and_pin(server, phone, fen)
    return page, phone


def _pay(page: Any, pin: str) -> None:
    page.locator("#pay-pin").fill(pin)
    page.locator("#pay-submit").click()
    page.wait_for_load_state()


# -- a) the hosted checkout page -------------------------------------------------------------
def test_hosted_checkout_sign_in_wrong_pin_pay_and_back_to_the_shop(open_page, server):
    locale = "zh_CN"
    _, phone = _customer(open_page, server, locale, 100_00)
    shop = _shop(server)
    cs = _checkout_session(server, shop, "28.00")
    assert cs["url"].endswith(f"/pay/checkout/{cs['id']}")

    # Not signed in on this phone: sign in first, then straight back to the payment.
    page = open_page(locale=locale)
    _shop_site(page)
    page.goto(f"/pay/checkout/{cs['id']}")
    page.wait_for_url(re.compile(r".*/login\?next=/pay/checkout/.*"))
    page.locator("#login-phone").fill(phone)
    page.locator("#login-password").fill(STRONG_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"**/pay/checkout/{cs['id']}")
    sheet = page.locator(".pay-sheet").inner_text()
    assert TEXT[locale]["shop"] in sheet and t(locale, "Verified merchant") in sheet
    assert "28.00" in page.locator(".pay-amount").inner_text()
    assert "Latte 拿铁" in sheet and cs["order_reference"] in sheet
    assert "100.00" in page.locator(".pay-balance").inner_text()
    assert page.locator("#pay-cancel").get_attribute("href") == f"{SHOP_SITE}/cart"
    shot(page, f"pay-checkout-{locale}")

    # A wrong PIN: said in the user's language, the form stays, nothing moves.
    _pay(page, "000000")
    assert TEXT[locale]["wrong_pin"] in alert_text(page)
    assert page.locator("#pay-form").count() == 1
    assert _wallet(server, phone) == 100_00 and _shop_posted(server, shop) == 0

    _pay(page, PIN)
    page.wait_for_url(f"**/pay/checkout/{cs['id']}?paid=1")
    assert t(locale, "Payment successful") in page.locator(".pay-done").inner_text()
    # Back to the shop with the session id: by the button, or by itself a few seconds later.
    back = f"{SHOP_SITE}/thanks?order=1&session_id={cs['id']}"
    assert page.locator("#pay-back").get_attribute("href") == back
    refresh = page.locator("meta[http-equiv=refresh]").get_attribute("content")
    assert refresh == f"6;url={back}"
    shot(page, f"pay-checkout-paid-{locale}")
    page.locator("#pay-back").click()
    page.wait_for_url(back)
    # Exactly: the customer pays 28.00; the shop gets 28.00 less 0.6 % (0.17).
    assert _wallet(server, phone) == 72_00
    assert _shop_posted(server, shop) == 27_83

    # Paying again: "already paid", no form, nothing moves; the receipt is there.
    page.goto(f"/pay/checkout/{cs['id']}")
    assert TEXT[locale]["paid_already"] in alert_text(page)
    assert page.locator("#pay-form").count() == 0
    page.get_by_role("link", name=t(locale, "See the receipt")).click()
    page.wait_for_url(re.compile(r".*/pay/payments/[0-9a-f-]+$"))
    receipt = page.locator(".receipt").inner_text()
    assert "28.00" in receipt and TEXT[locale]["shop"] in receipt
    tx = page.locator("#receipt-tx").get_attribute("href")
    assert tx and tx.startswith("/wallet/tx/")
    help_link = page.locator("#receipt-help").get_attribute("href")
    assert help_link == f"/support/tickets/new?category=payment&transaction={tx.rsplit('/', 1)[1]}"
    shot(page, f"pay-receipt-{locale}")
    page.locator("#receipt-tx").click()
    page.wait_for_url(f"**{tx}")
    assert "28.00" in page.locator(".big").inner_text()
    assert _wallet(server, phone) == 72_00 and _shop_posted(server, shop) == 27_83

    # A session the shop cancelled: said plainly, no form.
    cancelled = _checkout_session(server, shop, "5.00")
    _api(server, "POST", f"/api/v1/merchant/checkout-sessions/{cancelled['id']}/cancel", shop)
    page.goto(f"/pay/checkout/{cancelled['id']}")
    assert t(locale, "The shop cancelled this payment request.") in alert_text(page)
    assert page.locator("#pay-form").count() == 0
    # One past its time (before the sweeper marks it): expired, no form.
    expiring = _checkout_session(server, shop, "3.00", expires_in_minutes=1)
    server.clock.advance(minutes=2)
    try:
        page.goto(f"/pay/checkout/{expiring['id']}")
        expired = "This payment request has expired. Go back to the shop and start again."
        assert t(locale, expired) in alert_text(page)
        assert page.locator("#pay-form").count() == 0
    finally:
        server.clock.reset()
    assert _wallet(server, phone) == 72_00
    no_sideways_scroll(page)
    assert script_errors(page) == []


# -- b) a QR purchase by an uploaded picture on the Scan page ---------------------------------
def _scan_picture(page: Any, tmp_path: Path, text: str) -> None:
    picture = tmp_path / f"qr-{uuid.uuid4().hex[:6]}.png"
    picture.write_bytes(qr.qr_png(text))
    page.locator("#scan-file").set_input_files(str(picture))


def test_scan_an_uploaded_order_qr_and_pay(open_page, server, tmp_path):
    locale = "en"
    page, phone = _customer(open_page, server, locale, 50_00)
    shop = _shop(server)
    cs = _checkout_session(server, shop, "18.80", method="qr", success_url=None, cancel_url=None)
    page.goto("/wallet")
    page.get_by_role("link", name=t(locale, "Scan"), exact=True).click()
    page.wait_for_url("**/scan")
    # No camera in this browser: the page says so and points to the upload.
    hint = page.locator("#scan-hint")
    hint.wait_for(state="visible")
    assert hint.inner_text() == t(
        locale,
        "The camera cannot be used here. Allow the camera for this site, or upload a picture "
        "of the QR code below.",
    )
    shot(page, f"pay-scan-{locale}")

    # Another site's code (even one whose path looks like ours): refused, the page stays.
    _scan_picture(page, tmp_path, "https://evil.example/pay/checkout/" + cs["id"])
    message = page.locator("#scan-message")
    message.wait_for(state="visible")
    assert message.inner_text() == t(locale, "This is not a Qianbao payment code.")
    assert page.url.endswith("/scan")

    _scan_picture(page, tmp_path, qr.checkout_url(server.url, cs["id"]))
    page.wait_for_url(f"{server.url}/pay/checkout/{cs['id']}")
    assert "18.80" in page.locator(".pay-amount").inner_text()
    _pay(page, PIN)
    page.wait_for_url(f"**/pay/checkout/{cs['id']}?paid=1")
    assert page.locator("#pay-back").count() == 0  # a till's order: no shop site to go back to
    assert _wallet(server, phone) == 50_00 - 18_80
    payment = _api(server, "GET", f"/api/v1/merchant/checkout-sessions/{cs['id']}", shop)
    assert payment["status"] == "paid"
    fee = _api(server, "GET", f"/api/v1/merchant/payments/{payment['payment_id']}", shop)["fee"]
    assert _shop_posted(server, shop) == 18_80 - int(fee["amount"].replace(".", ""))
    assert script_errors(page) == []


def test_scan_a_shop_qr_type_the_amount_with_a_promo_code(open_page, server, tmp_path):
    locale = "zh_CN"
    page, phone = _customer(open_page, server, locale, 50_00)
    shop = _shop(server)
    code = f"COFFEE{uuid.uuid4().hex[:6].upper()}"
    _promo(server, code, off=5_00, min_spend=10_00)
    page.goto("/scan")
    _scan_picture(page, tmp_path, qr.shop_url(server.url, shop.code))
    page.wait_for_url(f"{server.url}/pay/m/{shop.code}")
    assert TEXT[locale]["shop"] in page.locator(".pay-shop").inner_text()

    # What is not a decimal amount is refused by the one money parser (nothing moves)...
    page.locator("#pay-amount").fill("十二块五")
    _pay(page, PIN)
    assert TEXT[locale]["invalid_amount"] in alert_text(page)
    assert _wallet(server, phone) == 50_00

    # ...while full-width digits from a Chinese keyboard are read as the digits they are.
    page.locator("#pay-amount").fill("１２.５０")
    page.locator("#pay-promo").fill(code.lower())
    page.get_by_role("button", name=t(locale, "Apply the promo code")).click()
    quote = page.locator(".pay-quote").inner_text()
    assert "5.00" in quote and "7.50" in quote
    assert _wallet(server, phone) == 50_00
    shot(page, f"pay-shop-promo-{locale}")
    form = {
        name: page.locator(f"#pay-form input[name={name}]").input_value()
        for name in ("csrf_token", "key", "amount", "note", "promo_code")
    }
    _pay(page, PIN)
    page.wait_for_url(re.compile(r".*/pay/payments/[0-9a-f-]+\?done=1$"))
    receipt = page.locator(".receipt").inner_text()
    assert "7.50" in receipt and "5.00" in receipt and "12.50" in receipt
    shot(page, f"pay-shop-receipt-{locale}")
    # The customer pays 7.50; the shop is paid the full 12.50 less its fee (the operator's
    # marketing account funds the 5.00).
    assert _wallet(server, phone) == 42_50
    payment_id = page.url.rsplit("/", 1)[1].split("?")[0]
    got = _api(server, "GET", f"/api/v1/merchant/payments/{payment_id}", shop)
    assert got["discount"]["amount"] == "5.00" and got["amount"]["amount"] == "12.50"
    assert _shop_posted(server, shop) == 12_50 - int(got["fee"]["amount"].replace(".", ""))
    # The same form sent again (a double tap, a flaky network; same idempotency key): the same
    # payment's receipt, and the money moved once.
    again = page.request.post(f"/pay/m/{shop.code}", form={**form, "pin": PIN, "action": "pay"})
    assert again.ok and again.url.endswith(f"/pay/payments/{payment_id}?done=1")
    assert _wallet(server, phone) == 42_50
    assert script_errors(page) == []


# -- c) the payment code, a till charge above the limit without PIN ---------------------------
def _code_digits(page: Any) -> str:
    page.locator("#code-toggle").click()
    digits = page.locator("#code-digits")
    digits.wait_for(state="visible")
    return digits.inner_text().replace(" ", "")


def _charge(server: Any, shop: Shop, code: str, amount: str) -> dict:
    body = {
        "code": code,
        "amount": amount,
        "currency": "CNY",
        "order_reference": uuid.uuid4().hex[:12],
    }
    return _api(server, "POST", "/api/v1/merchant/payment-code-payments", shop, body)


def test_payment_code_charged_above_the_limit_is_confirmed_with_the_pin(open_page, server):
    locale = "zh_CN"
    page, phone = _customer(open_page, server, locale, 500_00)
    shop = _shop(server)
    page.goto("/wallet")
    page.get_by_role("link", name=t(locale, "Pay code"), exact=True).click()
    page.wait_for_url("**/pay/code")
    assert "•" in page.locator(".digits-masked").inner_text()
    assert (
        page.locator("img.code-barcode").is_visible() and page.locator("img.code-qr").is_visible()
    )
    first = _code_digits(page)
    assert re.fullmatch(r"28\d{16}", first), first
    # A new code on demand (as every minute by itself): the digits stay shown.
    page.locator("#code-refresh").click()
    page.wait_for_function(
        "old => document.getElementById('code-digits').textContent.replace(/ /g, '') !== old",
        arg=first,
    )
    code = page.locator("#code-digits").inner_text().replace(" ", "")
    assert re.fullmatch(r"28\d{16}", code) and code != first
    shot(page, f"pay-code-{locale}")

    charged = _charge(server, shop, code, "250.00")  # above the default 200.00 without PIN
    assert charged["status"] == "requires_confirmation"
    item = page.locator(f"#awaiting-{charged['id']}")
    item.wait_for(state="visible", timeout=15_000)  # the page asks every few seconds
    assert "250.00" in item.inner_text() and TEXT[locale]["shop"] in item.inner_text()
    assert _wallet(server, phone) == 500_00
    shot(page, f"pay-code-awaiting-{locale}")

    item.locator("input[name=pin]").fill("000000")
    item.locator("button.primary").click()
    assert TEXT[locale]["wrong_pin"] in alert_text(page)
    assert _wallet(server, phone) == 500_00
    item = page.locator(f"#awaiting-{charged['id']}")
    item.locator("input[name=pin]").fill(PIN)
    item.locator("button.primary").click()
    page.wait_for_url(f"**/pay/payments/{charged['id']}?done=1")
    assert "250.00" in page.locator(".receipt").inner_text()
    assert _wallet(server, phone) == 250_00
    got = _api(server, "GET", f"/api/v1/merchant/payments/{charged['id']}", shop)
    assert got["status"] == "succeeded"
    page.goto("/pay/code")
    assert page.locator(".awaiting-item").count() == 0
    assert _wallet(server, phone) == 250_00  # once

    # A higher limit without PIN (with the PIN): the next till charge goes through at once,
    # and the page says so.
    page.locator("#no-pin-limit").fill("300.00")
    page.locator("#no-pin-pin").fill(PIN)
    page.locator("form[action='/pay/code/settings'] button").click()
    page.wait_for_url("**/pay/code?saved=1#no-pin")
    assert page.locator("#no-pin-limit").input_value() == "300.00"
    code = _code_digits(page)
    charged = _charge(server, shop, code, "250.00")
    assert charged["status"] == "succeeded"
    done = page.locator("#awaiting .notice-box")
    done.wait_for(state="visible", timeout=15_000)
    assert "250.00" in done.inner_text()
    assert _wallet(server, phone) == 0
    no_sideways_scroll(page)
    assert script_errors(page) == []
