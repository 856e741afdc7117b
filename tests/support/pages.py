"""Helpers for the identity page tests (tests/web/test_identity_pages.py): the live server's
SMS and e-mail outboxes, signing up and in through the pages, checks every page should pass."""

from __future__ import annotations

import dataclasses
import email
import json
import re
import time
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from qianbao.kernel.clock import TestClock
from qianbao.kernel.db import Database
from tests.support.identity import STRONG_PASSWORD, e164, new_phone
from tests.web.browser import LiveServer
from tests.web.conftest import screenshot

CODE_RE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
NEW_PASSWORD = "purple elephant skates north"
T: dict[str, dict[str, str]] = {
    "zh_CN": {
        "send_code": "获取验证码",
        "create": "注册",
        "security": "安全中心",
        "welcome": "欢迎使用钱包",
        "my_account": "我的钱包",
        "sign_in": "登录",
        "sign_out": "退出登录",
        "signed_out": "您已退出登录。",
        "login_failed": "手机号或密码错误。",
        "weak_pin": "该支付密码太容易被猜到",
        "pin_set": "支付密码已设置。",
        "set_pin": "设置支付密码",
        "freeze": "冻结我的账户",
        "freeze_yes": "确定，立即冻结",
        "frozen": "您的账户已冻结",
        "send_me_code": "发送验证码",
        "unfreeze": "解冻我的账户",
        "unfrozen": "您的账户已解冻。",
        "code_sent": "验证码已通过短信发送到您的手机。",
        "password_rule": "至少 8 个字符",
    },
    "en": {
        "send_code": "Send code",
        "create": "Create account",
        "security": "Security centre",
        "welcome": "Welcome to Qianbao!",
        "my_account": "My wallet",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "signed_out": "You are signed out.",
        "login_failed": "The number or the password is wrong.",
        "weak_pin": "This PIN is too easy to guess",
        "pin_set": "Your payment PIN is set.",
        "set_pin": "Set PIN",
        "freeze": "Freeze my account",
        "freeze_yes": "Yes, freeze it now",
        "frozen": "Your account is frozen",
        "send_me_code": "Send me a code",
        "unfreeze": "Unfreeze my account",
        "unfrozen": "Your account is unfrozen.",
        "code_sent": "We sent a code by SMS to your phone.",
        "password_rule": "At least 8 characters",
    },
}


