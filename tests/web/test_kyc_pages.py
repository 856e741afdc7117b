"""Identity verification in a real browser, in Chinese at phone width (375 × 812), each step without a serious axe-core violation, a tap target under
44 px or anything wider than a 320 px phone: a new customer
goes from 我的 to 实名认证, sends an ID number with a wrong check digit (the refusal under the
field, what was typed kept, nothing stored), then the right one (level 1, the number masked);
uploads the three photos one by one through the file inputs and sends them for review; a
supervisor with two-step verification finds the application in /console/kyc through the desk's
link, sees the three photos and approves it; the customer sees level 2 and the higher limits.

Texts this work adds are compared through the catalogue (``tr``)."""

from __future__ import annotations

import asyncio
import io
import itertools
from datetime import date
from typing import Any

import pyotp
import pytest
from PIL import Image
from sqlalchemy import select
from stdnum.cn import ric

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from qianbao.identity.models_kyc import KycApplication, KycIdentity
from qianbao.web.i18n import gettext
from tests.conftest import in_thread
from tests.support.identity import STRONG_PASSWORD, e164, new_phone
from tests.support.pages import alert_text, notice_text, script_errors, shot, sign_in, sign_up
from tests.support.secrets import remember
from tests.web.test_accessibility import SMALL_TARGETS, _axe

pytestmark = pytest.mark.browser
ZH = "zh_CN"
BORN = date(1993, 7, 19)
_serial = itertools.count(11)


def tr(message: str, **params: Any) -> str:
    return gettext(ZH, message, **params)


def _run(server: Any, work: Any) -> Any:
    async def go() -> Any:
        db = server.database()
        try:
            async with db.transaction() as s:
                return await work(s)
        finally:
            await db.dispose()

    return in_thread(asyncio.run, go())


def _supervisor(server: Any) -> tuple[str, str]:
    phone, secret = new_phone(), pyotp.random_base32()
    remember(secret)
    ctx: IdentityContext = server.app.state.identity

    async def work(s: Any) -> None:
        user = await id_accounts.create_staff(
            s, ctx, phone_raw=phone, password=STRONG_PASSWORD, role="supervisor", name="审核员小周"
        )
        user.totp_secret = ctx.totp_sealer.seal(secret.encode(), aad=str(user.id).encode())
        user.totp_enabled_at = ctx.clock.now()

    _run(server, work)
    return phone, secret


def _number() -> str:
    body = f"440305{BORN:%Y%m%d}{next(_serial) * 2 + 1:03d}"  # 深圳市南山区, a man
    return body + ric.calc_check_digit(body + "0")


def _photo(size: tuple[int, int], colour: tuple[int, int, int]) -> dict[str, Any]:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def _accessible(page: Any) -> None:
    """No serious axe-core violation, no tap target under 44 px, nothing wider than 320 px."""
    assert _axe(page) == []
    assert page.evaluate(SMALL_TARGETS) == []
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.set_viewport_size(size)


