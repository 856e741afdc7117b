"""The identity pages in a real browser at phone width, in Chinese and English: sign-up, sign-in
(password, two-step, passkey), forgot password, and the security centre."""

from __future__ import annotations

import pyotp
import pytest

from tests.support.identity import STRONG_PASSWORD, e164, new_phone
from tests.support.pages import (
    NEW_PASSWORD,
    T,
    alert_text,
    notice_text,
    script_errors,
    shot,
    sign_in,
    sign_out,
    sign_up,
    virtual_authenticator,
)

pytestmark = pytest.mark.browser


# -- tests -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_sign_up_sign_out_and_sign_in(open_page, server, locale):
    page = open_page(locale=locale)
    phone = sign_up(page, server, locale, shots=locale)
    # The wallet, with the welcome and the next steps (the PIN first).
    assert T[locale]["welcome"] in notice_text(page)
    assert page.locator(".next-steps a").first.get_attribute("href") == "/security/pin"
    page.goto("/security")
    assert page.locator("h1").inner_text() == T[locale]["security"]
    assert phone[-4:] in page.locator("#security-overview, .rows").all_inner_texts()[1]
    shot(page, f"security-{locale}")

    sign_out(page, locale)
    assert page.get_by_role("link", name=T[locale]["sign_in"], exact=True).first.is_visible()

    # A wrong password: the message in the page's language, the number kept, the page intact.
    sign_in(page, phone, "not my password at all")
    assert T[locale]["login_failed"] in alert_text(page)
    assert page.locator("#login-phone").input_value() == phone
    assert page.locator("#login-password").input_value() == ""
    shot(page, f"login-error-{locale}")

    sign_in(page, phone)
    page.wait_for_url("**/wallet")  # signing in lands on the wallet
    assert script_errors(page) == []


