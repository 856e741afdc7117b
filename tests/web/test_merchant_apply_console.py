"""Merchant onboarding in a real browser, in Chinese at phone width (375 × 812): a newcomer applies
at /merchant/apply (a wrong Unified Social Credit Code first: the translated refusal, nothing
created, the form kept; then a valid one), an operator with two-step verification finds the
application waiting in /console/merchants, reveals the settlement account (audited) and activates
the merchant with a reason and a confirmation (audited); a customer without a staff role is
refused; the operator creates a promo code in /console/promos (an amount in words refused) and
switches it off.

Texts this work adds are compared through the catalogue (``tr``), so the assertions hold before
and after their Chinese translations are merged; texts that were already translated are compared
in Chinese."""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

import pyotp
import pytest
from stdnum import luhn

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from qianbao.merchants import onboarding, promo, review
from qianbao.web.i18n import gettext
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, e164, new_phone
from tests.support.merchants import uscc
from tests.support.pages import alert_text, notice_text, script_errors, shot, sign_in, sign_up
from tests.support.secrets import remember

pytestmark = pytest.mark.browser
ZH = "zh_CN"
REASON = "营业执照与统一社会信用代码已核对一致"
_serial = itertools.count(1)


def tr(message: str, **params: Any) -> str:
    return gettext(ZH, message, **params)


def _run(server: Any, work: Any) -> Any:
    """Run ``work(session)`` in one transaction on the server's database (own event loop)."""

    async def go() -> Any:
        db = server.database()
        try:
            async with db.transaction() as s:
                return await work(s)
        finally:
            await db.dispose()

    return in_thread(asyncio.run, go())


def _staff(server: Any, role: str, name: str) -> tuple[str, str]:
    """A staff member with two-step verification on; returns (phone, TOTP secret)."""
    phone, secret = new_phone(), pyotp.random_base32()
    remember(secret)
    ctx: IdentityContext = server.app.state.identity

    async def work(s: Any) -> None:
        user = await id_accounts.create_staff(
            s, ctx, phone_raw=phone, password=STRONG_PASSWORD, role=role, name=name
        )
        user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
        user.totp_enabled_at = ctx.clock.now()

    _run(server, work)
    return phone, secret


def _sign_in_with_code(page: Any, phone: str, secret: str) -> None:
    sign_in(page, phone)
    page.wait_for_url("**/login/2fa**")
    page.locator("#twofa-code").fill(pyotp.TOTP(secret).now())  # the server's machine clock
    page.get_by_role("button", name="继续").click()
    page.wait_for_url("**/console**")


def _card_number() -> str:
    """A Luhn-valid ICBC card number (a settlement account in China)."""
    body = f"622202{next(_serial) + 7_000_000:012d}"
    return body + luhn.calc_check_digit(body)


