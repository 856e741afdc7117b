"""What a merchant's staff are told: the operator's decision on the application (by SMS and
in-app, in the staff member's language, once however often the job runs)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from qianbao.identity.models import User
from qianbao.merchants import onboarding
from qianbao.notifications import inbox
from tests.support.identity import deliver, e164, sms_messages
from tests.support.merchants import make_merchant
from tests.support.wallet import ready_user


async def test_the_staff_hear_of_the_decision_once(
    fresh_client: httpx.AsyncClient, fresh_app: FastAPI
):
    shop = await make_merchant(fresh_app, status="pending_review", name_zh="审核咖啡")
    phone, _, staff_id = await ready_user(fresh_client, fresh_app)
    _, _, operator_id = await ready_user(fresh_client, fresh_app)
    async with fresh_app.state.db.transaction() as s:
        merchant = await onboarding.get(s, shop.id)
        await onboarding.add_staff(s, merchant, await s.get(User, staff_id))
        operator = await s.get(User, operator_id)
        await onboarding.set_status(s, merchant, "active", by=operator, reason="证照齐全")
    await deliver(fresh_app)
    await deliver(fresh_app)
    texts = [t for t in sms_messages(fresh_app, e164(phone)) if "审核咖啡" in t]
    assert len(texts) == 1 and "商户后台" in texts[0], texts
    async with fresh_app.state.db.transaction() as s:
        notes = [n for n in await inbox.inbox(s, staff_id, "zh_CN") if n.link == "/merchant"]
    assert len(notes) == 1

    async with fresh_app.state.db.transaction() as s:
        merchant = await onboarding.get(s, shop.id)
        operator = await s.get(User, operator_id)
        await onboarding.set_status(s, merchant, "suspended", by=operator, reason="可疑交易待核实")
    await deliver(fresh_app)
    texts = [t for t in sms_messages(fresh_app, e164(phone)) if "可疑交易待核实" in t]
    assert len(texts) == 1