def test_signed_out_visitors_are_sent_to_sign_in_and_back(open_page, server):
    page = open_page(locale="en")
    phone = sign_up(page, server, "en")
    sign_out(page, "en")
    page.goto("/security")
    assert page.url.endswith("/login?next=/security")
    assert page.locator("h1").inner_text() == "Sign in"
    # An open redirect is not possible: only same-site paths.
    page.goto("/login?next=https://evil.example/")
    page.locator("#login-phone").fill(phone)
    page.locator("#login-password").fill(STRONG_PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{server.url}/wallet")
    # A language switch on a page that answered a POST lands on the start of that flow.
    sign_out(page, "en")
    page.goto("/signup")
    page.locator("#signup-phone").fill("139 0000 1")
    page.get_by_role("button", name="Send code").click()
    assert "This is not a valid mobile number." in page.locator("#signup-phone-error").inner_text()
    assert page.locator("#signup-phone").input_value() == "139 0000 1"
    page.locator("a.lang[hreflang=zh-CN]").click()
    page.wait_for_url("**/signup")
    assert page.locator("h1").inner_text() == "注册账户"


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_payment_pin_and_password_change(open_page, server, locale):
    page = open_page(locale=locale)
    phone = sign_up(page, server, locale)
    page.goto("/security/pin")
    pin_form = page.locator("form[action='/security/pin']")
    pin_form.locator("#pin-new").fill("123456")
    pin_form.locator("#pin-again").fill("123456")
    pin_form.get_by_role("button", name=T[locale]["set_pin"]).click()
    assert T[locale]["weak_pin"] in alert_text(page)
    assert page.url.endswith("/security/pin")
    shot(page, f"pin-refused-{locale}")

    pin_form.locator("#pin-new").fill("802413")
    pin_form.locator("#pin-again").fill("802413")
    pin_form.get_by_role("button", name=T[locale]["set_pin"]).click()
    page.wait_for_url("**/wallet?notice=pin_set")  # back to the wallet's next step
    assert T[locale]["pin_set"] in notice_text(page)
    # Changing it now needs the password.
    page.goto("/security/pin")
    assert page.locator("#pin-password").is_visible()

    page.goto("/security/password")

    page.locator("#pw-old").fill("wrong old password")
    page.locator("#pw-new").fill(NEW_PASSWORD)
    page.locator("#pw-new2").fill(NEW_PASSWORD)
    page.locator("form[action='/security/password'] button").click()
    wrong = {"zh_CN": "密码错误。", "en": "The password is wrong."}[locale]
    assert wrong in alert_text(page)

    page.locator("#pw-old").fill(STRONG_PASSWORD)
    page.locator("#pw-new").fill(NEW_PASSWORD)
    page.locator("#pw-new2").fill(NEW_PASSWORD)
    page.locator("form[action='/security/password'] button").click()
    page.wait_for_url("**/security/password?notice=password_changed")
    sign_out(page, locale)
    sign_in(page, phone, NEW_PASSWORD)
    page.wait_for_url("**/wallet")

    # Five wrong PINs (at payment time, through the API on this cookie session) lock it; the
    # page then offers the unlock: an SMS code plus the password.
    csrf = page.locator("meta[name=csrf-token]").get_attribute("content")
    for _ in range(5):
        r = page.request.post(
            "/api/v1/me/pin/check", data={"pin": "000000"}, headers={"X-CSRF-Token": csrf}
        )
        assert r.status in (401, 403)
    page.goto("/security/pin")
    pin_section = page.locator("#pin")
    seen = len(server.sms(e164(phone)))
    pin_section.get_by_role("button", name=T[locale]["send_me_code"]).click()
    page.wait_for_url("**/security/pin?notice=code_sent")
    code = server.wait_for_code(e164(phone), seen)
    page.locator("#unlock-password").fill(NEW_PASSWORD)
    page.locator("#unlock-code").fill(code)
    page.locator("form[action='/security/pin/unlock'] button").click()
    page.wait_for_url("**/security/pin?notice=pin_unlocked")
    assert page.locator("#pin-password").is_visible()
    assert script_errors(page) == []


def test_two_factor_enrolment_sign_in_and_reset(open_page, server):
    locale = "en"
    page = open_page(locale=locale)
    phone = sign_up(page, server, locale)
    page.goto("/security/two-factor")
    page.get_by_role("button", name="Set up an authenticator app").click()
    assert page.locator(".qr svg").is_visible()
    secret = page.locator("[data-totp-secret]").inner_text().replace(" ", "")
    shot(page, "two-factor-enrol-en")
    totp = pyotp.TOTP(secret)

    page.locator("#twofa-confirm-code").fill(
        "000000" if totp.at(server.clock.now()) != "000000" else "111111"
    )
    page.get_by_role("button", name="Turn on").click()
    assert "The authenticator code is wrong" in alert_text(page)

    page.locator("#twofa-confirm-code").fill(totp.at(server.clock.now()))
    page.get_by_role("button", name="Turn on").click()
    codes = page.locator("[data-recovery-codes] li").all_inner_texts()
    assert len(codes) == 10
    shot(page, "two-factor-recovery-codes-en")
    assert "Two-step verification is on" in notice_text(page)

    sign_out(page, locale)
    sign_in(page, phone)
    page.wait_for_url("**/login/2fa?next=/home")
    page.locator("#twofa-code").fill(
        "000000" if totp.at(server.clock.now()) != "000000" else "111111"
    )
    page.get_by_role("button", name="Continue").click()
    assert "The authenticator code is wrong" in alert_text(page)
    shot(page, "login-2fa-error-en")
    # The code of the next time step: the one just used to turn 2FA on cannot be reused.
    page.locator("#twofa-code").fill(totp.at(server.clock.timestamp() + 30))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/wallet")
    page.goto("/security/two-factor")
    assert "Recovery codes left: 10." in page.locator("#two-factor").inner_text()

    # A password reset never bypasses 2FA: the page asks for the authenticator (or recovery) code.
    sign_out(page, locale)
    page.get_by_role("link", name="Forgot your password?").click()
    seen = len(server.sms(e164(phone)))
    page.locator("#forgot-phone").fill(phone)
    page.get_by_role("button", name="Send code by SMS").click()
    code = server.wait_for_code(e164(phone), seen)
    page.locator("#forgot-code").fill(code)
    page.locator("#forgot-password").fill(NEW_PASSWORD)
    page.locator("#forgot-password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    assert "Enter the code from your authenticator app." in alert_text(page)
    assert page.locator("#forgot-2fa").is_visible()
    page.locator("#forgot-password").fill(NEW_PASSWORD)
    page.locator("#forgot-password2").fill(NEW_PASSWORD)
    page.locator("#forgot-2fa").fill(codes[0].strip())
    page.get_by_role("button", name="Set the new password").click()
    page.wait_for_url("**/login?notice=password_reset")
    assert "Sign in with the new one" in notice_text(page)

    # Sign in with a recovery code (a used one is refused), then turn 2FA off with another.
    sign_in(page, phone, NEW_PASSWORD)
    page.wait_for_url("**/login/2fa?next=/home")
    page.get_by_text("Lost your phone? Use a recovery code").click()
    page.locator("#twofa-recovery").fill(codes[0].strip())
    page.get_by_role("button", name="Use recovery code").click()
    assert "The authenticator code is wrong or was already used." in alert_text(page)
    page.get_by_text("Lost your phone? Use a recovery code").click()
    page.locator("#twofa-recovery").fill(codes[1].strip())
    page.get_by_role("button", name="Use recovery code").click()
    page.wait_for_url("**/wallet")
    page.goto("/security/two-factor")
    page.get_by_text("Turn off two-step verification").click()
    page.locator("#twofa-off-code").fill(codes[2].strip())
    page.get_by_role("button", name="Turn off", exact=True).click()
    page.wait_for_url("**/security/two-factor?notice=two_factor_off")
    assert "Set up an authenticator app" in page.locator("#two-factor").inner_text()
    assert script_errors(page) == []


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_forgot_password_by_sms(open_page, server, locale):
    page = open_page(locale=locale)
    phone = sign_up(page, server, locale)
    sign_out(page, locale)
    page.get_by_role(
        "link", name={"zh_CN": "忘记密码？", "en": "Forgot your password?"}[locale]
    ).click()
    shot(page, f"forgot-1-{locale}")
    seen = len(server.sms(e164(phone)))
    page.locator("#forgot-phone").fill(phone)
    page.locator("form:has(#forgot-phone) button[type=submit]").click()
    page.wait_for_selector("#forgot-code")
    assert phone[-4:] in notice_text(page)
    code = server.wait_for_code(e164(phone), seen)
    # A wrong code is refused in the page's language; the page stays, the code is still usable.
    page.locator("#forgot-code").fill("000000" if code != "000000" else "111111")
    page.locator("#forgot-password").fill(NEW_PASSWORD)
    page.locator("#forgot-password2").fill(NEW_PASSWORD)
    page.locator("form[action='/forgot'] button[type=submit]").click()
    expected = {"zh_CN": "验证码错误或已过期", "en": "The code is wrong or has expired"}[locale]
    assert expected in alert_text(page)
    shot(page, f"forgot-2-{locale}")
    page.locator("#forgot-code").fill(code)
    page.locator("#forgot-password").fill(NEW_PASSWORD)
    page.locator("#forgot-password2").fill(NEW_PASSWORD)
    page.locator("form[action='/forgot'] button[type=submit]").click()
    page.wait_for_url("**/login?notice=password_reset")
    sign_in(page, phone, NEW_PASSWORD)
    page.wait_for_url("**/wallet")


def test_verify_email_then_reset_the_password_by_email(open_page, server):
    page = open_page(locale="zh_CN")
    phone = sign_up(page, server, "zh_CN")
    address = f"user{phone}@example.com"
    page.goto("/security/email")  # its own page: the form is open
    page.locator("#email-address").fill(address)
    page.locator("#email").get_by_role("button", name="获取验证码").click()
    assert "验证码已发送至" in notice_text(page)
    code = server.wait_for_email_code(address, 0)
    page.locator("#email-code").fill(code)
    page.locator("#email").get_by_role("button", name="验证").click()
    page.wait_for_url("**/security/email?notice=email_verified")
    page.goto("/security")
    assert "@example.com" in page.locator(".rows").nth(1).inner_text()
    page.goto("/security/two-factor")
    page.get_by_role("button", name="设置身份验证器应用").click()
    assert page.locator(".qr svg").is_visible()
    shot(page, "two-factor-enrol-zh_CN")

    sign_out(page, "zh_CN")
    page.goto("/forgot")
    seen = len(server.emails(address))
    page.locator("#forgot-email").fill(address)
    page.get_by_role("button", name="发送邮件验证码").click()
    page.wait_for_selector("#forgot-code")
    assert "example.com" in page.locator(".readonly-value").inner_text()
    page.locator("#forgot-code").fill(server.wait_for_email_code(address, seen))
    page.locator("#forgot-password").fill(NEW_PASSWORD)
    page.locator("#forgot-password2").fill(NEW_PASSWORD)
    page.get_by_role("button", name="设置新密码").click()
    page.wait_for_url("**/login?notice=password_reset")
    assert "密码已修改，请使用新密码登录。" in notice_text(page)
    sign_in(page, phone, NEW_PASSWORD)
    page.wait_for_url("**/wallet")


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_freeze_and_unfreeze(open_page, server, locale):
    page = open_page(locale=locale)
    phone = sign_up(page, server, locale)
    page.goto("/security")
    page.locator("#row-freeze a").click()
    page.locator("#freeze").get_by_role("link", name=T[locale]["freeze"]).click()
    page.wait_for_url("**/security/freeze/confirm")
    shot(page, f"freeze-confirm-{locale}")
    page.get_by_role("button", name=T[locale]["freeze_yes"]).click()
    page.wait_for_url("**/security/freeze?notice=frozen")
    # Frozen: the wallet's money actions are off, with the reason and the way out.
    page.goto("/wallet")
    assert T[locale]["frozen"] in page.locator(".banner").first.inner_text()
    assert page.locator(".quick a[aria-disabled=true]").count() == 4
    page.goto("/wallet/transfer")
    assert page.locator("#transfer-amount").count() == 0
    page.locator(".banner-action").click()
    page.wait_for_url("**/security/freeze")

    seen = len(server.sms(e164(phone)))
    page.locator("#freeze").get_by_role("button", name=T[locale]["send_me_code"]).click()
    page.wait_for_url("**/security/freeze?notice=code_sent")
    assert T[locale]["code_sent"] in notice_text(page)
    code = server.wait_for_code(e164(phone), seen)
    page.locator("#unfreeze-password").fill(STRONG_PASSWORD)
    page.locator("#unfreeze-code").fill(code)
    page.get_by_role("button", name=T[locale]["unfreeze"]).click()
    page.wait_for_url("**/security/freeze?notice=unfrozen")
    assert T[locale]["unfrozen"] in notice_text(page)
    page.goto("/wallet")
    assert page.locator(".banner").count() == 0


def test_sessions_list_and_sign_out_another_device(open_page, server):
    first = open_page(locale="zh_CN")
    phone = sign_up(first, server, "zh_CN")
    second = open_page(locale="zh_CN", viewport="desktop")
    sign_in(second, phone)
    second.wait_for_url("**/wallet")
    second.goto("/security")
    shot(second, "security-desktop-zh_CN")

    first.goto("/security/sessions")
    rows = first.locator("[data-sessions] li")
    assert rows.count() == 2
    assert first.locator("[data-sessions]").get_by_text("本设备").count() == 1
    assert "IP 127.0.0.1" in rows.first.inner_text()
    shot(first, "sessions-zh_CN")
    first.locator("[data-sessions] li:not(:has(.badge)) button").click()
    first.wait_for_url("**/security/sessions?notice=session_revoked")
    assert "该设备已退出登录。" in notice_text(first)
    assert first.locator("[data-sessions] li").count() == 1

    second.goto("/security")
    assert "/login?next=/security" in second.url
    assert second.get_by_role("link", name="登录", exact=True).is_visible()


def test_passkey_register_and_sign_in(open_page, server):
    page = open_page(locale="en")
    virtual_authenticator(page)
    sign_up(page, server, "en")
    page.goto("/security/passkeys")
    page.locator("#passkey-name").fill("Test phone")
    page.get_by_role("button", name="Add a passkey").click()
    page.wait_for_url("**/security/passkeys?notice=passkey_added")
    assert "Test phone" in page.locator("#passkeys .item-list").inner_text()
    shot(page, "passkeys-en")

    sign_out(page, "en")
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.wait_for_url("**/wallet")
    page.goto("/security/events")
    events = page.locator("#events").inner_text()
    assert "Passkey added" in events
    page.goto("/security/passkeys")
    page.get_by_role("button", name="Remove passkey Test phone").click()
    page.wait_for_url("**/security/passkeys?notice=passkey_removed")
    assert "You have no passkeys yet." in page.locator("#passkeys").inner_text()
    assert script_errors(page) == []


def test_change_the_mobile_number(open_page, server):
    page = open_page(locale="en")
    phone = sign_up(page, server, "en")
    new = new_phone()
    page.goto("/security/phone")
    page.locator("#phone-new").fill(new)
    page.locator("#phone").get_by_role("button", name="Send code").click()
    assert new[-4:] in notice_text(page)
    code = server.wait_for_code(e164(new), 0)
    page.locator("#phone-code").fill(code)
    page.locator("#phone-password").fill("not my password at all")
    page.locator("#phone").get_by_role("button", name="Change number").click()
    assert "The password is wrong." in alert_text(page)
    page.locator("#phone-code").fill(code)
    page.locator("#phone-password").fill(STRONG_PASSWORD)
    page.locator("#phone").get_by_role("button", name="Change number").click()
    page.wait_for_url("**/security/phone?notice=phone_changed")
    assert "Your mobile number is changed." in notice_text(page)
    assert new[-4:] in page.locator("#phone").inner_text()
    shot(page, "phone-changed-en")
    sign_out(page, "en")
    sign_in(page, new)
    page.wait_for_url("**/wallet")
    assert phone not in page.content()