def _wrong_check_digit(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def _fill_application(page: Any, f: dict[str, str]) -> None:
    page.locator("#apply-name-zh").fill(f["name_zh"])
    page.locator("#apply-name-en").fill(f["name_en"])
    page.locator("#apply-category").select_option("5814")
    page.locator("#apply-uscc").fill(f["uscc"])
    page.locator("#apply-website").fill("https://cafe.example.cn")
    page.locator("#apply-account").fill(f["account"])
    page.locator("#apply-holder").fill(f["name_zh"])
    page.locator("#apply-contact").fill("王小明")
    page.locator("#apply-phone").fill(f["phone"])


def _apply(open_page: Any, server: Any) -> dict[str, str]:
    """The newcomer's application through the page; returns what was typed and the reference."""
    n = next(_serial)
    f = {
        "name_zh": f"街角咖啡{n}号店",
        "name_en": f"Corner Cafe No. {n}",
        "uscc": uscc(),
        "account": _card_number(),
        "phone": new_phone(),
    }
    page = open_page(locale=ZH)  # 375 × 812
    page.goto("/merchant/apply")
    assert page.locator("h1").inner_text() == tr("Apply to become a merchant")
    # The categories are offered by their translated names.
    assert "快餐、咖啡和茶饮店" in page.locator("#apply-category").inner_text()
    shot(page, "merchant-apply-1-zh_CN")
    # (Playwright's screenshot leaves style="" on inputs, which HTMX would copy when it swaps
    # them in, against the CSP: start again from a fresh page.)
    page.reload()

    _fill_application(page, {**f, "uscc": _wrong_check_digit(f["uscc"])})
    seen = len(server.sms(e164(f["phone"])))
    page.locator("#apply-send-code").click()  # HTMX: only the applicant's block comes back
    page.wait_for_selector("#apply-applicant .notice-box")
    assert f["phone"][-4:] in page.locator("#apply-applicant .notice-box").inner_text()
    assert page.locator("#apply-name-zh").input_value() == f["name_zh"]  # the rest stays
    code = server.wait_for_code(e164(f["phone"]), seen)
    page.locator("#apply-code").fill(code)
    page.locator("#apply-password").fill(STRONG_PASSWORD)
    page.locator("#apply-password2").fill(STRONG_PASSWORD)
    page.locator("#apply-form button.primary").click()
    page.wait_for_selector(".form-error[role=alert]")

    # The service's refusal, in Chinese; nothing was created; the form kept what was typed.
    assert "这个统一社会信用代码无效" in alert_text(page)
    assert page.locator("#apply-uscc").input_value() == _wrong_check_digit(f["uscc"])
    assert page.locator("#apply-name-en").input_value() == f["name_en"]
    assert page.locator("#apply-category").input_value() == "5814"
    assert page.locator("#apply-account").input_value() == f["account"]
    assert page.locator("#apply-phone").input_value() == f["phone"]
    assert page.locator("#apply-code").input_value() == code
    assert page.locator("#apply-password").input_value() == ""  # never sent back
    shot(page, "merchant-apply-2-uscc-error-zh_CN")

    async def nothing(s: Any) -> tuple[int, Any]:
        found = await review.find(s, q=f["name_zh"])
        return len(found), await id_accounts.by_phone(s, e164(f["phone"]))

    assert _run(server, nothing) == (0, None)

    # The right code: the same SMS code still works (a refused form does not use it up).
    page.locator("#apply-uscc").fill(f["uscc"])
    page.locator("#apply-password").fill(STRONG_PASSWORD)
    page.locator("#apply-password2").fill(STRONG_PASSWORD)
    page.locator("#apply-form button.primary").click()
    page.wait_for_url(re.compile(r".*/merchant/apply/done\?ref=[2-9A-Z]{8}$"))
    assert (
        tr("Your application is waiting for review.") in page.locator("#apply-status").inner_text()
    )
    f["reference"] = page.locator("#apply-reference").inner_text()
    assert page.locator("#apply-done h2").all_inner_texts() == [
        tr("What happens next"),
        tr("How to sign in"),
    ]
    shot(page, "merchant-apply-3-done-zh_CN")
    assert script_errors(page) == []

    async def created(s: Any) -> tuple[Any, Any, list[Any]]:
        merchant = await onboarding.by_code(s, f["reference"])
        user = await id_accounts.by_phone(s, e164(f["phone"]))
        return merchant, user, await onboarding.staff_of(s, merchant.id)

    merchant, user, staff = _run(server, created)
    assert (merchant.status, merchant.name_zh, merchant.uscc) == (
        "pending_review",
        f["name_zh"],
        f["uscc"],
    )
    assert merchant.settlement_last4 == f["account"][-4:]
    assert user.role == "merchant_staff" and [u.id for u in staff] == [user.id]
    assert user.password_hash.startswith("$argon2id$")
    f["id"] = str(merchant.id)
    return f


def test_apply_review_activate_and_promo_codes(open_page, server):
    applied = _apply(open_page, server)

    # -- the operator finds the application waiting and activates it ------------------------------
    op = open_page(locale=ZH)
    phone, secret = _staff(server, "supervisor", "运营小李")
    _sign_in_with_code(op, phone, secret)
    op.goto("/console/merchants?status=pending_review")
    listing = op.locator("#merchant-list")
    assert applied["name_zh"] in listing.inner_text()
    row = listing.locator("li", has_text=applied["name_zh"])
    assert row.locator(".badge").get_attribute("data-status") == "pending_review"
    assert row.locator(".badge").inner_text() == tr("Waiting for review")
    shot(op, "console-merchants-zh_CN")
    op.goto(f"/console/merchants?q={applied['reference']}")  # by its code
    assert op.locator("#merchant-list li").count() == 1
    op.locator("#merchant-list a").click()
    op.wait_for_url(f"**/console/merchants/{applied['id']}")
    facts = op.locator("#merchant-facts").inner_text()
    assert applied["name_en"] in facts and applied["uscc"] in facts
    assert "快餐、咖啡和茶饮店" in facts
    number = op.locator("#settlement-number").inner_text()
    assert number.endswith(applied["account"][-4:]) and applied["account"] not in number
    assert "中国工商银行" in op.locator("#merchant-settlement").inner_text()
    assert "王小明" in op.locator("#merchant-staff").inner_text()
    shot(op, "console-merchant-pending-zh_CN")

    op.locator("#reveal-number").click()
    op.wait_for_load_state()
    assert op.locator("#settlement-number").inner_text() == applied["account"]
    assert (
        tr("Revealed the settlement account number") in op.locator("#merchant-audit").inner_text()
    )

    # A reason is required (the browser's check removed: the server's), then a confirmation.
    op.locator("#reason-active").evaluate("e => { e.removeAttribute('minlength') }")
    op.locator("#reason-active").fill("ok")
    op.locator("#status-active button").click()
    op.wait_for_load_state()
    assert tr("Give a reason (at least 5 characters): it is kept in the audit log.") in alert_text(
        op
    )
    op.locator("#reason-active").fill(REASON)
    op.locator("#status-active button").click()
    op.wait_for_selector("#confirm-form")
    assert op.locator("#merchant-status").get_attribute("data-status") == "pending_review"
    assert REASON in op.locator("#confirm-form").inner_text()
    shot(op, "console-merchant-confirm-zh_CN")
    op.locator("#confirm-status").click()
    op.wait_for_url("**notice=active")
    assert tr("The merchant is active: it can take payments.") in notice_text(op)
    assert op.locator("#merchant-status").get_attribute("data-status") == "active"
    trail = op.locator("#merchant-audit").inner_text()
    assert tr("Changed the merchant's status") in trail and REASON in trail
    assert f"{tr('Waiting for review')} → {tr('Active')}" in trail
    shot(op, "console-merchant-active-zh_CN")

    async def status(s: Any) -> tuple[str, str | None]:
        merchant = await onboarding.get(s, applied["id"])
        return merchant.status, merchant.status_reason

    assert _run(server, status) == ("active", REASON)
    op.goto("/console/audit?action=merchant.status")
    audit_rows = op.locator("#audit-entries").inner_text()
    assert REASON in audit_rows and "运营小李" in audit_rows and applied["reference"] in audit_rows
    assert script_errors(op) == []

    # -- a customer without a staff role is refused ----------------------------------------------
    customer = open_page(locale=ZH)
    sign_up(customer, server, ZH)
    for path in ("/console/merchants", f"/console/merchants/{applied['id']}", "/console/promos"):
        answer = customer.goto(path)
        assert answer is not None and answer.status == 403
        assert "您无权进行此操作" in customer.locator("body").inner_text()
    assert applied["name_zh"] not in customer.locator("body").inner_text()

    # -- promo codes: a value that is no amount refused, then created, then switched off ---------
    code = f"COFFEE{next(_serial)}"
    op.goto("/console/promos")
    op.locator("#promo-code").fill(code)
    op.locator("#promo-description").fill("开业优惠")
    op.locator("#promo-kind").select_option("fixed")
    op.locator("#promo-value").fill("十元")  # not digits
    op.locator("#promo-min").fill("30")
    op.locator("#promo-budget").fill("500.00")
    op.locator("#promo-form button[type=submit]").click()
    op.wait_for_selector("#promo-new .form-error[role=alert]")
    assert "请输入数字金额，例如 12.34。" in alert_text(op)
    assert op.locator("#promo-code").input_value() == code  # kept
    assert op.locator(f"#promo-{code}").count() == 0

    async def promos(s: Any) -> list[Any]:
        return [p for p in await promo.list_promos(s) if p.code == code]

    assert _run(server, promos) == []

    op.locator("#promo-value").fill("１０")  # full-width digits from an IME: 10
    shot(op, "console-promos-form-zh_CN")
    op.locator("#promo-form button[type=submit]").click()
    op.wait_for_url("**notice=promo_created")
    item = op.locator(f"#promo-{code}")
    text = item.inner_text()
    assert "¥10.00" in text and "¥0.00" in text and "¥500.00" in text and "开业优惠" in text
    assert tr("Once per customer") in text
    assert item.locator(".badge").get_attribute("data-enabled") == "yes"
    shot(op, "console-promos-zh_CN")
    item.locator("button").click()
    op.wait_for_url("**notice=promo_disabled")
    assert op.locator(f"#promo-{code} .badge").get_attribute("data-enabled") == "no"
    (saved,) = _run(server, promos)
    assert (saved.status, saved.kind, saved.value, saved.min_spend, saved.budget) == (
        "disabled",
        "fixed",
        1000,
        3000,
        50000,
    )
    assert saved.once_per_user is True
    op.goto("/console/audit?action=promo.disabled")
    assert code in op.locator("#audit-entries").inner_text()
    assert script_errors(op) == []


def test_a_number_with_an_account_and_staff_without_two_step(open_page, server):
    """In English at desktop width: a number that already has a wallet gets no code (as on
    /signup, nothing says whether it has an account), and the page says what to do; nothing is
    created. A supervisor who has not turned on two-step verification is sent to turn it on."""
    owner = open_page(locale="en")
    taken = sign_up(owner, server, "en")
    page = open_page(locale="en", viewport="desktop")
    page.goto("/merchant/apply")
    assert page.locator("h1").inner_text() == "Apply to become a merchant"
    f = {
        "name_zh": "已有账户的店",
        "name_en": "Already Known Shop",
        "uscc": uscc(),
        "account": _card_number(),
        "phone": taken,
    }
    _fill_application(page, f)
    seen = len(server.sms(e164(taken)))
    page.locator("#apply-send-code").click()
    page.wait_for_selector("#apply-applicant .notice-box")  # the same answer as for a new number
    page.locator("#apply-code").fill("123456")
    page.locator("#apply-password").fill(STRONG_PASSWORD)
    page.locator("#apply-password2").fill(STRONG_PASSWORD)
    page.locator("#apply-form button.primary").click()
    page.wait_for_selector("#apply-phone-note")
    assert "The code is wrong or has expired" in alert_text(page)
    assert "already has a Qianbao account" in page.locator("#apply-phone-note").inner_text()
    assert page.locator("#apply-name-en").input_value() == f["name_en"]
    assert len(server.sms(e164(taken))) == seen  # no code was sent to it
    shot(page, "merchant-apply-taken-en")

    async def nothing(s: Any) -> tuple[int, str]:
        user = await id_accounts.by_phone(s, e164(taken))
        return len(await review.find(s, q=f["name_en"])), user.role

    assert _run(server, nothing) == (0, "user")
    assert script_errors(page) == []

    # Staff without two-step verification may not use the merchant console.
    phone = new_phone()
    ctx: IdentityContext = server.app.state.identity

    async def staff(s: Any) -> None:
        await id_accounts.create_staff(
            s, ctx, phone_raw=phone, password=STRONG_PASSWORD, role="supervisor", name="New Sup"
        )

    _run(server, staff)
    sup = open_page(locale="en")
    sign_in(sup, phone)
    sup.wait_for_load_state()
    answer = sup.goto("/console/merchants")
    assert answer is not None and answer.status == 403
    assert "must turn on two-factor authentication" in sup.locator("body").inner_text()