def test_verify_upload_approve_and_see_the_higher_limits(open_page, server):
    page = open_page(locale=ZH)  # 375 × 812
    phone = sign_up(page, server, ZH)
    page.goto("/me")
    page.locator("#me-verify a").click()
    page.wait_for_url("**/me/verify")
    assert page.locator("h1").inner_text() == tr("Identity verification")
    assert page.locator("#verify-tier").inner_text() == tr("Basic")
    shot(page, "kyc-1-start-zh_CN")
    _accessible(page)

    # A wrong check digit: refused under the field, everything typed kept, nothing stored.
    number = _number()
    wrong = number[:-1] + ("1" if number[-1] != "1" else "2")
    page.locator("#kyc-name").fill("陈志明")
    page.locator("#kyc-id").fill(wrong)
    page.locator("#kyc-birthday").fill(BORN.isoformat())
    page.get_by_label(tr("Male")).check()
    page.locator("#basic-form button[type=submit]").click()
    page.wait_for_selector("#basic .form-error[role=alert]")
    refusal = tr(
        "This ID card number has a typing mistake: its last character (the check digit) does "
        "not match the other 17. Check each character against the card."
    )
    assert refusal in alert_text(page)
    assert refusal in page.locator("#kyc-id-error").inner_text()
    assert page.locator("#kyc-id").get_attribute("aria-invalid") == "true"
    assert page.locator("#kyc-name").input_value() == "陈志明"
    assert page.locator("#kyc-id").input_value() == wrong
    assert page.locator("#kyc-birthday").input_value() == BORN.isoformat()
    assert page.get_by_label(tr("Male")).is_checked()
    shot(page, "kyc-2-id-error-zh_CN")

    async def stored(s: Any) -> tuple[Any, int]:
        user = await id_accounts.by_phone(s, e164(phone))
        return await s.get(KycIdentity, user.id), user.kyc_tier

    assert _run(server, stored) == (None, 0)

    # The right number (typed with a full-width digit, as an input method may): level 1.
    page.locator("#kyc-id").fill(chr(0xFF10 + int(number[0])) + number[1:])
    page.locator("#basic-form button[type=submit]").click()
    page.wait_for_url("**/me/verify?notice=verified*")
    assert tr("Your name and ID card number are verified: level 1 limits apply now.") in (
        notice_text(page)
    )
    masked = number[:4] + "*" * 10 + number[-4:]
    assert page.locator("#verify-tier").inner_text() == tr("Level 1")
    assert page.locator("#verify-id-number").inner_text() == masked
    assert number not in page.content()
    assert page.locator("#basic-form").count() == 0

    # The three photos, one at a time, with the phone's camera offered.
    assert page.locator("#file-selfie").get_attribute("capture") == "user"
    assert page.locator("#file-id_front").get_attribute("accept") == "image/*"
    photos = {
        "id_front": _photo((1200, 760), (230, 236, 242)),
        "id_back": _photo((1200, 760), (242, 238, 228)),
        "selfie": _photo((900, 1200), (200, 180, 160)),
    }
    for kind, photo in photos.items():
        page.locator(f"#file-{kind}").set_input_files(photo)
        page.locator(f"#upload-{kind}").click()
        page.wait_for_url(f"**/me/verify?notice=uploaded#doc-{kind}")
        assert page.locator(f"#doc-{kind}").get_attribute("data-uploaded") == "yes"
    shot(page, "kyc-3-photos-zh_CN")
    _accessible(page)
    page.locator("#verify-submit").click()
    page.wait_for_url("**/me/verify?notice=submitted*")
    assert page.locator("#application-status").get_attribute("data-status") == "submitted"
    assert tr("Being reviewed") in page.locator("#documents").inner_text()
    shot(page, "kyc-4-submitted-zh_CN")
    assert script_errors(page) == []

    # -- a supervisor approves it in the console -----------------------------------------------
    op = open_page(locale=ZH)
    op_phone, secret = _supervisor(server)
    sign_in(op, op_phone)
    op.wait_for_url("**/login/2fa**")
    op.locator("#twofa-code").fill(pyotp.TOTP(secret).now())  # the server's machine clock
    op.get_by_role("button", name="继续").click()
    op.wait_for_url("**/console**")
    op.goto("/console")
    op.get_by_role("link", name=tr("Identity verification")).click()
    op.wait_for_url("**/console/kyc")
    queue = op.locator("#kyc-queue")
    assert "陈志明" in queue.inner_text() and masked in queue.inner_text()
    shot(op, "console-kyc-queue-zh_CN")
    queue.locator("li", has_text="陈志明").get_by_role("link", name="陈志明").click()
    op.wait_for_url("**/console/kyc/*")
    assert op.locator("#kyc-id-number").inner_text() == masked
    assert op.locator("#kyc-name").inner_text() == "陈志明"
    for kind in ("id_front", "id_back", "selfie"):
        image = op.locator(f"#photo-{kind} img")
        image.scroll_into_view_if_needed()
        op.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    widths = op.eval_on_selector_all("#kyc-photos img", "imgs => imgs.map(i => i.naturalWidth)")
    assert widths == [1200, 1200, 900]
    shot(op, "console-kyc-application-zh_CN")
    op.locator("#kyc-approve button").click()
    op.wait_for_url("**/console/kyc?notice=approved")
    assert tr("Approved: the customer is at level 2 now and was told by SMS.") in notice_text(op)
    assert "陈志明" not in op.locator("#kyc-queue").inner_text()
    assert script_errors(op) == []

    async def decided(s: Any) -> tuple[str, int]:
        user = await id_accounts.by_phone(s, e164(phone))
        app = (
            await s.execute(select(KycApplication).where(KycApplication.user_id == user.id))
        ).scalar_one()
        return app.status, user.kyc_tier

    assert _run(server, decided) == ("approved", 2)

    # -- the customer sees level 2 and the higher limits ---------------------------------------
    page.goto("/me/verify")
    assert page.locator("#verify-tier").inner_text() == tr("Level 2")
    transfer = page.locator("#my-limits tr[data-channel=transfer]").inner_text()
    assert "¥50,000" in transfer and "¥100,000" in transfer  # 10 × the basic 5,000 / 10,000
    assert page.locator("#tier-table th[aria-current=true]").inner_text() == tr("Level 2")
    assert page.locator("#documents").count() == 0
    shot(page, "kyc-5-level2-zh_CN")
    _accessible(page)
    # The same page in English, on a desktop.
    en = open_page(locale="en", viewport="desktop")
    sign_in(en, phone)
    en.wait_for_url("**/wallet")
    en.goto("/me/verify")
    assert en.locator("#verify-tier").inner_text() == "Level 2"
    assert "What each level unlocks" in en.locator("#tier-table").inner_text()
    assert en.locator("#verify-id-number").inner_text() == masked
    shot(en, "kyc-5-level2-en-desktop")
    assert script_errors(en) == []
    page.goto("/me")
    assert page.locator("#me-verify").inner_text().strip().endswith(tr("Level %(n)s") % {"n": 2})
    assert script_errors(page) == []
