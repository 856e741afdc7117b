"""Stuck top-ups and bound cards in the console, in chromium (zh): the agent opens a customer's
page and sees the bound card masked (scheme 银联, •••• 4242, never the number) and the top-up
paid at the sandbox bank whose callback was lost; "向支付机构重新查询" credits it and says so."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from qianbao.identity import accounts as id_accounts
from qianbao.identity.context import IdentityContext
from qianbao.kernel.clock import clock_of
from qianbao.rails import CardPaymentRequest, sandbox
from qianbao.wallet import cards
from qianbao.wallet.accounts import wallet_account
from qianbao.wallet.banks import recognise_card
from qianbao.wallet.models import Topup, WalletTransaction
from qianbao.wallet.transfer import new_reference
from tests.conftest import in_thread
from tests.support.pages import notice_text, script_errors, shot, sign_up
from tests.web.test_console_pages import _sign_in_with_code, _staff

pytestmark = pytest.mark.browser
CARD = "6222020000000004242"


def _card_and_stuck_topup(server, phone: str) -> str:
    """A bound card and a 120.00 top-up the sandbox bank says is paid (no callback queued)."""

    async def go() -> str:
        db = server.database()
        ctx: IdentityContext = server.app.state.identity
        try:
            async with db.transaction() as s:
                user = await id_accounts.by_phone(s, "+86" + phone)
                assert user is not None
                recognised = recognise_card(CARD)
                assert recognised is not None
                card = await cards.store(s, ctx, user, recognised, "张三")
                await _pending_topup(s, user, card, 12_000)
                return str(user.id)
        finally:
            await db.dispose()

    return in_thread(asyncio.run, go())


async def _pending_topup(s, user, card, amount: int) -> None:
    """The rows ``topup.start`` writes (its PIN check runs on the server's own pool, which this
    thread cannot use), then the sandbox bank's record says paid: its callback was lost."""
    account = await wallet_account(s, user.id, "CNY")
    now = clock_of(s).now()
    topup_id = uuid.uuid4()
    row = WalletTransaction(
        user_id=user.id, account_id=account.id, kind="topup", direction="in", status="pending",
        currency="CNY", amount=amount, reference=new_reference(now),
        details={"card": "•••• 4242", "bank": card.bank_name, "topup_id": str(topup_id)},
        created_at=now,
    )  # fmt: skip
    s.add(row)
    await s.flush()
    t = Topup(
        id=topup_id, user_id=user.id, card_id=card.id, transaction_id=row.id, currency="CNY",
        amount=amount, fee=0, provider="sandbox", idempotency_key="stuck-web-1",
        fingerprint="-", created_at=now,
    )  # fmt: skip
    s.add(t)
    await s.flush()
    created = await sandbox.SandboxAcquirer(b"k").create_payment(
        s,
        CardPaymentRequest(
            reference=str(topup_id), amount=amount, currency="CNY", card_number=CARD,
            holder_name="张三", description="Qianbao top-up", return_path="/wallet",
            notify_path="/api/v1/payments/sandbox/notify", site="http://localhost",
        ),
    )  # fmt: skip
    t.provider_ref = created.provider_ref
    payment = await sandbox.get_payment(s, created.provider_ref)
    payment.status = "succeeded"
    await s.flush()


def test_agent_sees_masked_cards_and_re_queries_a_stuck_top_up(open_page, server):
    customer = open_page(locale="zh_CN")
    phone = sign_up(customer, server, "zh_CN")
    user_id = _card_and_stuck_topup(server, phone)

    agent = open_page(locale="zh_CN", viewport="desktop")
    agent_phone, secret = _staff(server, "support_agent", "王芳")
    _sign_in_with_code(agent, agent_phone, secret, "继续")
    agent.goto(f"/console/customers/{user_id}")
    cards_text = agent.locator("#customer-cards").inner_text()
    assert "•••• 4242" in cards_text and "银联" in cards_text and "中国工商银行" in cards_text
    assert CARD not in agent.content()
    stuck = agent.locator("#stuck-topups").inner_text()
    assert "120.00" in stuck and "等待支付机构确认" in stuck
    assert re.search(r"\d{18}", stuck)  # the reference, not an id
    shot(agent, "console-stuck-topup-zh")
    # On a phone: nothing wider than the screen, the credit form readable (walk-through finding).
    agent.set_viewport_size({"width": 375, "height": 812})
    agent.locator("#stuck-topups details summary").first.click()
    form_width = agent.locator("#stuck-topups details form").first.bounding_box()["width"]
    assert form_width > 250, form_width
    shot(agent, "console-stuck-topup-phone-zh")
    agent.set_viewport_size({"width": 1280, "height": 900})

    agent.get_by_role("button", name="向支付机构重新查询").click()
    agent.wait_for_load_state()
    assert "支付机构确认已付款" in notice_text(agent)
    assert "等待支付机构确认" not in agent.locator("#stuck-topups").inner_text()
    assert "向支付机构查询卡住的充值" in agent.locator("#customer-audit").inner_text()
    assert not script_errors(agent)