@dataclass
class PagesServer:
    app: FastAPI
    live: LiveServer
    url: str

    @property
    def clock(self) -> TestClock:
        """The server's clock: moving it moves its pages, API, worker and WebSocket."""
        clock: TestClock = self.app.state.clock
        return clock

    def database(self, **kwargs: Any) -> Database:
        """A Database on the server's database, on the server's clock (to set up test data)."""
        return Database(self.app.state.db.url, clock=self.clock, **kwargs)

    def sms(self, phone_e164: str) -> list[str]:
        path = Path(self.app.state.settings.sms.outbox_path)
        if not path.exists():
            return []
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
        return [row["text"] for row in rows if row["to"] == phone_e164]

    def wait_for_code(self, phone_e164: str, seen: int) -> str:
        """The code in the newest SMS after the first ``seen`` ones (the in-process worker
        delivers within a second or so)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            texts = self.sms(phone_e164)[seen:]
            for text in reversed(texts):
                found = CODE_RE.search(text)
                if found:
                    return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no code reached {phone_e164}: {self.sms(phone_e164)}")

    def emails(self, address: str) -> list[str]:
        folder = Path(self.app.state.settings.email.outbox_dir)
        texts = []
        for file in sorted(folder.glob("*.eml")) if folder.exists() else []:
            msg = email.message_from_bytes(file.read_bytes(), policy=policy.default)
            if address.lower() in str(msg["To"]).lower():
                body = msg.get_body(preferencelist=("plain",))
                texts.append(body.get_content() if body else "")  # type: ignore[union-attr]
        return texts

    def wait_for_email_code(self, address: str, seen: int) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for text in reversed(self.emails(address)[seen:]):
                found = CODE_RE.search(text)
                if found:
                    return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"no code reached {address}")


def no_sideways_scroll(page: Any) -> None:
    """Nothing wider than the phone (a mobile browser would zoom out to fit, so compare with
    the device width, not with window.innerWidth)."""
    width = page.viewport_size["width"]
    wide = page.evaluate(
        """(w) => Array.from(document.querySelectorAll('body *'))
             .filter((e) => e.getBoundingClientRect().right > w + 0.5)
             .slice(0, 5)
             .map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)
                         + ' ' + (e.textContent || '').trim().slice(0, 60))""",
        width,
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, (page.url, wide)


def script_errors(page: Any) -> list[str]:
    """Console errors except the browser's note on the 4xx answers the tests provoke on purpose
    (a refused form is re-rendered with 401/422/429): CSP violations and script errors remain."""
    return [e for e in page.console_errors if not re.match(r"Failed to load resource: .* 4\d\d", e)]


def shot(page: Any, name: str) -> None:
    no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header at the top of the full-page shot
    screenshot(page, name)


def alert_text(page: Any) -> str:
    return " ".join(page.locator(".form-error[role=alert]:visible").all_inner_texts())


def notice_text(page: Any) -> str:
    return " ".join(page.locator(".notice-box[role=status]").all_inner_texts())


def sign_up(page: Any, server: PagesServer, locale: str, shots: str | None = None) -> str:
    phone = new_phone()
    page.goto("/signup")
    if shots:
        shot(page, f"signup-1-{shots}")
    seen = len(server.sms(e164(phone)))
    page.locator("#signup-phone").fill(phone)
    page.locator("#signup-terms").check()  # the user agreement and privacy policy, first
    page.get_by_role("button", name=T[locale]["send_code"]).click()
    page.wait_for_selector("#signup-code")
    assert phone[-4:] in page.locator(".readonly-value").inner_text()  # the masked number
    assert T[locale]["password_rule"] in page.locator("#signup-password-hint").inner_text()
    code = server.wait_for_code(e164(phone), seen)
    page.locator("#signup-code").fill(code)
    page.locator("#signup-password").fill(STRONG_PASSWORD)
    page.locator("#signup-password2").fill(STRONG_PASSWORD)
    if shots:
        shot(page, f"signup-2-{shots}")
    page.get_by_role("button", name=T[locale]["create"], exact=True).click()
    page.wait_for_url("**/wallet?notice=signed_up")  # the wallet, with the next steps
    return phone


def sign_in(page: Any, phone: str, password: str = STRONG_PASSWORD) -> None:
    page.goto("/login")
    page.locator("#login-phone").fill(phone)
    page.locator("#login-password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()


def rules_off_ctx(server: Any, db: Any) -> Any:
    """The server's identity context on ``db`` with the real-time risk rules off: seeded
    activity (many at one instant, some back in time) would otherwise ask for step-ups; the
    rules are tested on their own."""
    settings = server.app.state.identity.settings
    risk = settings.risk.model_copy(update={"rules_enabled": False})
    return dataclasses.replace(
        server.app.state.identity, db=db, settings=settings.model_copy(update={"risk": risk})
    )


def sign_out(page: Any, locale: str) -> None:
    """Sign out from "Me" (a customer) or from the page's own sign-out button (staff pages)."""
    if page.locator("form[action='/logout'] button").count() == 0:
        page.goto("/me")
    page.locator("form[action='/logout'] button").click()
    page.wait_for_url("**/login?notice=signed_out")
    assert T[locale]["signed_out"] in notice_text(page)


def virtual_authenticator(page: Any) -> None:
    """A platform authenticator (fingerprint / face, verified) in the page's browser, through
    the DevTools protocol's WebAuthn domain."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
